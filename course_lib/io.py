"""Atomic file writes: a reader sees the old file or the new one, never half of one."""
import io
import os
import tempfile
from pathlib import Path

import torch


def atomic_save(obj, path):
    """``torch.save(obj, path)`` through a temporary file in the same folder and
    ``os.replace``, so an interrupted write leaves no partial file behind.

    The object is serialized in memory first, so a full disk or an unwritable
    folder shows up as a plain ``OSError`` (with its errno), and the temporary
    file is removed whatever goes wrong.
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
