"""Procedural sprites with known generative factors, in the spirit of dSprites
(Matthey et al., 2017), for the disentanglement lessons.

Each image shows one white shape on black, fixed by five factors:

    shape        square, ellipse, heart
    scale        6 values in [0.5, 1]
    orientation  8 angles in [0, 2 pi)
    x, y         ``n_positions`` values in [0, 1]

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


def _inside(shape_index, u, v):
    """Is the point (u, v), in the sprite's own frame (radius 1), inside the shape?"""
    square = torch.maximum(u.abs(), v.abs()) <= 0.75
    ellipse = u ** 2 + (v / 0.5) ** 2 <= 1.0
    a, b = 1.15 * u, -1.15 * v + 0.15            # heart curve (a^2 + b^2 - 1)^3 <= a^2 b^3, point up
    heart = (a ** 2 + b ** 2 - 1) ** 3 - a ** 2 * b ** 3 <= 0
    s = shape_index.reshape(-1, *([1] * (u.dim() - 1)))
    return torch.where(s == 0, square, torch.where(s == 1, ellipse, heart))


def render_sprites(factors, image_size=32, n_positions=12):
    """Render images for factor indices (N, 5).  -> (N, 1, image_size, image_size) float32."""
    image_size = check_int("image_size", image_size, minimum=8)
    factors = torch.as_tensor(factors, dtype=torch.int64)
    if factors.dim() != 2 or factors.shape[1] != 5:
        raise CourseInputError(f"factors must have shape (N, 5), got {tuple(factors.shape)}.")
    values = factor_values(n_positions)
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


def make_sprites(n, seed=0, image_size=32, n_positions=12):
    """``n`` sprites with factors drawn uniformly at random from a seeded generator."""
    n = check_int("n", n, minimum=1)
    g = torch.Generator().manual_seed(seed)
    sizes = [len(v) for v in factor_values(n_positions)]
    factors = torch.stack([torch.randint(s, (n,), generator=g) for s in sizes], dim=1)
    images = torch.cat([render_sprites(factors[i:i + 2048], image_size, n_positions)
                        for i in range(0, n, 2048)])
    return SpritesData(images, factors, factor_values(n_positions))
