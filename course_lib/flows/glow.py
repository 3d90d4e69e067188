"""Glow's pieces (Kingma & Dhariwal, Glow: generative flow with invertible 1x1 convolutions, 2018),
written for the data -> base direction, like the other image transforms.

ActNorm:   y = scale * x + bias per channel;  log |det| = (H W) sum_c log |scale_c|.
           Data-dependent initialisation: on the first batch it sees, scale and bias are set so
           that every channel of y has mean 0 and standard deviation 1.
1x1 conv:  y[:, :, i, j] = W x[:, :, i, j] at every pixel;  log |det| = (H W) log |det W|.
           LU parameterisation W = P L (U + diag(s)), P a fixed permutation, L unit lower
           triangular, U strictly upper triangular: log |det W| = sum log |s|, O(C) instead of O(C^3).
"""
import torch
from torch import nn

from ..errors import check_int
from .base import Transform


def _pixels(x):
    return x[0, 0].numel() if x.dim() > 2 else 1


class ActNorm(Transform):
    """Per-channel affine map on (batch, C) or (batch, C, H, W), initialised from the first batch it
    sees (``data_init=False``: start as the identity instead, a learnable diagonal Gaussian layer)."""

    def __init__(self, channels, data_init=True):
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1)
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("initialized", torch.tensor(not data_init))

    def _shape(self, t, x):
        return t.reshape(1, -1, *([1] * (x.dim() - 2)))

    @torch.no_grad()
    def initialize(self, x):
        """Set scale and bias so that scale * x + bias has per-channel mean 0 and std 1 on this batch."""
        axes = [0, *list(range(2, x.dim()))]
        mean, std = x.mean(axes), x.std(axes, unbiased=False)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.bias.copy_(-mean / (std + 1e-6))
        self.initialized.fill_(True)

    def forward(self, x, context=None):
        if not bool(self.initialized):
            self.initialize(x)
        y = x * self._shape(self.log_scale.exp(), x) + self._shape(self.bias, x)
        return y, (_pixels(x) * self.log_scale.sum()).expand(len(x))

    def inverse(self, y, context=None):
        x = (y - self._shape(self.bias, y)) * self._shape((-self.log_scale).exp(), y)
        return x, (-_pixels(y) * self.log_scale.sum()).expand(len(y))


class InvertibleConv1x1(Transform):
    """An invertible 1x1 convolution on (batch, C, H, W), LU-parameterised, starting from a random
    rotation."""

    def __init__(self, channels):
        super().__init__()
        self.channels = c = check_int("channels", channels, minimum=1)
        w = torch.linalg.qr(torch.randn(c, c))[0]
        p, lower, upper = torch.linalg.lu(w)
        s = torch.diagonal(upper)
        self.register_buffer("permutation", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones(c, c), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_abs_s = nn.Parameter(torch.log(s.abs()))

    def weight(self):
        """W = P L (U + diag(s)), shape (C, C)."""
        eye = torch.eye(self.channels, device=self.lower.device, dtype=self.lower.dtype)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_abs_s.exp())
        return self.permutation @ lower @ upper

    def forward(self, x, context=None):
        y = torch.einsum("ij,bjhw->bihw", self.weight(), x)
        return y, (_pixels(x) * self.log_abs_s.sum()).expand(len(x))

    def inverse(self, y, context=None):
        x = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(self.weight()), y)
        return x, (-_pixels(y) * self.log_abs_s.sum()).expand(len(y))
