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
from dataclasses import dataclass, fields

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


def _per_chain(name, value, z):
    """``value`` = name(z) checked: one number per chain and problem, shape z.shape[:-1]."""
    if not isinstance(value, torch.Tensor) or value.shape != z.shape[:-1]:
        got = f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
        raise CourseInputError(f"{name}(z) must give one number per chain and problem, a tensor of shape "
                               f"{tuple(z.shape[:-1])} for z of shape {tuple(z.shape)} (sum over the last axis); "
                               f"got {got}.")
    return value


def _gradient(value, z):
    """d value.sum() / dz, zero where ``value`` does not depend on z (a flat prior, say)."""
    if not value.requires_grad:
        return torch.zeros_like(z)
    g, = torch.autograd.grad(value.sum(), z, allow_unused=True)
    return torch.zeros_like(z) if g is None else g


@dataclass
class _Point:
    """Chains at z, with what a step needs there: log p(z), log p(x|z) and their gradients in z.  Kept from one
    step to the next (a weight update, then a move from the same z), so each z is evaluated once.
    z, grad_prior, grad_likelihood: (chains, ..., k);  prior, likelihood: (chains, ...)."""
    z: torch.Tensor
    prior: torch.Tensor
    likelihood: torch.Tensor
    grad_prior: torch.Tensor
    grad_likelihood: torch.Tensor

    @classmethod
    def at(cls, z, log_prior, log_likelihood):
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            prior, likelihood = _per_chain("log_prior", log_prior(z), z), _per_chain("log_likelihood", log_likelihood(z), z)
            grad_prior, grad_likelihood = _gradient(prior, z), _gradient(likelihood, z)
        return cls(z.detach(), prior.detach(), likelihood.detach(), grad_prior, grad_likelihood)

    def log_target(self, beta):
        """log pi_beta(z), up to its constant: log p(z) + beta log p(x|z)."""
        return self.prior + beta * self.likelihood

    def grad(self, beta):
        return self.grad_prior + beta * self.grad_likelihood

    def where(self, keep, other):
        """This point for the chains where ``keep`` (chains, ...) is True, ``other`` elsewhere."""
        def pick(mine, theirs):
            return torch.where(keep.reshape(keep.shape + (1,) * (mine.dim() - keep.dim())), mine, theirs)
        return _Point(*(pick(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)))


def _hmc_step(start, beta, log_prior, log_likelihood, step_size, leapfrog):
    """One Hamiltonian Monte Carlo step per chain of pi_beta (identity mass), with a Metropolis correction.
    start: a :class:`_Point`.  -> (the chains' next point, the mean acceptance rate)"""
    momentum = torch.randn_like(start.z)
    h_start = -start.log_target(beta) + 0.5 * (momentum ** 2).sum(-1)
    p = momentum + 0.5 * step_size * start.grad(beta)
    end = start
    for i in range(leapfrog):
        end = _Point.at(end.z + step_size * p, log_prior, log_likelihood)
        if i < leapfrog - 1:
            p = p + step_size * end.grad(beta)
    p = p + 0.5 * step_size * end.grad(beta)
    h_end = -end.log_target(beta) + 0.5 * (p ** 2).sum(-1)
    accept = torch.rand_like(h_start).log() < (h_start - h_end)
    accept = accept & torch.isfinite(h_end)
    return end.where(accept, start), accept.double().mean()


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
    point = _Point.at(sample_prior(n_chains), log_prior, log_likelihood)
    log_w = torch.zeros(point.z.shape[:-1], dtype=point.z.dtype, device=point.z.device)
    rates = []
    for t in range(1, len(betas)):
        log_w = log_w + (betas[t] - betas[t - 1]).item() * point.likelihood
        if t < len(betas) - 1:                       # no move is needed after the last update
            point, rate = _hmc_step(point, betas[t].item(), log_prior, log_likelihood, step_size, leapfrog)
            rates.append(float(rate))
    if not torch.isfinite(log_w).all():
        raise CourseInputError("AIS produced non-finite weights; try a smaller step_size or more steps.")
    estimate = torch.logsumexp(log_w, 0) - math.log(n_chains)
    return estimate, log_w, (sum(rates) / len(rates) if rates else float("nan"))


def log_mean_standard_error(log_w):
    """The delta-method standard error of log mean_chains w: sd(w / mean w) / sqrt(chains).  (chains, ...) -> (...)."""
    w = torch.exp(log_w - log_w.max(0).values)
    return (w / w.mean(0)).std(0) / math.sqrt(len(log_w))
