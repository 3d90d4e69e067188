"""Checks for the lesson 7 exercises (planar log-determinant, affine coupling, MADE masks, ActNorm, a flow's density)."""
import math

import torch

from .feedback import graded, run_check

_g = torch.Generator().manual_seed(707)


def _rand(*shape):
    return torch.randn(*shape, generator=_g, dtype=torch.float64)


# -- the planar flow's log-determinant ------------------------------------------------------------
def _planar(z, u, w, b):
    a = z @ w + b
    return torch.log((1 + (1 - torch.tanh(a) ** 2) * (w @ u)).abs())


@graded
def planar_log_det(fn):
    """log |1 + u . psi(z)|, psi(z) = (1 - tanh^2(w.z + b)) w.  z (batch, d), u (d,), w (d,), b 0-dim -> (batch,)."""
    cases = [dict(z=_rand(5, 2), u=torch.tensor([0.8, -0.3], dtype=torch.float64),
                  w=torch.tensor([1.2, 0.5], dtype=torch.float64), b=torch.tensor(0.3, dtype=torch.float64)),
             dict(z=_rand(4, 3), u=torch.tensor([-0.4, 0.2, 0.1], dtype=torch.float64),
                  w=torch.tensor([1.5, -1.0, 0.7], dtype=torch.float64), b=torch.tensor(-0.2, dtype=torch.float64))]
    mistakes = [
        ("psi needs the derivative h'(a) = 1 - tanh(a)^2, not tanh(a) itself.",
         lambda z, u, w, b: torch.log((1 + torch.tanh(z @ w + b) * (w @ u)).abs())),
        ("the determinant is 1 + u . psi(z): the 1 (from the identity part of f) is missing.",
         lambda z, u, w, b: torch.log(((1 - torch.tanh(z @ w + b) ** 2) * (w @ u)).abs())),
        ("return log |det|, not the determinant itself.",
         lambda z, u, w, b: (1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)).abs()),
        ("it is 1 + u . psi(z), with a plus: f(z) = z + u h(w.z + b).",
         lambda z, u, w, b: torch.log((1 - (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)).abs())),
        ("psi(z) = h'(w.z + b) w: the derivative is taken at w.z + b, with the bias b.",
         lambda z, u, w, b: torch.log((1 + (1 - torch.tanh(z @ w) ** 2) * (w @ u)).abs())),
    ]
    return run_check("planar_log_det", fn, cases, _planar, mistakes)


# -- affine coupling ----------------------------------------------------------------------------------
def _coupling_cases():
    cases = []
    for shape in ((4, 4), (3, 6)):
        mask = (torch.arange(shape[1]) < shape[1] // 2).to(torch.float64).expand(*shape).clone()
        if shape[1] == 6:
            mask = 1 - mask
        cases.append(dict(x=_rand(*shape), mask=mask, log_scale=0.5 * _rand(*shape), shift=_rand(*shape)))
    return cases


def _forward(x, mask, log_scale, shift):
    return mask * x + (1 - mask) * (x * torch.exp(log_scale) + shift)


def _inverse(x, mask, log_scale, shift):
    return mask * x + (1 - mask) * ((x - shift) * torch.exp(-log_scale))


@graded
def coupling_forward(fn):
    """y = mask * x + (1 - mask) * (x * exp(log_scale) + shift), all (batch, d)."""
    mistakes = [
        ("the mask marks what passes through (1) and what is transformed (0): you swapped the two halves.",
         lambda x, mask, log_scale, shift: _forward(x, 1 - mask, log_scale, shift)),
        ("the scale is exp(log_scale), not log_scale itself.",
         lambda x, mask, log_scale, shift: mask * x + (1 - mask) * (x * log_scale + shift)),
        ("scale first, then shift: x * exp(s) + t, not (x + t) * exp(s).",
         lambda x, mask, log_scale, shift: mask * x + (1 - mask) * ((x + shift) * torch.exp(log_scale))),
        ("the masked entries must pass through unchanged: apply the affine map only where mask = 0.",
         lambda x, mask, log_scale, shift: x * torch.exp(log_scale) + shift),
        ("that is the inverse (dividing by the scale); the forward multiplies by exp(log_scale).",
         _inverse),
    ]
    return run_check("coupling_forward", fn, _coupling_cases(), _forward, mistakes)


@graded
def coupling_inverse(fn):
    """x = mask * y + (1 - mask) * ((y - shift) * exp(-log_scale)); the inputs are named (y, mask, log_scale, shift)."""
    cases = [dict(y=c["x"], mask=c["mask"], log_scale=c["log_scale"], shift=c["shift"]) for c in _coupling_cases()]

    def reference(y, mask, log_scale, shift):
        return _inverse(y, mask, log_scale, shift)
    mistakes = [
        ("undo the shift first, then the scale: (y - t) * exp(-s), not y * exp(-s) - t.",
         lambda y, mask, log_scale, shift: mask * y + (1 - mask) * (y * torch.exp(-log_scale) - shift)),
        ("to undo a multiplication by exp(s), multiply by exp(-s), not by exp(s).",
         lambda y, mask, log_scale, shift: mask * y + (1 - mask) * ((y - shift) * torch.exp(log_scale))),
        ("that is the forward map; the inverse subtracts the shift and divides by the scale.",
         lambda y, mask, log_scale, shift: _forward(y, mask, log_scale, shift)),
        ("the masked entries pass through unchanged in this direction too.",
         lambda y, mask, log_scale, shift: (y - shift) * torch.exp(-log_scale)),
        ("the mask marks what passes through (1): you swapped the two halves.",
         lambda y, mask, log_scale, shift: _inverse(y, 1 - mask, log_scale, shift)),
    ]
    return run_check("coupling_inverse", fn, cases, reference, mistakes)


def _log_det(log_scale, mask):
    return ((1 - mask) * log_scale).sum(-1)


@graded
def coupling_log_det(fn):
    """log |det dy/dx| = sum of log_scale over the transformed entries (mask = 0).  (batch, d) -> (batch,)."""
    cases = [dict(log_scale=c["log_scale"], mask=c["mask"]) for c in _coupling_cases()]
    mistakes = [
        ("only the transformed entries (mask = 0) count; the passed-through ones have derivative 1, log 1 = 0.",
         lambda log_scale, mask: log_scale.sum(-1)),
        ("log |det| is the sum of the log-scales themselves, not of exp(log_scale).",
         lambda log_scale, mask: ((1 - mask) * torch.exp(log_scale)).sum(-1)),
        ("you summed over the passed-through entries (mask = 1) instead of the transformed ones.",
         lambda log_scale, mask: (mask * log_scale).sum(-1)),
        ("sum, do not average: the determinant is a product over the transformed entries.",
         lambda log_scale, mask: ((1 - mask) * log_scale).mean(-1)),
        ("the log-determinant of the forward map is +sum s, not -sum s (that is the inverse's).",
         lambda log_scale, mask: -_log_det(log_scale, mask)),
    ]
    return run_check("coupling_log_det", fn, cases, _log_det, mistakes)


# -- MADE masks -----------------------------------------------------------------------------------------
def _mask(in_degrees, out_degrees, output_layer):
    if bool(output_layer):
        return (out_degrees[:, None] > in_degrees[None, :]).to(torch.float64)
    return (out_degrees[:, None] >= in_degrees[None, :]).to(torch.float64)


@graded
def made_mask(fn):
    """The (out, in) mask of a MADE layer: 1 where out_degree >= in_degree (hidden layer) or
    out_degree > in_degree (output layer).  Booleans or 0/1 numbers are both fine."""
    cases = [dict(in_degrees=torch.tensor([1, 2, 3]), out_degrees=torch.tensor([1, 2, 1, 2]),
                  output_layer=torch.tensor(False)),
             dict(in_degrees=torch.tensor([1, 2, 1, 2]), out_degrees=torch.tensor([1, 2, 3]),
                  output_layer=torch.tensor(True)),
             dict(in_degrees=torch.tensor([2, 1, 2]), out_degrees=torch.tensor([1, 1, 2, 2, 1]),
                  output_layer=torch.tensor(False))]

    def as_numbers(in_degrees, out_degrees, output_layer):          # accept booleans and 0/1 integers as well
        out = fn(in_degrees, out_degrees, output_layer)
        return out.to(torch.float64) if isinstance(out, torch.Tensor) and not out.is_floating_point() else out
    mistakes = [
        ("the output layer needs a strict >: output i may only see inputs of degree < i, never its own.",
         lambda in_degrees, out_degrees, output_layer: (out_degrees[:, None] >= in_degrees[None, :]).double()),
        ("hidden layers use >=: a hidden unit of degree k may see inputs of degree up to k.",
         lambda in_degrees, out_degrees, output_layer: (out_degrees[:, None] > in_degrees[None, :]).double()),
        ("the mask has one row per output unit and one column per input: shape (out, in), like nn.Linear's weight.",
         lambda in_degrees, out_degrees, output_layer: _mask(in_degrees, out_degrees, output_layer).T),
        ("the comparison is reversed: keep a connection where the *output's* degree is at least the input's.",
         lambda in_degrees, out_degrees, output_layer: _mask(out_degrees, in_degrees, output_layer).T),
        ("a mask of all ones keeps every connection, so outputs would see their own and later inputs; "
         "compare the degrees.",
         lambda in_degrees, out_degrees, output_layer: torch.ones(len(out_degrees), len(in_degrees), dtype=torch.float64)),
    ]
    return run_check("made_mask", as_numbers if callable(fn) else fn, cases, _mask, mistakes)


# -- ActNorm's data-dependent initialisation --------------------------------------------------------
def _actnorm(x):
    mean = x.mean((0, 2, 3))
    std = x.std((0, 2, 3), unbiased=False)
    return torch.stack([-torch.log(std), -mean / std])


@graded
def actnorm_init(fn):
    """Row 0: log_scale = -log std_c; row 1: bias = -mean_c / std_c, per channel over (batch, H, W),
    so that exp(log_scale) x + bias has mean 0 and std 1 per channel.  x (N, C, H, W) -> (2, C)."""
    cases = [dict(x=2 * _rand(4, 3, 2, 2) + 1), dict(x=0.5 * _rand(3, 2, 3, 3) - 2)]
    mistakes = [
        ("the statistics are per channel over batch *and* pixels: reduce over axes (0, 2, 3).",
         lambda x: torch.stack([-torch.log(x.std(0, unbiased=False)), -x.mean(0) / x.std(0, unbiased=False)])),
        ("the bias must be -mean / std: the shift acts after the scaling.",
         lambda x: torch.stack([-torch.log(x.std((0, 2, 3), unbiased=False)), -x.mean((0, 2, 3))])),
        ("log_scale is -log std (the scale is 1 / std); you returned +log std.",
         lambda x: torch.stack([torch.log(x.std((0, 2, 3), unbiased=False)),
                                -x.mean((0, 2, 3)) / x.std((0, 2, 3), unbiased=False)])),
        ("row 0 is the log of the scale, -log std, not the scale 1 / std.",
         lambda x: torch.stack([1 / x.std((0, 2, 3), unbiased=False), -x.mean((0, 2, 3)) / x.std((0, 2, 3), unbiased=False)])),
        ("use the standard deviation that divides by the number of values (unbiased=False), so the output "
         "has std exactly 1 on this batch.",
         lambda x: torch.stack([-torch.log(x.std((0, 2, 3))), -x.mean((0, 2, 3)) / x.std((0, 2, 3))])),
    ]
    return run_check("actnorm_init", fn, cases, _actnorm, mistakes)


# -- a flow's density, its layers inverted in the right order -----------------------------------------

class _Affine:
    """x = a * z + b elementwise; as an inverse step: y -> ((y - b) / a, -sum log |a|)."""

    def __init__(self, a, b):
        self.a, self.b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)

    def __call__(self, y):
        return (y - self.b) / self.a, -torch.log(self.a.abs()).sum().expand(len(y))


class _Shear:
    """x = (z_0, z_1 + c tanh(z_0)): volume-preserving and non-linear; its inverse has log-det 0."""

    def __init__(self, c):
        self.c = c

    def __call__(self, y):
        return torch.stack([y[:, 0], y[:, 1] - self.c * torch.tanh(y[:, 0])], 1), torch.zeros(len(y), dtype=y.dtype)


class _Squash:
    """x = z + 0.5 tanh(z) elementwise (increasing); inverse by Newton's method, log-det of the inverse
    -sum log(1 + 0.5 (1 - tanh^2 z))."""

    def __call__(self, y):
        z = y.clone()
        for _ in range(60):
            z = z - (z + 0.5 * torch.tanh(z) - y) / (1 + 0.5 * (1 - torch.tanh(z) ** 2))
        return z, -torch.log(1 + 0.5 * (1 - torch.tanh(z) ** 2)).sum(-1)


def _standard_normal(z):
    return -0.5 * (math.log(2 * math.pi) + z ** 2).sum(-1)


def _flow_density(x, inverses, base_log_prob, order=reversed, sign=1.0, base_at_x=False, last_only=False):
    z, total = x, torch.zeros(len(x), dtype=x.dtype)
    steps = list(order(list(inverses)))
    for i, inverse in enumerate(steps):
        z, log_det = inverse(z)
        if not last_only or i == 0:
            total = total + sign * log_det
    return base_log_prob(x if base_at_x else z) + total


@graded
def flow_log_density(fn):
    """flow_log_density(x, inverses, base_log_prob) -> log p(x) of x = f_K(...f_1(z)), z ~ base, from the layers'
    inverses in forward order [f_1^-1, ..., f_K^-1] (each y -> (its input, log |det| of the inverse's
    Jacobian) per row): the inverses applied from the last layer to the first, their log-dets added to the
    base log-density at the end.  x (n, 2) -> (n,)."""
    g = torch.Generator().manual_seed(77)
    x = 1.5 * torch.randn(6, 2, generator=g, dtype=torch.float64)
    layers = [_Affine([2.0, 0.5], [0.3, -1.0]), _Shear(1.5), _Squash(), _Affine([0.7, 3.0], [1.0, 0.2])]
    cases = [dict(x=x, inverses=layers, base_log_prob=_standard_normal),
             dict(x=x[:4], inverses=layers[1:3], base_log_prob=lambda z: _standard_normal(z / 2) - 2 * math.log(2))]
    mistakes = [
        ("the inverses run in the wrong order: x came out of the *last* layer, so undo f_K first, then f_{K-1}, "
         "..., f_1 (iterate over reversed(inverses)).",
         lambda x, inverses, base_log_prob: _flow_density(x, inverses, base_log_prob, order=lambda s: s)),
        ("the log-determinants of the inverses are added, not subtracted: log p(x) = log p(z) + Σ log |det ∂f_k⁻¹|.",
         lambda x, inverses, base_log_prob: _flow_density(x, inverses, base_log_prob, sign=-1.0)),
        ("the base density is evaluated at x; it belongs at z, what the inverses give back at the end.",
         lambda x, inverses, base_log_prob: _flow_density(x, inverses, base_log_prob, base_at_x=True)),
        ("only one layer's log-determinant made it into the sum: add every layer's.",
         lambda x, inverses, base_log_prob: _flow_density(x, inverses, base_log_prob, last_only=True)),
        ("the base log-density is missing: log p(x) = log p_base(z) + the log-determinants.",
         lambda x, inverses, base_log_prob: _flow_density(x, inverses, lambda z: torch.zeros(len(z), dtype=z.dtype))),
    ]
    return run_check("flow_log_density", fn, cases, _flow_density, mistakes)


# -- dequantized images: bits per dimension ------------------------------------------------------------
LOG_2 = math.log(2)


def _bits(log_density, dims, cells=256, unit=LOG_2, per=None, sign=-1.0):
    """Bits per dimension of 8-bit images from the log-density of their dequantized versions in [0, 1]^D."""
    per = dims if per is None else per
    return (sign * log_density + dims * math.log(cells)) / (per * unit)


def _bits_cases():
    g = torch.Generator().manual_seed(71)
    return [dict(log_density=2000 + 50 * torch.randn(5, generator=g, dtype=torch.float64), dims=784),
            dict(log_density=torch.tensor([-3.0, 1.5], dtype=torch.float64), dims=3)]


@graded
def bits_per_dimension(fn):
    """bits_per_dimension(log_density, dims) -> (batch,): from the natural-log densities of dequantized images
    y = (x·255 + u)/256 in [0, 1]^D under a flow, the bound -log2 P(x) / D on the 8-bit images' bits per
    dimension: (-log p(y) + D log 256) / (D log 2)."""
    mistakes = [
        ("the density is per unit volume of [0, 1]^D, and an 8-bit image owns a cell of volume 256^(-D): "
         "add D log 256 nats before converting (without it the bound can even be negative).",
         lambda log_density, dims: _bits(log_density, dims, cells=1)),
        ("that is in nats per dimension; a bit is log 2 nats, so divide by log 2.",
         lambda log_density, dims: _bits(log_density, dims, unit=1.0)),
        ("divide by the number of dimensions D: the answer is per pixel, not per image.",
         lambda log_density, dims: _bits(log_density, dims, per=1)),
        ("bits measure −log₂ of a probability: the log-density enters with a minus sign.",
         lambda log_density, dims: _bits(log_density, dims, sign=1.0)),
        ("a pixel takes 256 values (0 to 255), so its cell is 1/256 wide, not 1/255.",
         lambda log_density, dims: _bits(log_density, dims, cells=255)),
    ]
    return run_check("bits_per_dimension", fn, _bits_cases(), _bits, mistakes)
