"""Train once, load afterwards: what makes sliders over trained models instant.

:func:`cached_fit` keys a trained model by a name, its configuration (a
JSON-able dict), whether fast mode is on, and a hash of ``course_lib``'s own
source code, so a change to the library retrains instead of loading a stale
model.  Results are kept in memory for the session and on disk; disk writes
are atomic, and an unreadable cache file is rebuilt with a warning.

The cache folder is ``$COURSE_LIB_CACHE`` if set, else ``~/.cache/course_lib/models``.
"""
import hashlib
import json
import os
import warnings
from pathlib import Path

import torch

from .device import get_device
from .errors import CourseInputError
from .io import atomic_save
from .settings import fast_mode
from .train import History

_MEMORY = {}


def cache_dir():
    """The folder cached models live in."""
    env = os.environ.get("COURSE_LIB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "course_lib" / "models"


def code_version():
    """A short hash of the library's source files: changes whenever course_lib does."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        h.update(path.relative_to(Path(__file__).parent).as_posix().encode())
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


def cached_fit(name, config, build, train, *, directory=None, device=None):
    """Return ``(model, history)`` for ``config``, training only on a cache miss.

    build():      -> a fresh ``nn.Module`` for this config
    train(model): -> a :class:`History` (trains the model in place)

    ``name`` may contain letters, digits, '-' and '_'.
    """
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise CourseInputError(f"name must be letters, digits, '-' or '_', got {name!r}.")
    key = cache_key(name, config)
    if key in _MEMORY:
        return _MEMORY[key]
    path = Path(directory or cache_dir()) / f"{name}-{key}.pt"
    device = get_device(device)
    model = build()
    if path.exists():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state["model"])
            history = History.from_dict(state["history"])
            model.to(device).eval()
            _MEMORY[key] = (model, history)
            return model, history
        except Exception as e:  # corrupt, truncated or from an incompatible model: rebuild
            warnings.warn(f"cache file {path.name} could not be read ({type(e).__name__}); retraining.")
            path.unlink(missing_ok=True)
            model = build()
    model.to(device)
    history = train(model)
    atomic_save({"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                 "history": history.to_dict(), "config": json.loads(json.dumps(config))}, path)
    model.eval()
    _MEMORY[key] = (model, history)
    return model, history


def clear_memory():
    """Forget the models kept in memory (the disk cache stays)."""
    _MEMORY.clear()
