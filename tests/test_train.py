"""The training loop: it learns, it repeats, it guards, it saves safely."""
import pytest
import torch

import course_lib.io
from course_lib import (
    VAE,
    CourseInputError,
    History,
    TrainingDiverged,
    fit,
    load_checkpoint,
    load_fashion_mnist,
)


@pytest.fixture(scope="module")
def images():
    return load_fashion_mnist(n_train=1024, n_test=16, source="subset").x_train


def small_vae():
    torch.manual_seed(0)
    return VAE.mlp(latent_dim=4, hidden=(64,))


def test_fit_lowers_the_loss_and_records_every_term(images):
    model = small_vae()
    history = fit(model, images, steps=120, batch_size=64, log_every=20, progress=False, seed=0)
    assert history.steps == [20, 40, 60, 80, 100, 120]
    assert set(history.terms) == {"loss", "distortion", "rate", "elbo"}
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert history.examples_seen == 120 * 64
    assert not model.training


def test_epochs_count_full_passes(images):
    history = fit(small_vae(), images[:100], epochs=2, batch_size=32, log_every=1, progress=False)
    assert history.steps[-1] == 2 * 4                 # ceil(100 / 32) = 4 steps per epoch


def test_same_seed_repeats_exactly(images):
    a = fit(small_vae(), images, steps=30, log_every=10, progress=False, seed=4)
    b = fit(small_vae(), images, steps=30, log_every=10, progress=False, seed=4)
    assert a.terms == b.terms


def test_eval_hook_and_continued_history(images):
    """eval_fn gets the model on the training device; the learner's images may stay on the CPU."""
    model = small_vae()
    history = fit(model, images, steps=20, log_every=10, eval_every=10, progress=False,
                  eval_fn=lambda m: {"test_elbo": m.loss_terms(images[:32])["elbo"]})
    assert history.eval_steps == [10, 20] and len(history["test_elbo"]) == 2
    history = fit(model, images, steps=10, log_every=10, progress=False, history=history)
    assert history.steps == [10, 20, 30]


def test_nan_guard_names_step_and_term_and_restores_last_good_weights(images):
    def loss_fn(model, x, step):
        terms = model.loss_terms(x)
        if step == 7:                                # 0-based: the 8th step
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    model = small_vae()
    with pytest.raises(TrainingDiverged, match=r"step 8: the term 'loss' became nan.*after step 5") as err:
        fit(model, images, loss_fn, steps=20, log_every=5, progress=False, seed=1)
    assert err.value.history.steps == [5]
    reference = small_vae()                          # trained the same way (the same loss: eager on a GPU too)
    fit(reference, images, loss_fn, steps=5, log_every=5, progress=False, seed=1)
    for (name, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), name


def test_checkpoint_round_trip_and_atomic_write(images, tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    model = small_vae()
    history = fit(model, images, steps=10, log_every=5, progress=False, checkpoint_path=path)
    restored = small_vae()
    loaded = load_checkpoint(path, restored)
    assert loaded.terms == history.terms
    for a, b in zip(model.state_dict().values(), restored.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())                 # the trained model may be on a GPU

    # a write that dies halfway leaves the old checkpoint intact and no temporary file
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(course_lib.io.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        fit(model, images, steps=5, log_every=5, progress=False, checkpoint_path=path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def test_history_says_which_terms_exist():
    with pytest.raises(KeyError, match="recorded terms: loss"):
        History(terms={"loss": [1.0]})["rat"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=5, epochs=1), "exactly one of steps= or epochs="),
    (dict(), "exactly one of steps= or epochs="),
    (dict(steps=0), "steps must be a whole number >= 1"),
    (dict(steps=5, batch_size=0), "batch_size must be a whole number >= 1"),
    (dict(steps=5, lr=-1.0), "lr must be > 0"),
])
def test_bad_arguments_are_explained(images, kwargs, message):
    with pytest.raises(CourseInputError, match=message):
        fit(small_vae(), images, progress=False, **kwargs)


def test_bad_data_and_loss_functions_are_explained(images):
    with pytest.raises(CourseInputError, match="x_train must be a non-empty tensor"):
        fit(small_vae(), images.numpy(), steps=1)
    with pytest.raises(CourseInputError, match="'loss' entry"):
        fit(small_vae(), images, lambda m, x, s: m.loss_terms(x)["loss"], steps=1, progress=False)
    with pytest.raises(CourseInputError, match="pass loss_fn"):
        fit(torch.nn.Linear(784, 2), images, steps=1)


def test_with_cached_only_no_training_starts_but_a_cached_model_loads(monkeypatch):
    """COURSE_LIB_CACHED_ONLY (make site's first try of a lesson in full mode): every trainer refuses,
    with a course error that names itself; a model already in the cache is loaded as usual."""
    from course_lib import cache, cached_fit, fit, fit_sweep, vae_sweep_objective
    from course_lib.errors import NotCached
    from course_lib.models.gans import GAN
    from course_lib.training.adversarial import train_adversarial
    x = torch.rand(16, 1, 28, 28)
    build = lambda: VAE.mlp(latent_dim=2, hidden=(8,))
    cached_fit("cached-only", {"n": 16}, build, lambda m: fit(m, x, steps=2, progress=False))
    cache.clear_memory()
    monkeypatch.setenv("COURSE_LIB_CACHED_ONLY", "1")
    assert cached_fit("cached-only", {"n": 16}, build, lambda m: fit(m, x, steps=2, progress=False))
    for name, train in [("fit", lambda: fit(build(), x, steps=2, progress=False)),
                        ("fit_sweep", lambda: fit_sweep(build, x, vae_sweep_objective(), [1.0], steps=2,
                                                        progress=False)),
                        ("train_adversarial", lambda: train_adversarial(GAN(hidden=(8,)), torch.randn(16, 2), 2,
                                                                        progress=False))]:
        with pytest.raises(NotCached, match=name):
            train()
