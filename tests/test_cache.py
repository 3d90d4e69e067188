"""Cached training: hit, miss, corrupt and truncated files, keys."""
import warnings

import pytest
import torch

from course_lib import CourseInputError, VAE, cache, cached_fit, fit


class Trainer:
    """Counts how often training really runs."""

    def __init__(self):
        self.calls = 0
        self.x = torch.rand(64, 1, 28, 28)

    def build(self):
        return VAE.mlp(latent_dim=2, hidden=(8,))

    def train(self, model):
        self.calls += 1
        return fit(model, self.x, steps=4, log_every=2, progress=False)


def test_miss_then_memory_hit_then_disk_hit():
    t = Trainer()
    model, history = cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    assert t.calls == 1 and len(list(cache.cache_dir().glob("demo-*.pt"))) == 1
    again, _ = cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    assert again is model and t.calls == 1
    cache.clear_memory()
    loaded, loaded_history = cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    assert t.calls == 1 and loaded is not model
    assert loaded_history.terms == history.terms
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_a_new_config_or_fast_mode_or_code_version_is_a_new_key(monkeypatch):
    base = cache.cache_key("demo", {"beta": 1.0})
    assert cache.cache_key("demo", {"beta": 2.0}) != base
    monkeypatch.setenv("COURSE_LIB_FAST", "0" if cache.fast_mode() else "1")
    assert cache.cache_key("demo", {"beta": 1.0}) != base
    monkeypatch.undo()
    monkeypatch.setattr(cache, "code_version", lambda: "something-else")
    assert cache.cache_key("demo", {"beta": 1.0}) != base


@pytest.mark.parametrize("damage", [lambda b: b"not a torch file", lambda b: b[: len(b) // 2]],
                         ids=["corrupt", "truncated"])
def test_a_damaged_file_is_rebuilt_with_a_warning(damage):
    t = Trainer()
    cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    (path,) = cache.cache_dir().glob("demo-*.pt")
    path.write_bytes(damage(path.read_bytes()))
    cache.clear_memory()
    with pytest.warns(UserWarning, match="could not be read.*retraining"):
        cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    assert t.calls == 2
    cache.clear_memory()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cached_fit("demo", {"beta": 1.0}, t.build, t.train)       # the rebuilt file reads cleanly
    assert t.calls == 2
    assert [p.name for p in cache.cache_dir().iterdir()] == [path.name]   # no temporary files left


def test_bad_names_and_configs_are_explained():
    t = Trainer()
    with pytest.raises(CourseInputError, match="name must be letters"):
        cached_fit("../escape", {}, t.build, t.train)
    with pytest.raises(CourseInputError, match="JSON"):
        cached_fit("demo", {"model": object()}, t.build, t.train)
    assert t.calls == 0
