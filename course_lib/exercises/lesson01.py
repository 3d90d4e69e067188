"""Checks for the lesson 1 exercises (the ELBO)."""
import math

import torch

from .feedback import apply_answer, graded, run_check

_g = torch.Generator().manual_seed(101)
_MEAN = torch.randn(5, 3, generator=_g, dtype=torch.float64)
_LOG_VAR = torch.randn(5, 3, generator=_g, dtype=torch.float64)
_EPS = torch.randn(5, 3, generator=_g, dtype=torch.float64)


def _kl(mean, log_var):
    return 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)


@graded
def kl_standard_normal(fn):
    """KL(N(mean, diag exp(log_var)) || N(0, I)) per row: (batch, d) -> (batch,)."""
    cases = [dict(mean=_MEAN, log_var=_LOG_VAR), dict(mean=_MEAN[:1, :1], log_var=_LOG_VAR[:1, :1])]
    mistakes = [
        ("the sign is flipped: KL is never negative. Check the order of the terms.",
         lambda mean, log_var: -_kl(mean, log_var)),
        ("the value is twice the right one: did you forget the factor 1/2?",
         lambda mean, log_var: 2 * _kl(mean, log_var)),
        ("you averaged over the latent dimensions; the KL of independent coordinates is their sum.",
         lambda mean, log_var: _kl(mean, log_var) / mean.shape[-1]),
        ("it looks as if you used exp(log_var / 2), the standard deviation, where the variance belongs.",
         lambda mean, log_var: 0.5 * ((0.5 * log_var).exp() + mean ** 2 - 1 - log_var).sum(-1)),
        ("the -1 inside the sum is missing.",
         lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - log_var).sum(-1)),
    ]
    return run_check("kl_standard_normal", fn, cases, _kl, mistakes)


@graded
def reparameterize(fn):
    """z = mean + std * eps with std = exp(log_var / 2)."""
    cases = [dict(mean=_MEAN, log_var=_LOG_VAR, eps=_EPS)]
    mistakes = [
        ("you multiplied eps by the variance exp(log_var); it needs the standard deviation exp(log_var / 2).",
         lambda mean, log_var, eps: mean + log_var.exp() * eps),
        ("you multiplied eps by log_var itself; it needs the standard deviation exp(log_var / 2).",
         lambda mean, log_var, eps: mean + log_var * eps),
        ("the mean is missing: z should be centred on `mean`.",
         lambda mean, log_var, eps: (0.5 * log_var).exp() * eps),
        ("you subtracted the noise term; z = mean + std * eps (the sign matters for which sample you get).",
         lambda mean, log_var, eps: mean - (0.5 * log_var).exp() * eps),
        ("z equals the mean: the noise term std * eps is missing, so z does not depend on `eps`.",
         lambda mean, log_var, eps: mean + 0 * eps),
    ]

    def reference(mean, log_var, eps):
        return mean + (0.5 * log_var).exp() * eps

    feedback = run_check("reparameterize", fn, cases, reference, mistakes, noise="eps")
    if feedback.passed:                                   # gradients must reach mean and log_var
        case = dict(mean=_MEAN.clone().requires_grad_(), log_var=_LOG_VAR.clone().requires_grad_(), eps=_EPS)
        out = apply_answer("reparameterize", fn, case)
        if not out.requires_grad:
            feedback.passed, feedback.message = False, (
                "the values are right, but gradients cannot flow back to mean and log_var "
                "(did you use .detach(), .item() or torch.no_grad()?)")
    return feedback


def _iwae(log_weights):
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


@graded
def iwae_bound(fn):
    """IWAE_k = logsumexp_i(log w_i) - log k over the first axis: (k, batch) -> (batch,)."""
    g = torch.Generator().manual_seed(7)
    cases = [dict(log_weights=torch.randn(6, 4, generator=g, dtype=torch.float64)),
             dict(log_weights=torch.randn(3, 2, generator=g, dtype=torch.float64) - 1000.0)]
    mistakes = [
        ("this is the average of the log-weights, which is the ELBO estimate, not IWAE: "
         "average the weights themselves, in log space.",
         lambda log_weights: log_weights.mean(0)),
        ("the -log k is missing: IWAE averages the k weights, it does not add them.",
         lambda log_weights: torch.logsumexp(log_weights, dim=0)),
        ("you divided the log of the sum by k; averaging the weights subtracts log k in log space.",
         lambda log_weights: torch.logsumexp(log_weights, dim=0) / log_weights.shape[0]),
        ("this is the largest log-weight only; logsumexp adds all k weights (and then subtract log k).",
         lambda log_weights: log_weights.max(dim=0).values),
        ("you subtracted k instead of log k.",
         lambda log_weights: torch.logsumexp(log_weights, dim=0) - log_weights.shape[0]),
    ]
    return run_check("iwae_bound", fn, cases, _iwae, mistakes)
