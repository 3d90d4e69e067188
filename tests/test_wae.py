"""Lesson 6: the MMD estimators, WAE-MMD and WAE-GAN, and the transport bounds."""
import math

import pytest
import torch

import course_lib as cl
from course_lib.lessons import wae as lesson
from course_lib.models.wae import (
    WAE,
    WAEGAN,
    imq_kernel,
    latent_discriminator,
    mmd2,
    rbf_kernel,
    squared_distances,
)
from course_lib.training.adversarial import train_wae_gan


def test_kernels_and_distances_against_a_direct_computation():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    direct = torch.tensor([[float(((a - b) ** 2).sum()) for b in y] for a in x], dtype=torch.float64)
    assert torch.allclose(squared_distances(x, y), direct, atol=1e-12)
    assert torch.allclose(imq_kernel(x, y, 6.0), 6.0 / (6.0 + direct))
    assert torch.allclose(rbf_kernel(x, y, 6.0), torch.exp(-direct / 6.0))
    assert torch.allclose(imq_kernel(x, x, 2.0).diagonal(), torch.ones(5, dtype=torch.float64))


def test_the_u_statistic_is_unbiased_and_the_v_statistic_is_not():
    """Against the exact MMD^2 of two Gaussians under the RBF kernel; tolerance four standard errors."""
    d, scale, n, repeats = 2, 4.0, 8, 3000
    mean_p, var_p = torch.full((d,), 0.4), 0.7
    exact = lesson.gaussian_rbf_mmd2(mean_p, var_p, torch.zeros(d), 1.0, scale)
    values = lesson.estimator_values(n, repeats, mean_p, var_p, torch.zeros(d), 1.0, "rbf", scale,
                                     generator=torch.Generator().manual_seed(1))
    u, v = values["U"], values["V"]
    assert abs(u.mean() - exact) < 4 * u.std() / math.sqrt(repeats)
    # the V-statistic's bias, exactly: (1/n)(E k(X,X) - E k(X,X')) + (1/n)(E k(Y,Y) - E k(Y,Y'))
    same = lambda var: (1 + 4 * var / scale) ** (-d / 2)
    bias = (1 - same(var_p)) / n + (1 - same(1.0)) / n
    assert abs(v.mean() - (exact + bias)) < 4 * v.std() / math.sqrt(repeats)
    assert bias > 10 * v.std() / math.sqrt(repeats)


def test_on_one_distribution_the_u_statistic_centres_on_zero_and_the_v_statistic_above_it():
    draws = lesson.estimator_draws(sizes=(8, 32), repeats=800, seed=3)
    for values in draws.values():
        se = values["U"].std() / math.sqrt(len(values["U"]))
        assert abs(values["U"].mean()) < 4 * se
        assert values["V"].mean() > 4 * values["V"].std() / math.sqrt(len(values["V"]))
    assert draws[32]["V"].mean() < draws[8]["V"].mean()                        # the bias shrinks with n


def test_the_texts_transport_inequality_fails_for_a_stretching_decoder_and_the_lipschitz_bound_holds():
    for s in (0.3, 1.0, 2.0, 5.0):
        case = lesson.transport_bound_example(1.0, s)
        assert case["W2(P_X, P_G)"] <= case["with Lip(G): reconstruction + Lip(G) W2(Q_Z, P_Z)"] + 1e-12
    case = lesson.transport_bound_example(1.0, 3.0)
    assert case["W2(P_X, P_G)"] > case["text: reconstruction + W2(Q_Z, P_Z)"]


def test_wae_loss_terms_and_training_pull_the_codes_towards_the_prior():
    x = cl.load_fashion_mnist(n_train=512, n_test=100).x_train
    torch.manual_seed(0)
    loose, tight = WAE(latent_dim=4, hidden=(64,)), WAE(latent_dim=4, hidden=(64,))
    tight.load_state_dict(loose.state_dict())
    terms = loose.loss_terms(x[:32], lam=2.0)
    assert terms["loss"].item() == pytest.approx((terms["reconstruction"] + 2.0 * terms["mmd"]).item(), rel=1e-5)
    cl.fit(loose, x, cl.wae_objective(0.0), steps=150, progress=False, device="cpu")
    cl.fit(tight, x, cl.wae_objective(100.0), steps=150, progress=False, device="cpu")
    prior = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    assert float(mmd2(tight.encode(x[:200]).detach(), prior)) < float(mmd2(loose.encode(x[:200]).detach(), prior))


def test_wae_gan_losses_are_the_gan_losses_on_the_codes():
    """discriminator: -E log D(z_p) - E log(1 - D(z_q));  autoencoder: E||x - G(E(x))||^2 - lam E log D(z_q),
    written out with log sigmoid on the same draws."""
    x = cl.load_fashion_mnist(n_train=64, n_test=10).x_train[:16]
    wae, d = WAE(latent_dim=2, hidden=(16,)), latent_discriminator(2, (8,))
    model = WAEGAN(wae, d, lam=3.0)
    logsig = torch.nn.functional.logsigmoid
    torch.manual_seed(5)
    d_terms = model.discriminator_loss(x)
    torch.manual_seed(5)
    z_p, z_q = torch.randn(16, 2), wae.encode(x)
    assert torch.allclose(d_terms["loss"], -(logsig(d(z_p)).mean() + logsig(-d(z_q)).mean()))
    g_terms = model.generator_loss(x)
    reconstruction = ((x - wae.decode(z_q)) ** 2).sum((1, 2, 3)).mean()
    assert torch.allclose(g_terms["reconstruction"], reconstruction)
    assert torch.allclose(g_terms["loss"], reconstruction - 3.0 * logsig(d(z_q)).mean())


def test_wae_gan_trains_and_records_its_terms():
    x = cl.load_fashion_mnist(n_train=256, n_test=100).x_train
    model = WAE(latent_dim=2, hidden=(32,))
    history = train_wae_gan(model, latent_discriminator(2, (16,)), x, steps=40, lam=1.0, batch_size=32,
                            log_every=20, progress=False, device="cpu")
    assert history.steps == [20, 40] and set(history.terms) == {"discriminator", "reconstruction", "fool"}
    assert history["reconstruction"][-1] < history["reconstruction"][0]


def test_the_sliders_move_their_figures():
    live = lesson.bias_explorer(lesson.estimator_draws(sizes=(4, 16), repeats=30))
    first = bytes(live.image.value)
    live.set(n=16)
    assert bytes(live.image.value) != first and live.message is None


def test_mmd2_brings_the_second_sample_to_the_first_ones_device_and_dtype():
    """A GPU model's samples against CPU test points ("meta" stands in for the GPU here), and float32
    samples against float64 points: the value is the float64 one."""
    value = mmd2(torch.randn(5, 2, device="meta"), torch.randn(4, 2), "rbf", scale=1.0)
    assert value.device.type == "meta" and value.shape == ()
    x, y = torch.randn(6, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    mixed = mmd2(x.float(), y, "rbf", scale=1.0)
    assert mixed.dtype == torch.float64
    assert float(mixed) == pytest.approx(float(mmd2(x.float().double(), y, "rbf", scale=1.0)), rel=1e-12)


def test_the_plane_summary_reads_what_the_two_latent_models_make_of_the_images():
    """plane_summary's rate is the closed-form KL (torch.distributions agrees), its neighbour vote is right on
    codes that separate the classes, and a WAE whose codes are prior draws is closer to the prior than a VAE
    whose means sit far off it."""
    from torch.distributions import Normal, kl_divergence

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(400) % 4
    mean = 5.0 * torch.stack([labels.float(), (labels % 2).float()], 1) + 0.1 * torch.randn(400, 2, generator=g)
    std = 0.05 + 0.1 * torch.rand(400, 2, generator=g)
    found = {"vae mean": mean, "vae std": std, "wae code": torch.randn(400, 2, generator=g)}
    summary = lesson.plane_summary(found, labels)
    expected = kl_divergence(Normal(mean.double(), std.double()), Normal(0.0, 1.0)).sum(1).mean()
    assert summary["rate"] == pytest.approx(float(expected), rel=1e-9)
    assert summary["median posterior std"] == pytest.approx(float(std.median()), rel=1e-6)
    assert summary["VAE 10-NN accuracy"] == 1.0 and summary["WAE 10-NN accuracy"] < 0.5
    assert summary["WAE codes vs prior MMD²"] < 0.01 < summary["VAE codes vs prior MMD²"]


def test_the_two_latent_models_train_and_draw_their_plane():
    import matplotlib
    matplotlib.use("Agg")
    x = torch.rand(64, 1, 28, 28)
    found = {}
    for name in lesson.MODELS_2D:
        model = lesson.build_2d(name)
        history = lesson.fit_2d(name, model, x, steps=3, progress=False)
        assert len(history.steps) >= 1
        found[name] = model
    codes = lesson.plane_codes(found["VAE"], found["WAE-MMD (IMQ)"], x)
    assert {k: tuple(v.shape) for k, v in codes.items()} == {"vae mean": (64, 2), "vae std": (64, 2), "wae code": (64, 2)}
    assert (codes["vae std"] > 0).all()
    fig = lesson.plane_picture(codes, torch.arange(64) % 10, n_show=12)
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 3 + 12        # the prior's circles and one ellipse per image
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_the_probe_image_by_image_gives_the_accuracy_and_a_paired_standard_error():
    """linear_probe_correct's mean is linear_probe_accuracy; the paired standard error is std(a − b)/√N, zero for a
    probe against itself, and no larger than the unpaired one when two probes agree on most images."""
    import math

    from course_lib.metrics import linear_probe_accuracy, linear_probe_correct
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (400,), generator=g)
    codes = torch.randn(400, 4, generator=g) + labels[:, None].double().float()
    right = linear_probe_correct(codes[:200], labels[:200], codes[200:], labels[200:])
    assert right.dtype == torch.bool and right.shape == (200,)
    assert right.double().mean().item() == linear_probe_accuracy(codes[:200], labels[:200], codes[200:], labels[200:])
    assert cl.claims.paired_standard_error(right, right) == 0.0
    other = right.clone()
    other[:10] = ~other[:10]
    d = right.double() - other.double()
    assert math.isclose(cl.claims.paired_standard_error(right, other), float(d.std() / math.sqrt(200)))
    p, q = right.double().mean(), other.double().mean()
    unpaired = math.sqrt(float(p * (1 - p) + q * (1 - q)) / 200)
    assert cl.claims.paired_standard_error(right, other) < unpaired
