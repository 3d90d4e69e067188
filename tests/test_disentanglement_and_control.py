"""MIG on constructed codes; the PI controller of ControlVAE on a toy plant and on a real VAE."""
import math

import numpy as np
import pytest
import torch

import course_lib as cl
from course_lib.metrics import binning_bias, factor_entropies, mig, mutual_information_matrix
from course_lib.models.control import PIController, control_vae_objective


def factors(n=3000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, 3, (n,), generator=g), torch.randint(0, 8, (n,), generator=g),
                        torch.randint(0, 12, (n,), generator=g)], dim=1)


def test_mig_is_near_one_when_each_factor_has_its_own_latent():
    v = factors()
    g = torch.Generator().manual_seed(1)
    codes = torch.cat([v.double() + 0.01 * torch.randn(v.shape, generator=g, dtype=torch.float64),
                       torch.randn(len(v), 2, generator=g, dtype=torch.float64)], dim=1)   # + 2 noise latents
    mi = mutual_information_matrix(codes, v, bins=20)
    h = factor_entropies(v)
    assert h == pytest.approx([math.log(3), math.log(8), math.log(12)], abs=0.02)
    assert np.diag(mi[:3]) == pytest.approx(h, abs=1e-9)            # each latent carries its whole factor
    score, gaps = mig(mi, h)
    assert score > 0.95 and gaps.shape == (3,)


def test_mig_is_low_for_mixed_or_random_codes():
    v = factors().double()
    mixed = torch.stack([v[:, 1] + v[:, 2], v[:, 1] - v[:, 2], v[:, 0]], dim=1)        # two factors share latents
    mixed_score, gaps = mig(mutual_information_matrix(mixed, factors()), factor_entropies(factors()))
    assert gaps[0] > 0.9 and gaps[1:].max() < 0.5 and mixed_score < 0.7
    noise = torch.randn(3000, 4, generator=torch.Generator().manual_seed(2))
    assert mig(mutual_information_matrix(noise, factors()), factor_entropies(factors()))[0] < 0.05


def test_mig_from_a_given_matrix():
    mi = np.array([[1.0, 0.1], [0.4, 0.6], [0.2, 0.5]])
    score, gaps = mig(mi, np.array([2.0, 1.0]))
    assert gaps == pytest.approx([(1.0 - 0.4) / 2.0, (0.6 - 0.5) / 1.0])
    assert score == pytest.approx(np.mean(gaps))


def plant(beta):
    """A toy 'VAE': the KL it settles at for a given beta."""
    return 30.0 / (1.0 + 10.0 * beta)


def test_the_binning_bias_is_what_an_unrelated_latent_scores_on_average():
    """Codes independent of the factor (uniform, so every bin is filled alike): the binned MI of 200 latents averages
    the first-order bias (bins - 1)(values - 1) / 2n within 5 %; its standard error there is about 1 %."""
    rng = np.random.default_rng(0)
    n, k = 1000, 6
    scores = [mutual_information_matrix(torch.from_numpy(rng.uniform(size=(n, 5))),
                                        torch.from_numpy(rng.integers(0, k, size=(n, 1)))) for _ in range(40)]
    assert np.mean(scores) == pytest.approx(binning_bias(k, n), rel=0.05)
    assert binning_bias(k, n, bins=2) == pytest.approx(1 * 5 / 2000)
    with pytest.raises(cl.CourseInputError, match="n must be"):
        binning_bias(k, 0)


def test_the_controller_brings_the_kl_to_its_set_point():
    controller = PIController(set_point=10.0, kp=0.01, ki=0.005, beta_max=1.0)
    kls = []
    for _ in range(3000):
        kls.append(plant(controller.beta))
        controller.update(kls[-1])
    assert kls[-1] == pytest.approx(10.0, abs=0.1)
    assert controller.beta == pytest.approx(0.2, abs=0.01)


def test_anti_windup_lets_beta_leave_a_bound_at_once():
    controller = PIController(set_point=1.0, kp=0.01, ki=0.005, beta_max=1.0)
    for _ in range(500):                        # unreachable: the KL stays far above the set point at beta_max
        controller.update(50.0)
    assert controller.beta == 1.0
    controller.update(0.0)                      # now far below: beta must fall right away, not after 500 steps
    assert controller.beta < 1.0


def test_control_vae_training_records_beta_and_moves_the_kl_towards_the_set_point():
    x = cl.make_sprites(512, seed=0).images
    torch.manual_seed(0)
    model = cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=4, hidden=(64,))
    controller = PIController(set_point=4.0, kp=0.5, ki=0.01, beta_max=4.0, beta_start=1.0)
    history = cl.fit(model, x, control_vae_objective(controller), steps=200, batch_size=64, log_every=40,
                     progress=False, device="cpu")
    assert "beta" in history.terms and len(history["beta"]) == 5
    assert abs(history["rate"][-1] - 4.0) < abs(history["rate"][0] - 4.0)


def test_a_starting_integral_holds_beta_near_its_start_and_a_scheduled_set_point_is_tracked():
    """integral = -(beta0 - beta_min - kp) / ki starts beta at beta0 (the KL far above its set point); with a set point that ramps, the plant's
    KL follows the ramp (the capacity recipe's controller)."""
    controller = PIController(set_point=0.5, kp=0.01, ki=0.005, beta_max=5.0, integral=-(4.0 - 0.01) / 0.005)
    assert controller.beta == 5.0                              # beta_start defaults to beta_max
    error = 0.5 - 1.5                                          # the KL a nat above the set point
    controller.update(1.5)
    assert controller.beta == pytest.approx(0.01 / (1 + np.exp(error)) + 3.99 - 0.005 * error, abs=1e-12)
    ramp = cl.schedules.linear_warmup(2000, start=0.5, end=6.0)
    model = _PlantModel()
    loss_fn = control_vae_objective(controller, set_point=ramp)
    kls = []
    for step in range(4000):
        terms = loss_fn(model, None, step)
        kls.append(float(terms["rate"]))
        model.kl = plant(controller.beta)
    assert float(terms["set point"]) == 6.0
    assert kls[-1] == pytest.approx(6.0, abs=0.05)
    assert abs(kls[1000] - ramp(1000)) < 1.0                  # it follows the ramp on the way


class _PlantModel:
    """Stands in for a VAE in control_vae_objective: its 'rate' is the plant's KL."""
    kl = 0.0

    def loss_terms(self, x, beta):
        rate = torch.tensor(self.kl)
        return {"loss": beta * rate, "rate": rate}


def test_the_kl_split_adds_up_to_the_closed_form_and_reads_a_shared_offset():
    """kl_split's three parts add up to the encoder's KL; shifting every posterior mean by the same vector adds
    exactly half its squared length to the offset part and leaves the spread part alone."""
    from course_lib.lessons.beta_vae import kl_split
    torch.manual_seed(0)
    vae = cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=3, hidden=(8,))
    images = cl.make_sprites(20, seed=0).images
    before = kl_split({"a": vae}, images)["a"]
    assert before["sum"] == pytest.approx(before["closed form"], rel=1e-5)
    shift = torch.tensor([2.0, -1.0, 0.5])
    last = [m for m in vae.encoder.net.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.bias[:3] += shift                          # the first latent_dim outputs are the means
    after = kl_split({"a": vae}, images)["a"]
    assert after["sum"] == pytest.approx(after["closed form"], rel=1e-5)
    assert after["spread of the means"] == pytest.approx(before["spread of the means"], rel=1e-5)
    assert after["widths"] == pytest.approx(before["widths"], rel=1e-5)
    assert after["offset of the means"] > before["offset of the means"]
    with pytest.raises(cl.CourseInputError, match="models must be"):
        kl_split({}, images)
