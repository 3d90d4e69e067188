"""Coupling flows (Dinh et al., Density estimation using Real NVP, ICLR 2017) and the pieces of
their multi-scale architecture.

Affine coupling with a 0/1 mask b (1 = passed through, 0 = transformed):

    y = b * x + (1 - b) * (x * exp(s(b * x)) + t(b * x))
    x = b * y + (1 - b) * ((y - t(b * y)) * exp(-s(b * y)))            (b * y = b * x)
    log |det dy/dx| = sum over the transformed entries of s(b * x)

The Jacobian is triangular after reordering (the passed-through half does not depend on the
other), so both directions take one network pass.  Alternate the mask between layers, or
the passed-through half is never changed.
"""
import math

import torch
from torch import nn

from ..errors import CourseInputError, check_number
from .base import Transform


def alternating_masks(dim, layers):
    """Masks for vectors: the first half of the coordinates, then the second half, and so on."""
    first = (torch.arange(dim) < dim // 2).float()
    return [first if k % 2 == 0 else 1 - first for k in range(layers)]


def checkerboard_mask(channels, height, width, flip=False):
    """A (channels, height, width) checkerboard of 0/1, the same in every channel."""
    board = ((torch.arange(height)[:, None] + torch.arange(width)[None, :]) % 2).float()
    board = 1 - board if flip else board
    return board.expand(channels, height, width).clone()


class AffineCoupling(Transform):
    """mask: a 0/1 tensor of the event shape (1 = passed through).  net: maps the masked input
    (batch, *event) to (batch, 2 * first axis, ...), read as (raw log-scale, shift).  The
    log-scale is limited to (-max_log_scale, max_log_scale) by a scaled tanh."""

    def __init__(self, mask, net, max_log_scale=3.0):
        super().__init__()
        mask = torch.as_tensor(mask, dtype=torch.float32)
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise CourseInputError("mask must hold only 0 and 1.")
        if bool((mask == 1).all()) or bool((mask == 0).all()):
            raise CourseInputError("mask must pass some entries through and transform others (mix 0s and 1s).")
        self.register_buffer("mask", mask)
        self.net = net
        self.max_log_scale = max_log_scale

    def scale_and_shift(self, kept, context=None):
        log_scale, shift = self.net(kept).chunk(2, dim=1)
        log_scale = self.max_log_scale * torch.tanh(log_scale / self.max_log_scale)
        return log_scale * (1 - self.mask), shift * (1 - self.mask)

    def forward(self, x, context=None):
        kept = x * self.mask
        log_scale, shift = self.scale_and_shift(kept, context)
        y = kept + (1 - self.mask) * (x * torch.exp(log_scale) + shift)
        return y, log_scale.reshape(len(x), -1).sum(-1)

    def inverse(self, y, context=None):
        kept = y * self.mask
        log_scale, shift = self.scale_and_shift(kept, context)
        x = kept + (1 - self.mask) * ((y - shift) * torch.exp(-log_scale))
        return x, -log_scale.reshape(len(y), -1).sum(-1)


class Squeeze(Transform):
    """(batch, C, H, W) -> (batch, 4C, H/2, W/2): each 2x2 block of pixels becomes 4 channels.
    A permutation of the entries, so log |det| = 0."""

    def forward(self, x, context=None):
        if x.dim() != 4 or x.shape[2] % 2 or x.shape[3] % 2:
            raise CourseInputError(f"Squeeze needs (batch, C, H, W) with even H and W, got {tuple(x.shape)}.")
        b, c, h, w = x.shape
        y = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)
        return y, x.new_zeros(b)

    def inverse(self, y, context=None):
        b, c4, h, w = y.shape
        c = c4 // 4
        x = y.reshape(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, 2 * h, 2 * w)
        return x, y.new_zeros(b)


class FactorOut(Transform):
    """Real NVP's split: the first half of the channels goes on through ``inner``; the second half
    is factored out, left as it is (it goes straight to the N(0, I) base).  The log-determinant is
    the inner one."""

    def __init__(self, inner):
        super().__init__()
        if not isinstance(inner, Transform):
            raise CourseInputError(f"FactorOut needs a Transform, got {type(inner).__name__}.")
        self.inner = inner

    def _halves(self, x):
        if x.shape[1] % 2:
            raise CourseInputError(f"FactorOut needs an even number of channels, got {x.shape[1]}.")
        return x.chunk(2, dim=1)

    def forward(self, x, context=None):
        on, out = self._halves(x)
        on, logabsdet = self.inner(on, context)
        return torch.cat([on, out], dim=1), logabsdet

    def inverse(self, y, context=None):
        on, out = self._halves(y)
        on, logabsdet = self.inner.inverse(on, context)
        return torch.cat([on, out], dim=1), logabsdet


class LogitTransform(Transform):
    """Real NVP's preprocessing of pixels in (0, 1): y = logit(a + (1 - 2a) x), so the flow works on
    an unbounded space.  log |det dy/dx| = sum_j [log(1 - 2a) - log p_j - log(1 - p_j)], p = a + (1 - 2a) x."""

    def __init__(self, alpha=0.05):
        super().__init__()
        self.alpha = check_number("alpha", alpha, minimum=0.0, maximum=0.49)

    def forward(self, x, context=None):
        p = self.alpha + (1 - 2 * self.alpha) * x
        logabsdet = math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)
        return torch.log(p) - torch.log1p(-p), logabsdet.reshape(len(x), -1).sum(-1)

    def inverse(self, y, context=None):
        p = torch.sigmoid(y)
        x = (p - self.alpha) / (1 - 2 * self.alpha)
        logabsdet = torch.log(p) + torch.log1p(-p) - math.log(1 - 2 * self.alpha)
        return x, logabsdet.reshape(len(y), -1).sum(-1)


def coupling_mlp(dim, hidden=64):
    """The usual small network for a vector coupling: dim -> hidden -> hidden -> 2 dim, last layer
    at zero (the coupling starts as the identity)."""
    net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                        nn.Linear(hidden, 2 * dim))
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net


def coupling_cnn(channels, hidden=32):
    """A small convolutional network for an image coupling: C -> hidden -> hidden -> 2C channels."""
    net = nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                        nn.Conv2d(hidden, 2 * channels, 3, padding=1))
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net
