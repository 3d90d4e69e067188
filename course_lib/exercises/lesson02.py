"""Checks for the lesson 2 exercises (gradient estimators, and the surrogate loss that gives autograd REINFORCE)."""
import torch

from ..errors import CourseInputError
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


# -- the surrogate loss whose gradient is the score-function estimate -----------------------------------

def _f(z):
    return torch.cos(2 * z) + 0.5 * z ** 2


def _gradient_of(surrogate):
    """A function of the case that builds log q(z_i) (z_i drawn without a gradient path) and f(z_i) (with one,
    as when f's inputs come from the same parameters), calls ``surrogate(log_q, f_values, baseline)`` and
    returns the gradient of its result with respect to (mean, log_std): (2,)."""
    def gradient(mean, log_std, eps, baseline):
        params = torch.stack([mean, log_std]).detach().requires_grad_(True)
        sigma = params[1].exp()
        z = (params[0] + sigma * eps).detach()
        log_q = torch.distributions.Normal(params[0], sigma).log_prob(z)
        f_values = _f(params[0] + sigma * eps)                         # carries a pathwise graph: to be cut
        out = surrogate(log_q, f_values, baseline)
        if not isinstance(out, torch.Tensor) or out.numel() != 1:
            raise CourseInputError("the surrogate must be one number, a 0-dim tensor, whose gradient is the estimate.")
        if not out.requires_grad:
            raise CourseInputError("no gradient reaches the parameters: build the surrogate from log_q.")
        return torch.autograd.grad(out.reshape(()), params)[0]
    return gradient


def _surrogate(log_q, f_values, baseline):
    return ((f_values.detach() - baseline) * log_q).mean()


@graded
def score_function_surrogate(fn):
    """score_function_surrogate(log_q, f_values, baseline) -> a scalar whose autograd gradient with respect to q's
    parameters is the score-function estimate mean_i (f(z_i) - b) grad log q(z_i); f_values may carry gradients
    (they must be treated as constants)."""
    if not callable(fn):
        return run_check("score_function_surrogate", fn, [], _surrogate)
    g = torch.Generator().manual_seed(22)
    cases = [dict(mean=_number(0.4), log_std=_number(-0.3), eps=torch.randn(9, generator=g, dtype=torch.float64),
                  baseline=_number(0.7)),
             dict(mean=_number(-1.2), log_std=_number(0.5), eps=torch.randn(5, generator=g, dtype=torch.float64),
                  baseline=_number(0.0))]
    mistakes = [
        ("f_values carry gradients of their own (they come from the same parameters); the score-function estimate "
         "treats them as constants: use f_values.detach().",
         _gradient_of(lambda log_q, f, b: ((f - b) * log_q).mean())),
        ("the baseline is missing: the estimate multiplies the score by f(z) − b.",
         _gradient_of(lambda log_q, f, b: (f.detach() * log_q).mean())),
        ("the gradient points the other way: the surrogate's gradient must be +mean (f − b) ∇ log q.",
         _gradient_of(lambda log_q, f, b: -((f.detach() - b) * log_q).mean())),
        ("you summed over the samples; the estimate is their average.",
         _gradient_of(lambda log_q, f, b: ((f.detach() - b) * log_q).sum())),
        ("the score is the gradient of log q, not of q: multiply (f − b) by log_q itself.",
         _gradient_of(lambda log_q, f, b: ((f.detach() - b) * log_q.exp()).mean())),
    ]
    return run_check("score_function_surrogate", _gradient_of(fn), cases, _gradient_of(_surrogate), mistakes)


# -- a relaxed categorical sample (Gumbel-softmax) ------------------------------------------------------
def _relaxed(logits, uniform, temperature, noise=lambda u: -torch.log(-torch.log(u)), scale_all=True,
             divide=True, dim=-1, on_probabilities=False):
    g = noise(uniform)
    base = logits.softmax(-1) if on_probabilities else logits
    if not scale_all:
        return torch.softmax(base + g / temperature, dim=dim)
    return torch.softmax((base + g) / temperature if divide else (base + g) * temperature, dim=dim)


def _relaxed_cases():
    g = torch.Generator().manual_seed(23)
    logits = 2 * torch.randn(5, 4, generator=g, dtype=torch.float64)
    uniform = torch.rand(5, 4, generator=g, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
    return [dict(logits=logits, uniform=uniform, temperature=0.5), dict(logits=logits, uniform=uniform, temperature=2.0),
            dict(logits=logits[:3, :3], uniform=uniform[:3, :3], temperature=0.1)]


@graded
def relaxed_one_hot(fn):
    """relaxed_one_hot(logits, uniform, temperature) -> (n, K): the Gumbel-softmax sample softmax((logits + g) / τ)
    with g = -log(-log u) the Gumbel noise made from the uniform draws u (Jang et al., 2017; Maddison et al.,
    2017).  Its argmax is an exact sample of Categorical(softmax(logits)).  Equal to
    course_lib.estimators.gradients.gumbel_softmax_sample with the same uniform draws."""
    mistakes = [
        ("the uniform draws are not the noise: add Gumbel noise g = −log(−log u), which is what makes the argmax an "
         "exact sample of the categorical.", lambda logits, uniform, temperature: _relaxed(logits, uniform, temperature,
                                                                                          noise=lambda u: u)),
        ("−log u is exponential noise; the Gumbel noise the trick needs is −log(−log u).",
         lambda logits, uniform, temperature: _relaxed(logits, uniform, temperature, noise=lambda u: -torch.log(u))),
        ("the sign of the Gumbel noise: g = −log(−log u).",
         lambda logits, uniform, temperature: _relaxed(logits, uniform, temperature,
                                                       noise=lambda u: torch.log(-torch.log(u)))),
        ("divide the whole perturbed logit, logits + g, by τ, not the noise alone.",
         lambda logits, uniform, temperature: _relaxed(logits, uniform, temperature, scale_all=False)),
        ("divide by τ: a small temperature must sharpen the sample towards one-hot.",
         lambda logits, uniform, temperature: _relaxed(logits, uniform, temperature, divide=False)),
        ("add the noise to the logits (log-probabilities up to a constant), not to the probabilities.",
         lambda logits, uniform, temperature: _relaxed(logits, uniform, temperature, on_probabilities=True)),
        ("normalise over the K categories of each sample (the last axis), not over the samples.",
         lambda logits, uniform, temperature: _relaxed(logits, uniform, temperature, dim=0)),
        ("that is the exact Gumbel-max sample: one-hot, and without a gradient. The relaxation replaces the argmax by "
         "a softmax at temperature τ.",
         lambda logits, uniform, temperature: torch.nn.functional.one_hot(
             (logits - torch.log(-torch.log(uniform))).argmax(-1), logits.shape[-1]).to(logits.dtype)),
    ]
    return run_check("relaxed_one_hot", fn, _relaxed_cases(), _relaxed, mistakes, noise="uniform")
