"""Planar and radial flows (Rezende & Mohamed, Variational inference with normalizing flows,
ICML 2015).  Both act on vectors z: (batch, d).

Planar:  f(z) = z + u_hat h(w.z + b),  h = tanh,
         log |det df/dz| = log |1 + u_hat . psi(z)|,  psi(z) = h'(w.z + b) w     (matrix determinant lemma)
         f is invertible when w.u_hat >= -1; u_hat = u + (m(w.u) - w.u) w / |w|^2 with
         m(a) = -1 + softplus(a) ensures it.
Radial:  f(z) = z + beta h(alpha, r) (z - z0),  r = |z - z0|,  h = 1 / (alpha + r),
         log |det df/dz| = (d - 1) log(1 + beta h) + log(1 + beta h + beta h'(r) r),
         with alpha > 0 and beta >= -alpha for invertibility.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import check_int
from .base import Transform, check_vectors


class Planar(Transform):
    """One planar step on (batch, dim).  With ``context_dim``, u, w and b are shifted by linear
    functions of the context (amortized, as in a VAE whose encoder outputs the flow's parameters)."""

    def __init__(self, dim, context_dim=None):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        # Start near the identity.  u_hat = u + (m(w.u) - w.u) w / |w|^2 is 0 when w.u = log(e - 1),
        # where m = 0; so u starts there plus a little noise, with |w| about 1.  (With u and w both
        # small, the correction alone gives u_hat ~ -0.31 w / |w|^2: every step starts as a strong
        # contraction, and a deep stack of them dropped a mode of U1 that a shallow one kept.)
        w = torch.randn(dim) / dim ** 0.5
        self.w = nn.Parameter(w)
        self.u = nn.Parameter(math.log(math.e - 1) * w / (w * w).sum() + 0.01 * torch.randn(dim))
        self.b = nn.Parameter(torch.zeros(1))
        self.from_context = None
        if context_dim is not None:
            self.from_context = nn.Linear(check_int("context_dim", context_dim, minimum=1), 2 * dim + 1)
            nn.init.zeros_(self.from_context.weight)
            nn.init.zeros_(self.from_context.bias)

    def parameters_for(self, context=None):
        """(u_hat, w, b), each with a leading batch axis when there is a context."""
        u, w, b = self.u, self.w, self.b
        if self.from_context is not None and context is not None:
            du, dw, db = self.from_context(context).split([self.dim, self.dim, 1], dim=-1)
            u, w, b = u + du, w + dw, b + db
        wu = (w * u).sum(-1, keepdim=True)
        u_hat = u + (F.softplus(wu) - 1 - wu) * w / (w * w).sum(-1, keepdim=True).clamp(min=1e-12)
        return u_hat, w, b

    def forward(self, z, context=None):
        check_vectors(z, self.dim)
        u_hat, w, b = self.parameters_for(context)
        a = (z * w).sum(-1, keepdim=True) + b                  # (batch, 1)
        y = z + u_hat * torch.tanh(a)
        psi = (1 - torch.tanh(a) ** 2) * w                     # h'(a) w
        return y, torch.log((1 + (psi * u_hat).sum(-1)).abs() + 1e-12)

    def inverse(self, y, context=None, iterations=60):
        """No closed form, but w.z solves a monotone scalar equation: with s = w.z,
        s + (w.u_hat) tanh(s + b) = w.y, and |tanh| <= 1 brackets the root in
        [w.y - |w.u_hat|, w.y + |w.u_hat|]; bisection finds it, then z = y - u_hat tanh(s + b).
        A last Newton step from the bisection's root carries the gradient ds/dy = w / g'(s)
        (implicit differentiation), which bisection alone would lose."""
        check_vectors(y, self.dim)
        u_hat, w, b = self.parameters_for(context)
        target = (y * w).sum(-1, keepdim=True)
        wu = (w * u_hat).sum(-1, keepdim=True).expand_as(target)
        lo, hi = target - wu.abs() - 1e-6, target + wu.abs() + 1e-6
        for _ in range(iterations):
            mid = (lo + hi) / 2
            too_big = mid + wu * torch.tanh(mid + b) > target
            hi, lo = torch.where(too_big, mid, hi), torch.where(too_big, lo, mid)
        s = ((lo + hi) / 2).detach()
        slope = 1 + wu * (1 - torch.tanh(s + b) ** 2)
        s = s - (s + wu * torch.tanh(s + b) - target) / slope
        z = y - u_hat * torch.tanh(s + b)
        return z, -self.forward(z, context)[1]


class Radial(Transform):
    """One radial step on (batch, dim): contracts or expands space around a centre z0."""

    def __init__(self, dim):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        self.z0 = nn.Parameter(0.5 * torch.randn(dim))
        self.raw_alpha = nn.Parameter(torch.zeros(1))
        self.raw_beta = nn.Parameter(torch.zeros(1))

    def alpha_beta(self):
        alpha = F.softplus(self.raw_alpha)
        return alpha, -alpha + F.softplus(self.raw_beta)          # alpha > 0, beta >= -alpha

    def forward(self, z, context=None):
        check_vectors(z, self.dim)
        alpha, beta = self.alpha_beta()
        diff = z - self.z0
        r = diff.norm(dim=-1, keepdim=True)
        h = 1 / (alpha + r)
        y = z + beta * h * diff
        dh = -h ** 2
        logabsdet = ((self.dim - 1) * torch.log1p(beta * h) + torch.log1p(beta * h + beta * dh * r)).squeeze(-1)
        return y, logabsdet

    def inverse(self, y, context=None):
        """|y - z0| = r (1 + beta / (alpha + r)) is a quadratic in r with one positive root:
        r^2 + (alpha + beta - |y - z0|) r - alpha |y - z0| = 0."""
        check_vectors(y, self.dim)
        alpha, beta = self.alpha_beta()
        diff = y - self.z0
        ry = diff.norm(dim=-1, keepdim=True)
        p = alpha + beta - ry
        r = (-p + torch.sqrt(p ** 2 + 4 * alpha * ry)) / 2
        z = self.z0 + diff / (1 + beta / (alpha + r))
        return z, -self.forward(z, context)[1]
