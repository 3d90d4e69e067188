"""Rate, distortion and mutual information: closed forms, Monte Carlo checks, and the bounds between them."""
import math

import pytest
import torch
from torch import nn

import course_lib as cl
from course_lib.distributions import DiagonalGaussian
from course_lib.lessons.rate_distortion import slope_check
from course_lib.metrics import (
    active_units,
    linear_probe_accuracy,
    marginal_kl_and_information,
    rate_distortion_terms,
)
from course_lib.models.rate_distortion import (
    LinearGaussianAutoencoder,
    fit_linear_autoencoder,
    gaussian_entropy,
    gaussian_rate_distortion,
    gaussian_rate_distortion_curve,
    water_level,
)

VARIANCES = torch.tensor([4.0, 2.0, 1.0, 0.25], dtype=torch.float64)
COV = torch.diag(VARIANCES)


def test_water_filling_matches_the_one_dimensional_formula_and_its_limits():
    assert gaussian_rate_distortion([3.0], 0.5) == pytest.approx(0.5 * math.log(3.0 / 0.5))
    assert gaussian_rate_distortion(VARIANCES, float(VARIANCES.sum())) == pytest.approx(0.0, abs=1e-9)
    level = water_level(VARIANCES, 2.0)                     # λ + λ + 1 + 0.25 = 2 would need λ < 1: λ = 0.375
    assert torch.clamp(VARIANCES, max=level).sum().item() == pytest.approx(2.0)
    assert gaussian_rate_distortion(VARIANCES, 2.0) == pytest.approx(
        0.5 * sum(math.log(v / level) for v in VARIANCES.tolist() if v > level))
    rates = [gaussian_rate_distortion(VARIANCES, d) for d in (0.1, 0.5, 1.0, 3.0, 7.0)]
    assert all(a > b for a, b in zip(rates, rates[1:]))
    d, r = gaussian_rate_distortion_curve(VARIANCES, n=50)
    assert d[-1].item() == pytest.approx(VARIANCES.sum().item()) and r[-1].item() == pytest.approx(0.0, abs=1e-9)
    assert r[7].item() == pytest.approx(gaussian_rate_distortion(VARIANCES, d[7].item()))
    assert (r.diff() < 0).all()


def test_the_slope_check_flags_a_chord_outside_its_bracket():
    rows = slope_check([1.0, 2.0, 4.0], [10.0, 6.0, 5.0], [100.0, 106.0, 111.0])
    assert [inside for *_, inside in rows] == [True, False]        # slopes -1.5 (in [-2, -1]) and -5 (not in [-4, -2])
    assert rows[1][2] == pytest.approx(-5.0)


def random_autoencoder(seed=0):
    model = LinearGaussianAutoencoder(4, 3, seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.A.copy_(torch.randn(3, 4, generator=g, dtype=torch.float64))
        model.W.copy_(torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.5)
        model.log_s.copy_(torch.randn(3, generator=g, dtype=torch.float64) * 0.5)
    return model


def test_the_closed_forms_agree_with_monte_carlo():
    model = random_autoencoder()
    rate, squared = model.sample_terms(COV, 400_000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert rate.item() == pytest.approx(model.rate(COV).item(), rel=0.01)
        assert squared.item() == pytest.approx(model.squared_error(COV).item(), rel=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rate_is_information_plus_marginal_kl_and_the_bounds_hold(seed):
    model = random_autoencoder(seed)
    with torch.no_grad():
        rate, info, kl = model.rate(COV).item(), model.mutual_information(COV).item(), model.marginal_kl(COV).item()
        distortion = model.distortion(COV).item()
    assert rate == pytest.approx(info + kl, abs=1e-10)
    assert kl >= 0 and info >= 0
    assert gaussian_entropy(COV) - distortion <= info + 1e-10 <= rate + 1e-10


def test_a_beta_sweep_of_linear_vaes_stays_on_or_above_the_rate_distortion_limit():
    betas = [0.2, 0.5, 1.0, 2.0, 5.0]
    points = []
    for beta in betas:
        model = fit_linear_autoencoder(COV, k=4, beta=beta)
        with torch.no_grad():
            d, r = model.squared_error(COV).item(), model.rate(COV).item()
        limit = gaussian_rate_distortion(VARIANCES, d)
        assert r >= limit - 1e-6                                 # no point below R(D)
        assert r - limit < 0.02                                  # and the optimum reaches it
        assert d == pytest.approx(torch.clamp(VARIANCES, max=beta / 2).sum().item(), rel=0.02)
        points.append((r, d))
    rates, distortions = [r for r, _ in points], [d for _, d in points]
    rows = slope_check(betas, rates, distortions)               # the lesson's check, on optimal models
    assert all(inside for *_, inside in rows), rows


class FixedEncoderModel(nn.Module):
    """A 'VAE' whose encoder puts each image at a known place: q(z|x) = N(scale * x[0], 1)."""

    def __init__(self, scale):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(scale)), requires_grad=False)
        self.encoder = lambda x: DiagonalGaussian(self.scale * x.flatten(1)[:, :1], torch.zeros(len(x), 1))


def test_mutual_information_is_log_n_for_separated_codes_and_zero_for_ignored_inputs():
    x = torch.arange(8, dtype=torch.float32).reshape(8, 1, 1, 1)
    far = marginal_kl_and_information(FixedEncoderModel(100.0), x, generator=torch.Generator().manual_seed(0))
    assert far["information"] == pytest.approx(math.log(8), abs=1e-6) and far["log_n"] == pytest.approx(math.log(8))
    same = marginal_kl_and_information(FixedEncoderModel(0.0), x, generator=torch.Generator().manual_seed(0))
    assert same["information"] == pytest.approx(0.0, abs=1e-9)
    assert same["marginal_kl"] == pytest.approx(0.0, abs=1e-9)            # q(z) = N(0, 1) = p(z)


def test_on_a_trained_vae_rate_is_at_least_information_and_splits_into_its_parts():
    x = cl.make_sprites(400, seed=0).images
    torch.manual_seed(0)
    model = cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=4, hidden=(64,))
    cl.fit(model, x, steps=150, batch_size=64, progress=False, device="cpu")
    terms = rate_distortion_terms(model, x)
    assert terms["kl_per_latent"].sum().item() == pytest.approx(terms["rate"])
    info = marginal_kl_and_information(model, x, n_samples=8, generator=torch.Generator().manual_seed(0))
    assert info["rate_estimate"] == pytest.approx(terms["rate"], rel=0.05)   # MC estimate of the same rate
    assert terms["rate"] >= info["information"]
    assert 0 < info["information"] <= info["log_n"]


def test_active_units_find_the_latents_that_carry_information():
    model = FixedEncoderModel(1.0)
    active, activity = active_units(model, torch.rand(50, 1, 1, 1))
    assert active.tolist() == [True] and activity.item() > 0.01
    active, _ = active_units(FixedEncoderModel(0.0), torch.rand(50, 1, 1, 1))
    assert active.tolist() == [False]


def test_a_linear_probe_reads_separable_labels_and_not_random_ones():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (600,), generator=g)
    codes = torch.randn(600, 2, generator=g) * 0.3 + torch.stack([labels.float(), -labels.float()], 1)
    assert linear_probe_accuracy(codes[:400], labels[:400], codes[400:], labels[400:]) > 0.95
    noise = torch.randn(600, 2, generator=g)
    assert linear_probe_accuracy(noise[:400], labels[:400], noise[400:], labels[400:]) < 0.5


def test_a_neighbour_vote_reads_classes_in_regions_of_any_shape_and_not_random_ones():
    """Two rings around one centre: no line parts them, a vote of near neighbours does; a tie goes to the smaller
    label (a hand-made case)."""
    from course_lib.metrics import neighbour_vote_accuracy
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (600,), generator=g)
    angle = 2 * math.pi * torch.rand(600, generator=g)
    radius = 1.0 + 2.0 * labels.float() + 0.1 * torch.randn(600, generator=g)
    codes = torch.stack([radius * angle.cos(), radius * angle.sin()], 1)
    assert neighbour_vote_accuracy(codes[:400], labels[:400], codes[400:], labels[400:]) > 0.97
    assert linear_probe_accuracy(codes[:400], labels[:400], codes[400:], labels[400:]) < 0.75
    noise = torch.randn(600, 2, generator=g)
    assert neighbour_vote_accuracy(noise[:400], labels[:400], noise[400:], labels[400:]) < 0.6
    tie = neighbour_vote_accuracy(torch.tensor([[0.0, 1.0], [0.0, -1.0]]), torch.tensor([1, 0]),
                                  torch.zeros(1, 2), torch.tensor([0]), k=2)
    assert tie == 1.0


def test_the_same_elbo_pair_is_the_closest_in_elbo_and_farthest_in_rate():
    from course_lib.lessons.rate_distortion import same_elbo_pair
    rate, distortion = [30.0, 20.0, 10.0, 5.0], [220.0, 231.0, 240.2, 260.0]     # -ELBO 250, 251, 250.2, 265
    assert same_elbo_pair(rate, distortion, within=0.5) == (0, 2)
    assert same_elbo_pair(rate, distortion, within=1.5) == (0, 2)               # (0, 1) is close too, but nearer in rate
    assert same_elbo_pair(rate, distortion, within=0.1) is None


def test_the_plane_map_shades_exactly_the_region_below_d_equals_h_minus_r():
    from course_lib.lessons.rate_distortion import plane_map_figure
    fig = plane_map_figure(entropy=2.0)
    ax = fig.axes[0]
    edge = next(line for line in ax.get_lines() if line.get_label().startswith("D = H − R"))
    r, d = (list(map(float, v)) for v in edge.get_data())
    assert all(abs(a + b - 2.0) < 1e-12 for a, b in zip(r, d)) and min(r) == 0 and max(r) <= 2.0
    assert ax.get_xlabel().startswith("rate R") and ax.get_ylabel().startswith("distortion D")


def test_the_rates_two_parts_from_samples_agree_with_their_closed_forms_and_add_up_to_the_rate():
    """sample_split estimates I and KL(q(z) ‖ p) from draws of (x, z) using only q(z) = N(0, C): each within 4 of its
    standard errors of the closed form, and their sum within the same of the rate."""
    from course_lib.models import rate_distortion as rd
    cov = torch.diag(torch.tensor([4.0, 2.0, 1.0, 0.25], dtype=torch.float64))
    ae = rd.LinearGaussianAutoencoder(d=4, k=3, seed=1)
    with torch.no_grad():
        ae.A.mul_(5.0)
        split = ae.sample_split(cov, 200_000, generator=torch.Generator().manual_seed(0))
        (i, se_i), (kl, se_kl) = split["information"], split["marginal KL"]
        assert abs(i - ae.mutual_information(cov).item()) < 4 * se_i
        assert abs(kl - ae.marginal_kl(cov).item()) < 4 * se_kl
        assert abs(i + kl - ae.rate(cov).item()) < 4 * (se_i + se_kl)
