"""Small neural building blocks: an MLP, a conv encoder/decoder pair, a residual block.

Images are (batch, C, H, W); the conv pair works for any H = W divisible by 4
(28 for Fashion-MNIST, 32 or 64 for the sprites).
"""
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


def _check_image_shape(image_shape, halvings=2):
    if len(image_shape) != 3:
        raise CourseInputError(f"image_shape must be (C, H, W), got {tuple(image_shape)}.")
    c, h, w = image_shape
    step = 2 ** halvings
    if h != w or h % step != 0:
        raise CourseInputError(f"image_shape must be square with a side divisible by {step} for conv nets with "
                               f"{halvings} stride-2 layers (28, 32, 64 for two); got {h}x{w}.")
    return c, h


def _widths(name, widths):
    """A width or a tuple of widths -> a tuple of positive ints."""
    widths = (widths,) if isinstance(widths, int) else tuple(widths)
    if not widths:
        raise CourseInputError(f"{name} must name at least one width, got {widths!r}.")
    return tuple(check_int(f"{name}[{i}]", w, minimum=1) for i, w in enumerate(widths))


class ConvEncoder(nn.Module):
    """(batch, C, H, W) -> (batch, out_dim): one stride-2 convolution (4 x 4) per entry of ``channels``,
    each halving the side, then fully connected layers of widths ``hidden``.  The default is two
    convolutions; dSprites' nets (Burgess et al., 2018) use channels=(32, 32, 32, 32), hidden=(256, 256)."""

    def __init__(self, image_shape, out_dim, channels=(32, 64), hidden=256):
        super().__init__()
        channels, hidden = _widths("channels", channels), _widths("hidden", hidden)
        c, side = _check_image_shape(image_shape, len(channels))
        layers = []
        for c_in, c_out in zip((c, *channels), channels):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        layers.append(nn.Flatten())
        for h_in, h_out in zip((channels[-1] * (side // 2 ** len(channels)) ** 2, *hidden), hidden):
            layers += [nn.Linear(h_in, h_out), nn.ReLU()]
        layers.append(nn.Linear(hidden[-1], out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class ConvDecoder(nn.Module):
    """(batch, in_dim) -> (batch, C, H, W): the mirror of :class:`ConvEncoder`, fully connected layers
    of widths ``hidden`` and then one stride-2 transposed convolution per entry of ``channels``."""

    def __init__(self, in_dim, image_shape, channels=(64, 32), hidden=256):
        super().__init__()
        channels, hidden = _widths("channels", channels), _widths("hidden", hidden)
        c, side = _check_image_shape(image_shape, len(channels))
        small = side // 2 ** len(channels)
        self.start = (channels[0], small, small)
        fc = []
        for h_in, h_out in zip((in_dim, *hidden), (*hidden, channels[0] * small ** 2)):
            fc += [nn.Linear(h_in, h_out), nn.ReLU()]
        self.fc = nn.Sequential(*fc)
        layers = []
        for c_in, c_out in zip(channels, (*channels[1:], c)):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])          # no ReLU after the last: it gives logits or means

    def forward(self, z):
        lead = z.shape[:-1]
        h = self.fc(z.reshape(-1, z.shape[-1])).reshape(-1, *self.start)
        out = self.net(h)
        return out.reshape(*lead, *out.shape[1:])
