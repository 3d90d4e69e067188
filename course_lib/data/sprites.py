"""Procedural sprites with known generative factors, in the spirit of dSprites
(Matthey et al., 2017), for the disentanglement lessons.

Each image shows one white shape on black, fixed by five factors:

    shape        square, ellipse, heart
    scale        6 values in [0.5, 1]
    orientation  8 angles in [0, 2 pi)
    x, y         ``n_positions`` values in [0, 1]

:class:`DSpritesGrid` is dSprites' full factor grid (40 orientations, 32 x 32 positions, 64 x 64
pixels, 737,280 images), rendered on demand.

Images are rendered with 2 x 2 supersampling (grey edges), deterministically:
the same factors always give the same pixels, and ``make_sprites(n, seed)``
always draws the same factors.  Note: a square looks the same after a quarter
turn and an ellipse after a half turn, so orientation is only partly
identifiable from the image, as in dSprites.
"""
import math
from dataclasses import dataclass

import torch

from ..errors import CourseInputError, check_int

FACTOR_NAMES = ("shape", "scale", "orientation", "x", "y")
SHAPES = ("square", "ellipse", "heart")


@dataclass
class SpritesData:
    """images (N, 1, S, S) in [0, 1]; factors (N, 5) int64 indices into factor_values."""

    images: torch.Tensor
    factors: torch.Tensor
    factor_values: tuple
    factor_names: tuple = FACTOR_NAMES

    def __len__(self):
        return len(self.images)

    def __repr__(self):
        return f"SpritesData(images={tuple(self.images.shape)}, factors={tuple(self.factors.shape)})"


def factor_values(n_positions=12):
    """The value grid of each factor, as 1-D float tensors."""
    return (
        torch.arange(len(SHAPES), dtype=torch.float32),
        torch.linspace(0.5, 1.0, 6),
        torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8),
        torch.linspace(0.0, 1.0, n_positions),
        torch.linspace(0.0, 1.0, n_positions),
    )


def dsprites_factor_values():
    """dSprites' value grid: 3 shapes, 6 scales in [0.5, 1], 40 orientations in [0, 2 pi] (both ends,
    as in the original file), 32 x and 32 y positions in [0, 1]."""
    return (
        torch.arange(len(SHAPES), dtype=torch.float32),
        torch.linspace(0.5, 1.0, 6),
        torch.linspace(0.0, 2 * math.pi, 40),
        torch.linspace(0.0, 1.0, 32),
        torch.linspace(0.0, 1.0, 32),
    )


# The full factor grid of dSprites (Matthey et al., 2017): 3 shapes x 6 scales x 40 orientations x
# 32 x 32 positions = 737,280 images of 64 x 64 pixels.
DSPRITES_SIZES = (3, 6, 40, 32, 32)
DSPRITES_IMAGE_SIZE = 64


class DSpritesGrid:
    """Every combination of the five factors at dSprites' resolution, rendered on demand and
    deterministically (the same index always gives the same pixels): the whole grid would be 3 GB
    of pixels, so images are made for the indices asked for.

    Index i runs over the grid in the order shape, scale, orientation, x, y (y fastest), as in
    dSprites' own file.  ``factors(i)`` gives the five factor indices, ``index(factors)`` the way
    back, ``images(i)`` the pictures (N, 1, S, S) in [0, 1], and ``sample(n, seed)`` a stated random
    subset as :class:`SpritesData` (what a lesson trains on).

    image_size: the side S in pixels, 64 as in dSprites; 32 renders the same scenes at half the
    side (a quarter of the pixels), which a CPU trains on four times faster.
    """

    sizes = DSPRITES_SIZES

    def __init__(self, image_size=DSPRITES_IMAGE_SIZE):
        self.image_size = check_int("image_size", image_size, minimum=8)

    def __len__(self):
        return math.prod(self.sizes)

    def factors(self, index):
        """Grid index (N,) -> factor indices (N, 5)."""
        index = torch.as_tensor(index, dtype=torch.int64).reshape(-1)
        if (index < 0).any() or (index >= len(self)).any():
            raise CourseInputError(f"index must lie in [0, {len(self)}), got values from {int(index.min())} "
                                   f"to {int(index.max())}.")
        out = []
        for size in reversed(self.sizes):
            out.append(index % size)
            index = index // size
        return torch.stack(out[::-1], dim=1)

    def index(self, factors):
        """Factor indices (N, 5) -> grid index (N,)."""
        factors = torch.as_tensor(factors, dtype=torch.int64)
        if factors.dim() != 2 or factors.shape[1] != 5:
            raise CourseInputError(f"factors must have shape (N, 5), got {tuple(factors.shape)}.")
        index = torch.zeros(len(factors), dtype=torch.int64)
        for column, size in enumerate(self.sizes):
            index = index * size + factors[:, column]
        return index

    def images(self, index):
        """The pictures of grid indices (N,): (N, 1, S, S) float32 in [0, 1]."""
        factors = self.factors(index)
        return torch.cat([render_sprites(factors[i:i + 1024], self.image_size, values=dsprites_factor_values())
                          for i in range(0, len(factors), 1024)])

    def sample(self, n, seed=0):
        """``n`` distinct grid points drawn uniformly by a seeded generator, rendered.  -> SpritesData"""
        n = check_int("n", n, minimum=1)
        if n > len(self):
            raise CourseInputError(f"n must be at most the grid's {len(self)} images, got {n}.")
        index = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        return SpritesData(self.images(index), self.factors(index), dsprites_factor_values())


def _inside(shape_index, u, v):
    """Is the point (u, v), in the sprite's own frame (radius 1), inside the shape?"""
    square = torch.maximum(u.abs(), v.abs()) <= 0.75
    ellipse = u ** 2 + (v / 0.5) ** 2 <= 1.0
    a, b = 1.15 * u, -1.15 * v + 0.15            # heart curve (a^2 + b^2 - 1)^3 <= a^2 b^3, point up
    heart = (a ** 2 + b ** 2 - 1) ** 3 - a ** 2 * b ** 3 <= 0
    s = shape_index.reshape(-1, *([1] * (u.dim() - 1)))
    return torch.where(s == 0, square, torch.where(s == 1, ellipse, heart))


def render_sprites(factors, image_size=32, n_positions=12, values=None):
    """Render images for factor indices (N, 5) into the value grid ``values`` (default: the course's,
    :func:`factor_values`).  -> (N, 1, image_size, image_size) float32."""
    image_size = check_int("image_size", image_size, minimum=8)
    factors = torch.as_tensor(factors, dtype=torch.int64)
    if factors.dim() != 2 or factors.shape[1] != 5:
        raise CourseInputError(f"factors must have shape (N, 5), got {tuple(factors.shape)}.")
    values = factor_values(n_positions) if values is None else values
    sizes = torch.tensor([len(v) for v in values])
    if (factors < 0).any() or (factors >= sizes).any():
        raise CourseInputError(f"factor indices must lie in [0, {sizes.tolist()}) per column.")
    shape = factors[:, 0]
    scale, angle, px, py = (values[i][factors[:, i]] for i in (1, 2, 3, 4))
    # supersampled pixel centres in [0, 1]
    sub = (torch.arange(2 * image_size, dtype=torch.float32) + 0.5) / (2 * image_size)
    gy, gx = torch.meshgrid(sub, sub, indexing="ij")
    margin, radius = 0.2, 0.18
    cx = margin + (1 - 2 * margin) * px
    cy = margin + (1 - 2 * margin) * py
    r = (radius * scale)[:, None, None]
    dx, dy = gx - cx[:, None, None], gy - cy[:, None, None]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    u, v = (cos * dx + sin * dy) / r, (-sin * dx + cos * dy) / r   # rotate by -angle, then scale
    fine = _inside(shape, u, v).float()
    return fine.reshape(-1, 1, image_size, 2, image_size, 2).mean(dim=(3, 5))


def make_sprites(n: int, seed: int = 0, image_size: int = 32, n_positions: int = 12) -> SpritesData:
    """``n`` sprites with factors drawn uniformly at random from a seeded generator."""
    n = check_int("n", n, minimum=1)
    g = torch.Generator().manual_seed(seed)
    sizes = [len(v) for v in factor_values(n_positions)]
    factors = torch.stack([torch.randint(s, (n,), generator=g) for s in sizes], dim=1)
    images = torch.cat([render_sprites(factors[i:i + 2048], image_size, n_positions)
                        for i in range(0, n, 2048)])
    return SpritesData(images, factors, factor_values(n_positions))
