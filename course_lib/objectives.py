"""Bounds on log p(x) and the units they are reported in.

All functions work per example: inputs carry a batch dimension and the result
has one value per example, so a lesson can average, plot or compare freely.
"""
import math

import torch

from .errors import CourseInputError, check_int


def elbo(log_px_given_z: torch.Tensor, kl: torch.Tensor) -> torch.Tensor:
    """ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z)).  (batch,), (batch,) -> (batch,)."""
    return log_px_given_z - kl


def importance_weighted_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """IWAE_k = log (1/k) sum_i w_i  with  log w_i = log p(x, z_i) - log q(z_i|x),  z_i ~ q.

    log_weights: (k, batch) -> (batch,).  Computed with logsumexp for stability.
    For k = 1 it is an unbiased estimate of the ELBO; its expectation rises with
    k towards log p(x) (Burda et al., 2016).
    """
    if not isinstance(log_weights, torch.Tensor) or log_weights.dim() < 1 or log_weights.shape[0] < 1:
        raise CourseInputError("log_weights must have shape (k, batch) with k >= 1.")
    k = log_weights.shape[0]
    return torch.logsumexp(log_weights, dim=0) - math.log(k)


def bits_per_dim(nll_nats: torch.Tensor | float, num_dims: int) -> torch.Tensor | float:
    """Convert a negative log-likelihood in nats per example to bits per dimension:
    bpd = nll / (D * ln 2)."""
    num_dims = check_int("num_dims", num_dims, minimum=1)
    return nll_nats / (num_dims * math.log(2.0))
