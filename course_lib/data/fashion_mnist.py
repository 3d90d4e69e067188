"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017), read from the standard IDX ``.gz`` files.

Where the full data set is looked for, in order:

1. the folder named by ``$COURSE_LIB_FASHION_MNIST``;
2. ``/usr/share/datasets/fashion-mnist`` (Debian's package ``dataset-fashion-mnist``);
3. the user cache ``~/.cache/course_lib/fashion-mnist``, filled by
   :func:`download_fashion_mnist` (``python -m course_lib.data.fashion_mnist --download``).

If none holds the four files, the compact real subset shipped with the course
is used (10,000 training and 2,000 test images, 1,000 and 200 per class; see
``fashion_mnist_subset/README.md``), so the course runs offline.

A folder whose files are damaged (a broken download, a truncated copy) is
skipped with a warning that names the file and says which source is used
instead.
"""
import argparse
import functools
import gzip
import os
import shutil
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..capture import capturable
from ..errors import CourseInputError, DataNotFoundError, check_choice, check_int, warn
from ..io import atomic_open
from ..settings import budget

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
SUBSET_DIR = Path(__file__).parent / "fashion_mnist_subset"
DEFAULT_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FULL_SIZES = {"train": 60000, "test": 10000}


@dataclass
class ImageData:
    """Images (N, 1, 28, 28) float32 in [0, 1] and labels (N,) int64, split into train and test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    class_names: tuple = CLASS_NAMES

    def __repr__(self):
        return (f"ImageData(train={tuple(self.x_train.shape)}, test={tuple(self.x_test.shape)}, "
                f"source={self.source!r})")


def user_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "course_lib" / "fashion-mnist"


def read_idx(path):
    """Read a gzipped IDX file (the MNIST format) into a uint8 NumPy array."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:      # not gzip, cut short, unreadable
        raise DataNotFoundError(f"{path} could not be read as a gzip file ({type(e).__name__}: {e}).") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataNotFoundError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DataNotFoundError(f"{path} is truncated: header says {shape}, data has {len(raw) - offset} bytes.")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _has_files(folder):
    return folder is not None and all((Path(folder) / f).is_file() for f in FILES.values())


def _full_folders():
    """Every folder that holds the four files of the full set, in the order they are tried."""
    env = os.environ.get("COURSE_LIB_FASHION_MNIST")
    if env and not _has_files(env):
        missing = [f for f in FILES.values() if not (Path(env) / f).is_file()]
        raise DataNotFoundError(
            f"COURSE_LIB_FASHION_MNIST={env} but that folder lacks {', '.join(missing)}. "
            "Point it at a folder with the four Fashion-MNIST .gz files, or unset it.")
    candidates = [Path(env)] if env else []
    return [f for f in (*candidates, SYSTEM_DIR, user_cache_dir()) if _has_files(f)]


def _read_folder(folder):
    """The four arrays of a folder.  Decompressing them takes a tenth of a second or so, and a lesson (or the
    test suite) loads the same files many times, so they are kept, read-only, for as long as the files are
    unchanged (the same size and modification time)."""
    paths = [Path(folder) / f for f in FILES.values()]
    try:
        stamps = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    except OSError:                               # a missing file: read_idx says which, in the course's words
        return {k: read_idx(p) for k, p in zip(FILES, paths, strict=True)}
    return _read_files(stamps)


@functools.lru_cache(maxsize=4)
def _read_files(stamps):
    arrays = {k: read_idx(path) for k, (path, _, _) in zip(FILES, stamps, strict=True)}
    for a in arrays.values():
        a.flags.writeable = False                 # shared by every later load: no caller may change it
    return arrays


def load_fashion_mnist(n_train: int | str | None = None, n_test: int | str | None = None, source: str = "auto",
                       seed: int = 0) -> ImageData:
    """Load Fashion-MNIST as :class:`ImageData`.

    source: "auto" (the full set if found, else the shipped subset), "full"
    (error if not found) or "subset".
    n_train, n_test: keep a random subset of this size (seeded), or "all";
    by default all, or 2,000 / 500 in fast mode.
    """
    check_choice("source", source, ("auto", "full", "subset"))
    n_train = _size("n_train", n_train, budget(None, 2000))
    n_test = _size("n_test", n_test, budget(None, 500))
    folders = _full_folders() if source != "subset" else []
    if source == "full" and not folders:
        raise DataNotFoundError(
            "the full Fashion-MNIST set was not found. Looked in $COURSE_LIB_FASHION_MNIST, "
            f"{SYSTEM_DIR} and {user_cache_dir()}. Install Debian's package dataset-fashion-mnist, "
            "or run `python -m course_lib.data.fashion_mnist --download` while online, "
            "or use source='subset' for the copy shipped with the course.")
    sources = [("full", f) for f in folders] + ([("subset", SUBSET_DIR)] if source != "full" else [])
    for i, (name, folder) in enumerate(sources):  # noqa: B007 (after the loop they name the source read)
        try:
            arrays = _read_folder(folder)
            break
        except DataNotFoundError as e:
            if i + 1 == len(sources):
                raise DataNotFoundError(f"{e} No other copy of Fashion-MNIST was found; "
                                        "download it again or remove the damaged file.") from None
            instead = "the subset shipped with the course" if sources[i + 1][0] == "subset" else sources[i + 1][1]
            warn(f"{e} Using {instead} instead.")
    rng = np.random.default_rng(seed)

    def split(images, labels, n, arg):
        if n is not None and n > len(images):
            raise CourseInputError(f"{arg}={n}, but the {name} set has only {len(images)} images in this split: "
                                   f"{arg} must be at most {len(images)}, or 'all'.")
        keep = np.sort(rng.choice(len(images), n, replace=False)) if n is not None else slice(None)
        x = torch.from_numpy(images[keep].astype(np.float32) / 255.0).unsqueeze(1)
        return x, torch.from_numpy(labels[keep].astype(np.int64))

    x_train, y_train = split(arrays["train_images"], arrays["train_labels"], n_train, "n_train")
    x_test, y_test = split(arrays["test_images"], arrays["test_labels"], n_test, "n_test")
    return ImageData(x_train, y_train, x_test, y_test, source=f"{name} ({folder})")


def load_shipped_subset():
    """All of the Fashion-MNIST subset that ships with the course (10,000 training and 2,000 test images),
    whatever else this machine has: what the reference models train and are measured on, the same
    pictures everywhere."""
    return load_fashion_mnist(n_train="all", n_test="all", source="subset")


def _size(name, n, default):
    if n is None:
        return default
    if n == "all":
        return None
    return check_int(name, n, minimum=1)


@capturable  # one tensor operation: it can be recorded in a CUDA graph
def dynamic_binarize(x: torch.Tensor) -> torch.Tensor:
    """Draw binary pixels x_b ~ Bernoulli(x), afresh each call (Salakhutdinov & Murray, 2008).
    Use as ``fit(..., transform=dynamic_binarize)``."""
    return torch.bernoulli(x)




def download_fashion_mnist(directory=None, base_url=DEFAULT_URL):
    """Download the four files into ``directory`` (default: the user cache).

    Each file is checked (IDX header and image count) before it is moved into
    place, so a failed download leaves nothing half-written.  Returns the folder.
    """
    directory = Path(directory or user_cache_dir())
    directory.mkdir(parents=True, exist_ok=True)
    for key, fname in FILES.items():
        target = directory / fname
        if target.is_file():
            continue
        with atomic_open(target) as out, urllib.request.urlopen(base_url + fname, timeout=60) as response:
            shutil.copyfileobj(response, out)
            out.flush()
            array = read_idx(out.name)                   # checked before it is put in place
            expected = FULL_SIZES[key.split("_")[0]]
            if len(array) != expected:
                raise DataNotFoundError(f"{fname} holds {len(array)} items, expected {expected}.")
    return directory


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fashion-MNIST for the course.")
    parser.add_argument("--download", action="store_true", help="download the full set into the user cache")
    parser.add_argument("--dir", default=None, help="download into this folder instead")
    args = parser.parse_args(argv)
    if args.download:
        print("saved to", download_fashion_mnist(args.dir))
    data = load_fashion_mnist(n_train="all", n_test="all")
    print(data)


if __name__ == "__main__":
    main()
