"""Exercises: generated files are current, solutions pass, blanks and typical slips get the right feedback."""
import json
import math

import pytest
import torch

from course_lib.errors import CourseInputError
from course_lib.exercises import generate, lesson01, lesson02

PAIRS = generate.pairs()


def run_notebook(path):
    """Execute a notebook's code cells; return its namespace and the Feedback of every check cell."""
    namespace, feedback = {}, []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if source.strip().startswith("check."):
            feedback.append(eval(source.strip(), namespace))
        else:
            exec(source, namespace)
    return namespace, feedback


def test_there_are_exercises_for_lessons_1_and_2():
    assert [s.name for s, _ in PAIRS] == ["01_elbo_exercises.ipynb", "02_reparameterization_exercises.ipynb"]


@pytest.mark.parametrize("solution, learner", PAIRS, ids=[s.stem for s, _ in PAIRS])
def test_learner_notebooks_are_generated_and_up_to_date(solution, learner):
    expected = generate.render(generate.learner_version(json.loads(solution.read_text())))
    assert learner.read_text() == expected, "run: python -m course_lib.exercises.generate"
    assert "BEGIN SOLUTION" not in learner.read_text()


@pytest.mark.parametrize("solution, learner", PAIRS, ids=[s.stem for s, _ in PAIRS])
def test_every_reference_solution_passes_its_check(solution, learner):
    _, feedback = run_notebook(solution)
    assert len(feedback) == 3
    assert all(f.passed is True for f in feedback), [str(f) for f in feedback]


@pytest.mark.parametrize("solution, learner", PAIRS, ids=[s.stem for s, _ in PAIRS])
def test_untouched_learner_versions_are_told_not_implemented_yet(solution, learner):
    _, feedback = run_notebook(learner)
    assert len(feedback) == 3
    for f in feedback:
        assert f.passed is None and "NotImplementedError" in f.message
        assert "Traceback" not in str(f)


def kl(mean, log_var):
    return 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)


WRONG = [
    # (check, wrong answer, words the feedback must contain)
    (lesson01.kl_standard_normal, lambda mean, log_var: -kl(mean, log_var), "sign"),
    (lesson01.kl_standard_normal, lambda mean, log_var: 2 * kl(mean, log_var), "factor 1/2"),
    (lesson01.kl_standard_normal, lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(0),
     "Check which axis"),
    (lesson01.kl_standard_normal, lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).mean(-1),
     "averaged over the latent dimensions"),
    (lesson01.kl_standard_normal, lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - log_var).sum(-1),
     "-1 inside the sum"),
    (lesson01.reparameterize, lambda mean, log_var, eps: mean + log_var.exp() * eps, "variance"),
    (lesson01.reparameterize, lambda mean, log_var, eps: (mean + (0.5 * log_var).exp() * eps).detach(),
     "gradients cannot flow"),
    (lesson01.iwae_bound, lambda log_weights: log_weights.mean(0), "ELBO"),
    (lesson01.iwae_bound, lambda log_weights: torch.logsumexp(log_weights, 0), "-log k"),
    (lesson01.iwae_bound, lambda log_weights: torch.log(log_weights.exp().mean(0)), "log space"),
    (lesson01.iwae_bound, lambda log_weights: torch.logsumexp(log_weights, 1) - math.log(log_weights.shape[1]),
     "Check which axis"),
    (lesson02.gaussian_score, lambda z, mean, log_std: torch.stack(
        [(z - mean) / math.exp(log_std), (z - mean) ** 2 / math.exp(2 * log_std) - 1], -1), "variance"),
    (lesson02.gaussian_score, lambda z, mean, log_std: torch.stack(
        [(mean - z) / math.exp(2 * log_std), 1 - (z - mean) ** 2 / math.exp(2 * log_std)], -1), "signs"),
    (lesson02.gaussian_score, lambda z, mean, log_std: torch.stack(
        [(z - mean) / math.exp(2 * log_std), (z - mean) ** 2 / math.exp(2 * log_std)], -1), "-1"),
    (lesson02.reinforce_with_baseline, lambda f_values, scores, baseline:
        (f_values.unsqueeze(-1) * scores).mean(0), "not subtracted"),
    (lesson02.reinforce_with_baseline, lambda f_values, scores, baseline:
        ((f_values - baseline).unsqueeze(-1) * scores).sum(0), "summed"),
    (lesson02.reinforce_with_baseline, lambda f_values, scores, baseline:
        ((f_values - baseline).unsqueeze(-1) * scores).mean(1), "Check which axis"),
    (lesson02.pathwise_gradient, lambda f, mean, log_std, eps: torch.zeros(2, dtype=torch.float64), "zero"),
]


@pytest.mark.parametrize("check, wrong, words", WRONG, ids=[f"{c.__name__}-{w}" for c, _, w in WRONG])
def test_typical_wrong_answers_are_caught_with_a_hint(check, wrong, words):
    f = check(wrong)
    assert f.passed is False
    assert words in f.message, f.message


def test_the_pathwise_chain_rule_slip_is_named():
    def d_sigma(f, mean, log_std, eps):
        sigma = torch.tensor(math.exp(log_std), dtype=torch.float64, requires_grad=True)
        mu = torch.tensor(mean, dtype=torch.float64, requires_grad=True)
        return torch.stack(torch.autograd.grad(f(mu + sigma * eps).mean(), (mu, sigma)))

    f = lesson02.pathwise_gradient(d_sigma)
    assert f.passed is False and "d/dlog_sigma = sigma * d/dsigma" in f.message


def test_broken_answers_get_a_short_message_not_a_traceback():
    f = lesson01.kl_standard_normal(lambda mean, log_var: mean.sum(-1) + undefined_name)   # noqa: F821
    assert f.passed is False and f.message.startswith("your function raised NameError")
    f = lesson01.kl_standard_normal(lambda mean, log_var: kl(mean, log_var).numpy())
    assert f.passed is False and "torch.Tensor" in f.message and "ndarray" in f.message
    f = lesson01.kl_standard_normal(kl(torch.zeros(1, 1), torch.zeros(1, 1)))
    assert f.passed is False and "pass your function itself" in f.message
    assert "✘" in str(f) and "border-left" in f._repr_html_()


def test_solution_markers_are_checked():
    with pytest.raises(CourseInputError, match="never closed"):
        generate.strip_solution("x = 1\n### BEGIN SOLUTION\ny = 2")
    with pytest.raises(CourseInputError, match="without ### BEGIN SOLUTION"):
        generate.strip_solution("### END SOLUTION")
    assert generate.strip_solution("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION") == \
        "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()"
