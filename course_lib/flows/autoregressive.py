"""Autoregressive flows: MADE, and the affine autoregressive transform in its two directions.

MADE (Germain et al., 2015) makes a fully connected network autoregressive by masking its
weights.  Give every input a degree 1..d (its position in the order), every hidden unit a
degree in 1..d-1, and keep a connection only where it cannot leak the future:

    hidden layers:  mask[j, i] = 1  if  degree_out[j] >= degree_in[i]
    output layer:   mask[j, i] = 1  if  degree_out[j] >  degree_in[i]    (output j sees inputs < j)

The masked affine autoregressive transform (conditioning on its *input*):

    forward:  y_i = x_i exp(s_i(x_<i)) + m_i(x_<i)        one network pass: fast
    inverse:  x_i = (y_i - m_i(x_<i)) exp(-s_i(x_<i))     x_<i must be known first: d passes
    log |det dy/dx| = sum_i s_i(x_<i)                      (the Jacobian is triangular)

Used in the generative direction (noise -> sample) this is the IAF (Kingma et al., 2016):
sampling takes one pass and the density of a *new* point takes d.  Wrapped in
:class:`~course_lib.flows.base.Inverse` it is the MAF (Papamakarios et al., 2017): the
density of a data point takes one pass (its inverse direction is the fast forward here),
sampling takes d.
"""
import torch
from torch import nn

from ..errors import CourseInputError, check_int
from .base import Composite, Inverse, Permutation, Transform, check_vectors


def made_mask(in_degrees, out_degrees, output_layer=False):
    """The (out, in) 0/1 mask of one MADE layer: out_degree >= in_degree for a hidden layer,
    out_degree > in_degree for the output layer."""
    if output_layer:
        return (out_degrees[:, None] > in_degrees[None, :]).float()
    return (out_degrees[:, None] >= in_degrees[None, :]).float()


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask."""

    def __init__(self, in_features, out_features, mask):
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask)

    def forward(self, x):
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """x: (batch, dim) -> (batch, dim, n_outputs), output [:, i] depending on x[:, :i] only (and on
    the context, which every hidden unit may see)."""

    def __init__(self, dim, hidden=(64, 64), n_outputs=2, context_dim=None):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        self.n_outputs = check_int("n_outputs", n_outputs, minimum=1)
        hidden = tuple(check_int("hidden width", h, minimum=1) for h in hidden)
        if not hidden:
            raise CourseInputError("MADE needs at least one hidden layer, e.g. hidden=(64,).")
        degrees = [torch.arange(1, dim + 1)] + [torch.arange(width) % max(dim - 1, 1) + 1 for width in hidden]
        layers = []
        for d_in, d_out in zip(degrees[:-1], degrees[1:]):
            layers.append(MaskedLinear(len(d_in), len(d_out), made_mask(d_in, d_out)))
        out_degrees = degrees[0].repeat_interleave(n_outputs)
        self.hidden = nn.ModuleList(layers)
        self.output = MaskedLinear(len(degrees[-1]), dim * n_outputs, made_mask(degrees[-1], out_degrees, True))
        nn.init.zeros_(self.output.weight)           # start as the identity transform
        nn.init.zeros_(self.output.bias)
        self.context = nn.Linear(context_dim, hidden[0]) if context_dim else None

    def forward(self, x, context=None):
        h = self.hidden[0](x)
        if self.context is not None and context is not None:
            h = h + self.context(context)
        h = torch.relu(h)
        for layer in self.hidden[1:]:
            h = torch.relu(layer(h))
        return self.output(h).reshape(len(x), self.dim, self.n_outputs)


class MaskedAffineAutoregressive(Transform):
    """y_i = x_i exp(s_i(x_<i)) + m_i(x_<i) on (batch, dim); s is kept in (-max_log_scale, max_log_scale)
    by a scaled tanh so that early training cannot overflow."""

    def __init__(self, dim, hidden=(64, 64), context_dim=None, max_log_scale=3.0):
        super().__init__()
        self.dim, self.max_log_scale = dim, max_log_scale
        self.made = MADE(dim, hidden, n_outputs=2, context_dim=context_dim)

    def shift_and_log_scale(self, x, context=None):
        check_vectors(x, self.dim)
        out = self.made(x, context)
        return out[..., 0], self.max_log_scale * torch.tanh(out[..., 1] / self.max_log_scale)

    def forward(self, x, context=None):
        shift, log_scale = self.shift_and_log_scale(x, context)
        return x * torch.exp(log_scale) + shift, log_scale.sum(-1)

    def inverse(self, y, context=None):
        x = torch.zeros_like(y)
        for _ in range(self.dim):                 # pass i fixes coordinate i (and every earlier one)
            shift, log_scale = self.shift_and_log_scale(x, context)
            x = (y - shift) * torch.exp(-log_scale)
        return x, -log_scale.sum(-1)


def iaf(dim, layers=2, hidden=(64, 64), context_dim=None):
    """An inverse autoregressive flow: ``layers`` masked affine steps in the generative direction,
    with the order reversed between them.  Fast sampling, slow density of new points."""
    steps = []
    for k in range(check_int("layers", layers, minimum=1)):
        if k:
            steps.append(Permutation.reverse(dim))
        steps.append(MaskedAffineAutoregressive(dim, hidden, context_dim))
    return Composite(steps)


def maf(dim, layers=2, hidden=(64, 64), context_dim=None):
    """A masked autoregressive flow: the same steps, each wrapped in Inverse.  Its generative map
    x_i = (u_i - m_i(x_<i)) exp(-s_i(x_<i)) conditions on the *output* x_<i: fast density, slow
    sampling."""
    steps = []
    for k in range(check_int("layers", layers, minimum=1)):
        if k:
            steps.append(Permutation.reverse(dim))
        steps.append(Inverse(MaskedAffineAutoregressive(dim, hidden, context_dim)))
    return Composite(steps)
