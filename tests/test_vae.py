"""The VAE's loss terms, bounds and units."""
import math

import pytest
import torch

from course_lib import VAE, CourseInputError, vae_objective
from course_lib.schedules import after_warm_start, cyclical, linear_warmup


@pytest.fixture
def x():
    return torch.rand(16, 1, 28, 28)


def test_loss_terms_follow_the_formulas(x):
    model = VAE.mlp(latent_dim=4, hidden=(32,))
    torch.manual_seed(3)
    terms = model.loss_terms(x, beta=2.5, capacity=7.0)
    # recompute by hand with the same random draw
    torch.manual_seed(3)
    q = model.encoder(x)
    z = q.rsample()
    log_px = model.decoder(z).log_prob(x)
    kl = 0.5 * (q.var + q.mean ** 2 - 1 - q.log_var).sum(-1)
    torch.testing.assert_close(terms["distortion"], -log_px.mean())
    torch.testing.assert_close(terms["rate"], kl.mean())
    torch.testing.assert_close(terms["loss"], -log_px.mean() + 2.5 * (kl.mean() - 7.0).abs())
    torch.testing.assert_close(terms["elbo"], (log_px - kl).mean())


def test_beta_one_no_capacity_is_negative_elbo(x):
    model = VAE.conv(latent_dim=3)
    terms = model.loss_terms(x)
    torch.testing.assert_close(terms["loss"], -terms["elbo"])


def test_iwae_k1_is_unbiased_for_elbo_and_larger_k_is_higher(x):
    torch.manual_seed(0)
    model = VAE.mlp(latent_dim=2, hidden=(16,))
    xs = x[:4]
    with torch.no_grad():
        elbo_draws = torch.stack([model.loss_terms(xs)["elbo"] for _ in range(2000)])
        iwae1 = torch.stack([model.iwae_bound(xs, k=1).mean() for _ in range(2000)])
    assert abs(elbo_draws.mean() - iwae1.mean()) < 4 * (elbo_draws.std() + iwae1.std()) / math.sqrt(2000)
    iwae64 = torch.stack([model.iwae_bound(xs, k=64).mean() for _ in range(100)])
    assert iwae64.mean() > iwae1.mean()


def test_log_weights_shape_and_nll_units(x):
    model = VAE.mlp(latent_dim=3, hidden=(16,))
    assert model.log_weights(x, 5).shape == (5, 16)
    nll, bpd = model.nll(x, k=4, batch_size=5)       # batches of 5 cover all 16
    assert nll.shape == bpd.shape == (16,)
    torch.testing.assert_close(bpd, nll / (784 * math.log(2)))


def test_samples_and_reconstructions_are_images():
    for shape in ((1, 28, 28), (1, 32, 32)):
        model = VAE.conv(image_shape=shape, latent_dim=5)
        xs = torch.rand(3, *shape)
        assert model.sample(4).shape == (4, *shape)
        rec = model.reconstruct(xs)
        assert rec.shape == xs.shape and rec.min() >= 0 and rec.max() <= 1


def test_deeper_conv_nets_halve_the_side_once_per_layer():
    """dSprites' nets (Burgess et al., 2018): four stride-2 layers of 32 channels on 64 x 64, two layers
    of 256; the default two-layer net keeps its parameter names (cached models still load)."""
    model = VAE.conv((1, 64, 64), 10, channels=(32, 32, 32, 32), hidden=(256, 256))
    assert model.encoder.net.net[9].in_features == 32 * 4 * 4
    assert model.sample(2).shape == (2, 1, 64, 64)
    assert model.reconstruct(torch.rand(3, 1, 64, 64)).shape == (3, 1, 64, 64)
    names = list(VAE.conv(latent_dim=3).state_dict())
    assert names[:4] == ["encoder.net.net.0.weight", "encoder.net.net.0.bias", "encoder.net.net.2.weight",
                         "encoder.net.net.2.bias"]
    with pytest.raises(CourseInputError, match="side divisible by 16"):
        VAE.conv((1, 56, 56), 10, channels=(32, 32, 32, 32))
    with pytest.raises(CourseInputError, match="channels must name at least one width"):
        VAE.conv(channels=())


def test_gaussian_decoder_learns_its_variance(x):
    model = VAE.mlp(latent_dim=2, hidden=(16,), likelihood="gaussian")
    model.loss_terms(x)["loss"].backward()
    assert model.decoder.log_var.grad is not None


def test_objective_evaluates_schedules(x):
    model = VAE.mlp(latent_dim=2, hidden=(16,))
    beta = linear_warmup(10, 0.0, 1.0)
    loss_fn = vae_objective(beta=beta, capacity=3.0)
    torch.manual_seed(1)
    got = loss_fn(model, x, step=4)
    torch.manual_seed(1)
    want = model.loss_terms(x, beta=0.4, capacity=3.0)
    torch.testing.assert_close(got["loss"], want["loss"])


def test_schedules():
    w = linear_warmup(10, 0.0, 2.0)
    assert [w(s) for s in (0, 5, 10, 50)] == [0.0, 1.0, 2.0, 2.0]
    c = cyclical(10, ratio=0.5)
    assert [c(s) for s in (0, 1, 5, 9, 10, 12)] == [0.0, 0.2, 1.0, 1.0, 0.0, 0.4]


def test_a_warm_start_holds_its_value_then_runs_the_schedule_from_its_own_step_zero():
    ramp = after_warm_start(4, 0.0, linear_warmup(10, 1.0, 6.0))
    assert [ramp(s) for s in (0, 3, 4, 9, 14, 100)] == [0.0, 0.0, 1.0, 3.5, 6.0, 6.0]
    steps = torch.tensor([0.0, 3.0, 4.0, 9.0, 14.0])            # the recorded step is a tensor
    assert [float(ramp(s)) for s in steps] == [0.0, 0.0, 1.0, 3.5, 6.0]
    beta = after_warm_start(4, 1.0, 25.0)
    assert [beta(s) for s in (0, 3, 4, 50)] == [1.0, 1.0, 25.0, 25.0] and beta.capturable and ramp.capturable
    assert after_warm_start(0, 1.0, 25.0)(0) == 25.0


@pytest.mark.parametrize("call, message", [
    (lambda m, x: m.loss_terms(x, beta=-1.0), "beta must be >= 0"),
    (lambda m, x: m.loss_terms(x, capacity=-0.5), "capacity C must be >= 0"),
    (lambda m, x: m.loss_terms(x, beta=float("nan")), "beta must be finite"),
    (lambda m, x: m.loss_terms(x, beta="big"), "beta must be a real number"),
    (lambda m, x: m.loss_terms(x[:, :, :20]), r"x must have shape \(N, 1, 28, 28\), got \(16, 1, 20, 28\)"),
    (lambda m, x: m.loss_terms(x.flatten(1)), "x must have shape"),
    (lambda m, x: m.loss_terms((x * 255).long()), "floating-point"),
    (lambda m, x: m.iwae_bound(x, k=0), "k must be a whole number >= 1"),
    (lambda m, x: vae_objective(beta=-2), "beta must be >= 0"),
])
def test_bad_inputs_are_explained(call, message, x):
    model = VAE.mlp(latent_dim=2, hidden=(8,))
    with pytest.raises(CourseInputError, match=message):
        call(model, x)


def test_bad_constructor_arguments():
    with pytest.raises(CourseInputError, match="latent_dim must be a whole number >= 1"):
        VAE.mlp(latent_dim=0)
    with pytest.raises(CourseInputError, match="likelihood must be one of"):
        VAE.mlp(likelihood="poisson")
    with pytest.raises(CourseInputError, match="side divisible by 4"):
        VAE.conv(image_shape=(1, 30, 30))


def test_images_on_another_device_are_moved_to_the_model():
    """A model trained on a GPU accepts the learner's CPU images (here "meta" stands in for the GPU)."""
    model = VAE.mlp(latent_dim=2, hidden=(8,)).to("meta")
    x = torch.rand(3, 1, 28, 28)
    assert model.reconstruct(x).device.type == "meta"
    assert model.loss_terms(x)["loss"].device.type == "meta"


@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_the_capacity_loss_pulls_the_rate_towards_c_from_either_side(side):
    """d/dθ [D + γ|R − C|] = dD/dθ + γ·sign(R − C)·dR/dθ: above C the penalty lowers the rate, below C it raises it."""
    torch.manual_seed(0)
    model = VAE.mlp(latent_dim=3, hidden=(16,))
    x = torch.rand(8, 1, 28, 28)
    params = list(model.encoder.parameters())

    def grads(beta, capacity, term):
        torch.manual_seed(1)                                   # the same reparameterization noise every time
        return torch.autograd.grad(model.loss_terms(x, beta=beta, capacity=capacity)[term], params)

    torch.manual_seed(1)
    rate = model.loss_terms(x)["rate"].item()
    capacity = max(rate + side * 1.0, 0.0)
    total = grads(2.0, capacity, "loss")
    distortion, rate_grad = grads(2.0, capacity, "distortion"), grads(2.0, capacity, "rate")
    sign = 1.0 if rate > capacity else -1.0
    for g, d, r in zip(total, distortion, rate_grad):
        assert torch.allclose(g, d + 2.0 * sign * r, atol=1e-5)
