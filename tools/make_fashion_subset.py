"""Build the compact Fashion-MNIST subset shipped inside course_lib.

Run once by a maintainer (the output is committed):

    python tools/make_fashion_subset.py /usr/share/datasets/fashion-mnist

It picks a class-balanced random subset (seed 0): 1,000 training and 200 test
images per class, keeps their original order, and writes them in the same
gzipped IDX format as the full data set, so one reader serves both.
"""
import gzip
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent
OUT = HERE / "course_lib" / "data" / "fashion_mnist_subset"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def main(src):
    src = Path(src)
    rng = np.random.default_rng(0)
    OUT.mkdir(parents=True, exist_ok=True)
    for split, per_class in (("train", 1000), ("t10k", 200)):
        images = read_idx(src / f"{split}-images-idx3-ubyte.gz")
        labels = read_idx(src / f"{split}-labels-idx1-ubyte.gz")
        keep = np.sort(np.concatenate([
            rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)
        ]))
        write_idx(OUT / f"{split}-images-idx3-ubyte.gz", images[keep])
        write_idx(OUT / f"{split}-labels-idx1-ubyte.gz", labels[keep])
        print(split, images[keep].shape)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist")
