"""Exercises: generated files are current, solutions pass, blanks and typical slips get the right feedback."""
import json
import re

import pytest
import torch

from course_lib.errors import CourseInputError
from course_lib.exercises import generate, lesson01

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


def check_cells(path):
    """How many cells of an exercise notebook call a check."""
    cells = json.loads(path.read_text())["cells"]
    return sum("".join(c["source"]).strip().startswith("check.") for c in cells if c["cell_type"] == "code")


def test_every_lesson_has_its_exercises():
    lessons = sorted({re.match(r"\d+", p.name).group()                 # 07 and 07b share their exercises
                      for p in generate.ROOT.parent.joinpath("notebooks").glob("0[1-9]*.ipynb")})
    assert [s.name.split("_")[0] for s, _ in PAIRS] == lessons


@pytest.mark.parametrize("solution, learner", PAIRS, ids=[s.stem for s, _ in PAIRS])
def test_learner_notebooks_are_generated_and_up_to_date(solution, learner):
    expected = generate.render(generate.learner_version(json.loads(solution.read_text())))
    assert learner.read_text() == expected, "run: python -m course_lib.exercises.generate"
    assert "BEGIN SOLUTION" not in learner.read_text()


@pytest.mark.parametrize("solution, learner", PAIRS, ids=[s.stem for s, _ in PAIRS])
def test_every_reference_solution_passes_its_check(solution, learner):
    _, feedback = run_notebook(solution)
    assert len(feedback) == check_cells(solution) >= 3
    assert all(f.passed is True for f in feedback), [str(f) for f in feedback]


@pytest.mark.parametrize("solution, learner", PAIRS, ids=[s.stem for s, _ in PAIRS])
def test_untouched_learner_versions_are_told_not_implemented_yet(solution, learner):
    _, feedback = run_notebook(learner)
    assert len(feedback) == check_cells(learner) >= 3
    for f in feedback:
        assert f.passed is None and "NotImplementedError" in f.message
        assert "Traceback" not in str(f)


def kl(mean, log_var):
    return 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)


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


def test_the_generator_never_overwrites_a_learners_answers_unless_forced(tmp_path, capsys):
    import shutil
    root = tmp_path / "exercises"
    shutil.copytree(generate.ROOT, root, ignore=shutil.ignore_patterns("*.bak"))
    (solution, learner), (solution2, learner2) = generate.pairs(root)[:2]

    nb = json.loads(learner.read_text())                       # the learner answers exercise 1 ...
    answer = next(c for c in nb["cells"] if "NotImplementedError" in "".join(c["source"]))
    answer["source"] = "def kl_standard_normal(mean, log_var):\n    return my_answer\n"
    learner.write_text(json.dumps(nb))
    nb2 = json.loads(learner2.read_text())                     # ... and only runs notebook 2 (outputs, no edits)
    nb2["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hello"}]
    learner2.write_text(json.dumps(nb2))
    for path in (solution, solution2):                         # then the course changes both exercises
        sol = json.loads(path.read_text())
        sol["cells"][0]["source"] = "".join(sol["cells"][0]["source"]) + "\n\nA new sentence."
        path.write_text(json.dumps(sol))

    assert generate.write_all(root) == 1
    out = capsys.readouterr().out
    assert "left alone, because they hold your answers: 01_elbo_exercises.ipynb" in out and "--force" in out
    assert "my_answer" in learner.read_text()                  # the answers are still there
    assert "A new sentence." in learner2.read_text()           # the untouched notebook was updated
    assert not list(root.glob(".*.tmp"))

    assert generate.write_all(root, force=True) == 0
    assert "my_answer" in (root / "01_elbo_exercises.ipynb.bak").read_text()
    assert "A new sentence." in learner.read_text() and "my_answer" not in learner.read_text()
    assert generate.write_all(root) == 0 and generate.write_all(root, check=True) == 0


@pytest.mark.parametrize("solution, learner", PAIRS, ids=[s.stem for s, _ in PAIRS])
def test_solution_notebooks_carry_nbgrader_metadata(solution, learner):
    """nbgrader grades what the metadata says: each answer cell is a solution cell the learner may
    edit, each check cell an autograded test worth one point, every other cell read-only."""
    cells = json.loads(solution.read_text())["cells"]
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells]
    assert len(set(ids)) == len(ids)
    for cell in cells:
        meta, source = cell["metadata"]["nbgrader"], "".join(cell["source"])
        assert meta["schema_version"] == 3 and meta["task"] is False
        graded_check = re.fullmatch(r"check\.(\w+)\((\w+)\)", source.strip())
        if generate.BEGIN in source:
            name = re.search(r"^(?:def|class) (\w+)", source, re.M).group(1)       # a function, or a class to write
            assert (meta["solution"], meta["grade"], meta["locked"], meta["grade_id"]) == (True, False, False, name)
        elif graded_check and graded_check.group(1) == graded_check.group(2):
            name = graded_check.group(1)
            assert (meta["solution"], meta["grade"], meta["locked"], meta["points"]) == (False, True, True, 1)
            assert meta["grade_id"] == f"check_{name}"
        else:                                        # text, set-up, and runs such as check.train_and_compare(...)
            assert (meta["solution"], meta["grade"], meta["locked"]) == (False, False, True)


def test_under_nbgrader_a_failed_check_raises_with_its_hint_and_a_passed_one_returns(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(AssertionError, match="factor 1/2"):
        lesson01.kl_standard_normal(lambda mean, log_var: 2 * kl(mean, log_var))
    with pytest.raises(AssertionError, match="not implemented yet"):
        lesson01.kl_standard_normal(lambda mean, log_var: (_ for _ in ()).throw(NotImplementedError()))
    assert lesson01.kl_standard_normal(kl).passed is True
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert lesson01.kl_standard_normal(lambda mean, log_var: 2 * kl(mean, log_var)).passed is False   # no raise


# -- a VAE of your own (exercise 01, part 4) ----------------------------------------------------------

def test_the_own_vae_loss_the_checks_hold_to_is_the_course_vaes_loss():
    """check.negative_elbo's reference, with the noise given, is VAE.loss_terms(x)["loss"] with the noise
    VAE draws (the same seed): the learner's loss is held to the course's VAE, not to a copy of a formula."""
    from course_lib.exercises import lesson01
    vae = lesson01._course_vae(4, 32, torch.float64, seed=1)
    x = (torch.rand(7, 784, dtype=torch.float64) < 0.4).double()
    torch.manual_seed(5)
    course = vae.loss_terms(x)["loss"]
    torch.manual_seed(5)
    eps = torch.randn(7, 4, dtype=torch.float64)
    assert torch.allclose(lesson01._course_negative_elbo(vae, x, eps), course, rtol=1e-12)


def _own_vae_answers():
    import torch.nn.functional as F
    from torch import nn

    class MyVAE(nn.Module):
        def __init__(self, latent_dim, hidden):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim))
            self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 784))

    def train_step(model, optimizer, x, learn=True):
        mean, log_var = model.encoder(x).chunk(2, dim=-1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        loss = (F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum(-1)
                + 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)).mean()
        optimizer.zero_grad()
        loss.backward()
        if learn:
            optimizer.step()
        return loss.item()
    return MyVAE, train_step


def test_a_trained_own_vae_is_held_to_the_course_vae_of_the_same_size_and_budget():
    """The right answers pass within the stated margin; a step that never updates fails, naming both ELBOs."""
    from course_lib.exercises import lesson01
    MyVAE, train_step = _own_vae_answers()
    good = lesson01.train_and_compare(MyVAE, train_step, latent_dim=4, hidden=32, steps=60)
    assert good.passed is True and "within" in good.message, str(good)
    idle = lesson01.train_and_compare(MyVAE, lambda m, o, x: train_step(m, o, x, learn=False),
                                      latent_dim=4, hidden=32, steps=60)
    assert idle.passed is False and "nats apart" in idle.message, str(idle)
    unwritten = lesson01.train_and_compare(MyVAE, lambda m, o, x: (_ for _ in ()).throw(NotImplementedError()),
                                           latent_dim=4, hidden=32, steps=5)
    assert unwritten.passed is None


def test_the_same_mode_rate_exercise_is_what_lesson_8b_measures():
    """The exercise's reference and lesson 8b's hybrids.same_mode_rate give the same rate and chance."""
    import types

    from course_lib.exercises import lesson08
    from course_lib.lessons import hybrids
    g = torch.Generator().manual_seed(3)
    x, back = lesson08._ring(64, g), lesson08._ring(64, g, shift=2)
    back[::3] = x[::3] * 1.5                                        # a third land in their own mode
    rate, chance = hybrids.same_mode_rate(types.SimpleNamespace(reconstruct=lambda points: back), x)
    ours = lesson08._same_mode(x, back)
    assert abs(rate - float(ours[0])) < 1e-12 and abs(chance - float(ours[1])) < 1e-12 and rate > chance > 0


def test_the_wae_loss_exercise_is_the_course_waes_loss():
    """check.wae_mmd_loss's reference equals WAE.loss_terms(x)["loss"] with the same prior draws."""
    from course_lib import WAE
    from course_lib.exercises import lesson06
    torch.manual_seed(0)
    wae = WAE(latent_dim=3, hidden=(16,))
    x = torch.rand(6, 1, 28, 28)
    torch.manual_seed(7)
    course = wae.loss_terms(x, lam=4.0)["loss"]
    z = wae.encode(x)
    torch.manual_seed(7)
    prior = torch.randn_like(z)
    ours = lesson06._wae_loss(x, wae.decode(z), z, prior, 4.0)
    assert torch.allclose(ours, course, rtol=1e-5)


def test_the_free_bits_exercise_is_the_course_hierarchical_vaes_penalty():
    """check.free_bits_penalty's reference is what HierarchicalVAE.loss_terms charges in place of the rate
    (loss − distortion with β = 1), on the same draws."""
    from course_lib import HierarchicalVAE
    from course_lib.exercises import lesson05
    torch.manual_seed(0)
    model = HierarchicalVAE(latent_dims=(4, 2), hidden=16)
    x = torch.bernoulli(torch.rand(9, 1, 28, 28))
    torch.manual_seed(3)
    terms = model.loss_terms(x, free_bits=0.8)
    torch.manual_seed(3)
    z, q, p = model.pass_through(x)
    penalty = lesson05._free_bits(model.kl_per_level(z, q, p), 0.8)
    assert torch.allclose(terms["loss"] - terms["distortion"], penalty, atol=1e-3)      # float32: loss ~ 500


def test_the_information_exercise_is_what_lesson_3_estimates():
    """check.information_estimate's reference is course_lib.metrics.marginal_kl_and_information's information
    term for one sample per image, on the same noise."""
    from course_lib import VAE
    from course_lib.exercises import lesson03
    from course_lib.metrics import marginal_kl_and_information
    torch.manual_seed(0)
    model = VAE.mlp(latent_dim=3, hidden=(16,))
    x = torch.rand(12, 1, 28, 28)
    course = marginal_kl_and_information(model, x, n_samples=1, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        q = model.encoder(x)
    mean, log_var = q.mean.double(), q.log_var.double()
    z = mean + (0.5 * log_var).exp() * torch.randn(mean.shape, generator=torch.Generator().manual_seed(9),
                                                     dtype=torch.float64)
    assert abs(float(lesson03._information(mean, log_var, z)) - course["information"]) < 1e-9


def test_the_flow_density_exercise_is_the_change_of_variables_by_brute_force():
    """check.flow_log_density's reference, on its non-commuting layers (one non-linear), equals
    log p_base(f⁻¹(x)) + log |det J_{f⁻¹}(x)| with the Jacobian of the whole inverse from autograd."""
    from course_lib.exercises import lesson07
    layers = [lesson07._Affine([2.0, 0.5], [0.3, -1.0]), lesson07._Shear(1.5), lesson07._Squash(),
              lesson07._Affine([0.7, 3.0], [1.0, 0.2])]

    def inverse_of_all(point):
        z = point[None]
        for inverse in reversed(layers):
            z, _ = inverse(z)
        return z[0]

    x = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    brute = torch.stack([lesson07._standard_normal(inverse_of_all(p)[None])[0]
                         + torch.linalg.slogdet(torch.autograd.functional.jacobian(inverse_of_all, p))[1] for p in x])
    assert torch.allclose(lesson07._flow_density(x, layers, lesson07._standard_normal), brute, atol=1e-9)


def test_the_binned_information_exercise_is_what_mig_uses():
    """check.binned_mutual_information's reference is course_lib.metrics.mutual_information_matrix's entry."""
    from course_lib.exercises import lesson04
    from course_lib.metrics import mutual_information_matrix
    g = torch.Generator().manual_seed(5)
    factor = torch.randint(0, 5, (400,), generator=g)
    code = factor.double() + 1.3 * torch.randn(400, generator=g, dtype=torch.float64)
    for bins in (7, 20):
        ours = float(lesson04._binned_mi(code, factor, bins))
        assert abs(ours - float(mutual_information_matrix(code[:, None], factor[:, None], bins=bins)[0, 0])) < 1e-12


def test_the_surrogate_exercises_gradient_is_the_score_function_estimate():
    """check.score_function_surrogate's reference, differentiated, is mean_i (f(z_i) − b) ∇ log q(z_i) from the
    course's gaussian_score, though f_values carry a pathwise graph."""
    from course_lib.estimators.gradients import gaussian_score
    from course_lib.exercises import lesson02
    mean, log_std, b = (torch.tensor(v, dtype=torch.float64) for v in (0.4, -0.3, 0.7))
    eps = torch.randn(9, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    z = mean + log_std.exp() * eps
    by_hand = ((lesson02._f(z) - b)[:, None] * gaussian_score(z, mean, log_std)).mean(0)
    assert torch.allclose(lesson02._gradient_of(lesson02._surrogate)(mean, log_std, eps, b), by_hand, atol=1e-12)


def test_the_vr_exercise_is_the_courses_vr_bound_and_iwae_at_alpha_zero():
    """check.vr_estimate's reference equals course_lib.estimators.divergences.vr_bound on every case (α = 1, the
    ELBO's limit, among them), and is IWAE_k at α = 0."""
    from course_lib.estimators.divergences import vr_bound
    from course_lib.exercises import lesson08
    from course_lib.objectives import importance_weighted_bound
    for case in lesson08._vr_cases():
        assert torch.allclose(lesson08._vr(**case), vr_bound(case["log_weights"], case["alpha"]), rtol=1e-12)
    log_w = lesson08._vr_cases()[0]["log_weights"]
    assert torch.allclose(lesson08._vr(log_w, 0.0), importance_weighted_bound(log_w), rtol=1e-12)


def test_the_bits_exercise_is_what_lesson_7b_trains_and_reports(small_image_flow):
    """check.bits_per_dimension's reference, averaged over a batch, is image_nll_objective's bits/dim."""
    from course_lib.exercises import lesson07
    from course_lib.lessons import flow_vae
    flow, y = small_image_flow
    with torch.no_grad():
        reported = flow_vae.image_nll_objective(flow, y)["bits/dim"]
        ours = lesson07._bits(flow.log_prob(y).double(), 784).mean()
    assert torch.allclose(ours.float(), reported, rtol=1e-5)


def test_the_water_filling_exercise_is_the_courses_rate_distortion_function():
    from course_lib.exercises import lesson03
    from course_lib.models.rate_distortion import gaussian_rate_distortion
    for case in lesson03._water_cases():
        assert abs(float(lesson03._water_rate(**case)) - gaussian_rate_distortion(case["variances"], case["distortion"])) < 1e-9


def test_the_gumbel_exercise_is_the_courses_sampler_with_the_same_uniform_draws():
    from course_lib.estimators.gradients import gumbel_softmax_sample
    from course_lib.exercises import lesson02
    logits = torch.tensor([0.3, -1.0, 2.0, 0.0], dtype=torch.float64)
    course = gumbel_softmax_sample(logits, 0.7, generator=torch.Generator().manual_seed(5), n=6)
    uniform = torch.rand(6, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
    assert torch.allclose(lesson02._relaxed(logits.expand(6, 4), uniform, 0.7), course, rtol=1e-12)


def test_the_wae_gan_exercise_is_the_course_wae_gans_two_losses():
    from course_lib import WAE
    from course_lib.exercises import lesson06
    from course_lib.models.wae import WAEGAN, latent_discriminator
    torch.manual_seed(0)
    model = WAEGAN(WAE(latent_dim=3, hidden=(16,)), latent_discriminator(3), lam=2.0)
    x = torch.rand(6, 1, 28, 28)
    torch.manual_seed(4)
    d_loss = model.discriminator_loss(x)["loss"]
    torch.manual_seed(4)
    prior = model.prior_sample(len(x))
    ae_loss = model.generator_loss(x)["loss"]
    z = model.wae.encode(x)
    ours = lesson06._wae_gan(model.discriminator(prior).flatten(), model.discriminator(z).flatten(), x,
                             model.wae.decode(z), 2.0)
    assert torch.allclose(ours, torch.stack([d_loss, ae_loss]), rtol=1e-5)


def test_the_ladder_exercise_merges_as_the_course_models_do():
    """check.ladder_kl's reference: level 1's posterior is course_lib's precision_weighted_merge of the bottom-up
    Gaussian with p(z_1 | z_2), and both KLs are torch.distributions' closed forms."""
    from course_lib.exercises import lesson05
    from course_lib.models.hierarchical import precision_weighted_merge
    normal = torch.distributions.Normal
    for c in lesson05._ladder_cases():
        z_2 = c["mean_2"] + (0.5 * c["log_var_2"]).exp() * c["eps_2"]
        prior_mean, prior_log_var = c["prior_1"](z_2)
        q_1 = precision_weighted_merge(c["mean_1"], c["log_var_1"], prior_mean, prior_log_var)
        kl_1 = torch.distributions.kl_divergence(normal(q_1.mean, q_1.var.sqrt()),
                                                 normal(prior_mean, (0.5 * prior_log_var).exp())).sum(-1)
        kl_2 = torch.distributions.kl_divergence(normal(c["mean_2"], (0.5 * c["log_var_2"]).exp()),
                                                 normal(0.0, 1.0)).sum(-1)
        assert torch.allclose(lesson05._ladder_kl(**c), kl_1 + kl_2, rtol=1e-12)


def test_the_entry_exercise_orders_the_factors_as_lesson_4s_table_does():
    """check.entry_capacities's reference gives, factor by factor, what reference.views.factor_order finds."""
    from course_lib.data.sprites import FACTOR_NAMES
    from course_lib.exercises import lesson04
    from course_lib.reference import views
    case = lesson04._entry_cases()[0]
    groups = {float(c): [(f"C{float(c):g}", {f"MI {name}": float(v) for name, v in zip(FACTOR_NAMES, row)})]
              for c, row in zip(case["capacities"], case["shares"])}
    order = dict(views.factor_order(groups))
    ours = lesson04._entry(**case)
    assert [order[name] if order[name] is not None else float("inf") for name in FACTOR_NAMES] == ours.tolist()


def test_the_posterior_exercise_is_the_course_models_exact_posterior():
    from course_lib.models.linear_gaussian import LinearGaussianModel
    for case in lesson01._posterior_cases():
        mean, cov = LinearGaussianModel(case["W"], case["b"], case["sigma2"]).posterior(case["x"][None])
        ours = lesson01._posterior(**case)
        assert torch.allclose(ours[0], mean[0], rtol=1e-10) and torch.allclose(ours[1:], cov, rtol=1e-10)


def test_a_plain_python_number_is_a_float_answer_where_a_float_is_wanted():
    """`return 0` for a rate of zero is a right answer, not 'dtype torch.int64'."""
    from course_lib.exercises.feedback import _form_problem
    out, problem = _form_problem("water_filling_rate", 0, torch.tensor(0.0, dtype=torch.float64), "D = 8")
    assert problem is None and out.dtype == torch.float64 and out.item() == 0.0
