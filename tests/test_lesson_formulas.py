"""The formulas this course's lessons added to their readings, each against an independent computation: the
quadratic's estimator variances (Monte Carlo), the Gumbel-softmax gradient's bias (exact gradient), the
Gaussian-fit KL (closed form, and its lower-bound property), per-pixel histograms (entropy of known images),
the α-VAE counterexample (quadrature), the rotation scan (its closed-form gap) and the BiGAN same-mode rate."""
import math

import numpy as np
import pytest
import torch

import course_lib as cl
from course_lib.errors import CourseInputError
from course_lib.lessons import divergences, elbo, flow_vae, hybrids, reparam
from course_lib.metrics import gaussian_fit_kl


@pytest.mark.parametrize("mean, log_std", [(0.3, -0.2), (-1.5, 0.4), (1.0, 0.0)])
def test_the_quadratics_estimator_variances_match_monte_carlo(mean, log_std):
    g = torch.Generator().manual_seed(0)
    n = 400_000
    formulas = reparam.quadratic_variances(mean, log_std)
    path = cl.estimators.pathwise_samples(reparam.quadratic, mean, log_std, n, generator=g)[:, 0]
    score = cl.estimators.score_function_samples(reparam.quadratic, mean, log_std, n, generator=g)[:, 0]
    base = cl.estimators.score_function_samples(reparam.quadratic, mean, log_std, n, generator=g,
                                                baseline=reparam.quadratic_mean(mean, log_std))[:, 0]
    z = mean + math.exp(log_std) * torch.randn(n, generator=g, dtype=torch.float64)
    values = reparam.quadratic(z)
    assert abs(values.mean().item() - reparam.quadratic_mean(mean, log_std)) < 4 * values.std().item() / math.sqrt(n)
    for name, draws, tol in (("pathwise", path, 0.02), ("score function", score, 0.06),
                             ("score function + baseline", base, 0.04)):
        assert abs(draws.var().item() / formulas[name] - 1) < tol, name


@pytest.mark.parametrize("mean, log_std", [(0.3, -0.2), (-1.5, 0.4)])
def test_the_variance_of_a_constant_baseline_matches_monte_carlo_and_is_least_at_the_best_one(mean, log_std):
    """baseline_variance against samples at three baselines (none, E_q f, b*); b* is where it is least, on a fine
    grid of b, and the formulas agree with quadratic_variances where they overlap."""
    n = 400_000
    best = reparam.best_constant_baseline(mean, log_std)
    for b, tol in ((0.0, 0.06), (reparam.quadratic_mean(mean, log_std), 0.04), (best, 0.04)):
        draws = cl.estimators.score_function_samples(reparam.quadratic, mean, log_std, n, baseline=b,
                                                     generator=torch.Generator().manual_seed(1))[:, 0]
        assert abs(draws.var().item() / reparam.baseline_variance(mean, log_std, b) - 1) < tol, b
    grid = [best + step / 100 for step in range(-300, 301)]
    assert min(grid, key=lambda b: reparam.baseline_variance(mean, log_std, b)) == best
    formulas = reparam.quadratic_variances(mean, log_std)
    assert math.isclose(reparam.baseline_variance(mean, log_std, 0.0), formulas["score function"])
    assert math.isclose(reparam.baseline_variance(mean, log_std, reparam.quadratic_mean(mean, log_std)),
                        formulas["score function + baseline"])


def test_the_relaxed_gradient_is_unbiased_in_the_limit_and_shrunk_at_high_temperature():
    m = reparam.relaxed_gradient_moments([0.05, 100.0], n=20000)
    exact_norm = float(torch.tensor([0.07, -0.06, 0.51, -0.52]).norm())   # π_k (w_k − π·w) for the defaults
    assert m["bias"][0] < 0.05 and abs(m["bias"][1] - exact_norm) < 0.01      # τ → ∞: the gradient vanishes
    assert m["variance"][0] > 100 * m["variance"][1]
    with pytest.raises(CourseInputError, match="probs must sum to 1"):
        reparam.relaxed_gradient_moments([1.0], probs=(0.5, 0.6), weights=(1.0, 0.0))


def test_the_gaussian_fit_kl_is_the_closed_form_for_gaussian_codes_and_a_lower_bound_otherwise():
    g = torch.Generator().manual_seed(0)
    mean, scale = torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.5])
    z = mean + scale * torch.randn(200_000, 2, generator=g)
    exact = float(0.5 * (scale.pow(2).sum() + mean.pow(2).sum() - 2 - scale.pow(2).log().sum()))
    assert gaussian_fit_kl(z) == pytest.approx(exact, abs=0.02)
    # a two-component mixture: its KL from N(0, I) by Monte Carlo (its density exactly) exceeds the fitted one
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])
    x = centres[torch.randint(0, 2, (200_000,), generator=g)] + 0.3 * torch.randn(200_000, 2, generator=g)
    log_q = torch.logsumexp(torch.distributions.Normal(centres, 0.3).log_prob(x[:, None]).sum(-1), 1) - math.log(2)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(-1)
    assert gaussian_fit_kl(x) < float((log_q - log_p).mean()) - 1
    with pytest.raises(CourseInputError):
        gaussian_fit_kl(torch.zeros(5))


def test_per_pixel_histograms_score_known_entropies():
    g = torch.Generator().manual_seed(0)
    uniform = torch.randint(0, 256, (20000, 1, 2, 2), generator=g) / 255
    assert flow_vae.pixel_histogram_bits_per_dim(uniform[:10000], uniform[10000:]) == pytest.approx(8.0, abs=0.02)
    coin = torch.randint(0, 2, (20000, 1, 2, 2), generator=g).float()   # two values: one bit each, plus what the
    smoothing = math.log2((10000 + 256) / (10000 + 2))                    # 254 unseen values' pseudo-counts take
    assert flow_vae.pixel_histogram_bits_per_dim(coin[:10000], coin[10000:]) == pytest.approx(1 + smoothing, abs=0.01)


def test_the_alpha_vae_counterexample_against_quadrature():
    case = divergences.alpha_vae_counterexample(x=4.0, noise_var=0.1, alpha=0.5)
    z = torch.linspace(-10, 10, 200001, dtype=torch.float64)
    dz = float(z[1] - z[0])
    q = torch.distributions.Normal(4.0 / 1.1, math.sqrt(0.1 / 1.1)).log_prob(z).exp()
    prior = torch.distributions.Normal(0.0, 1.0).log_prob(z).exp()
    likelihood = torch.distributions.Normal(z, math.sqrt(0.1)).log_prob(torch.tensor(4.0, dtype=torch.float64))
    log_px = math.log(float((prior * likelihood.exp()).sum() * dz))
    amari = (1 - float((q.sqrt() * prior.sqrt()).sum() * dz)) / 0.25
    assert case["log p(x)"] == pytest.approx(log_px, abs=1e-6)
    assert case["E_q log p(x|z)"] == pytest.approx(float((q * likelihood).sum() * dz), abs=1e-6)
    assert case["D_alpha(q || p(z))"] == pytest.approx(amari, abs=1e-6)
    assert case["text's objective"] > case["log p(x)"]
    with pytest.raises(CourseInputError, match="noise_var must be > 0"):
        divergences.alpha_vae_counterexample(noise_var=0.0)


def test_the_rotation_scans_best_elbo_gap_is_minus_half_log_one_minus_rho_squared():
    model = cl.LinearGaussianModel.random(d=4, k=2, sigma2=1.0, seed=28)
    x, _ = model.sample(50, generator=torch.Generator().manual_seed(2))
    angles = np.linspace(0, np.pi, 7)
    scan = elbo.rotation_scan(model, x, angles)
    for t, best, lp in zip(angles, scan["best elbo"], scan["log p"]):
        turned = cl.LinearGaussianModel(model.W @ elbo.rotation(t), model.b, model.sigma2)
        _, cov = turned.posterior(x)
        rho = float(cov[0, 1] / cov.diagonal().sqrt().prod())
        assert lp - best == pytest.approx(-0.5 * len(x) * math.log(1 - rho ** 2), rel=1e-8, abs=1e-9)
    with pytest.raises(CourseInputError, match="two latents"):
        elbo.rotation_scan(cl.LinearGaussianModel.random(d=4, k=3, seed=0), x, angles)


class _Identity(torch.nn.Module):
    def reconstruct(self, x):
        return x


class _Rotate(torch.nn.Module):
    def reconstruct(self, x):                   # every point to the next mode round the circle
        c, s = math.cos(2 * math.pi / 8), math.sin(2 * math.pi / 8)
        return x @ torch.tensor([[c, s], [-s, c]])


def test_the_same_mode_rate_is_one_for_an_inverse_and_zero_for_a_shift_by_one_mode():
    _, x = hybrids.toy_data(200)
    rate, chance = hybrids.same_mode_rate(_Identity(), x[:2000])
    assert rate == 1.0 and chance == pytest.approx(1 / 8, abs=0.01)
    assert hybrids.same_mode_rate(_Rotate(), x[:2000])[0] == 0.0
    with pytest.raises(CourseInputError):
        hybrids.same_mode_rate(_Identity(), torch.zeros(10, 3))


def test_the_missing_branch_floor_is_log_2_on_one_branch_and_zero_at_an_even_split():
    assert flow_vae.missing_branch_floor(0.0) == pytest.approx(math.log(2))
    assert flow_vae.missing_branch_floor(1.0) == pytest.approx(math.log(2))
    assert flow_vae.missing_branch_floor(0.5) == pytest.approx(0.0, abs=1e-15)
    # and it is a floor: a Gaussian mixture q with weights (s, 1 − s) on the two modes of p = ½N(−3, 1) + ½N(3, 1)
    z = torch.linspace(-12, 12, 48001, dtype=torch.float64)
    dz = float(z[1] - z[0])
    bump = lambda m: torch.distributions.Normal(m, 1.0).log_prob(z).exp()
    p = 0.5 * bump(-3.0) + 0.5 * bump(3.0)
    for weight in (0.01, 0.2, 0.5):
        q = (1 - weight) * bump(-3.0) + weight * bump(3.0)
        share = float(q[z > 0].sum() * dz)                  # q's mass with z > 0 (the bumps overlap the boundary)
        kl = float((q * (q.log() - p.log())).sum() * dz)
        assert kl >= flow_vae.missing_branch_floor(share) - 1e-6
    with pytest.raises(CourseInputError, match="share must be in"):
        flow_vae.missing_branch_floor(1.5)


def test_autograd_finds_no_path_through_a_draw_and_the_pathwise_gradient_through_rsample():
    from course_lib.lessons import reparam
    paths = reparam.gradient_paths(mean=-0.4, log_std=0.3, seed=3)
    assert paths["sampled"]["reaches φ"] is False and paths["sampled"]["gradient"] is None
    got, formula = paths["reparameterized"]["gradient"], paths["reparameterized"]["formula"]
    assert all(abs(a - b) < 1e-12 for a, b in zip(got, formula))


def test_the_prior_and_the_encoder_estimate_log_px_for_every_k_and_repeat():
    import course_lib as cl
    from course_lib.lessons import elbo
    torch.manual_seed(0)
    vae = cl.VAE.mlp(latent_dim=3, hidden=(16,))
    x = torch.bernoulli(torch.full((5, 1, 28, 28), 0.3))
    estimates = elbo.prior_against_encoder(vae, x, ks=(1, 4), repeats=3)
    assert estimates["k"] == [1, 4]
    for name in ("prior", "encoder"):
        assert estimates[name].shape == (2, 3, 5) and np.isfinite(estimates[name]).all()
    torch.manual_seed(0)                        # the encoder's estimate is IWAE_k, drawn as vae.iwae_bound draws it
    z = torch.randn(1, 5, 3)
    with torch.no_grad():
        first = elbo.importance_weighted_bound(elbo.decode_log_prob(vae.decoder, z, x)).numpy()
    assert np.allclose(estimates["prior"][0, 0], first, atol=1e-5)


def test_the_chi_square_that_sets_the_iwae_bias_is_the_variance_of_the_normalised_weights():
    from course_lib.lessons import elbo
    model, x = elbo.lesson_model()
    q_mean, q_log_var = elbo.poor_q(model, x)
    sigma2 = elbo.chi_square_to_posterior(model, x, q_mean, q_log_var)
    torch.manual_seed(0)
    log_w = model.log_weights(x, q_mean, q_log_var, 400_000).flatten() - model.log_marginal(x)
    ratio = log_w.exp()
    assert abs(float(ratio.mean()) - 1) < 0.01                                  # E_q[p(z|x)/q(z)] = 1
    assert abs(float(ratio.var()) - sigma2) < 0.05 * sigma2
    post_mean, post_cov = model.posterior(x)
    assert abs(elbo.chi_square_to_posterior(model, x, post_mean, post_cov.log())) < 1e-9   # q = posterior: 0


def test_the_prior_grid_holds_equal_prior_mass_per_row_and_column():
    """prior_quantile_grid(n): each axis at Φ⁻¹((i + ½)/n), so the normal CDF of the columns' z₁ is equally
    spaced (steps of 1/n) and symmetric about 0; rows run from the largest z₂ down, as an image is laid out."""
    n = 7
    grid = elbo.prior_quantile_grid(n)
    assert grid.shape == (n * n, 2)
    columns, rows = grid[:n, 0], grid[::n, 1]
    cdf = torch.distributions.Normal(0.0, 1.0).cdf(columns)
    assert torch.allclose(cdf, (torch.arange(n) + 0.5) / n, atol=1e-6)
    assert torch.allclose(columns, -columns.flip(0), atol=1e-5) and torch.all(rows[:-1] > rows[1:])


def test_the_decoded_grid_is_the_decoders_mean_at_each_grid_code_on_the_cpu():
    vae = cl.VAE.mlp(latent_dim=2, hidden=(8,))
    images = elbo.decoded_grid(vae, n=3)
    assert images.shape == (9, 1, 28, 28) and images.device.type == "cpu" and not images.requires_grad
    with torch.no_grad():
        assert torch.allclose(images[4], vae.decoder(elbo.prior_quantile_grid(3)[4:5]).mean[0], atol=1e-6)  # centre
