"""Lesson 8b: GAN losses, BiGAN, InfoGAN and its information bound, VAE-GAN, the unified objective
and β-TCVAE, each against a reference or a property that must hold."""
import math

import pytest
import torch
from torch.nn.functional import binary_cross_entropy_with_logits

import course_lib as cl
from course_lib.errors import CourseInputError
from course_lib.lessons import hybrids as lesson
from course_lib.metrics import variational_information_bound
from course_lib.models.gans import GAN, BiGAN, InfoGAN, discriminator_loss, generator_loss
from course_lib.models.hybrids import VAEGAN, UnifiedVAE
from course_lib.models.tcvae import log_q_pairs, tcvae_loss_terms, tcvae_sweep_objective
from course_lib.models.wae import mmd2
from course_lib.training.adversarial import train_adversarial


def test_gan_losses_are_binary_cross_entropies():
    real, fake = torch.randn(50, 1), torch.randn(60, 1)
    expected = (binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    assert torch.allclose(discriminator_loss(real, fake), expected)
    assert torch.allclose(generator_loss(fake), binary_cross_entropy_with_logits(fake, torch.ones_like(fake)))


def test_the_information_bound_is_exact_with_the_true_posterior_and_short_by_the_gap_otherwise():
    r = lesson.known_information(n=40000)
    assert abs(r["bound, Q = p(c|x)"] - r["exact I(c; x)"]) < 4 * r["its standard error"]
    assert abs(r["bound, wrong Q"] - r["wrong Q: exact I - gap"]) < 4 * r["wrong Q's standard error"]
    assert r["gap by quadrature"] > 0.01
    assert 0 < r["exact I(c; x)"] < r["H(c)"]
    # the text's version is the bound minus 2 H(c): negative, so it cannot bound a mutual information
    assert r["text's E[log Q] - H(c)"] < 0
    assert abs(r["text's E[log Q] - H(c)"] - (r["bound, Q = p(c|x)"] - 2 * r["H(c)"])) < 1e-9


def test_the_information_bound_needs_a_vector():
    with pytest.raises(cl.CourseInputError, match="log_q_true_code"):
        variational_information_bound(torch.zeros(3, 2), 1.0)


def test_infogan_learns_a_code_that_picks_a_mode():
    x, x_test = lesson.toy_data(4000)
    torch.manual_seed(0)
    model = InfoGAN(lam=1.0, hidden=(64, 64))
    history = train_adversarial(model, x, 400, log_every=100, progress=False)
    assert history["MI bound"][-1] > 1.0                      # up from about 0 at the start; log 8 = 2.08 at most
    control = lesson.code_control(model, x_test, n=200)
    assert control["bound"] <= math.log(8) + 1e-6
    assert control["I(c; mode)"] > 0.5


def test_mode_of_maps_the_centres_to_their_index():
    angles = torch.arange(8) * (2 * math.pi / 8)
    centres = 2 * torch.stack([angles.cos(), angles.sin()], 1)
    assert mode_list(lesson.mode_of(centres)) == list(range(8))


def mode_list(t):
    return [int(v) for v in t]


class _Turning:
    """A stand-in BiGAN whose G(E(x)) turns x by ``eighths`` of a circle about the origin."""
    def __init__(self, eighths):
        self.angle = eighths * 2 * math.pi / 8

    def reconstruct(self, x):
        c, s = math.cos(self.angle), math.sin(self.angle)
        return x @ torch.tensor([[c, s], [-s, c]], dtype=x.dtype)


def test_misses_one_mode_round_count_as_neighbouring_and_none_missed_gives_nan():
    centres = torch.stack([torch.tensor([math.cos(a), math.sin(a)]) * 2 for a in torch.arange(8) * 2 * math.pi / 8])
    assert lesson.neighbouring_miss_share(_Turning(1), centres) == 1.0
    assert lesson.neighbouring_miss_share(_Turning(-1), centres) == 1.0
    assert lesson.neighbouring_miss_share(_Turning(3), centres) == 0.0
    assert math.isnan(lesson.neighbouring_miss_share(_Turning(0), centres))
    with pytest.raises(CourseInputError, match="x"):
        lesson.neighbouring_miss_share(_Turning(1), centres[:, :1])


def test_snapshots_do_not_change_training():
    x, x_test = lesson.toy_data(2000)
    models = []
    for snapshot in (None, lambda m, step: m.cycle_errors(x_test[:100])):
        torch.manual_seed(0)
        model = BiGAN(hidden=(32,))
        history = train_adversarial(model, x, 20, log_every=5, snapshot=snapshot, progress=False)
        models.append(model)
    assert set(history.terms) >= {"latent", "data", "discriminator"}
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert torch.equal(a, b)


def test_a_trained_gan_is_closer_to_the_data_than_an_untrained_one():
    x, x_test = lesson.toy_data(4000)
    torch.manual_seed(0)
    model = GAN(hidden=(64, 64))
    before = float(mmd2(model.sample(1000), x_test[:1000], "rbf", scale=1.0))
    train_adversarial(model, x, 300, progress=False)
    after = float(mmd2(model.sample(1000), x_test[:1000], "rbf", scale=1.0))
    assert after < 0.5 * before


def test_vae_gan_keeps_the_adversarial_term_away_from_the_encoder():
    torch.manual_seed(0)
    model = VAEGAN(cl.VAE.mlp(latent_dim=4, hidden=(32,)), feature_dim=16, hidden=(32,))
    terms = model.generator_loss(torch.rand(6, 1, 28, 28))
    grads = torch.autograd.grad(terms["generator"], list(model.vae.encoder.parameters()), allow_unused=True)
    assert all(g is None or torch.count_nonzero(g) == 0 for g in grads)
    decoder_grads = torch.autograd.grad(terms["generator"], list(model.vae.decoder.parameters()))
    assert any(torch.count_nonzero(g) > 0 for g in decoder_grads)
    assert not set(map(id, model.discriminator_parameters())) & set(map(id, model.generator_parameters()))


def test_unified_model_without_its_extra_terms_is_the_flow_vae():
    flow_vae = cl.FlowVAE(latent_dim=2, hidden=(16,), flow="iaf", steps=2, context_dim=4, image_shape=(2,),
                          likelihood="gaussian")
    model = UnifiedVAE(flow_vae)
    x = torch.randn(7, 2)
    torch.manual_seed(3)
    unified = model.generator_loss(x)["loss"]
    torch.manual_seed(3)
    alone = flow_vae.loss_terms(x)["loss"]
    assert torch.allclose(unified, alone)
    with pytest.raises(cl.CourseInputError, match="flow_vae"):
        UnifiedVAE(cl.VAE.mlp(latent_dim=2, hidden=(8,)))
    with pytest.raises(cl.CourseInputError, match="vae"):
        VAEGAN(flow_vae)


def test_a_vae_on_points():
    vae = lesson.build_point_vae()
    x = torch.randn(9, 2)
    assert vae.log_weights(x, 5).shape == (5, 9)
    assert vae.loss_terms(x)["loss"].shape == ()


def test_tcvae_with_beta_one_is_the_vae():
    vae = cl.VAE.mlp(latent_dim=3, hidden=(16,))
    x = torch.rand(8, 1, 28, 28)
    torch.manual_seed(1)
    tc_terms = tcvae_loss_terms(vae, x, 1.0, dataset_size=100)
    torch.manual_seed(1)
    assert torch.allclose(tc_terms["loss"], vae.loss_terms(x)["loss"])


def test_log_q_pairs_match_a_loop():
    q = cl.DiagonalGaussian(torch.randn(4, 3), torch.randn(4, 3))
    z = torch.randn(4, 3)
    table = log_q_pairs(q, z)
    for i in range(4):
        for j in range(4):
            expected = torch.distributions.Normal(q.mean[j], q.std[j]).log_prob(z[i])
            assert torch.allclose(table[i, j], expected, atol=1e-5)


def test_a_tcvae_sweep_trains_under_fit_sweep_and_records_its_terms():
    sprites = cl.make_sprites(200, seed=0)
    trained = cl.fit_sweep(lambda: cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=3, hidden=(16,)), sprites.images,
                           tcvae_sweep_objective(len(sprites)), [1.0, 6.0], steps=3, seed=0, progress=False)
    assert len(trained) == 2
    assert all(set(h.terms) >= {"total correlation", "rate"} for _, h in trained)
    assert all(all(math.isfinite(v) for v in h["total correlation"]) for _, h in trained)


def test_infogans_bound_is_mean_log_q_of_the_true_code_plus_log_k():
    """The generator's information term, written out: E[log Q(c | G(z, c))] + log K on the same draws."""
    model = InfoGAN(n_codes=5, lam=2.0, hidden=(16,))
    x = torch.randn(32, 2)
    torch.manual_seed(3)
    terms = model.generator_loss(x)
    torch.manual_seed(3)
    c = torch.randint(5, (32,))
    fake = model.generate(torch.randn(32, 2), c)
    log_q = torch.log_softmax(model.q_net(fake), -1)[torch.arange(32), c]
    assert torch.allclose(terms["MI bound"], log_q.mean() + math.log(5))
    assert torch.allclose(terms["loss"], terms["generator"] - 2.0 * terms["MI bound"])


def test_sharpness_is_higher_for_edges_than_for_their_blur():
    sharp = torch.zeros(2, 1, 8, 8)
    sharp[..., ::2, :] = 1.0
    blurred = torch.full_like(sharp, 0.5)
    assert lesson.sharpness(sharp) == pytest.approx(0.5)          # rows alternate 0/1: |diff| = 1 down, 0 across
    assert lesson.sharpness(blurred) == 0.0


def test_the_balance_of_larsen_et_al_skips_the_winning_discriminator_and_the_losing_generators_term():
    """equilibrium 0.68, margin 0.35: a discriminator whose real or fake error is below 0.33 is winning and
    skips its update; above 1.03 it is losing and the decoder drops its adversarial term; both: both train."""
    model = VAEGAN(cl.VAE.conv((1, 28, 28), 4, channels=(8, 8), hidden=(16,)), discriminator="conv",
                   channels=(8, 8), balance=(0.68, 0.35))
    terms = lambda real, fake: {"real error": torch.tensor(real), "fake error": torch.tensor(fake)}
    assert model.players(terms(0.6, 0.7)) == (True, True)
    assert model.players(terms(0.2, 0.7)) == (False, True)            # winning: the discriminator rests
    assert model.players(terms(0.6, 1.2)) == (True, False)            # losing: the decoder stops fooling it
    assert model.players(terms(0.2, 1.2)) == (True, True)             # both: neither rule applies
    assert not model.capturable and VAEGAN(cl.VAE.mlp(latent_dim=4, hidden=(8,)), hidden=(8,)).capturable


def test_a_skipped_discriminator_update_leaves_it_and_its_optimizer_as_they_were(monkeypatch):
    from course_lib.training.adversarial import AlternatingOptimizers, adversarial_step
    torch.manual_seed(0)
    model = VAEGAN(cl.VAE.conv((1, 28, 28), 4, channels=(8, 8), hidden=(16,)), discriminator="conv",
                   channels=(8, 8), balance=(0.68, 0.35))
    assert model.discriminator.features(torch.zeros(2, 1, 28, 28)).shape == (2, 8 * 7 * 7)
    optimizers = AlternatingOptimizers(torch.optim.Adam(model.discriminator_parameters(), lr=1e-2),
                                       torch.optim.Adam(model.generator_parameters(), lr=1e-2))
    batch = torch.rand(8, 1, 28, 28)
    monkeypatch.setattr(model, "players", lambda d_terms: (False, False))
    before = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    decoder = [p.clone() for p in model.vae.decoder.parameters()]
    names, row = adversarial_step(model, None, optimizers, batch, 0)
    assert all(torch.equal(before[k], v) for k, v in model.discriminator.state_dict().items())
    assert not optimizers.discriminator.state                        # no Adam moments were started
    assert any(not torch.equal(a, b) for a, b in zip(decoder, model.vae.decoder.parameters()))   # features still train it
    assert row[names.index("discriminator updated")] == 0 and row[names.index("adversarial term on")] == 0
    monkeypatch.setattr(model, "players", lambda d_terms: (True, True))
    adversarial_step(model, None, optimizers, batch, 1)
    assert any(not torch.equal(before[k], v) for k, v in model.discriminator.state_dict().items())


def test_a_conv_discriminator_needs_an_image_side_it_can_halve():
    with pytest.raises(CourseInputError, match="must halve"):
        VAEGAN(cl.VAE.conv((1, 28, 28), 4, channels=(8, 8), hidden=(16,)), discriminator="conv", channels=(8, 8, 8))
    with pytest.raises(CourseInputError, match="'mlp' or 'conv'"):
        VAEGAN(cl.VAE.mlp(latent_dim=4, hidden=(8,)), discriminator="resnet")
    with pytest.raises(CourseInputError, match="equilibrium, margin"):
        VAEGAN(cl.VAE.mlp(latent_dim=4, hidden=(8,)), balance=0.68)


def test_the_laplacian_variance_of_one_bright_pixel_and_of_its_blur():
    """One pixel of 1 in a 28 x 28 image: its Laplacian is -4 there and +1 at its four neighbours, 0 on the
    other pixels of the 26 x 26 interior, so the variance is (16 + 4) / 676 (the mean is 0); blurring the
    image lowers it."""
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 14, 14] = 1.0
    assert lesson.laplacian_variance(image) == pytest.approx(20 / 676, rel=1e-6)
    blur = torch.nn.functional.avg_pool2d(image, 3, stride=1, padding=1)
    assert lesson.laplacian_variance(blur) < lesson.laplacian_variance(image) / 10


def test_an_infogan_with_continuous_codes_reads_them_back_with_a_gaussian_q():
    """The continuous bound is E[log N(u; mean(x), std(x)²)] + m log 2 (torch.distributions' density); a
    model without continuous codes keeps its single bound and its generator's input size; training logs both."""
    model = InfoGAN(n_codes=3, n_continuous=2, hidden=(16,), lam_continuous=0.1)
    assert model.generator[0].in_features == 2 + 3 + 2 and model.q_net[-1].out_features == 3 + 4
    assert InfoGAN(n_codes=3, hidden=(16,)).q_net[-1].out_features == 3
    x, u = torch.randn(50, 2), 2 * torch.rand(50, 2) - 1
    logits, mean, std = model.read_codes(x)
    assert logits.shape == (50, 3) and mean.shape == std.shape == (50, 2) and (std > 0).all()
    expected = torch.distributions.Normal(mean, std).log_prob(u).sum(1).mean() + 2 * math.log(2)
    assert torch.allclose(model.continuous_bound(x, u), expected, atol=1e-5)
    terms = model.generator_loss(torch.randn(8, 2))
    assert set(terms) == {"loss", "generator", "MI bound", "MI bound (continuous)"}
    assert torch.allclose(terms["loss"], terms["generator"] - terms["MI bound"] - 0.1 * terms["MI bound (continuous)"])
    assert set(InfoGAN(n_codes=3, hidden=(16,)).generator_loss(torch.randn(8, 2))) == {"loss", "generator", "MI bound"}
    points, codes = model.sample(5, code=1, u=torch.zeros(5, 2))
    assert points.shape == (5, 2) and (codes == 1).all()
    history = train_adversarial(model, torch.randn(200, 2), steps=4, batch_size=16, log_every=2, progress=False)
    assert len(history["MI bound (continuous)"]) == 2


def test_the_continuous_sweep_measures_what_u_does_on_a_generator_that_only_uses_u():
    """A generator that puts every point at (2, 0) + (0, 0.2 u), whatever z and c: each sweep stays in mode 0,
    moves 0.4, and the noise moves nothing."""
    from course_lib.lessons.hybrids import continuous_sweep
    model = InfoGAN(n_codes=8, n_continuous=1, hidden=(4,))

    class OnlyU(torch.nn.Module):
        def forward(self, inputs):
            u = inputs[:, -1:]
            return torch.cat([torch.full_like(u, 2.0), 0.2 * u], 1)

    model.generator = OnlyU()
    sweep = continuous_sweep(model, n=10, points=5)
    assert sweep["paths"].shape == (8, 10, 5, 2)
    assert sweep["same mode"] == 1.0 and abs(sweep["shift"] - 0.4) < 1e-6 and sweep["noise spread"] < 1e-6


def test_code_control_reads_the_categorical_code_from_its_own_logits_only():
    """With a continuous code, Q's last two outputs are u's mean and log-std: pushing them up must not move the
    bound on the categorical code, which is read from the first n_codes outputs alone."""
    from course_lib.lessons.hybrids import code_control
    model = InfoGAN(n_codes=8, n_continuous=1, hidden=(8,))
    with torch.no_grad():
        model.q_net[-1].bias[8:] += 100.0
    bound = code_control(model, torch.randn(50, 2), n=20)["bound"]
    assert abs(bound) < 1.0, bound
