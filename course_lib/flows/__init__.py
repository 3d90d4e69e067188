"""Normalizing flows: one contract for every invertible transform.

Every transform is an ``nn.Module`` with

    forward(x, context=None) -> (y, logabsdet)     logabsdet = log |det dy/dx|, shape (batch,)
    inverse(y, context=None) -> (x, logabsdet)     logabsdet = log |det dx/dy| = -(forward's)

``forward`` is the generative direction of the course text: z_k = f_k(z_{k-1}), from the
base distribution towards the data.  ``context`` is an optional (batch, c) tensor that a
conditional transform reads (a VAE's encoder output); the others ignore it.

What is inside:

* :mod:`.base`            Transform, Composite (sums log-determinants), Inverse (swaps the two
                          directions: how an IAF becomes a MAF), Permutation, Flow (a base
                          distribution pushed through a transform), and a brute-force Jacobian
* :mod:`.planar`          planar and radial flows (Rezende & Mohamed, 2015)
* :mod:`.autoregressive`  MADE masks, the masked affine autoregressive transform, IAF and MAF
* :mod:`.coupling`        affine coupling (Real NVP), masks, squeeze, factor-out, the logit map
* :mod:`.glow`            ActNorm and the LU-parameterised invertible 1x1 convolution (Glow)
"""
from .autoregressive import MADE, MaskedAffineAutoregressive, iaf, made_mask, maf
from .base import (
    Composite,
    Flow,
    Identity,
    Inverse,
    NoClosedFormInverse,
    Permutation,
    Transform,
    autograd_logabsdet,
    standard_normal_log_prob,
)
from .coupling import (
    AffineCoupling,
    FactorOut,
    LogitTransform,
    Squeeze,
    alternating_masks,
    checkerboard_mask,
    coupling_cnn,
    coupling_mlp,
)
from .glow import ActNorm, InvertibleConv1x1
from .planar import Planar, Radial

__all__ = [
                   "MADE",
                   "ActNorm",
                   "AffineCoupling",
                   "Composite",
                   "FactorOut",
                   "Flow",
                   "Identity",
                   "Inverse",
                   "InvertibleConv1x1",
                   "LogitTransform",
                   "MaskedAffineAutoregressive",
                   "NoClosedFormInverse",
                   "Permutation",
                   "Planar",
                   "Radial",
                   "Squeeze",
                   "Transform",
                   "alternating_masks",
                   "autograd_logabsdet",
                   "checkerboard_mask",
                   "coupling_cnn",
                   "coupling_mlp",
                   "iaf",
                   "made_mask",
                   "maf",
                   "standard_normal_log_prob",
]
