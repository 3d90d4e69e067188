"""Gradient estimators against closed-form gradients, with Monte Carlo tolerances."""
import math

import pytest
import torch

from course_lib import VAE, CourseInputError, vae_objective
from course_lib.estimators import (
    gamma_implicit_samples,
    gaussian_score,
    gumbel_softmax_sample,
    lognormal_pathwise_mean,
    pathwise_samples,
    score_function_samples,
    score_function_vae_objective,
)
from course_lib.lessons.reparam import cosine_gradient, cosine_mean, quadratic

N = 200_000


def within(samples, exact, n_se=5):
    """The mean of the samples is within n_se standard errors of the exact value."""
    se = samples.std(0) / math.sqrt(samples.shape[0])
    return bool(((samples.mean(0) - exact).abs() <= n_se * se + 1e-12).all())


@pytest.mark.parametrize("mean, log_std", [(0.0, 0.0), (1.7, -0.5), (-1.0, 0.4)])
def test_both_estimators_are_unbiased_for_the_quadratic(mean, log_std):
    # E[(z - 1)^2] = (mu - 1)^2 + sigma^2:  d/dmu = 2 (mu - 1),  d/dlog sigma = 2 sigma^2
    exact = torch.tensor([2 * (mean - 1), 2 * math.exp(2 * log_std)], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    assert within(score_function_samples(quadratic, mean, log_std, N, generator=g), exact)
    assert within(score_function_samples(quadratic, mean, log_std, N, baseline=3.0, generator=g), exact)
    assert within(pathwise_samples(quadratic, mean, log_std, N, generator=g), exact)


def test_pathwise_matches_autograd_of_the_sample_average():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    per_sample = pathwise_samples(torch.sin, 0.3, -0.2, 50, generator=g1)
    eps = torch.randn(50, generator=g2, dtype=torch.float64)
    params = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    torch.sin(params[0] + params[1].exp() * eps).mean().backward()
    torch.testing.assert_close(per_sample.mean(0), params.grad)


def test_cosine_gradient_formula_and_the_variance_crossover():
    mean, log_std = 0.5, 0.0
    for omega in (0.5, 3.0):
        f = lambda z, w=omega: torch.cos(w * z)
        exact = cosine_gradient(omega, mean, log_std)
        g = torch.Generator().manual_seed(1)
        path = pathwise_samples(f, mean, log_std, N, generator=g)[:, 0]
        base = cosine_mean(omega, mean, log_std)
        fz = f(mean + torch.randn(N, generator=g, dtype=torch.float64))
        assert abs(fz.mean() - base) < 5 * fz.std() / math.sqrt(N)        # the closed form of E_q[cos]
        score = score_function_samples(f, mean, log_std, N, baseline=base, generator=g)[:, 0]
        assert within(path, exact) and within(score, exact)
        if omega == 0.5:
            assert path.var() < score.var()
        else:                                      # a fast-wiggling f: pathwise is the noisier one
            assert path.var() > 3 * score.var()


def test_lognormal_pathwise_gradient():
    mean, log_std = 0.2, -0.3
    exact = math.exp(mean + 0.5 * math.exp(2 * log_std))
    assert within(lognormal_pathwise_mean(mean, log_std, N, generator=torch.Generator().manual_seed(0)),
                  torch.tensor(exact, dtype=torch.float64))


def test_gumbel_max_is_exact_and_softmax_relaxation_is_biased_at_high_temperature():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    y = gumbel_softmax_sample(probs.log(), 0.01, generator=g, n=N)
    freq = torch.bincount(y.argmax(1), minlength=4) / N
    assert ((freq - probs).abs() < 5 * (probs * (1 - probs) / N).sqrt()).all()     # Gumbel-max trick
    hot = gumbel_softmax_sample(probs.log(), 5.0, generator=g, n=N).mean(0)
    assert (hot - probs).abs().max() > 0.1                                          # tau large: near uniform
    with pytest.raises(CourseInputError, match="temperature must be > 0"):
        gumbel_softmax_sample(probs.log(), 0.0)


def test_score_function_vae_objective_has_the_same_value_and_an_unbiased_gradient():
    torch.manual_seed(0)
    model = VAE.mlp(image_shape=(1, 4, 4), latent_dim=2, hidden=(8,))
    x = torch.rand(1, 1, 4, 4).bernoulli().expand(20000, 1, 4, 4)     # one image, many samples
    enc = list(model.encoder.parameters())

    def encoder_grad(loss_fn):
        model.zero_grad()
        terms = loss_fn(model, x, 0)
        terms["loss"].backward()
        return torch.cat([p.grad.flatten() for p in enc]), terms

    path, t_path = encoder_grad(vae_objective())
    for baseline in (None, "decoded_mean"):
        score, t_score = encoder_grad(score_function_vae_objective(baseline))
        assert abs(t_path["loss"] - t_score["loss"]) < 0.1 * abs(t_path["loss"])   # same quantity
        assert torch.nn.functional.cosine_similarity(path, score, dim=0) > 0.9
        assert (score - path).norm() < 0.3 * path.norm()
    with pytest.raises(CourseInputError, match="baseline must be None or 'decoded_mean'"):
        score_function_vae_objective("mean")


def test_gaussian_score_is_the_autograd_gradient_of_log_q_and_has_mean_zero():
    z = torch.randn(7, dtype=torch.float64)
    params = torch.tensor([0.4, -0.3], dtype=torch.float64, requires_grad=True)
    log_q = torch.distributions.Normal(params[0], params[1].exp()).log_prob(z)
    for i in range(7):
        expected = torch.autograd.grad(log_q[i], params, retain_graph=True)[0]
        torch.testing.assert_close(gaussian_score(z, 0.4, -0.3)[i], expected)
    draws = gaussian_score(0.4 + math.exp(-0.3) * torch.randn(N, dtype=torch.float64), 0.4, -0.3)
    assert within(draws, torch.zeros(2, dtype=torch.float64))


def test_gamma_implicit_gradient_estimates_one_over_rate():
    torch.manual_seed(0)
    draws = gamma_implicit_samples(2.5, 1.5, N)
    assert within(draws, torch.tensor(1 / 1.5, dtype=torch.float64))


@pytest.mark.parametrize("f, message", [
    (lambda z: z.mean(), "f must act elementwise"),
    (3.0, "f must be a function of z"),
    (lambda z: z.detach().numpy(), "f must return a torch.Tensor"),
    # score function: z has no gradient, so this returns an array; pathwise: numpy() itself fails
    (lambda z: z.numpy(), r"f must return a torch.Tensor|f\(z\) failed with RuntimeError.*use torch operations"),
])
def test_bad_functions_are_explained_by_both_estimators(f, message):
    for estimator in (score_function_samples, pathwise_samples):
        with pytest.raises(CourseInputError, match=message):
            estimator(f, 0.0, 0.0, 5)


def test_bad_logits_are_explained():
    with pytest.raises(CourseInputError, match=r"logits must be a 1-D float tensor \(K,\), got list"):
        gumbel_softmax_sample([0.1, 0.2], 1.0)


def test_variance_figure_measures_the_one_over_n_law_and_the_ordering():
    """What lesson 2's variance figure shows: each estimator's variance falls as 1/n, and for
    f = (z - 1)^2 at mu = 0, sigma = 1 the order is pathwise < score + baseline < score."""
    from course_lib.lessons.reparam import averaged_estimates
    draws = averaged_estimates(quadratic, 0.0, 0.0, n_values=(1, 64), reps=3000)
    for name, d in draws.items():
        ratio = d[1].var() / d[64].var()
        assert 64 / 1.5 < ratio < 64 * 1.5, (name, ratio)
        assert abs(d[64].mean() - (-2.0)) < 5 * d[64].std() / math.sqrt(len(d[64]))   # unbiased: 2 (mu - 1)
    v = {name: d[64].var() for name, d in draws.items()}
    assert v["pathwise"] < v["score function + baseline"] < v["score function"]
