"""Train once, load afterwards: what makes sliders over trained models instant.

:func:`cached_fit` keys a trained model by a name, its configuration (a
JSON-able dict), whether fast mode is on, and a hash of ``course_lib``'s own
source code, so a change to the library retrains instead of loading a stale
model.  Results are kept in memory for the session and on disk.

Nothing the learner waited for is lost:

* disk writes are atomic (a temporary file, then a rename), so a write that is
  interrupted, or two kernels writing the same model at once, never leave a
  file that loads wrong;
* if the cache folder cannot be written (read-only, full disk), the model is
  kept in memory for this session and a warning, given once per folder, says
  where and why;
* an unreadable cache file is rebuilt with a warning.

The cache folder is ``$COURSE_LIB_CACHE`` if set, else ``~/.cache/course_lib/models``.

A class can share one read-only copy of its models: where ``$COURSE_LIB_SHARED_MODELS`` names a
folder (``python -m course_lib.class_models install --shared DIR`` fills it once), a model is looked
for there first, then in the learner's own folder.  Nothing is ever written to the shared folder:
a model it lacks is trained and stored in the learner's own folder, as without it.
A file's name holds the model's name, the library version that trained it and its key,
``{name}-{code version}-{key}.pt``.  Models trained by other versions of ``course_lib`` are
never loaded again; ``python -m course_lib.prune_cache`` removes them.
"""
import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from ..device import get_device
from ..errors import CourseInputError, warn
from ..io import atomic_save
from ..settings import fast_mode
from .train import History

_MEMORY: dict[str, tuple] = {}
_WARNED_FOLDERS: set[Path] = set()


def cache_dir() -> Path:
    """The folder cached models live in."""
    env = os.environ.get("COURSE_LIB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "course_lib" / "models"


def shared_dir():
    """The class's read-only model folder (``$COURSE_LIB_SHARED_MODELS``), or None."""
    env = os.environ.get("COURSE_LIB_SHARED_MODELS")
    return Path(env) if env else None


def code_version():
    """A short hash of the library's source files: changes whenever course_lib does."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]          # course_lib/, this file being training/cache.py
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def cache_key(name, config):
    """A hash of (name, config, fast mode, code version)."""
    try:
        text = json.dumps({"name": name, "config": config, "fast": fast_mode(), "code": code_version()},
                          sort_keys=True)
    except TypeError as e:
        raise CourseInputError(f"config must hold only numbers, strings, lists and dicts (JSON): {e}") from None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_key(x):
    """A short fingerprint of a training tensor for a cache config: [N, sum of its values]."""
    return [len(x), round(float(x.double().sum()), 3)]


def cached_fit(name: str, config: dict, build: Callable[[], nn.Module], train: Callable[[nn.Module], History], *,
               directory: str | Path | None = None, device: str | torch.device | None = None) -> tuple[nn.Module, History]:
    """Return ``(model, history)`` for ``config``, training only on a cache miss.

    build():      -> a fresh ``nn.Module`` for this config
    train(model): -> a :class:`History` (trains the model in place)

    ``name`` may contain letters, digits, '-' and '_'.
    """
    entry = _Entry(name, config, directory)
    found = entry.load(build, device)
    if found is not None:
        return found
    model = build().to(get_device(device))
    history = train(model)
    return entry.store(model, history)


def cached_sweep(name: str, config: dict, over: str, values: Sequence[float], build: Callable[[], nn.Module],
                 train_sweep: Callable[..., list[tuple[nn.Module, History]]], *, directory: str | Path | None = None,
                 device: str | torch.device | None = None) -> list[tuple[nn.Module, History]]:
    """``cached_fit`` for a slider's worth of models: one per value of the hyper-parameter ``over``.

    The model for value v is stored exactly as ``cached_fit(name, {**config, over: v}, ...)``
    would store it.  The values not in the cache are trained *together*:

    build():                 -> a fresh ``nn.Module`` (used to load cached models)
    train_sweep(values):     -> a list of ``(model, History)``, one per value, in order
                                (typically a :func:`course_lib.training.sweep.fit_sweep` call)

    Returns a list of ``(model, history)`` in the order of ``values``.
    """
    if not isinstance(over, str) or not over:
        raise CourseInputError(f"over must name the hyper-parameter that varies, e.g. 'beta'; got {over!r}.")
    values = list(values)
    if not values:
        raise CourseInputError("values must hold at least one value.")
    entries = [_Entry(name, {**config, over: v}, directory) for v in values]
    results = [entry.load(build, device) for entry in entries]
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        trained = train_sweep([values[i] for i in missing])
        if len(trained) != len(missing):
            raise CourseInputError(f"train_sweep must return one (model, history) per value: "
                                   f"asked for {len(missing)}, got {len(trained)}.")
        for i, (model, history) in zip(missing, trained):
            results[i] = entries[i].store(model.to(get_device(device)), history)
    return results


def is_cached(name, config, directory=None):
    """True when ``cached_fit(name, config, ...)`` would load a model rather than train one (a file in the
    learner's cache or the class's shared folder, or this session's memory).  Nothing is loaded."""
    entry = _Entry(name, config, directory)
    return entry.key in _MEMORY or any(path is not None and path.exists() for path in (entry.shared_path, entry.path))


class _Entry:
    """One trained model's place in the cache: in memory under its key, on disk at ``path``."""

    def __init__(self, name, config, directory=None):
        if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_" for c in name):
            raise CourseInputError(f"name must be letters, digits, '-' or '_', got {name!r}.")
        self.key = cache_key(name, config)
        self.config = config
        file_name = f"{name}-{code_version()}-{self.key}.pt"
        self.path = Path(directory or cache_dir()) / file_name
        shared = None if directory else shared_dir()      # an explicit folder is used alone
        self.shared_path = shared / file_name if shared else None

    def load(self, build, device=None):
        """The cached ``(model, history)``, or None: from memory, the class's shared folder, or the
        learner's own.  An unreadable file of the learner's is removed with a warning; one in the
        shared folder is left alone (it is not the learner's to change)."""
        if self.key in _MEMORY:
            return _MEMORY[self.key]
        for path, own in ((self.shared_path, False), (self.path, True)):
            if path is None or not path.exists():
                continue
            model = build()              # outside the try: a broken build() is the caller's error, not the file's
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                model.load_state_dict(state["model"])
                history = History.from_dict(state["history"])
            except Exception as e:  # noqa: BLE001 (corrupt, truncated or from another model: next place, or rebuild)
                where = "" if own else " in the shared folder"
                warn(f"cache file {path.name}{where} could not be read ({type(e).__name__}); "
                              + ("retraining." if own else "looking in your own cache."))
                if own:
                    with contextlib.suppress(OSError):  # the new file will replace it, or stay in memory
                        path.unlink(missing_ok=True)
                continue
            model.to(get_device(device)).eval()
            _MEMORY[self.key] = (model, history)
            return model, history
        return None

    def store(self, model, history):
        """Keep ``(model, history)`` in memory, then try to write it to disk (atomically)."""
        model.eval()
        _MEMORY[self.key] = (model, history)      # kept before the disk write, which may fail
        state = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                 "history": history.to_dict(), "config": json.loads(json.dumps(self.config))}
        try:
            atomic_save(state, self.path)
            _remove_stale_temporary_files(self.path)
        except OSError as e:
            folder = self.path.parent
            if folder not in _WARNED_FOLDERS:
                _WARNED_FOLDERS.add(folder)
                reason = e.strerror or type(e).__name__
                warn(f"could not save trained models in {folder} ({reason}); they are kept in memory "
                              "for this session only. Set COURSE_LIB_CACHE to a folder you can write to, "
                              "to keep them across sessions.")
        return model, history


def _remove_stale_temporary_files(path, age_s=600):
    """Remove what cache writes killed mid-way left in ``path``'s folder (never a fresh file:
    another kernel may be writing it right now)."""
    now = time.time()
    for tmp in path.parent.glob(".*.pt.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > age_s:
                tmp.unlink()
        except OSError:
            pass


def clear_memory() -> None:
    """Forget the models kept in memory (the disk cache stays)."""
    _MEMORY.clear()


# A model file this module wrote: {name}-{code version}-{key}.pt, or {name}-{key}.pt (before 2026-11-28).
_MODEL_FILE = re.compile(r"^[A-Za-z0-9_-]+?(?:-(?P<code>[0-9a-f]{12}))?-[0-9a-f]{16}\.pt$")


def trained_by(file_name):
    """The code version in the name of a model file this module wrote ('' for the old names
    without one), or None for a name it never writes."""
    match = _MODEL_FILE.match(file_name)
    return None if match is None else (match["code"] or "")


def model_files(directory=None):
    """The model files this module wrote in the cache folder, split by who trained them.
    -> (this version's, other versions') lists of Paths.  Files named otherwise are in neither."""
    folder, current = Path(directory or cache_dir()), code_version()
    ours, stale = [], []
    for path in sorted(folder.glob("*.pt")) if folder.is_dir() else []:
        version = trained_by(path.name)
        if version is not None:
            (ours if version == current else stale).append(path)
    return ours, stale


def stale_files(directory=None):
    """The model files in the cache folder that another version of ``course_lib`` trained (they
    are never loaded again).  -> list of Paths"""
    return model_files(directory)[1]


def prune(directory=None):
    """Remove the models that other versions of ``course_lib`` trained.  -> (files removed, bytes freed)"""
    removed, freed = 0, 0
    for path in stale_files(directory):
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError:
            continue                              # gone already, or not ours to remove
        removed, freed = removed + 1, freed + size
    return removed, freed

