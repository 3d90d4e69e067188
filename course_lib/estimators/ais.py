"""Annealed importance sampling (Neal, 2001) for log p(x) of a latent-variable model.

The path of power posteriors  pi_t(z) ∝ p(z) p(x|z)^beta_t,  0 = beta_0 < beta_1 < ... < beta_T = 1,
runs from the prior to the posterior.  Each chain starts at z_0 ~ p(z) and, for t = 1 .. T,

    log w += (beta_t - beta_{t-1}) log p(x | z_{t-1})          (the weight update)
    z_t    = a Markov step that leaves pi_t invariant          (here: Hamiltonian Monte Carlo)

Then E[w] = p(x) exactly, for any number of steps and any mixing of the Markov steps, so
log mean_chains w estimates log p(x); by Jensen it is biased downwards in expectation, and the
bias shrinks as T grows.  T = 1 is importance sampling from the prior.
"""
import math

import torch

from ..errors import CourseInputError, check_int, check_number


def geometric_betas(n_steps):
    """T + 1 inverse temperatures from 0 to 1, spaced evenly on a sigmoid (dense at both ends), or
    [0, 1] for T = 1."""
    n_steps = check_int("n_steps (T)", n_steps, minimum=1)
    if n_steps == 1:
        return torch.tensor([0.0, 1.0], dtype=torch.float64)
    s = torch.sigmoid(torch.linspace(-4, 4, n_steps + 1, dtype=torch.float64))
    return (s - s[0]) / (s[-1] - s[0])


def _hmc_step(z, log_target, step_size, leapfrog):
    """One Hamiltonian Monte Carlo step per chain (identity mass), with a Metropolis correction."""
    def grad(v):
        v = v.detach().requires_grad_(True)
        with torch.enable_grad():
            value = log_target(v)
            g, = torch.autograd.grad(value.sum(), v)
        return value.detach(), g

    momentum = torch.randn_like(z)
    value, g = grad(z)
    h_start = -value + 0.5 * (momentum ** 2).sum(-1)
    v, p = z, momentum + 0.5 * step_size * g
    for i in range(leapfrog):
        v = v + step_size * p
        new_value, g = grad(v)
        if i < leapfrog - 1:
            p = p + step_size * g
    p = p + 0.5 * step_size * g
    h_end = -new_value + 0.5 * (p ** 2).sum(-1)
    accept = torch.rand_like(h_start).log() < (h_start - h_end)
    accept = accept & torch.isfinite(h_end)
    return torch.where(accept[..., None], v, z), accept.double().mean()


def ais(log_prior, log_likelihood, sample_prior, n_steps, n_chains, step_size=0.1, leapfrog=5, generator_seed=0):
    """log p(x) by AIS with T = ``n_steps`` and HMC transitions.

    log_prior(z), log_likelihood(z): (chains, ..., k) -> (chains, ...);  sample_prior(n) -> (n, ..., k).
    The ``...`` axes are independent problems (one per image), so several x are estimated at once.
    Returns (log p(x) estimate (...), log weights (chains, ...), mean acceptance rate); with
    T = 1 no HMC move is made (importance sampling from the prior) and the rate is nan.
    """
    n_chains = check_int("n_chains", n_chains, minimum=1)
    step_size = check_number("step_size", step_size, minimum=0.0, strict_minimum=True)
    leapfrog = check_int("leapfrog", leapfrog, minimum=1)
    betas = geometric_betas(n_steps)
    torch.manual_seed(generator_seed)
    z = sample_prior(n_chains)
    log_w = torch.zeros(z.shape[:-1], dtype=z.dtype, device=z.device)
    rates = []
    for t in range(1, len(betas)):
        with torch.no_grad():
            log_w = log_w + (betas[t] - betas[t - 1]).item() * log_likelihood(z)
        if t < len(betas) - 1:                       # no move is needed after the last update
            beta = betas[t].item()
            z, rate = _hmc_step(z, lambda v: log_prior(v) + beta * log_likelihood(v), step_size, leapfrog)  # noqa: B023 (called in this iteration)
            rates.append(float(rate))
    if not torch.isfinite(log_w).all():
        raise CourseInputError("AIS produced non-finite weights; try a smaller step_size or more steps.")
    estimate = torch.logsumexp(log_w, 0) - math.log(n_chains)
    return estimate, log_w, (sum(rates) / len(rates) if rates else float("nan"))


def log_mean_standard_error(log_w):
    """The delta-method standard error of log mean_chains w: sd(w / mean w) / sqrt(chains).  (chains, ...) -> (...)."""
    w = torch.exp(log_w - log_w.max(0).values)
    return (w / w.mean(0)).std(0) / math.sqrt(len(log_w))
