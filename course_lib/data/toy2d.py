"""Two-dimensional toy densities for flows and WAE.

Samplers return float32 tensors (n, 2); they take a ``torch.Generator`` so
that a seed fixes the sample.  The energies U1-U4 of Rezende & Mohamed
(2015, Table 1) are exact *unnormalised* log-densities: log p(z) = -U(z) + const.
U2-U4 do not decay along z_1, so exp(-U) has infinite mass on the plane; lesson 7
adds a soft wall beyond |z_1| = 4 to make them proper densities.
"""
import math
from collections.abc import Callable
from typing import Any

import torch

from ..errors import CourseInputError, check_choice, check_int, check_tensor


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def two_moons(n, noise=0.05, seed=0):
    """Two interleaved half circles."""
    g = _gen(check_int("seed", seed))
    n = check_int("n", n, minimum=1)
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.rand(n, generator=g) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    pts = torch.stack([x - 0.5, y - 0.25], 1) * 2
    return pts + noise * torch.randn(n, 2, generator=g)


def eight_gaussians(n, radius=2.0, std=0.1, seed=0):
    """A mixture of 8 Gaussians with equal weights, centred on a circle."""
    g = _gen(seed)
    n = check_int("n", n, minimum=1)
    k = torch.randint(8, (n,), generator=g).float() * (2 * math.pi / 8)
    centres = radius * torch.stack([torch.cos(k), torch.sin(k)], 1)
    return centres + std * torch.randn(n, 2, generator=g)


def checkerboard(n, seed=0):
    """Uniform on the black squares of a 4 x 4 board over [-2, 2]^2."""
    g = _gen(seed)
    n = check_int("n", n, minimum=1)
    x = torch.rand(n, generator=g) * 4 - 2
    row = torch.randint(2, (n,), generator=g) * 2 + (torch.floor(x) % 2)   # 0..3, parity matched to column
    y = torch.rand(n, generator=g) + row - 2
    return torch.stack([x, y], 1)


def rings(n, n_rings=4, noise=0.04, seed=0):
    """Concentric circles of radii 0.5, 1, ..., with mass proportional to the radius."""
    g = _gen(seed)
    n = check_int("n", n, minimum=1)
    radii = 0.5 * torch.arange(1, n_rings + 1, dtype=torch.float32)
    ring = torch.multinomial(radii / radii.sum(), n, replacement=True, generator=g)
    t = torch.rand(n, generator=g) * 2 * math.pi
    pts = radii[ring, None] * torch.stack([torch.cos(t), torch.sin(t)], 1)
    return pts + noise * torch.randn(n, 2, generator=g)


def pinwheel(n, arms=5, radial_std=0.3, tangential_std=0.1, rate=0.25, seed=0):
    """Gaussian blobs stretched along the radius, each twisted by an angle that grows with it."""
    g = _gen(seed)
    n = check_int("n", n, minimum=1)
    arm = torch.randint(arms, (n,), generator=g).float() * (2 * math.pi / arms)
    r = 1.0 + radial_std * torch.randn(n, generator=g)
    tangential = tangential_std * torch.randn(n, generator=g)
    angle = arm + rate * torch.exp(r)
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([r * cos - tangential * sin, r * sin + tangential * cos], 1)


def spirals(n, noise=0.05, turns=1.5, seed=0):
    """Two interleaved Archimedean spirals."""
    g = _gen(seed)
    n = check_int("n", n, minimum=1)
    t = torch.sqrt(torch.rand(n, generator=g)) * turns * 2 * math.pi
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    pts = sign[:, None] * torch.stack([t * torch.cos(t), t * torch.sin(t)], 1) / (turns * math.pi)
    return pts + noise * torch.randn(n, 2, generator=g)


SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {"two_moons": two_moons, "eight_gaussians": eight_gaussians, "checkerboard": checkerboard,
            "rings": rings, "pinwheel": pinwheel, "spirals": spirals}


def sample_toy(name: str, n: int, seed: int = 0, **kwargs: Any) -> torch.Tensor:
    """Draw ``n`` points from the toy density called ``name``."""
    check_choice("name", name, tuple(SAMPLERS))
    return SAMPLERS[name](n, seed=seed, **kwargs)


# -- Rezende & Mohamed (2015) energies: p(z) is proportional to exp(-U(z)) ------------------

def _w1(z):
    return torch.sin(2 * math.pi * z[..., 0] / 4)


def _w2(z):
    return 3 * torch.exp(-0.5 * ((z[..., 0] - 1) / 0.6) ** 2)


def _w3(z):
    return 3 * torch.sigmoid((z[..., 0] - 1) / 0.3)


def _check_z(z):
    if not isinstance(z, torch.Tensor) or z.shape[-1:] != (2,):
        raise CourseInputError(f"z must be a tensor of shape (..., 2), got {getattr(z, 'shape', type(z))}.")
    return z


def energy_u1(z):
    """U1(z) = 1/2 ((|z| - 2) / 0.4)^2 - log(exp(-1/2 ((z1 - 2)/0.6)^2) + exp(-1/2 ((z1 + 2)/0.6)^2))."""
    z = _check_z(z)
    ring = 0.5 * ((z.norm(dim=-1) - 2) / 0.4) ** 2
    bumps = torch.logsumexp(torch.stack([-0.5 * ((z[..., 0] - 2) / 0.6) ** 2,
                                         -0.5 * ((z[..., 0] + 2) / 0.6) ** 2]), dim=0)
    return ring - bumps


def energy_u2(z):
    """U2(z) = 1/2 ((z2 - w1(z)) / 0.4)^2,  w1(z) = sin(2 pi z1 / 4)."""
    z = _check_z(z)
    return 0.5 * ((z[..., 1] - _w1(z)) / 0.4) ** 2


def energy_u3(z):
    """U3(z) = -log(exp(-1/2 ((z2 - w1)/0.35)^2) + exp(-1/2 ((z2 - w1 + w2)/0.35)^2)),
    w2(z) = 3 exp(-1/2 ((z1 - 1)/0.6)^2)."""
    z = _check_z(z)
    a = -0.5 * ((z[..., 1] - _w1(z)) / 0.35) ** 2
    b = -0.5 * ((z[..., 1] - _w1(z) + _w2(z)) / 0.35) ** 2
    return -torch.logsumexp(torch.stack([a, b]), dim=0)


def energy_u4(z):
    """U4(z) = -log(exp(-1/2 ((z2 - w1)/0.4)^2) + exp(-1/2 ((z2 - w1 + w3)/0.35)^2)),
    w3(z) = 3 sigmoid((z1 - 1) / 0.3)."""
    z = _check_z(z)
    a = -0.5 * ((z[..., 1] - _w1(z)) / 0.4) ** 2
    b = -0.5 * ((z[..., 1] - _w1(z) + _w3(z)) / 0.35) ** 2
    return -torch.logsumexp(torch.stack([a, b]), dim=0)


ENERGIES = {"u1": energy_u1, "u2": energy_u2, "u3": energy_u3, "u4": energy_u4}


def unnormalized_log_density(name: str, z: torch.Tensor) -> torch.Tensor:
    """log p~(z) = -U(z) for the energy called ``name`` (u1, u2, u3, u4; U1 ... U4 also work).
    z: (..., 2) -> (...)."""
    key = name.lower() if isinstance(name, str) else name
    check_choice("name", key, tuple(ENERGIES))
    check_tensor("z", z, min_dim=1)
    if z.shape[-1] != 2:
        raise CourseInputError(f"z must hold 2-D points, shape (..., 2); got {tuple(z.shape)}.")
    return -ENERGIES[key](z)
