"""Small neural building blocks: an MLP, a conv encoder/decoder pair, a residual block.

Images are (batch, C, H, W); the conv pair works for any H = W divisible by 4
(28 for Fashion-MNIST, 32 or 64 for the sprites).
"""
import torch
from torch import nn

from .errors import CourseInputError, check_int


class MLP(nn.Sequential):
    """x -> Linear -> act -> ... -> Linear.  (batch, in_dim) -> (batch, out_dim)."""

    def __init__(self, in_dim, hidden, out_dim, activation=nn.ReLU):
        check_int("in_dim", in_dim, minimum=1)
        check_int("out_dim", out_dim, minimum=1)
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise CourseInputError(f"hidden must be a list of layer sizes, e.g. (512, 256), got {hidden!r}.")
        hidden = [check_int(f"hidden[{i}]", h, minimum=1) for i, h in enumerate(hidden)]
        sizes = [in_dim, *hidden, out_dim]
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(activation())
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """h -> h + f(h), with f a two-layer MLP of the same width.  (batch, dim) -> (batch, dim).

    The identity path keeps gradients flowing in deep stacks:
    dL/dh = dL/dh' (I + df/dh).
    """

    def __init__(self, dim, hidden=None):
        super().__init__()
        dim = check_int("dim", dim, minimum=1)
        hidden = check_int("hidden", hidden or dim, minimum=1)
        self.f = nn.Sequential(nn.SiLU(), nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, h):
        return h + self.f(h)


def _check_image_shape(image_shape):
    if len(image_shape) != 3:
        raise CourseInputError(f"image_shape must be (C, H, W), got {tuple(image_shape)}.")
    c, h, w = image_shape
    if h != w or h % 4 != 0:
        raise CourseInputError(
            f"image_shape must be square with a side divisible by 4 (28, 32, 64) for the conv nets; got {h}x{w}.")
    return c, h


class ConvEncoder(nn.Module):
    """(batch, C, H, W) -> (batch, out_dim) through two stride-2 convolutions."""

    def __init__(self, image_shape, out_dim, channels=(32, 64), hidden=256):
        super().__init__()
        c, side = _check_image_shape(image_shape)
        c1, c2 = channels
        self.net = nn.Sequential(
            nn.Conv2d(c, c1, 4, stride=2, padding=1), nn.ReLU(),   # side/2
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),  # side/4
            nn.Flatten(),
            nn.Linear(c2 * (side // 4) ** 2, hidden), nn.ReLU(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x):
        return self.net(x)


class ConvDecoder(nn.Module):
    """(batch, in_dim) -> (batch, C, H, W) through two stride-2 transposed convolutions."""

    def __init__(self, in_dim, image_shape, channels=(64, 32), hidden=256):
        super().__init__()
        c, side = _check_image_shape(image_shape)
        c1, c2 = channels
        self.start = (c1, side // 4, side // 4)
        self.fc = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(),
                                nn.Linear(hidden, c1 * (side // 4) ** 2), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),  # side/2
            nn.ConvTranspose2d(c2, c, 4, stride=2, padding=1),               # side
        )

    def forward(self, z):
        lead = z.shape[:-1]
        h = self.fc(z.reshape(-1, z.shape[-1])).reshape(-1, *self.start)
        out = self.net(h)
        return out.reshape(*lead, *out.shape[1:])
