"""Lesson 8: the alpha family, the Renyi/VR bound, AIS and the total-correlation decomposition,
each against an exact value."""
import math

import numpy as np
import pytest
import torch

from course_lib.distributions import DiagonalGaussian
from course_lib.estimators.ais import ais, geometric_betas, log_mean_standard_error
from course_lib.estimators.divergences import (
    alpha_divergence_gaussians,
    alpha_divergence_grid,
    renyi_gaussians,
    text_alpha_divergence_grid,
    vr_bound,
)
from course_lib.lessons import divergences as lesson
from course_lib.metrics.information import (
    importance_weighted_total_correlation,
    mws_total_correlation,
    total_correlation_decomposition,
)
from course_lib.models.linear_gaussian import LinearGaussianModel
from course_lib.objectives import importance_weighted_bound


@pytest.mark.parametrize("alpha", [-0.5, 0.3, 0.5, 0.9, 1.0, 2.0, 2.5, 0.0])
def test_alpha_divergence_by_quadrature_matches_the_gaussian_closed_form(alpha):
    _, log_p, log_q, dx = lesson.gaussian_grid()
    (mp, sp), (mq, sq) = lesson.P, lesson.Q
    assert abs(alpha_divergence_grid(log_p, log_q, alpha, dx) - alpha_divergence_gaussians(mp, sp, mq, sq, alpha)) < 1e-7


def test_alpha_divergence_limits_and_special_cases():
    for name, (quadrature, closed) in lesson.special_cases().items():
        assert abs(quadrature - closed) < 1e-3, name
    _, log_p, _, dx = lesson.gaussian_grid()
    for alpha in (-0.5, 0.5, 2.0):
        assert abs(alpha_divergence_grid(log_p, log_p, alpha, dx)) < 1e-9                  # zero at p = q
        assert abs(text_alpha_divergence_grid(log_p, log_p, alpha, dx) + 1 / alpha) < 1e-9  # the text's is -1/alpha


def test_renyi_between_gaussians_matches_quadrature_in_one_dimension():
    x = torch.linspace(-15, 15, 30001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    log_q = DiagonalGaussian(torch.tensor([0.3], dtype=torch.float64), torch.tensor([math.log(0.7)], dtype=torch.float64)).log_prob(x[:, None])
    log_p = DiagonalGaussian(torch.tensor([-0.4], dtype=torch.float64), torch.tensor([math.log(1.3)], dtype=torch.float64)).log_prob(x[:, None])
    for alpha in (0.5, 2.0, -0.5):
        quadrature = math.log(float(torch.exp(alpha * log_q + (1 - alpha) * log_p).sum() * dx)) / (alpha - 1)
        exact = renyi_gaussians(torch.tensor([0.3], dtype=torch.float64), torch.tensor([[0.7]], dtype=torch.float64),
                                torch.tensor([-0.4], dtype=torch.float64), torch.tensor([[1.3]], dtype=torch.float64), alpha)
        assert abs(float(exact) - quadrature) < 1e-8
    diverges = renyi_gaussians(torch.zeros(1, dtype=torch.float64), torch.tensor([[4.0]], dtype=torch.float64),
                               torch.zeros(1, dtype=torch.float64), torch.tensor([[1.0]], dtype=torch.float64), 3.0)
    assert math.isinf(float(diverges))


def test_vr_bound_runs_from_log_px_to_the_elbo_and_monte_carlo_agrees():
    vr = lesson.vr_sandbox([0.0, 0.5, 1.0, 2.0], k=20000)
    assert abs(vr["exact"][0] - vr["log p(x)"]) < 1e-9 and abs(vr["exact"][2] - vr["ELBO"]) < 1e-9
    assert all(a >= b for a, b in zip(vr["exact"], vr["exact"][1:]))
    assert max(abs(vr["exact"] - vr["monte carlo"])) < 0.03
    log_w = torch.randn(7, 3, dtype=torch.float64)
    torch.testing.assert_close(vr_bound(log_w, 1.0), log_w.mean(0))
    torch.testing.assert_close(vr_bound(log_w, 0.0), importance_weighted_bound(log_w))


def test_ais_matches_the_exact_marginal_likelihood_on_the_sandbox():
    estimates, exact = lesson.ais_sandbox(steps=(100,), chains=500)
    estimate, se = estimates[100]
    assert all(abs(e - x) < 4 * s + 0.1 for e, x, s in zip(estimate, exact, se))


def test_ais_with_one_step_is_importance_sampling_from_the_prior():
    model = LinearGaussianModel.random(d=3, k=2, seed=0)
    x = torch.randn(2, 3, dtype=torch.float64)
    torch.manual_seed(0)
    z = torch.randn(40, 2, 2, dtype=torch.float64)
    prior = lambda v: -0.5 * (v ** 2).sum(-1) - math.log(2 * math.pi)
    estimate, log_w, _ = ais(prior, lambda v: model.log_likelihood(x, v), lambda n: torch.randn(n, 2, 2, dtype=torch.float64),
                             1, 40)
    torch.testing.assert_close(log_w, model.log_likelihood(x, z))
    torch.testing.assert_close(estimate, torch.logsumexp(log_w, 0) - math.log(40))
    flat = ais(lambda v: torch.zeros(v.shape[:-1], dtype=v.dtype), lambda v: model.log_likelihood(x, v),
               lambda n: torch.randn(n, 2, 2, dtype=torch.float64), 3, 40)[0]      # a flat prior: no gradient of its own
    assert torch.isfinite(flat).all()
    assert geometric_betas(5)[0] == 0 and geometric_betas(5)[-1] == 1 and (geometric_betas(5).diff() > 0).all()
    assert log_mean_standard_error(torch.zeros(10, 2)).abs().max() < 1e-12


def test_tc_decomposition_sums_to_the_average_kl_and_vanishes_for_one_posterior():
    g = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(200, 3, generator=g, dtype=torch.float64), 0.3 * torch.randn(200, 3, generator=g, dtype=torch.float64) - 1
    split = total_correlation_decomposition(mean, log_var, n_samples=4, generator=g)
    assert abs(split["sum"] - split["average KL (closed form)"]) < 4 * split["standard error of the sum"]
    assert abs(split["index-code MI"] + split["total correlation"] + split["dimension-wise KL"] - split["sum"]) < 1e-9
    one = total_correlation_decomposition(mean[:1], log_var[:1], n_samples=2, generator=g)
    assert abs(one["index-code MI"]) < 1e-12 and abs(one["total correlation"]) < 1e-12


def test_importance_weighted_tc_with_the_whole_data_set_uses_the_exact_aggregate():
    g = torch.Generator().manual_seed(1)
    mean, log_var = torch.randn(30, 3, generator=g, dtype=torch.float64), torch.zeros(30, 3, dtype=torch.float64) - 1
    z = mean + (0.5 * log_var).exp() * torch.randn(mean.shape, generator=g, dtype=torch.float64)
    pairs = DiagonalGaussian(mean[None], log_var[None]).log_prob_per_dim(z[:, None, :])
    exact = (torch.logsumexp(pairs.sum(-1), 1) - torch.logsumexp(pairs, 1).sum(-1) + 2 * math.log(30)).mean()
    torch.testing.assert_close(importance_weighted_total_correlation(pairs, 30), exact)
    torch.testing.assert_close(mws_total_correlation(pairs, 30), exact + 2 * math.log(30))   # offset (d - 1) log N


def test_evaluations_work_on_copies_and_leave_a_cached_model_where_it_is():
    from course_lib.lessons import flows as flows_lesson
    from course_lib.models.vae import VAE
    torch.manual_seed(0)
    vae = VAE.mlp(latent_dim=2, hidden=(8,))
    flow = flows_lesson.build_energy_flow("planar", 2)
    before = [p.data_ptr() for p in (*vae.parameters(), *flow.parameters())]
    lesson.ais_on_vae(vae, (torch.rand(2, 1, 28, 28) > 0.5).float(), steps=(2,), chains=3)
    flows_lesson.reverse_kl(flow, "u1", n=50)
    flows_lesson.flow_density_image(flow, n=5)
    assert [p.data_ptr() for p in (*vae.parameters(), *flow.parameters())] == before
    assert all(p.dtype == torch.float32 for p in (*vae.parameters(), *flow.parameters()))


def test_the_fitted_gaussians_of_the_two_mode_target_are_the_closed_forms_at_the_ends():
    """Lesson 8's α fits: the differentiable D_α is the estimator's, the α = 1 fit is p's moment match (the
    KL(p ‖ q) fit within an exponential family), and the α = 0 fit is nearly one mode, at KL nearly log 2."""
    x, log_p, dx = lesson.two_modes_grid()
    log_q = -0.5 * ((x - 0.3) / 1.5) ** 2 - math.log(1.5 * math.sqrt(2 * math.pi))
    for alpha in (0.0, 0.3, 1.0, 1.7):
        assert abs(float(lesson._alpha_divergence(log_p, log_q, alpha, dx))
                   - alpha_divergence_grid(log_p, log_q, alpha, dx)) < 1e-12
    mean, std, _ = lesson.fit_gaussian(1.0, lesson.FIT_STARTS["both modes"])
    assert abs(mean) < 1e-4 and abs(std - math.sqrt(2.0 ** 2 + 0.6 ** 2)) < 1e-4
    mean, std, kl = lesson.fit_gaussian(0.0, lesson.FIT_STARTS["one mode"])
    assert abs(mean - 2) < 0.01 and abs(std - 0.6) < 0.01 and abs(kl - math.log(2)) < 0.01
    fits = lesson.alpha_fits((0.0, 1.0))
    assert np.isnan(fits["one mode"]["mean"][1])           # at α = 1 no minimum sits on a mode
    assert [lesson.best_fit(fits, i) for i in (0, 1)] == ["one mode", "both modes"]
