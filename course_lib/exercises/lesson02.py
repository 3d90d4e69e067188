"""Checks for the lesson 2 exercises (gradient estimators)."""
import torch

from ..estimators.gradients import gaussian_score as _score
from .feedback import graded, run_check

_g = torch.Generator().manual_seed(202)
_Z = torch.randn(6, generator=_g, dtype=torch.float64) * 1.5 + 0.3


def _number(x):
    """The checks pass numbers as 0-dim float64 tensors, so `math` and `torch` functions both work on them."""
    return torch.tensor(x, dtype=torch.float64)


@graded
def gaussian_score(fn):
    """(d/dmean, d/dlog_std) of log N(z; mean, exp(log_std)^2): (n,) -> (n, 2)."""
    cases = [dict(z=_Z, mean=_number(0.3), log_std=_number(0.4)),
             dict(z=_Z[:2], mean=_number(-1.0), log_std=_number(-0.7))]
    mistakes = [
        ("d/dmean divides by the standard deviation; it should divide by the variance.",
         lambda z, mean, log_std: torch.stack([(z - mean) / torch.exp(log_std), _score(z, mean, log_std)[:, 1]], -1)),
        ("the signs are flipped: log q grows towards z, so d/dmean log q has the sign of z - mean.",
         lambda z, mean, log_std: -_score(z, mean, log_std)),
        ("d/dlog_std is missing its -1 (from the log sigma in the normalizing constant).",
         lambda z, mean, log_std: _score(z, mean, log_std) + torch.tensor([0.0, 1.0], dtype=z.dtype)),
        ("the two columns are swapped: column 0 is d/dmean, column 1 is d/dlog_std.",
         lambda z, mean, log_std: _score(z, mean, log_std).flip(-1)),
        ("column 1 is the derivative in sigma; the exercise asks for d/dlog_std = sigma * d/dsigma.",
         lambda z, mean, log_std: _score(z, mean, log_std) * torch.stack([torch.ones_like(log_std),
                                                                           torch.exp(-log_std)])),
    ]
    return run_check("gaussian_score", fn, cases, _score, mistakes)


_F = torch.randn(50, generator=_g, dtype=torch.float64) + 2.0
_S = torch.randn(50, 2, generator=_g, dtype=torch.float64)


def _reinforce(f_values, scores, baseline):
    return ((f_values - baseline).unsqueeze(-1) * scores).mean(0)


@graded
def reinforce_with_baseline(fn):
    """mean_i (f_i - b) * score_i over the samples: f (n,), scores (n, 2), b a number -> (2,)."""
    cases = [dict(f_values=_F, scores=_S, baseline=_number(1.5)),
             dict(f_values=_F[:3], scores=_S[:3], baseline=_number(0.0))]
    mistakes = [
        ("the baseline is not subtracted: use (f - baseline).",
         lambda f_values, scores, baseline: _reinforce(f_values, scores, 0.0)),
        ("the baseline is added; it must be subtracted.",
         lambda f_values, scores, baseline: _reinforce(f_values, scores, -baseline)),
        ("you summed over the samples; the estimator is their average.",
         lambda f_values, scores, baseline: _reinforce(f_values, scores, baseline) * len(f_values)),
        ("this is the product of two averages; the estimator averages the products (f_i - b) * score_i.",
         lambda f_values, scores, baseline: (f_values - baseline).mean() * scores.mean(0)),
    ]
    return run_check("reinforce_with_baseline", fn, cases, _reinforce, mistakes)


def _pathwise(f, mean, log_std, eps):
    params = torch.stack([torch.as_tensor(mean, dtype=torch.float64),
                          torch.as_tensor(log_std, dtype=torch.float64)]).requires_grad_()
    value = f(params[0] + params[1].exp() * eps).mean()
    return torch.autograd.grad(value, params)[0]


@graded
def pathwise_gradient(fn):
    """Reparameterization estimate of (d/dmean, d/dlog_std) E[f(z)], z = mean + exp(log_std) * eps -> (2,)."""
    eps = torch.randn(40, generator=_g, dtype=torch.float64)
    cases = [dict(f=torch.sin, mean=_number(0.4), log_std=_number(-0.3), eps=eps),
             dict(f=lambda z: (z - 1) ** 2, mean=_number(-0.5), log_std=_number(0.2), eps=eps[:5])]

    def d_sigma(f, mean, log_std, eps):                 # the gradient w.r.t. sigma instead of log sigma
        g = _pathwise(f, mean, log_std, eps)
        return torch.stack([g[0], g[1] / torch.exp(log_std)])

    mistakes = [
        ("the second entry is d/dsigma; the exercise asks for d/dlog_sigma = sigma * d/dsigma.", d_sigma),
        ("the gradient is zero: did the sample z lose its connection to mean and log_std (.detach(), .item())?",
         lambda f, mean, log_std, eps: torch.zeros(2, dtype=torch.float64)),
        ("you differentiated the sum of f(z_i); the estimate is the gradient of their average.",
         lambda f, mean, log_std, eps: _pathwise(f, mean, log_std, eps) * len(eps)),
        ("the signs are flipped: differentiate f itself (autograd.grad of the average), not -f.",
         lambda f, mean, log_std, eps: -_pathwise(f, mean, log_std, eps)),
    ]
    return run_check("pathwise_gradient", fn, cases, _pathwise, mistakes, rtol=1e-4, noise="eps")
