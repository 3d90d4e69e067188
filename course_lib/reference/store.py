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
"int8/64" is the same with one scale per run of 64 weights of a row (:data:`GROUP`): a two-byte scale
for every 64 one-byte weights (a thirty-second more bytes), and a finer grid where a row holds a few
large weights among many small ones.
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


INT8_GROUPS = "int8/64"     # the storage name of int8 with a scale per GROUP weights of a row
GROUP = 64


def quantize_int8(w, grouped=False):
    """A weight matrix (out, ...) as int8 with one float16 scale per output row, or (``grouped``) per run of
    :data:`GROUP` weights of a row (the last run of a row may be shorter).
    -> {"q": int8 (w's shape), "scale": (out,) or (out, runs)}"""
    rows = w.detach().to("cpu", torch.float32).reshape(len(w), -1)
    if not grouped:
        scale = (rows.abs().amax(1) / 127).clamp(min=1e-12).half()
        q = torch.round(rows / scale.float()[:, None])
    else:
        runs = -(-rows.shape[1] // GROUP)
        padded = torch.nn.functional.pad(rows, (0, runs * GROUP - rows.shape[1])).reshape(len(rows), runs, GROUP)
        scale = (padded.abs().amax(2) / 127).clamp(min=1e-12).half()
        q = torch.round(padded / scale.float()[:, :, None]).reshape(len(rows), -1)[:, :rows.shape[1]]
    return {"q": q.clamp(-127, 127).to(torch.int8).reshape(w.shape), "scale": scale}


def dequantize_int8(packed):
    """The float32 tensor that :func:`quantize_int8` stored (a scale per row, or per run of :data:`GROUP`)."""
    q, scale = packed["q"], packed["scale"].float()
    rows = q.float().reshape(len(q), -1)
    if scale.dim() == 1:
        return (rows * scale[:, None]).reshape(q.shape)
    return (rows * scale.repeat_interleave(GROUP, 1)[:, :rows.shape[1]]).reshape(q.shape)


def _stored(v, dtype):
    """One tensor as it is written: int8 with row scales (weight matrices, dtype int8), int8 with a scale per
    run of :data:`GROUP` (dtype :data:`INT8_GROUPS`), or ``dtype``."""
    v = v.detach().to("cpu")
    if not v.is_floating_point():
        return v.contiguous()
    if dtype in (torch.int8, INT8_GROUPS):
        if v.dim() < 2:
            return v.to(torch.float16).contiguous()
        return quantize_int8(v, grouped=dtype == INT8_GROUPS)
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
    dtypes = dtype if isinstance(dtype, dict) else dict.fromkeys(state_dicts, dtype)
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
