"""Disentanglement on data with known factors: the mutual information between each latent and each
factor, and the Mutual Information Gap (MIG; Chen et al., 2018).

With codes c_j (the posterior means, one per latent j) and discrete factors v_k,

    I(c_j; v_k)  estimated by binning c_j into ``bins`` equal-width bins and counting
    MIG = (1/K) Σ_k [ I(c_(j1); v_k) − I(c_(j2); v_k) ] / H(v_k)

where j1 and j2 are the latents with the largest and second-largest information
about factor k.  MIG is in [0, 1]: 1 when each factor is captured by one latent
alone.  (Binning makes the MI estimate biased; with the same bins and data it
compares models fairly.)  All quantities are in nats.
"""
import numpy as np
import torch

from ..errors import CourseInputError, check_int


def _discrete_entropy(labels):
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _discrete_mutual_information(a, b):
    """I(a; b) of two integer label arrays, from their joint histogram."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())


def factor_entropies(factors):
    """H(v_k) of each discrete factor: factors (N, K) integers -> (K,) array."""
    factors = _factors(factors)
    return np.array([_discrete_entropy(factors[:, k]) for k in range(factors.shape[1])])


def mutual_information_matrix(codes, factors, bins=20):
    """I(c_j; v_k) for every latent j and factor k: codes (N, J), factors (N, K) -> (J, K) array."""
    factors = _factors(factors)
    if not isinstance(codes, torch.Tensor) or codes.dim() != 2 or len(codes) != len(factors):
        raise CourseInputError(f"codes must be a tensor of shape (N, latents) with N = {len(factors)} rows, "
                               f"got {tuple(getattr(codes, 'shape', ()))}.")
    bins = check_int("bins", bins, minimum=2)
    codes = codes.detach().cpu().double().numpy()
    binned = np.stack([np.digitize(c, np.histogram_bin_edges(c, bins)[1:-1]) for c in codes.T], axis=1)
    return np.array([[_discrete_mutual_information(binned[:, j], factors[:, k])
                      for k in range(factors.shape[1])] for j in range(codes.shape[1])])


def binning_bias(n_values: int, n: int, bins: int = 20) -> float:
    """What :func:`mutual_information_matrix` gives on average for a latent *unrelated* to a factor with
    ``n_values`` values, over ``n`` samples: the plug-in estimate of the information between two independent
    discrete variables is biased upwards by about (bins − 1)(n_values − 1) / (2n) nats (Miller, 1955; the
    first term of its expansion in 1/n).  A latent's binned information is news only well above this.
    -> float (nats)"""
    n_values = check_int("n_values", n_values, minimum=1)
    n = check_int("n", n, minimum=1)
    bins = check_int("bins", bins, minimum=2)
    return (bins - 1) * (n_values - 1) / (2 * n)


def mig(mi, entropies):
    """Mutual Information Gap from an MI matrix (J latents, K factors) and the factors' entropies (K,).

    Returns ``(mig, gaps)``: the mean over factors and the normalised gap of each factor.
    """
    mi = np.asarray(mi, dtype=float)
    entropies = np.asarray(entropies, dtype=float)
    if mi.ndim != 2 or mi.shape[0] < 2 or entropies.shape != (mi.shape[1],):
        raise CourseInputError(f"mi must have shape (latents >= 2, factors) and entropies (factors,); got "
                               f"{mi.shape} and {entropies.shape}.")
    top = np.sort(mi, axis=0)[::-1]
    gaps = (top[0] - top[1]) / entropies
    return float(gaps.mean()), gaps


def _factors(factors):
    if isinstance(factors, torch.Tensor):
        factors = factors.detach().cpu().numpy()
    factors = np.asarray(factors)
    if factors.ndim != 2 or not np.issubdtype(factors.dtype, np.integer):
        raise CourseInputError(f"factors must be integer factor indices of shape (N, factors), got "
                               f"{factors.dtype} {factors.shape}.")
    return factors
