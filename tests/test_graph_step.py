"""The CUDA-graph step: the static-buffer code it records, checked on any device; the recording on CUDA."""
import pytest
import torch

import course_lib as cl
from course_lib import schedules
from course_lib.graph_step import StaticStep, capture_problem, full_batch


def test_full_batch_fills_a_short_last_batch_from_the_start_of_the_order():
    order = torch.tensor([4, 2, 0, 3, 1])
    assert full_batch(order, 0, 2).tolist() == [4, 2]
    assert full_batch(order, 2, 2).tolist() == [1, 4]


@pytest.mark.parametrize("schedule", [schedules.linear_warmup(10, 0.5, 2.0), schedules.cyclical(8, 0.25, 1.0, 3.0)])
def test_schedules_give_the_same_values_for_a_tensor_step(schedule):
    for step in range(0, 25):
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
def test_on_cuda_fit_records_the_step_and_learns_as_well_as_eagerly():
    x = cl.make_sprites(1024, seed=0).images
    # The recorded step takes full batches only (a short last batch is filled up); the eager one
    # ends each epoch of 1,024 images with a batch of 24: 27 epochs and 3 more steps of 100.
    seen = {"auto": 300 * 100, False: 27 * 1024 + 3 * 100}
    losses = {}
    for graph in ("auto", False):
        torch.manual_seed(0)
        model = cl.VAE.mlp(image_shape=(1, 32, 32), latent_dim=4, hidden=(64,))
        history = cl.fit(model, x, steps=300, batch_size=100, transform=cl.dynamic_binarize, seed=0,
                         log_every=50, progress=False, cuda_graph=graph)
        assert history.steps[-1] == 300 and history.examples_seen == seen[graph]
        losses[graph] = history["loss"][-2:].mean()
    assert losses["auto"] == pytest.approx(losses[False], rel=0.05)
