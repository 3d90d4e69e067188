"""Atomic file writes: a reader sees the old file or the new one, never half of one."""
import contextlib
import io
import os
import secrets
from pathlib import Path

import torch


@contextlib.contextmanager
def atomic_open(path):
    """A binary file to write ``path`` through.  It is a temporary file in the same folder,
    renamed onto ``path`` (``os.replace``) when the ``with`` block ends normally and removed
    if anything goes wrong (an error raised in the block included), so an interrupted write
    leaves no partial file behind.  ``f.name`` is the temporary file's path: a caller can
    check what it wrote (after ``f.flush()``) before the file is put in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:                  # created new, with a new file's usual mode
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save(obj, path):
    """``torch.save(obj, path)`` through :func:`atomic_open`.

    The object is serialized in memory first, so a full disk or an unwritable
    folder shows up as a plain ``OSError`` (with its errno), and the temporary
    file is removed whatever goes wrong.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_open(path) as f:
        f.write(buffer.getbuffer())
    return Path(path)
