"""The alpha-divergence family, the Renyi divergence and the variational Renyi (VR) bound.

Amari's alpha-divergence (the convention used here), for densities p and q:

    D_alpha(p || q) = (1 - integral p^alpha q^(1 - alpha)) / (alpha (1 - alpha)),   alpha not 0 or 1
    D_alpha -> KL(p || q) as alpha -> 1,   D_alpha -> KL(q || p) as alpha -> 0
    D_1/2  = 4 (1 - integral sqrt(p q)) = 2 integral (sqrt p - sqrt q)^2     (4 x squared Hellinger)
    D_2    = chi^2(p || q) / 2,            D_-1 = chi^2(q || p) / 2

It is 0 when p = q for every alpha.  The Renyi divergence of order alpha is

    R_alpha(q || p) = log(integral q^alpha p^(1 - alpha)) / (alpha - 1),

and Li & Turner's (2016) VR bound for a latent-variable model is

    L_alpha(x) = log E_q[(p(x, z) / q(z|x))^(1 - alpha)] / (1 - alpha) = log p(x) - R_alpha(q(z|x) || p(z|x)):
    alpha -> 1 gives the ELBO, alpha = 0 gives log p(x), and it falls as alpha grows.
"""
import math

import torch

from ..errors import CourseInputError, check_number


def _check_alpha(alpha):
    return check_number("alpha", alpha)


def alpha_divergence_grid(log_p, log_q, alpha, cell):
    """D_alpha(p || q) by quadrature: log_p, log_q are log-densities on a grid of cells of size ``cell``
    (a length for 1-d grids, an area for 2-d ones).  The limits alpha = 1 and alpha = 0 are the two KLs."""
    alpha = _check_alpha(alpha)
    p, q = log_p.exp(), log_q.exp()
    if alpha == 1.0:
        return float((p * (log_p - log_q)).sum() * cell)
    if alpha == 0.0:
        return float((q * (log_q - log_p)).sum() * cell)
    integral = float(torch.exp(alpha * log_p + (1 - alpha) * log_q).sum() * cell)
    return (1 - integral) / (alpha * (1 - alpha))


def text_alpha_divergence_grid(log_p, log_q, alpha, cell):
    """The course text's formula, as written: integral p^alpha q^(1 - alpha) / (alpha (alpha - 1)) - 1 / (alpha - 1)."""
    alpha = _check_alpha(alpha)
    if alpha in (0.0, 1.0):
        raise CourseInputError("alpha must not be 0 or 1 in the text's formula (it divides by alpha (alpha - 1)).")
    integral = float(torch.exp(alpha * log_p + (1 - alpha) * log_q).sum() * cell)
    return integral / (alpha * (alpha - 1)) - 1 / (alpha - 1)


def gaussian_power_integral(mean_p, std_p, mean_q, std_q, alpha):
    """integral N(x; m_p, s_p^2)^alpha N(x; m_q, s_q^2)^(1 - alpha) dx in closed form (1-d), defined when
    s_alpha^2 = alpha s_q^2 + (1 - alpha) s_p^2 > 0:
        s_p^(1 - alpha) s_q^alpha / s_alpha * exp(-alpha (1 - alpha) (m_p - m_q)^2 / (2 s_alpha^2))."""
    alpha = _check_alpha(alpha)
    var = alpha * std_q ** 2 + (1 - alpha) * std_p ** 2
    if var <= 0:
        return math.inf
    return (std_p ** (1 - alpha) * std_q ** alpha / math.sqrt(var)
            * math.exp(-alpha * (1 - alpha) * (mean_p - mean_q) ** 2 / (2 * var)))


def alpha_divergence_gaussians(mean_p, std_p, mean_q, std_q, alpha):
    """D_alpha(N(m_p, s_p^2) || N(m_q, s_q^2)), exactly (1-d); +inf where the integral diverges."""
    alpha = _check_alpha(alpha)
    if alpha == 1.0:
        return math.log(std_q / std_p) + (std_p ** 2 + (mean_p - mean_q) ** 2) / (2 * std_q ** 2) - 0.5
    if alpha == 0.0:
        return alpha_divergence_gaussians(mean_q, std_q, mean_p, std_p, 1.0)
    return (1 - gaussian_power_integral(mean_p, std_p, mean_q, std_q, alpha)) / (alpha * (1 - alpha))


def renyi_gaussians(mean_q, cov_q, mean_p, cov_p, alpha):
    """R_alpha(N(m_q, S_q) || N(m_p, S_p)) where S_a = alpha S_p + (1 - alpha) S_q is positive definite
    (+inf otherwise, where the integral diverges) (Gil et al., 2013):
        alpha/2 d^T S_a^-1 d - 1/(2 (alpha - 1)) log(det S_a / (det S_q^(1 - alpha) det S_p^alpha)),  d = m_q - m_p."""
    alpha = _check_alpha(alpha)
    if alpha == 1.0:
        raise CourseInputError("alpha must not be 1 here; the limit alpha -> 1 is KL(q || p).")
    mixed = alpha * cov_p + (1 - alpha) * cov_q
    if not bool((torch.linalg.eigvalsh(mixed) > 0).all()):
        return torch.tensor(math.inf, dtype=mixed.dtype)            # the integral diverges
    diff = (mean_q - mean_p).unsqueeze(-1)
    quad = (diff.transpose(-1, -2) @ torch.linalg.solve(mixed, diff)).squeeze(-1).squeeze(-1)
    log_ratio = torch.logdet(mixed) - (1 - alpha) * torch.logdet(cov_q) - alpha * torch.logdet(cov_p)
    return alpha / 2 * quad - log_ratio / (2 * (alpha - 1))


def vr_bound(log_weights, alpha):
    """Monte Carlo VR bound from log w_i = log p(x, z_i) - log q(z_i|x), z_i ~ q (k draws on axis 0):
    log mean w^(1 - alpha) / (1 - alpha); alpha = 1 gives the mean of log w (the ELBO).  (k, batch) -> (batch,)."""
    alpha = _check_alpha(alpha)
    if alpha == 1.0:
        return log_weights.mean(0)
    k = log_weights.shape[0]
    return (torch.logsumexp((1 - alpha) * log_weights, 0) - math.log(k)) / (1 - alpha)
