"""Lesson 7 and 7b: the targets, the quadratures, the KL estimate, the order of q_K, question 6,
the flow VAE and the image flow, each checked against an independent computation."""
import math

import pytest
import torch

from course_lib.data.toy2d import ENERGIES
from course_lib.distributions import DiagonalGaussian
from course_lib.flows import standard_normal_log_prob
from course_lib.lessons import flow_vae as lesson_b
from course_lib.lessons import flows as lesson
from course_lib.models.flow_vae import FlowVAE


def test_the_soft_wall_leaves_each_target_unchanged_inside_the_box_and_makes_it_integrable():
    z = torch.rand(500, 2, dtype=torch.float64) * 8 - 4
    for name in lesson.ENERGIES:
        torch.testing.assert_close(lesson.target_log_density(name, z), -ENERGIES[name](z))
        coarse, fine = lesson.log_normalizer(name, n=501), lesson.log_normalizer(name, n=1001)
        assert abs(coarse - fine) < 1e-3 and math.isfinite(fine)
    far = torch.tensor([[30.0, 0.0]], dtype=torch.float64)
    assert float(lesson.target_log_density("u2", far)) < -1e3                 # no mass far along z_1


def test_reverse_kl_estimate_agrees_with_quadrature():
    torch.manual_seed(0)
    flow = lesson.build_energy_flow("planar", 3)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    kl, se = lesson.reverse_kl(flow, "u1", n=40000)
    points, h = lesson.grid(edge=lesson.EDGE, n=701)
    with torch.no_grad():
        log_q = flow.double().log_prob(points)
    flow.float()
    exact = float((log_q.exp() * (log_q - lesson.target_log_density("u1", points))).sum() * h * h) \
        + lesson.log_normalizer("u1")
    assert abs(kl - exact) < 4 * se + 1e-3


def test_energy_sweep_trains_one_flow_per_target_and_lowers_the_kl(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path))
    results = lesson.train_energy_flows(60, depths=(2,), kinds=("planar",), device="cpu")
    assert sorted(results) == [("planar", name, 2) for name in lesson.ENERGIES]
    torch.manual_seed(0)
    untrained = lesson.build_energy_flow("planar", 2)
    for name in lesson.ENERGIES:
        trained_kl, se = lesson.reverse_kl(results["planar", name, 2][0], name, n=4000)
        assert trained_kl < lesson.reverse_kl(untrained, name, n=4000)[0]
        assert trained_kl > -4 * se                                              # a KL divergence


def test_determinant_timings_and_autoregressive_timings_have_every_entry():
    t = lesson.determinant_timings([4, 16], repeats=1)
    assert list(t["d"]) == [4, 16] and (t["general"] > 0).all()
    a = lesson.autoregressive_timings([2, 4], n=8, repeats=1)
    assert set(a) == {"d", "MAF density", "MAF sampling", "IAF density", "IAF sampling"}


def test_the_text_order_of_inverses_is_the_swapped_flow_and_the_samples_reject_it():
    check = lesson_b.order_check(n=301)
    assert abs(check["mass correct"] - 1) < 0.01 and abs(check["mass text"] - 1) < 0.01
    assert check["max |difference|"] > 0.01
    assert check["mean log q(samples) correct"] > check["mean log q(samples) text"] + 0.1


@pytest.mark.parametrize("case", ["two modes", "logistic"])
def test_exact_log_evidence_agrees_with_monte_carlo_over_the_prior(case):
    target = lesson_b.posterior_target(case)
    z = torch.randn(400000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    log_likelihood = target(z) - standard_normal_log_prob(z)                     # log p(x|z)
    w = log_likelihood.exp()
    estimate = math.log(float(w.mean()))
    se = float(w.std() / w.mean()) / math.sqrt(len(w))                           # delta method, in log space
    assert abs(estimate - lesson_b.exact_log_evidence(case)) < 4 * se + 1e-3


def test_question6_gaps_are_kl_divergences_and_larger_for_two_modes():
    two_modes = lesson_b.fit_posterior("two modes", "planar", 0, 200)[1]
    logistic = lesson_b.fit_posterior("logistic", "planar", 0, 200)[1]
    assert two_modes > -0.02 and logistic > -0.02
    assert two_modes > logistic + 0.3


def test_flow_vae_with_no_steps_is_the_gaussian_vae():
    torch.manual_seed(0)
    model = FlowVAE(latent_dim=3, hidden=(16,), steps=0, context_dim=2)
    x = torch.rand(5, 1, 28, 28)
    params = model.local_parameters(x)
    z, log_q = model.posterior_sample(params, k=4)
    q = DiagonalGaussian(params[:, :3], params[:, 3:6])
    torch.testing.assert_close(log_q, q.log_prob(z))


def test_flow_vae_posterior_density_matches_the_change_of_variables():
    torch.manual_seed(0)
    for kind in ("planar", "iaf"):
        model = FlowVAE(latent_dim=3, hidden=(16,), flow=kind, steps=2, context_dim=2).double()
        with torch.no_grad():
            for p in model.flow.parameters():
                p.add_(0.2 * torch.randn_like(p))
        params = model.local_parameters(torch.rand(4, 1, 28, 28, dtype=torch.float64))
        torch.manual_seed(1)
        z, log_q = model.posterior_sample(params, k=1)
        mean, log_var, context = params.split([3, 3, 2], dim=-1)
        z0, logabsdet = model.flow.inverse(z[0], context)                      # back through the flow
        torch.testing.assert_close(log_q[0], DiagonalGaussian(mean, log_var).log_prob(z0) + logabsdet)


def test_optimising_each_posterior_locally_does_not_lower_the_elbo():
    torch.manual_seed(0)
    model = FlowVAE(latent_dim=2, hidden=(16,), flow="planar", steps=1, context_dim=2)
    x = (torch.rand(8, 1, 28, 28) < 0.3).float()
    gaps = lesson_b.amortization_gap(model, x, steps=40, k_elbo=256, k_iwae=256)
    assert gaps["ELBO (q optimised per image)"] > gaps["ELBO (amortized q)"]
    assert all(p.requires_grad for p in model.parameters())                    # the model is left trainable


def test_the_image_flow_is_invertible_and_its_bits_per_dim_follow_the_formula():
    torch.manual_seed(0)
    flow = lesson_b.build_image_flow(steps_per_scale=1, hidden=4).double()
    x = lesson_b.dequantize(torch.rand(3, 1, 28, 28, dtype=torch.float64))
    assert bool(((x > 0) & (x < 1)).all())
    log_p = flow.log_prob(x)                                                    # also initialises ActNorm
    z, _ = flow.transform.inverse(x)
    back, _ = flow.transform(z)
    torch.testing.assert_close(back, x)
    terms = lesson_b.image_nll_objective(flow, x)
    expected = (-log_p.mean() / 784 + math.log(256)) / math.log(2)
    torch.testing.assert_close(terms["bits/dim"], expected)
    assert flow.sample(2).shape == (2, 1, 28, 28)


def test_the_flow_depth_slider_shows_each_trained_posterior_and_its_gap():
    """Lesson 7b's slider: one frame per depth K, each a different q_K over the same exact posterior."""
    live = lesson_b.depth_explorer(20, depths=(0, 1, 3))
    frames = {bytes(live.image.value)}
    for depth in (1, 3):
        live.set(depth=depth)
        frames.add(bytes(live.image.value))
    assert len(frames) == 3 and live.message is None
    assert live.predraw_all() == 0 and len(live.frames) == 3          # all three kept: moving back is instant


def test_a_fresh_planar_step_is_near_the_identity_and_the_small_start_is_not():
    from course_lib.flows import Planar
    torch.manual_seed(0)
    for dim in (2, 5):
        with torch.no_grad():
            u_hat, w, _ = (t.detach() for t in Planar(dim).parameters_for())
        assert float(u_hat.norm()) < 0.1 and 0.2 < float(w.norm()) < 5
    assert abs(lesson.initial_log_det(32)) < 0.1              # 32 course steps barely move the density
    assert lesson.initial_log_det(32, small_init=True) < -5   # 32 small-start steps contract by e^5 or more


def test_depth_rises_names_a_rise_beyond_two_standard_errors_only():
    depths = (1, 2, 4)
    kl = {(kind, name, d): (1.0 / d, 0.01) for kind in lesson.KINDS for name in lesson.ENERGIES for d in depths}
    assert lesson.depth_rises(kl, depths) == []
    kl["radial", "u2", 4] = (0.5 + 0.02, 0.01)                # within 2 * sqrt(2) * 0.01 of K = 2's 0.5
    assert lesson.depth_rises(kl, depths) == []
    kl["radial", "u2", 4] = (0.6, 0.01)
    assert lesson.depth_rises(kl, depths) == [("radial", "u2", 2, 4)]


def test_restarts_keep_for_each_target_the_flow_whose_training_loss_ended_lowest():
    def run(seeds):
        return lesson.fit_energy_flows("planar", 1, ["u1", "u3"], steps=30, ramp_steps=10, seeds=seeds, pool=512,
                                       progress=False)
    single = [run([s]) for s in (0, 1)]
    both = run([0, 1])
    for i in range(2):
        finals = [r[i][1].last("free energy") for r in single]
        assert both[i][1].last("free energy") == min(finals)
        chosen = single[finals.index(min(finals))][i][0]
        for p, q in zip(both[i][0].parameters(), chosen.parameters()):
            torch.testing.assert_close(p, q)


def test_the_right_share_of_a_symmetric_flow_is_one_half():
    flow = lesson.build_energy_flow("radial", 1)               # starts as the identity: q = N(0, I)
    assert abs(lesson.right_share(flow, n=20000) - 0.5) < 0.02


def test_a_grown_flow_is_the_same_map_until_its_new_steps_move():
    torch.manual_seed(0)
    z = torch.randn(200, 2)
    for kind, atol in (("radial", 1e-6), ("planar", 0.1)):      # fresh radial steps are the identity exactly
        flow = lesson.perturbed(lesson.build_energy_flow(kind, 2))
        bigger = lesson.grown(flow, 4)
        assert len(bigger.transform.transforms) == 4
        (x, logdet), (x4, logdet4) = flow.transform(z), bigger.transform(z)
        torch.testing.assert_close(x4, x, atol=atol, rtol=0)
        torch.testing.assert_close(logdet4, logdet, atol=atol, rtol=0)
        assert bigger.transform.transforms[0] is not flow.transform.transforms[0]     # copies, not shared
    with pytest.raises(Exception, match="depth must be at least"):
        lesson.grown(flow, 1)


def test_growing_adds_a_restart_that_starts_from_the_shallower_flows():
    shallow = lesson.fit_energy_flows("radial", 1, ["u1", "u2"], steps=20, ramp_steps=10, seeds=[0], pool=512,
                                      progress=False)
    # only the grown restart (no seeds), with a learning rate too small to move it: it must be the start
    deeper = lesson.fit_energy_flows("radial", 2, ["u1", "u2"], steps=5, ramp_steps=1, seeds=[], pool=512, lr=1e-12,
                                     start_from=[flow for flow, _ in shallow], progress=False)
    z = torch.randn(100, 2)
    for (flow, _), (start, _) in zip(deeper, shallow):
        flow, start = lesson.cpu_copy(flow, torch.float32), lesson.cpu_copy(start, torch.float32)  # from the GPU too
        assert len(flow.transform.transforms) == 2
        torch.testing.assert_close(flow.transform(z)[0], start.transform(z)[0], atol=1e-5, rtol=0)


def test_fitting_with_no_restart_at_all_is_refused_with_a_message():
    with pytest.raises(Exception, match="seeds must hold at least one seed"):
        lesson.fit_energy_flows("planar", 1, ["u1"], steps=5, ramp_steps=1, seeds=[], pool=64, progress=False)


def test_the_pictures_before_the_contract_are_densities_by_the_change_of_variables():
    """Lesson 7's opening: the 1-d bend inverts, its density integrates to one and matches a histogram, the
    bump dips at a = 1/14 as the second derivative says; the hand-set planar steps are invertible and the
    density the inverses give integrates to one."""
    z = torch.linspace(-4, 4, 101, dtype=torch.float64)
    for a in lesson.BENDS:
        assert torch.allclose(lesson.unbend(lesson.bend(z, a)[0], a), z, atol=1e-10)
    check = lesson.change_of_variables_check(a=1.5, n=50_000)
    assert abs(check["integral"] - 1) < 1e-6 and check["largest z-score"] < 4.5
    for a, dip in ((1 / 14 - 0.01, False), (1 / 14 + 0.01, True)):
        at_0, beside = lesson.bent_density(torch.tensor([0.0, 0.05], dtype=torch.float64), a)
        assert bool(at_0 < beside) == dip
    for step in lesson.planar_steps():
        u_hat, w, _b = step.parameters_for()
        assert float((w * u_hat).sum().detach()) >= -1
    check = lesson.planar_density_check(n=301)
    assert abs(check["integral"] - 1) < 1e-3 and check["largest gap"] < 1e-8


def test_the_made_masks_picture_reads_the_network_and_is_strictly_lower_triangular():
    masks = lesson.made_masks(dim=5, hidden=(10, 7))
    strictly_lower = torch.tril(torch.ones(5, 5), diagonal=-1)
    assert [tuple(m.shape) for m in masks["layers"]] == [(10, 5), (7, 10), (5, 7)]
    assert torch.equal(masks["paths"], strictly_lower) and torch.equal(masks["jacobian"], strictly_lower)


def test_the_image_flow_walked_stage_by_stage_gives_its_own_log_density_and_tempered_samples(small_image_flow):
    flow, x = small_image_flow
    with torch.no_grad():
        rows, walked = lesson_b.image_flow_stages(flow, x)
        direct = flow.log_prob(x)
    assert torch.allclose(walked, direct, rtol=1e-5, atol=1e-2)
    assert [r[0] for r in rows] == ["logit", "squeeze", "Glow step (ActNorm, 1×1 conv, coupling)", "factor out half",
                                    "squeeze", "Glow step (ActNorm, 1×1 conv, coupling)", "un-squeeze"]
    assert rows[-1][1:3] == ((2, 14, 14), (2, 14, 14))
    tempered = lesson_b.tempered_samples(flow, n=3, temperatures=(0.5, 1.0))
    assert set(tempered) == {0.5, 1.0} and tempered[0.5][0].shape == (3, 1, 28, 28)
