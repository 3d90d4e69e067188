"""Cached training: hit, miss, corrupt and truncated files, keys, and faults (full disk, two writers, a kill)."""
import errno
import os
import signal
import subprocess
import sys
import time
import warnings

import pytest
import torch

from course_lib import VAE, CourseInputError, cache, cached_fit, fit


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


# -- nothing lost under faults ------------------------------------------------

def _no_space(*args):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_keeps_the_model_in_memory_and_warns_once(monkeypatch):
    import course_lib.io
    monkeypatch.setattr(course_lib.io.os, "fsync", _no_space)
    t = Trainer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, _ = cached_fit("demo", {"beta": 1.0}, t.build, t.train)
        cached_fit("demo", {"beta": 2.0}, t.build, t.train)
    said = [w for w in caught if "could not save" in str(w.message)]
    assert all(w.filename == __file__ for w in said), "the warning must point at the caller, not the library"
    messages = [str(w.message) for w in said]
    assert len(messages) == 1, messages                                # once per folder, not per model
    assert str(cache.cache_dir()) in messages[0] and "No space left on device" in messages[0]
    assert "kept in memory" in messages[0]
    assert cached_fit("demo", {"beta": 1.0}, t.build, t.train)[0] is model and t.calls == 2
    assert not cache.cache_dir().exists() or not list(cache.cache_dir().iterdir())  # no partial files


def test_an_unwritable_cache_folder_keeps_the_model_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("COURSE_LIB_CACHE", str(blocker / "models"))
    t = Trainer()
    with pytest.warns(UserWarning, match="could not save trained models in .*not-a-folder"):
        model, history = cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    assert history.steps and cached_fit("demo", {"beta": 1.0}, t.build, t.train)[0] is model
    assert blocker.read_text().startswith("a file")


_CHILD = """
import sys, time, torch
from pathlib import Path
from course_lib import VAE, cached_fit, fit
folder, me = Path(sys.argv[1]), sys.argv[2]


def wait_for(*names):
    end = time.time() + 60
    while not all((folder / n).exists() for n in names):
        assert time.time() < end, f"{me}: waited 60 s for {names}"
        time.sleep(0.01)


def train(model):
    # The barrier: neither child trains until both are inside training, so neither has written
    # its file when the other looks for it: the two trainings overlap for sure.
    (folder / f"training-{me}").touch()
    wait_for("training-a", "training-b")
    return fit(model, x, steps=30, log_every=10, progress=False)


x = torch.rand(64, 1, 28, 28)
cached_fit("demo", {"beta": 1.0}, lambda: VAE.mlp(latent_dim=2, hidden=(8,)), train)
print("done")
"""


def test_two_kernels_training_the_same_model_at_once_both_leave_a_valid_file(tmp_path):
    env = dict(os.environ, COURSE_LIB_CACHE=str(cache.cache_dir()))
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), me], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for me in ("a", "b")]
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0 and "done" in out, err
    assert (tmp_path / "training-a").exists() and (tmp_path / "training-b").exists()     # both trained
    files = list(cache.cache_dir().iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt", files           # one file, no temporary ones
    t = Trainer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    assert t.calls == 0                                                  # it loads: no retraining


_KILLED = """
import os, signal, sys, torch
import course_lib.io
from course_lib import VAE, cached_fit, fit
course_lib.io.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)   # die mid-write
x = torch.rand(64, 1, 28, 28)
cached_fit("demo", {"beta": 1.0}, lambda: VAE.mlp(latent_dim=2, hidden=(8,)),
           lambda m: fit(m, x, steps=4, log_every=2, progress=False))
"""


def test_a_write_killed_midway_leaves_no_file_that_loads_wrong():
    env = dict(os.environ, COURSE_LIB_CACHE=str(cache.cache_dir()))
    child = subprocess.run([sys.executable, "-c", _KILLED], env=env, capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert not list(cache.cache_dir().glob("*.pt"))                      # no model file: only a hidden leftover
    leftovers = list(cache.cache_dir().glob(".demo-*.tmp"))
    assert len(leftovers) == 1
    t = Trainer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cached_fit("demo", {"beta": 1.0}, t.build, t.train)             # trains again, loads nothing half-written
    assert t.calls == 1
    old = time.time() - 3600
    os.utime(leftovers[0], (old, old))                                   # an hour later, the next save tidies up
    cache.clear_memory()
    cached_fit("demo", {"beta": 2.0}, t.build, t.train)
    assert not leftovers[0].exists()


def test_an_error_in_build_is_raised_and_never_costs_the_cached_file():
    t = Trainer()
    cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    cache.clear_memory()

    def broken_build():
        raise CourseInputError("latent_dim must be a whole number >= 1, got 0.")

    with pytest.raises(CourseInputError, match="latent_dim"):
        cached_fit("demo", {"beta": 1.0}, broken_build, t.train)
    assert len(list(cache.cache_dir().glob("demo-*.pt"))) == 1        # the good file is still there
    cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    assert t.calls == 1


def test_every_cached_training_in_the_library_has_its_own_name():
    """Two lessons that cache different models under one name and the same config collide: the second
    finds the first one's file, cannot load it into its own architecture, and retrains with a warning
    (lessons 8 and 8b once both used "lesson08b-vae")."""
    import re
    from pathlib import Path

    import course_lib
    root = Path(course_lib.__file__).parent
    names = [name for path in root.rglob("*.py")
             for name in re.findall(r'cached_(?:fit|sweep)\(\s*"([^"]+)"', path.read_text())]
    assert len(names) >= 20
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_prune_removes_only_the_models_of_other_library_versions(capsys):
    from course_lib import prune_cache
    t = Trainer()
    cached_fit("demo", {"beta": 1.0}, t.build, t.train)
    folder = cache.cache_dir()
    (current,) = folder.glob("demo-*.pt")
    assert current.name.startswith(f"demo-{cache.code_version()}-")
    other_version = folder / f"demo-{'0' * 12}-{'a' * 16}.pt"         # a model an older course_lib trained
    old_naming = folder / f"lesson03-sweep-{'b' * 16}.pt"              # named as before the version was in the name
    not_ours = [folder / "weights.pt", folder / "notes-1234.pt"]       # files the cache did not write
    for path in (other_version, old_naming, *not_ours):
        path.write_bytes(b"x" * 1000)
    assert cache.stale_files() == sorted([other_version, old_naming])
    assert cache.model_files()[0] == [current]

    prune_cache.main(["--dry-run"])
    said = capsys.readouterr().out
    assert "2 models of other versions" in said and other_version.name in said and other_version.exists()

    prune_cache.main([])
    assert "removed 2 models of other versions" in capsys.readouterr().out
    assert sorted(folder.glob("*.pt")) == sorted([current, *not_ours])
    cache.clear_memory()
    cached_fit("demo", {"beta": 1.0}, t.build, t.train)                 # the current model still loads
    assert t.calls == 1
    assert cache.prune(folder / "no-such-folder") == (0, 0)
