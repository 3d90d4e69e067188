"""Lesson 5: hierarchical VAEs, the exact two-level sandbox, and gradients through residual stacks."""
import math

import pytest
import torch

import course_lib as cl
from course_lib.lessons import hierarchical as lesson
from course_lib.models.hierarchical import (
    HierarchicalVAE,
    free_bits_sweep_objective,
    precision_weighted_merge,
)


def test_the_merge_is_the_normalized_product_of_the_two_densities():
    """Brute force: multiply the densities on a fine grid, normalize numerically, read off mean and variance."""
    grid = torch.linspace(-12, 12, 400_001, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        m1, m2 = torch.randn(2, generator=g, dtype=torch.float64)
        lv1, lv2 = torch.randn(2, generator=g, dtype=torch.float64)
        product = (torch.distributions.Normal(m1, (0.5 * lv1).exp()).log_prob(grid)
                   + torch.distributions.Normal(m2, (0.5 * lv2).exp()).log_prob(grid)).exp()
        density = product / torch.trapezoid(product, grid)
        mean = torch.trapezoid(grid * density, grid)
        var = torch.trapezoid((grid - mean) ** 2 * density, grid)
        merged = precision_weighted_merge(m1, lv1, m2, lv2)
        assert float(merged.mean) == pytest.approx(float(mean), abs=1e-8)
        assert float(merged.var) == pytest.approx(float(var), abs=1e-8)


def test_the_merge_stays_finite_for_extreme_variances():
    merged = precision_weighted_merge(torch.tensor([1.0]), torch.tensor([-80.0]), torch.tensor([5.0]), torch.tensor([80.0]))
    assert torch.isfinite(merged.mean).all() and float(merged.mean) == pytest.approx(1.0)


@pytest.mark.parametrize("q", [(0.2, 0.5, 0.3, 0.1, 0.4), (-1.0, 0.05, -0.8, 0.6, 2.0), None])
def test_two_level_sandbox_elbo_from_levels_equals_the_joint_and_closes_the_gap_exactly(q):
    sandbox, x = lesson.TwoLevelSandbox(), 1.3
    q = q or sandbox.best_q(x)
    joint = sandbox.elbo_from_joint(x, q)
    assert sandbox.elbo_terms(x, q)["elbo"] == pytest.approx(joint, abs=1e-10)
    assert joint + sandbox.kl_to_posterior(x, q) == pytest.approx(sandbox.log_px(x), abs=1e-10)
    mc, se = sandbox.monte_carlo_elbo(x, q, n=100_000, generator=torch.Generator().manual_seed(1))
    assert abs(mc - joint) <= 4 * se + 1e-12                        # Monte Carlo, four standard errors
    assert sandbox.elbo_as_the_text_writes_it(x, q) != pytest.approx(joint, abs=1e-3)   # the text's formula


def test_the_exact_posterior_is_a_bottom_up_q_with_no_gap():
    sandbox, x = lesson.TwoLevelSandbox(a=0.7, s1=1.1, b=2.0, s0=0.3), -0.4
    q = sandbox.best_q(x)
    assert sandbox.kl_to_posterior(x, q) == pytest.approx(0.0, abs=1e-10)
    assert sandbox.elbo_from_joint(x, q) == pytest.approx(sandbox.log_px(x), abs=1e-10)


def test_log_px_is_the_marginal_of_the_joint():
    sandbox = lesson.TwoLevelSandbox()
    joint = sandbox.joint()
    marginal = torch.distributions.Normal(0.0, joint.covariance_matrix[2, 2].sqrt())
    assert sandbox.log_px(0.9) == pytest.approx(float(marginal.log_prob(torch.tensor(0.9, dtype=torch.float64))))


@pytest.mark.parametrize("inference", ["ladder", "bottom_up"])
@pytest.mark.parametrize("dims", [(6, 3), (6, 4, 2)])
def test_per_level_kls_add_up_and_match_a_monte_carlo_estimate(inference, dims):
    torch.manual_seed(0)
    model = HierarchicalVAE(image_shape=(1, 4, 4), latent_dims=dims, hidden=16, inference=inference)
    x = torch.rand(5, 1, 4, 4).bernoulli()
    terms = model.loss_terms(x)
    assert terms["rate"].item() == pytest.approx(sum(terms[f"kl_{l + 1}"].item() for l in range(len(dims))), rel=1e-6)
    assert terms["elbo"].item() == pytest.approx(-(terms["distortion"] + terms["rate"]).item(), rel=1e-6)
    # every level's KL, averaged over many passes, equals E_q[log q - log p] estimated from the same passes
    with torch.no_grad():
        xs = x.repeat(4000, 1, 1, 1)
        z, q, p = model.pass_through(xs)
        closed = model.kl_per_level(z, q, p).mean(0)
        sampled = torch.stack([q[l].log_prob(z[l]) - p[l].log_prob(z[l]) for l in range(len(dims))], -1)
        se = sampled.std(0) / math.sqrt(len(xs))
        assert ((closed - sampled.mean(0)).abs() <= 4 * se + 1e-6).all()
        units = model.kl_per_unit(x)
        assert [len(u) for u in units] == list(dims)


def test_iwae_rises_with_k_towards_log_px():
    torch.manual_seed(0)
    model = HierarchicalVAE(image_shape=(1, 4, 4), latent_dims=(4, 2), hidden=16)
    x = torch.rand(8, 1, 4, 4).bernoulli()
    torch.manual_seed(1)
    with torch.no_grad():
        elbo = model.loss_terms(x.repeat(200, 1, 1, 1))["elbo"]         # the ELBO averaged over 200 draws
    iwae = model.iwae_bound(x, k=256).mean()
    assert float(iwae) > float(elbo) + 0.1


def test_free_bits_change_the_loss_only_below_the_threshold():
    torch.manual_seed(0)
    model = HierarchicalVAE(image_shape=(1, 4, 4), latent_dims=(4, 2), hidden=16)
    x = torch.rand(16, 1, 4, 4).bernoulli()
    torch.manual_seed(3)
    plain = model.loss_terms(x)
    torch.manual_seed(3)
    lam = 50.0                                         # above every level's KL: the loss is D + L * lam
    freed = model.loss_terms(x, free_bits=lam)
    assert freed["loss"].item() == pytest.approx(plain["distortion"].item() + 2 * lam, rel=1e-6)
    assert freed["elbo"].item() == pytest.approx(plain["elbo"].item(), rel=1e-6)     # the ELBO itself is unchanged


def test_a_free_bits_sweep_trains_and_samples_top_down():
    x = cl.make_sprites(256, seed=0).images
    swept = cl.fit_sweep(lambda: HierarchicalVAE(image_shape=(1, 32, 32), latent_dims=(4, 2), hidden=32), x,
                         free_bits_sweep_objective(), [0.0, 1.0], steps=20, batch_size=64, log_every=10,
                         progress=False, device="cpu")
    model = swept[1][0]
    assert swept[0][1].steps == [10, 20] and "kl_2" in swept[1][1].terms
    top = torch.zeros(3, 2)
    noise = [torch.zeros(3, 4)]
    a, b = model.sample(3, z_top=top, noise=noise), model.sample(3, z_top=top, noise=noise)
    assert a.shape == (3, 1, 32, 32) and torch.equal(a, b)          # fixed top and noise: the same images


def test_the_chain_rule_through_a_residual_block_matches_autograd_and_the_text_does_not():
    check = lesson.gradient_flow_check(depth=6, l=2, width=8, seed=3)
    assert torch.allclose(check["chain rule"], check["autograd"], atol=1e-12)
    assert (check["course text"] - check["autograd"]).abs().max() > 1e-3


def test_skips_keep_the_gradient_alive_at_depth():
    with_skip, without = lesson.gradient_norms(64, skip=True), lesson.gradient_norms(64, skip=False)
    assert len(with_skip) == 65
    assert with_skip[0] > 0.1 * with_skip[-1]                 # the input side still gets a real gradient
    assert without[0] < 1e-6 * without[-1]                    # without skips it vanishes


def test_the_matched_flat_vae_has_about_the_same_parameter_count():
    reference = lesson.build_model("ladder", 2)
    flat = lesson.matched_flat_vae(reference, 24)
    assert flat.latent_dim == 24
    assert abs(lesson.parameter_count(flat) - lesson.parameter_count(reference)) < 0.01 * lesson.parameter_count(reference)


def test_the_sliders_move_their_figures():
    depth = lesson.depth_explorer(depths=(2, 8), width=8)
    first = bytes(depth.image.value)
    depth.set(depth=2)
    assert bytes(depth.image.value) != first
    results = [{"kl": [1.0, 0.1], "elbo": -100.0, "active": [3, 1], "units": [4, 2]},
               {"kl": [1.5, 0.8], "elbo": -98.0, "active": [4, 2], "units": [4, 2]}]
    live = lesson.free_bits_explorer((0.0, 0.5), results)
    first = bytes(live.image.value)
    live.set(lam=0.5)
    assert bytes(live.image.value) != first and live.message is None


def test_the_paired_comparison_of_a_model_with_itself_is_exactly_zero():
    torch.manual_seed(0)
    model = HierarchicalVAE(image_shape=(1, 4, 4), latent_dims=(4, 2), hidden=16)
    x = torch.rand(20, 1, 4, 4).bernoulli()
    same = lesson.compare_with_flat(model, model, x, k=8)
    assert same["difference"] == 0.0 and same["se"] == 0.0 and same["hierarchical"] == same["flat"]
    torch.manual_seed(1)
    other = HierarchicalVAE(image_shape=(1, 4, 4), latent_dims=(4, 2), hidden=16)
    differs = lesson.compare_with_flat(model, other, x, k=8)
    assert differs["difference"] == pytest.approx(differs["hierarchical"] - differs["flat"], abs=1e-4)
    assert differs["se"] > 0


def test_the_residual_normal_kl_is_torchs_and_ignores_the_priors_mean():
    g = torch.Generator().manual_seed(3)
    mean, std = torch.randn(4, 5, generator=g, dtype=torch.float64), 0.3 + torch.rand(4, 5, generator=g, dtype=torch.float64)
    d_mean, d_std = torch.randn(4, 5, generator=g, dtype=torch.float64), 0.2 + torch.rand(4, 5, generator=g, dtype=torch.float64)
    for shift in (0.0, -3.0):
        q = torch.distributions.Normal(mean + shift + d_mean, std * d_std)
        exact = torch.distributions.kl_divergence(q, torch.distributions.Normal(mean + shift, std)).sum(-1)
        assert torch.allclose(lesson.residual_normal_kl(d_mean, d_std, std), exact, atol=1e-12)
    fig = lesson.graphical_models_figure()
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["generation", "bottom-up inference", "Ladder inference"]


def test_collapsed_from_finds_the_step_after_which_a_kl_stays_below_the_threshold():
    from course_lib.lessons.hierarchical import collapsed_from
    from course_lib.training.train import History
    history = History(steps=[50, 100, 150, 200, 250], terms={"kl_2": [0.5, 0.005, 0.02, 0.004, 0.001],
                                                               "kl_1": [1.0, 2.0, 2.0, 2.0, 2.0]})
    assert collapsed_from(history, "kl_2") == 200          # the dip at 100 came back above 0.01
    assert collapsed_from(history, "kl_2", below=0.03) == 100
    assert collapsed_from(history, "kl_1") is None
    with pytest.raises(cl.CourseInputError, match="term: this history has no 'kl_3'"):
        collapsed_from(history, "kl_3")
    with pytest.raises(cl.CourseInputError, match=r"history must be a training History .* not dict"):
        collapsed_from({"kl_2": [0.5, 0.001]}, "kl_2")
