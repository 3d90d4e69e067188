"""Monte Carlo estimators of  d/dphi E_{q_phi(z)}[f(z)].

For a one-dimensional Gaussian q = N(mu, sigma^2) with phi = (mu, log sigma):

* score function (REINFORCE; Williams, 1992):
      grad = E_q[(f(z) - b) * d/dphi log q(z)],   z ~ q
  where d/dmu log q = (z - mu) / sigma^2 and d/dlog sigma log q = (z - mu)^2 / sigma^2 - 1.
  Any constant baseline b leaves it unbiased because E_q[d/dphi log q] = 0.
* pathwise (reparameterization; Kingma & Welling, 2014):
      z = mu + sigma * eps,  eps ~ N(0, 1),   grad = E[f'(z) * dz/dphi]
  with dz/dmu = 1 and dz/dlog sigma = sigma * eps.

Both functions return *per-sample* estimates of shape (n, 2), columns
(d/dmu, d/dlog sigma), so a lesson can take their mean (the estimate) and
their variance (its cost).  ``f`` maps a tensor of z values to f(z) elementwise.
"""
import math

import torch

from ..capture import capturable
from ..errors import CourseInputError, check_int, check_number


def _evaluate(f, z):
    """f(z), checked: f must be a function that maps the tensor z (n,) to a tensor (n,)."""
    if not callable(f):
        raise CourseInputError(f"f must be a function of z, got {type(f).__name__}.")
    try:
        fz = f(z)
    except Exception as e:
        raise CourseInputError(f"f(z) failed with {type(e).__name__}: {e}  f must take a tensor z of shape "
                               "(n,) and use torch operations, so that gradients can flow.") from e
    if not isinstance(fz, torch.Tensor):
        raise CourseInputError(f"f must return a torch.Tensor (use torch functions), got {type(fz).__name__}.")
    if fz.shape != z.shape:
        raise CourseInputError(f"f must act elementwise: f(z) has shape {tuple(fz.shape)}, z has {tuple(z.shape)}.")
    return fz


def _setup(mean, log_std, n, generator, eps=None):
    """The checked numbers and the noise eps ~ N(0, 1), (n,) float64: drawn here, or the ``eps`` given."""
    mean, log_std = check_number("mean", mean), check_number("log_std", log_std)
    n = check_int("n", n, minimum=1)
    if eps is None:
        eps = torch.randn(n, generator=generator, dtype=torch.float64)
    elif eps.shape != (n,):
        raise CourseInputError(f"eps must hold n = {n} numbers, shape ({n},); got shape {tuple(eps.shape)}.")
    return mean, log_std, eps


def gaussian_score(z, mean, log_std):
    """The score of q = N(mean, exp(log_std)^2):

        d/dmean log q(z)    = (z - mean) / sigma^2
        d/dlog_std log q(z) = (z - mean)^2 / sigma^2 - 1

    z: (n,); mean, log_std: numbers.  -> (n, 2), columns (d/dmean, d/dlog_std).
    """
    var = torch.exp(2 * torch.as_tensor(log_std, dtype=z.dtype))
    return torch.stack([(z - mean) / var, (z - mean) ** 2 / var - 1], dim=-1)


def score_function_samples(f, mean, log_std, n, baseline=0.0, generator=None, eps=None):
    """Per-sample REINFORCE estimates (f(z) - b) * grad log q(z), z = mean + sigma eps.  -> (n, 2).
    eps: the standard-normal noise (n,), or None to draw it from ``generator``."""
    mean, log_std, eps = _setup(mean, log_std, n, generator, eps)
    z = mean + math.exp(log_std) * eps
    return (_evaluate(f, z) - baseline).unsqueeze(1) * gaussian_score(z, mean, log_std)


def pathwise_samples(f, mean, log_std, n, generator=None, eps=None):
    """Per-sample reparameterization estimates  f'(z) * dz/d(mean, log_std).  -> (n, 2).

    f'(z) comes from autograd: each f(z_i) depends on z_i only, so the gradient
    of sum_i f(z_i) with respect to the vector z holds every f'(z_i).  eps: as in :func:`score_function_samples`.
    """
    mean, log_std, eps = _setup(mean, log_std, n, generator, eps)
    std = math.exp(log_std)
    z = (mean + std * eps).requires_grad_()
    f_prime = torch.autograd.grad(_evaluate(f, z).sum(), z)[0]
    return torch.stack([f_prime, f_prime * std * eps], dim=1)


def lognormal_pathwise_mean(mean, log_std, n, generator=None):
    """Per-sample pathwise estimates of d/dmu E[z] for the log-normal z = exp(mu + sigma * eps).

    dz/dmu = exp(mu + sigma * eps) = z; the exact gradient is d/dmu exp(mu + sigma^2/2) = exp(mu + sigma^2/2).
    -> (n,)
    """
    mean, log_std, eps = _setup(mean, log_std, n, generator)
    u = (mean + math.exp(log_std) * eps).requires_grad_()
    return torch.autograd.grad(torch.exp(u).sum(), u)[0]


def gamma_implicit_samples(alpha, rate, n):
    """Per-sample implicit reparameterization gradients dz/dalpha for z ~ Gamma(alpha, rate)
    (Figurnov et al., 2018; what ``torch.distributions.Gamma.rsample`` differentiates).

    Their mean estimates d/dalpha E[z] = d/dalpha (alpha / rate) = 1 / rate.  -> (n,)
    PyTorch's Gamma sampler takes no generator: seed with ``torch.manual_seed``.
    """
    alpha = check_number("alpha", alpha, minimum=0.0, strict_minimum=True)
    rate = check_number("rate", rate, minimum=0.0, strict_minimum=True)
    n = check_int("n", n, minimum=1)
    alphas = torch.full((n,), alpha, dtype=torch.float64, requires_grad=True)   # one alpha per sample
    z = torch.distributions.Gamma(alphas, torch.tensor(rate, dtype=torch.float64)).rsample()
    return torch.autograd.grad(z.sum(), alphas)[0]


def gumbel_softmax_sample(logits, temperature, generator=None, n=1):
    """Relaxed one-hot sample softmax((logits + g) / tau), g ~ Gumbel(0, 1) (Jang et al., 2017;
    Maddison et al., 2017).  logits: (K,) -> (n, K).  As tau -> 0 it tends to the one-hot
    of argmax(logits + g), which is an exact sample of Categorical(softmax(logits))."""
    tau = check_number("temperature", temperature, minimum=0.0, strict_minimum=True)
    n = check_int("n", n, minimum=1)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 1 or not logits.is_floating_point():
        raise CourseInputError(f"logits must be a 1-D float tensor (K,), got {type(logits).__name__} "
                               f"{tuple(getattr(logits, 'shape', ()))}.")
    u = torch.rand(n, logits.shape[-1], generator=generator, dtype=logits.dtype).clamp(1e-12, 1 - 1e-12)
    g = -torch.log(-torch.log(u))
    return torch.softmax((logits + g) / tau, dim=-1)


def score_function_vae_objective(baseline="decoded_mean"):
    """A ``fit`` loss in which the *encoder* learns from the score-function estimator.

    The reconstruction term E_q[log p(x|z)] is differentiated w.r.t. the encoder
    by REINFORCE instead of the reparameterization trick:

        surrogate = -mean_i[(log p(x_i|z_i) - b_i) * log q(z_i|x_i)],   z_i ~ q (no pathwise gradient)

    baseline: None, or "decoded_mean", b_i = log p(x_i | z = mean of q(z|x_i)), a control
    variate that does not depend on the sampled z_i, so the estimator stays unbiased.
    The decoder and the closed-form KL get their usual gradients.  The returned
    ``loss`` has the value of the negative ELBO; only its gradient differs.
    """
    if baseline not in (None, "decoded_mean"):
        raise CourseInputError(f"baseline must be None or 'decoded_mean', got {baseline!r}.")

    @capturable  # only tensor operations: fit may record it as a CUDA graph
    def loss_fn(model, x, step):
        x = model.check_input(x)
        q = model.encoder(x)
        z = q.rsample().detach()                        # a sample without a path back to phi
        log_px_given_z = model.decoder(z).log_prob(x)   # gradient reaches the decoder only
        signal = log_px_given_z.detach()
        if baseline == "decoded_mean":
            with torch.no_grad():
                signal = signal - model.decoder(q.mean).log_prob(x)
        surrogate = -(signal * q.log_prob(z)).mean()
        distortion, rate = -log_px_given_z.mean(), q.kl_standard_normal().mean()
        return {"loss": distortion + rate + surrogate - surrogate.detach(),
                "distortion": distortion, "rate": rate, "elbo": -(distortion + rate)}

    return loss_fn
