"""The CUDA-graph step: the static-buffer code it records, checked on any device; the recording on CUDA."""
import os
import warnings

import pytest
import torch

import course_lib as cl
from course_lib import estimators, schedules
from course_lib.lessons import flows as flow_lesson
from course_lib.models import flow_vae, gans, hierarchical, hybrids, tcvae, wae
from course_lib.training import loop
from course_lib.training.adversarial import adversarial_step, train_adversarial
from course_lib.training.graph_step import StaticStep, capture_problem, full_batch
from course_lib.training.sweep import fit_sweep


def test_full_batch_fills_a_short_last_batch_from_the_start_of_the_order():
    order = torch.tensor([4, 2, 0, 3, 1])
    assert full_batch(order, 0, 2).tolist() == [4, 2]
    assert full_batch(order, 2, 2).tolist() == [1, 4]


@pytest.mark.parametrize("schedule", [schedules.linear_warmup(10, 0.5, 2.0), schedules.cyclical(8, 0.25, 1.0, 3.0),
                                      schedules.after_warm_start(5, 1.0, 25.0),
                                      schedules.after_warm_start(5, 0.0, schedules.linear_warmup(10, 1.0, 6.0))])
def test_schedules_give_the_same_values_for_a_tensor_step(schedule):
    for step in range(25):
        assert float(schedule(torch.tensor(float(step)))) == pytest.approx(schedule(step), abs=1e-6)
    assert schedule.capturable


def test_the_static_step_trains_exactly_like_fit():
    """The code a CUDA graph records, run eagerly, equals fit's eager loop step for step
    (full batches, a beta warm-up read from the step tensor, dynamic binarization)."""
    x = cl.make_sprites(256, seed=0).images
    loss_fn = cl.vae_objective(beta=schedules.linear_warmup(20))
    assert loss_fn.capturable

    def build():
        torch.manual_seed(0)
        return cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=3, hidden=(32,))

    reference = build()
    history = cl.fit(reference, x, loss_fn, steps=12, batch_size=64, transform=cl.dynamic_binarize, seed=5,
                     log_every=12, progress=False, device="cpu")

    model = build()
    torch.manual_seed(5)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    static = StaticStep(model, loss_fn, optimizer, x, 64, cl.dynamic_binarize, capture=False)
    rows = []
    for i in range(12):
        if i % 4 == 0:
            order = torch.randperm(len(x))
        rows.append(static.run(full_batch(order, i % 4, 64), i))
    assert static.names == list(history.terms)
    assert torch.stack(rows).mean(0).tolist() == pytest.approx([history.terms[k][0] for k in static.names], rel=1e-5)
    for (name, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_what_cannot_be_recorded_is_said():
    model = cl.VAE.mlp(latent_dim=2, hidden=(8,))
    adam = torch.optim.Adam(model.parameters())
    assert "CUDA device" in capture_problem(cl.vae_objective(), None, adam, torch.device("cpu"))
    cuda = torch.device("cuda")
    assert "loss_fn is not marked" in capture_problem(lambda m, x, s: m.loss_terms(x), None, adam, cuda)
    assert "transform" in capture_problem(cl.vae_objective(), lambda x: x.round(), adam, cuda)
    assert "capturable=True" in capture_problem(cl.vae_objective(), cl.dynamic_binarize, adam, cuda)
    assert not cl.vae_objective(beta=lambda step: 1.0).capturable        # an unknown schedule is not trusted


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.skipif(os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1",
                    reason="the emulated GPU records no graph, so both runs would be the same eager training "
                           "(about 20-40 s); test_on_cuda_every_loss_marked_capturable_is_recorded runs the "
                           "recording check there")
def test_on_cuda_fit_records_the_step_and_learns_as_well_as_eagerly():
    """The recorded run draws its random numbers in another order than the eager one, so the two are
    compared like two seeds.  On the CPU, five seeds of this training end with a loss on the whole
    data between 46.3 and 49.2 (6 % apart), so 15 % is allowed; a graph that replayed a stale batch
    or skipped the optimizer would miss that."""
    x = cl.make_sprites(1024, seed=0).images
    fixed = torch.bernoulli(x, generator=torch.Generator().manual_seed(1))
    steps, batch = 1500, 100
    # The recorded step takes full batches only (a short last batch is filled up); the eager one
    # ends each epoch of 1,024 images (11 steps) with a batch of 24.
    epochs, rest = divmod(steps, 11)
    seen = {"auto": steps * batch, False: epochs * 1024 + rest * batch}
    final = {}
    for graph in ("auto", False):
        torch.manual_seed(0)
        model = cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=4, hidden=(64,))
        history = cl.fit(model, x, steps=steps, batch_size=batch, transform=cl.dynamic_binarize, seed=0,
                         log_every=250, progress=False, cuda_graph=graph)
        assert history.steps[-1] == steps and history.examples_seen == seen[graph]
        assert history["loss"][-1] < 0.5 * history["loss"][0]                 # it learned
        torch.manual_seed(0)
        with torch.no_grad():
            final[graph] = float(model.loss_terms(fixed)["loss"])
    assert final["auto"] == pytest.approx(final[False], rel=0.15)


def _capturable_trainings():
    """Every loss the course marks capturable, each trained for 6 steps (the step is recorded after 3)."""
    images = cl.make_sprites(64, seed=0).images
    small = dict(steps=6, batch_size=16, progress=False, seed=0)

    def vae():
        return cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=3, hidden=(16,))

    def hvae():
        return hierarchical.HierarchicalVAE(image_shape=(1, 32, 32), latent_dims=(4, 2), hidden=16)

    warmup = schedules.linear_warmup(10)
    return {
        "VAE, beta and C schedules": lambda: cl.fit(vae(), images, cl.vae_objective(warmup, schedules.cyclical(4)),
                                                    transform=cl.dynamic_binarize, **small),
        "VAE, a capacity ramp after a warm start (the sprite recipe's)": lambda: cl.fit(
            vae(), images, cl.vae_objective(schedules.after_warm_start(2, 1.0, 25.0),
                                            schedules.after_warm_start(2, 0.0, schedules.linear_warmup(3, 1.0, 5.0))),
            transform=cl.dynamic_binarize, **small),
        "VAE, score function": lambda: cl.fit(vae(), images, estimators.score_function_vae_objective(),
                                              transform=cl.dynamic_binarize, **small),
        "sweep over beta": lambda: fit_sweep(vae, images, cl.vae_sweep_objective("beta"), [0.5, 2.0], **small),
        "sweep over a growing C": lambda: fit_sweep(vae, images, cl.vae_sweep_objective("capacity", ramp_steps=4),
                                                    [1.0, 5.0], **small),
        "sweep over (beta, C) cases": lambda: fit_sweep(vae, images,
                                                        cl.vae_sweep_objective("case", cases=[(1.0, 0.0), (4.0, 20.0)]),
                                                        [0.0, 1.0], **small),
        "hierarchical VAE, KL warm-up": lambda: cl.fit(hvae(), images, hierarchical.hierarchical_objective(warmup),
                                                       **small),
        "sweep over free bits": lambda: fit_sweep(hvae, images, hierarchical.free_bits_sweep_objective(),
                                                  [0.0, 1.0], **small),
        "WAE-MMD": lambda: cl.fit(wae.WAE(image_shape=(1, 32, 32), latent_dim=2, hidden=(16,)), images,
                                  wae.wae_objective(), **small),
        "sweep over lambda": lambda: fit_sweep(lambda: wae.WAE(image_shape=(1, 32, 32), latent_dim=2, hidden=(16,)),
                                               images, wae.wae_sweep_objective(), [1.0, 10.0], **small),
        "VAE with an IAF posterior": lambda: cl.fit(
            flow_vae.FlowVAE(latent_dim=2, hidden=(16,), flow="iaf", steps=2, context_dim=4, image_shape=(1, 32, 32)),
            images, flow_vae.flow_vae_objective(), **small),
        "beta-TCVAE": lambda: cl.fit(vae(), images, tcvae.tcvae_objective(4.0, len(images)), **small),
        "sweep over beta, beta-TCVAE": lambda: fit_sweep(vae, images, tcvae.tcvae_sweep_objective(len(images)),
                                                         [1.0, 4.0], **small),
        "energy flows, sweep over the target": lambda: fit_sweep(
            lambda: flow_lesson.build_energy_flow("planar", 2), torch.randn(256, 2),
            flow_lesson.reverse_kl_objective(4), [0, 1], **small),
        "Real NVP, maximum likelihood": lambda: cl.fit(flow_lesson.build_coupling_flow(2, hidden=16),
                                                       torch.randn(256, 2), flow_lesson.negative_log_likelihood,
                                                       **small),
        **{f"adversarial: {name}": (lambda build=build, data=data: train_adversarial(build(), data, **adversarial))
           for name, (build, data) in _adversarial_models(images).items()},
    }


def _adversarial_models(images):
    """Every kind of model that train_adversarial trains in the course, small: {name: (build, data)}."""
    points = torch.randn(256, 2)
    small_vae = lambda: cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=3, hidden=(16,))
    return {
        "GAN": (lambda: gans.GAN(hidden=(16,)), points),
        "BiGAN": (lambda: gans.BiGAN(hidden=(16,)), points),
        "InfoGAN": (lambda: gans.InfoGAN(hidden=(16,), n_codes=3), points),
        "InfoGAN (continuous)": (lambda: gans.InfoGAN(hidden=(16,), n_codes=3, n_continuous=2, lam_continuous=0.1),
                                 points),
        "WAE-GAN": (lambda: wae.WAEGAN(wae.WAE(image_shape=(1, 32, 32), latent_dim=2, hidden=(16,)),
                                       wae.latent_discriminator(2, (16,))), images),
        "VAE-GAN": (lambda: hybrids.VAEGAN(small_vae(), feature_dim=8, hidden=(16,)), images),
        "unified VAE": (lambda: hybrids.UnifiedVAE(flow_vae.FlowVAE(latent_dim=2, hidden=(16,), steps=2, context_dim=4,
                                                                    image_shape=(1, 32, 32)),
                                                   lam_adv=1.0, lam_cons=1.0, hidden=(16,)), images),
    }


adversarial = dict(steps=6, batch_size=16, progress=False, seed=0, log_every=3)


def _reference_adversarial(model, x, steps, batch_size, lr=1e-3, betas=(0.5, 0.999), seed=0):
    """The textbook alternating loop, written out: what train_adversarial's static step must equal."""
    torch.manual_seed(seed)
    model.train()
    opt_d = torch.optim.Adam(model.discriminator_parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=lr, betas=betas)
    for _ in range(steps):
        batch = x[torch.randint(len(x), (batch_size,))]
        opt_d.zero_grad(set_to_none=True)
        model.discriminator_loss(batch)["loss"].backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        model.generator_loss(batch)["loss"].backward()
        opt_g.step()
    return model


@pytest.mark.parametrize("name", ["GAN", "BiGAN", "InfoGAN", "InfoGAN (continuous)", "WAE-GAN", "VAE-GAN",
                                  "unified VAE"])
def test_the_adversarial_static_step_trains_exactly_like_the_textbook_loop(name):
    """train_adversarial runs the step that a GPU records (static buffers, gradients zeroed in place);
    on the CPU it must give the same weights as two optimizers stepped one after the other."""
    build, data = _adversarial_models(cl.make_sprites(64, seed=0).images)[name]
    torch.manual_seed(1)
    ours = build()
    theirs = build()
    theirs.load_state_dict(ours.state_dict())
    train_adversarial(ours, data, 5, batch_size=16, progress=False, seed=3, device="cpu")
    _reference_adversarial(theirs, data, 5, batch_size=16, seed=3)
    for (key, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), f"{name}: {key} differs from the textbook loop"
    assert ours.capturable


def test_the_adversarial_step_returns_the_terms_of_both_losses_without_loss():
    model = gans.InfoGAN(hidden=(8,), n_codes=3)
    names, row = adversarial_step(model, None, _optimizers(model), torch.randn(8, 2), 0)
    assert names == ["discriminator", "generator", "MI bound"]
    assert row.shape == (3,) and torch.isfinite(row).all()


def _optimizers(model):
    from course_lib.training.adversarial import AlternatingOptimizers
    return AlternatingOptimizers(torch.optim.Adam(model.discriminator_parameters()),
                                 torch.optim.Adam(model.generator_parameters()))


CAPTURABLE = _capturable_trainings()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (or tools/emulated_cuda)")
@pytest.mark.parametrize("name", list(CAPTURABLE))
def test_on_cuda_every_loss_marked_capturable_is_recorded(name, monkeypatch):
    """On a GPU, fit and fit_sweep record the step of every capturable loss (no "could not record"
    warning).  On the emulated GPU, which records nothing, the step must pass its recording check."""
    monkeypatch.setattr(loop, "_SAID", set())           # each test hears the loops' one-time messages afresh
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CAPTURABLE[name]()
    said = [str(w.message) for w in caught if "CUDA graph" in str(w.message)]
    if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
        assert said and all("passed the emulated recording check" in m for m in said), said
    else:
        assert said == []
