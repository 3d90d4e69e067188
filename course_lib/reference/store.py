"""Where reference models are kept: ``manifest.json`` and a ``weights/`` folder, in this package.

manifest.json:
    {"format": 1,
     "models": {"<recipe>/<model>": {
         "lesson": "7", "identity": {...recipe, model and training settings...},
         "trained": {"device": ..., "seconds": ..., "date": ..., "torch": ...},
         "metrics": {"kl": 0.031, ...}, "tolerance": {"kl": 0.02, ...},
         "weights": {"file": "weights/<recipe>.pt", "dtype": "float16", "fp16 change": 0.0004}}},
     "files": {"weights/<recipe>.pt": {"bytes": ..., "sha256": ...}}}

One weights file per recipe holds {model name: state dict}.  Every write goes through a
temporary file and a rename, so an interrupted training leaves the old files as they were.
"""
import hashlib
import io
import json
from pathlib import Path

import torch

from ..errors import CourseError
from ..io import atomic_open

HOME = Path(__file__).resolve().parent
FORMAT = 1


class ReferenceProblem(CourseError):
    """A reference model is missing, damaged, or was trained by another recipe."""


def manifest_path(folder=None):
    return Path(folder or HOME) / "manifest.json"


def read_manifest(folder=None):
    """The manifest in ``folder`` (this package by default); an empty one if there is none."""
    path = manifest_path(folder)
    if not path.is_file():
        return {"format": FORMAT, "models": {}, "files": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ReferenceProblem(f"{path} cannot be read as JSON ({e}); restore it with git checkout.") from None
    if manifest.get("format") != FORMAT:
        raise ReferenceProblem(f"{path} has format {manifest.get('format')!r}; this course reads format {FORMAT}.")
    return manifest


def write_manifest(manifest, folder=None):
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    with atomic_open(manifest_path(folder)) as f:
        f.write(text.encode())


def save_weights(state_dicts, relative, folder=None, dtype=torch.float32):
    """Write {model name: state dict} to ``folder/relative`` with floating tensors in ``dtype``.
    -> {"bytes", "sha256"} of the file."""
    buffer = io.BytesIO()
    torch.save({name: {k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
                       for k, v in sd.items()} for name, sd in state_dicts.items()}, buffer)
    data = buffer.getvalue()
    with atomic_open(Path(folder or HOME) / relative) as f:
        f.write(data)
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def load_weights(relative, record, folder=None):
    """{model name: state dict (float32)} from ``folder/relative``, after checking its size and hash."""
    path = Path(folder or HOME) / relative
    if not path.is_file():
        raise ReferenceProblem(f"{path} is missing; the manifest lists it. Restore it (git checkout) or retrain.")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise ReferenceProblem(f"{path} is not the file the manifest records (its SHA-256 differs): it was "
                               "changed or damaged. Restore it (git checkout) or retrain.")
    loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return {name: {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
            for name, sd in loaded.items()}
