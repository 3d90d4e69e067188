"""The Transform contract, composition, inversion, and a flow distribution.

A flow pushes a base distribution p_0 = N(0, I) through an invertible f.  For x = f(z),

    log p(x) = log p_0(z) - log |det df/dz|        (change of variables)
             = log p_0(f^{-1}(x)) + log |det df^{-1}/dx|.

For a composition f = f_K o ... o f_1 the log-determinants add (chain rule for Jacobians,
and det(AB) = det A det B).
"""
import math

import torch
from torch import nn

from ..errors import CourseError, CourseInputError, check_int, check_tensor


class NoClosedFormInverse(CourseError, NotImplementedError):
    """The transform is invertible, but its inverse has no closed form here."""


def _sum_but_batch(t):
    return t.reshape(len(t), -1).sum(-1)


def check_vectors(x, dim):
    """A clear message when a vector transform gets something other than (batch, dim)."""
    return check_tensor("x", x, shape=(None, dim))


def standard_normal_log_prob(z):
    """log N(z; 0, I) summed over every axis but the first.  z: (batch, ...) -> (batch,)."""
    return _sum_but_batch(-0.5 * (z ** 2 + math.log(2 * math.pi)))


class Transform(nn.Module):
    """An invertible map with a tractable log-determinant.

    forward(x, context=None) -> (y, logabsdet),  logabsdet = log |det dy/dx|, shape (batch,)
    inverse(y, context=None) -> (x, logabsdet),  logabsdet = log |det dx/dy|
    """

    def forward(self, x, context=None):
        raise NotImplementedError

    def inverse(self, y, context=None):
        raise NoClosedFormInverse(f"{type(self).__name__} has no inverse in closed form.")


class Identity(Transform):
    """f(x) = x, log|det| = 0."""

    def forward(self, x, context=None):
        return x, x.new_zeros(len(x))

    def inverse(self, y, context=None):
        return y, y.new_zeros(len(y))


class Composite(Transform):
    """f = f_K o ... o f_1 for ``transforms = [f_1, ..., f_K]``: forward applies f_1 first and sums
    the K log-determinants; inverse applies f_K^{-1} first.  An empty list is the identity."""

    def __init__(self, transforms):
        super().__init__()
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not isinstance(t, Transform):
                raise CourseInputError(f"transforms[{i}] must be a Transform, got {type(t).__name__}.")
        self.transforms = nn.ModuleList(transforms)

    def forward(self, x, context=None):
        total = x.new_zeros(len(x))
        for transform in self.transforms:
            x, logabsdet = transform(x, context)
            total = total + logabsdet
        return x, total

    def inverse(self, y, context=None):
        total = y.new_zeros(len(y))
        for transform in reversed(self.transforms):
            y, logabsdet = transform.inverse(y, context)
            total = total + logabsdet
        return y, total

    def __len__(self):
        return len(self.transforms)


class Inverse(Transform):
    """The inverse of a transform: its forward is the inner inverse and vice versa.  Whichever
    direction of the inner transform is fast becomes the other direction here."""

    def __init__(self, transform):
        super().__init__()
        if not isinstance(transform, Transform):
            raise CourseInputError(f"Inverse needs a Transform, got {type(transform).__name__}.")
        self.transform = transform

    def forward(self, x, context=None):
        return self.transform.inverse(x, context)

    def inverse(self, y, context=None):
        return self.transform(y, context)


class Permutation(Transform):
    """y = x[:, order] on the feature axis (axis 1); |det| = 1.  ``Permutation.reverse(d)``
    reverses the order, the usual glue between autoregressive layers."""

    def __init__(self, order):
        super().__init__()
        order = torch.as_tensor(order, dtype=torch.long)
        if sorted(order.tolist()) != list(range(len(order))):
            raise CourseInputError(f"order must be a permutation of 0..{len(order) - 1}, got {order.tolist()}.")
        self.register_buffer("order", order)
        self.register_buffer("undo", torch.argsort(order))

    @classmethod
    def reverse(cls, dim):
        return cls(torch.arange(dim - 1, -1, -1))

    def forward(self, x, context=None):
        return x[:, self.order], x.new_zeros(len(x))

    def inverse(self, y, context=None):
        return y[:, self.undo], y.new_zeros(len(y))


class Flow(nn.Module):
    """The distribution of x = f(z), z ~ N(0, I) of shape ``event_shape``.

    log_prob(x) = log N(f^{-1}(x); 0, I) + log |det df^{-1}/dx|           (needs the inverse)
    sample_and_log_prob(n): x = f(z) and log p(x) = log N(z) - log |det df/dz|  (needs the forward)

    ``base_shape``: the shape of z when the transform reshapes (a squeeze); by default event_shape.
    """

    def __init__(self, transform, event_shape, base_shape=None):
        super().__init__()
        if not isinstance(transform, Transform):
            raise CourseInputError(f"transform must be a Transform, got {type(transform).__name__}.")
        self.transform = transform
        self.event_shape = (event_shape,) if isinstance(event_shape, int) else tuple(event_shape)
        base_shape = self.event_shape if base_shape is None else base_shape
        self.base_shape = (base_shape,) if isinstance(base_shape, int) else tuple(base_shape)

    def _device(self):
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return torch.device("cpu")

    def log_prob(self, x, context=None):
        """log p(x).  x: (batch, *event_shape) -> (batch,)."""
        check_tensor("x", x, shape=(None, *self.event_shape))
        z, logabsdet = self.transform.inverse(x.to(self._device()), context)
        return standard_normal_log_prob(z) + logabsdet

    def sample_and_log_prob(self, n, context=None):
        """n draws x = f(z) and their log p(x), with gradients (reparameterized).  -> ((n, ...), (n,))."""
        n = check_int("n", n, minimum=1)
        z = torch.randn(n, *self.base_shape, device=self._device())
        x, logabsdet = self.transform(z, context)
        return x, standard_normal_log_prob(z) - logabsdet

    @torch.no_grad()
    def sample(self, n, context=None):
        return self.sample_and_log_prob(n, context)[0]


def autograd_logabsdet(fn, x, context=None):
    """log |det J| of ``fn`` at each example, by building the whole Jacobian with autograd and
    taking its log-determinant: O(d) backward passes plus O(d^3) for the determinant.
    fn(x) or, with a context, fn(x, context): (batch, ...) -> (batch, ...), acting on each example
    separately.  x: (batch, ...) -> (batch,)."""
    out = []
    for i, example in enumerate(x):
        def one(e):
            args = (e.unsqueeze(0),) if context is None else (e.unsqueeze(0), context[i:i + 1])  # noqa: B023 (called in this iteration)
            return fn(*args).reshape(-1)
        jacobian = torch.autograd.functional.jacobian(one, example).reshape(example.numel(), example.numel())
        out.append(torch.linalg.slogdet(jacobian).logabsdet)
    return torch.stack(out)
