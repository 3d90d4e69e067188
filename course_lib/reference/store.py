"""Where reference models are kept: ``manifest.json`` and a ``weights/`` folder, in this package.

manifest.json:
    {"format": 1,
     "models": {"<recipe>/<model>": {
         "lesson": "7", "identity": {...recipe, model and training settings...},
         "trained": {"device": ..., "seconds": ..., "date": ..., "torch": ...},
         "metrics": {"kl": 0.031, ...}, "tolerance": {"kl": 0.02, ...},
         "weights": {"file": "weights/<recipe>.pt", "dtype": "int8", "int8 change": {...},
                     "fp16 change": {...}}}},
     "files": {"weights/<recipe>.pt": {"bytes": ..., "sha256": ...}}}

One weights file per recipe (or per model) holds {model name: state dict}.  Every write goes through
a temporary file and a rename, so an interrupted training leaves the old files as they were.

Stored dtypes: float32, float16, or int8, where each weight matrix (a floating tensor of two or more
dimensions) is kept as whole numbers q in [-127, 127] with one scale per output row,
w ≈ q · max|w_row| / 127, and the rest (biases, norms) in float16: a quarter of float32's bytes.
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


def quantize_int8(w):
    """A weight matrix (out, ...) as int8 with one float16 scale per output row.  -> {"q": int8, "scale": (out,)}"""
    rows = w.detach().to("cpu", torch.float32).reshape(len(w), -1)
    scale = (rows.abs().amax(1) / 127).clamp(min=1e-12).half()
    q = torch.round(rows / scale.float()[:, None]).clamp(-127, 127).to(torch.int8)
    return {"q": q.reshape(w.shape), "scale": scale}


def dequantize_int8(packed):
    """The float32 tensor that :func:`quantize_int8` stored."""
    q, scale = packed["q"], packed["scale"].float()
    return (q.float().reshape(len(q), -1) * scale[:, None]).reshape(q.shape)


def _stored(v, dtype):
    """One tensor as it is written: int8 with row scales (weight matrices, dtype int8), or ``dtype``."""
    v = v.detach().to("cpu")
    if not v.is_floating_point():
        return v.contiguous()
    if dtype == torch.int8:
        return quantize_int8(v) if v.dim() >= 2 else v.to(torch.float16).contiguous()
    return v.to(dtype).contiguous()


def as_stored(state_dict, dtype):
    """``state_dict`` after a round trip through storage in ``dtype`` (float32 again): what a lesson loads."""
    return {k: (dequantize_int8(s) if isinstance(s, dict) else s.float() if s.is_floating_point() else s)
            for k, s in ((k, _stored(v, dtype)) for k, v in state_dict.items())}


def save_weights(state_dicts, relative, folder=None, dtype=torch.float32):
    """Write {model name: state dict} to ``folder/relative`` with floating tensors in ``dtype`` (float32,
    float16, or int8: see the module's docstring), or in ``dtype[model name]`` when it is a dict (the
    models of one file may differ).  -> {"bytes", "sha256"} of the file."""
    buffer = io.BytesIO()
    dtypes = dtype if isinstance(dtype, dict) else {name: dtype for name in state_dicts}
    torch.save({name: {k: _stored(v, dtypes[name]) for k, v in sd.items()} for name, sd in state_dicts.items()},
               buffer)
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
    return {name: {k: dequantize_int8(v) if isinstance(v, dict) else v.float() if v.is_floating_point() else v
                   for k, v in sd.items()}
            for name, sd in loaded.items()}
