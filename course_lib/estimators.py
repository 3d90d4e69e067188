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

from .errors import CourseInputError, check_int, check_number


def _setup(mean, log_std, n, generator):
    mean, log_std = check_number("mean", mean), check_number("log_std", log_std)
    n = check_int("n", n, minimum=1)
    eps = torch.randn(n, generator=generator, dtype=torch.float64)
    return mean, log_std, eps


def score_function_samples(f, mean, log_std, n, baseline=0.0, generator=None):
    """Per-sample REINFORCE estimates (f(z) - b) * grad log q(z).  -> (n, 2)."""
    mean, log_std, eps = _setup(mean, log_std, n, generator)
    std = math.exp(log_std)
    z = mean + std * eps
    fz = f(z)
    score = torch.stack([(z - mean) / std ** 2, (z - mean) ** 2 / std ** 2 - 1], dim=1)
    return (fz - baseline).unsqueeze(1) * score


def pathwise_samples(f, mean, log_std, n, generator=None):
    """Per-sample reparameterization estimates  f'(z) * dz/d(mean, log_std).  -> (n, 2).

    f'(z) comes from autograd: each f(z_i) depends on z_i only, so the gradient
    of sum_i f(z_i) with respect to the vector z holds every f'(z_i).
    """
    mean, log_std, eps = _setup(mean, log_std, n, generator)
    std = math.exp(log_std)
    z = (mean + std * eps).requires_grad_()
    fz = f(z)
    if fz.shape != z.shape:
        raise CourseInputError(f"f must act elementwise: f(z) has shape {tuple(fz.shape)}, z has {tuple(z.shape)}.")
    f_prime = torch.autograd.grad(fz.sum(), z)[0]
    return torch.stack([f_prime, f_prime * std * eps], dim=1)


def lognormal_pathwise_mean(mean, log_std, n, generator=None):
    """Per-sample pathwise estimates of d/dmu E[z] for the log-normal z = exp(mu + sigma * eps).

    dz/dmu = exp(mu + sigma * eps) = z; the exact gradient is d/dmu exp(mu + sigma^2/2) = exp(mu + sigma^2/2).
    -> (n,)
    """
    mean, log_std, eps = _setup(mean, log_std, n, generator)
    u = (mean + math.exp(log_std) * eps).requires_grad_()
    return torch.autograd.grad(torch.exp(u).sum(), u)[0]


def gumbel_softmax_sample(logits, temperature, generator=None, n=1):
    """Relaxed one-hot sample softmax((logits + g) / tau), g ~ Gumbel(0, 1) (Jang et al., 2017;
    Maddison et al., 2017).  logits: (K,) -> (n, K).  As tau -> 0 it tends to the one-hot
    of argmax(logits + g), which is an exact sample of Categorical(softmax(logits))."""
    tau = check_number("temperature", temperature, minimum=0.0, strict_minimum=True)
    n = check_int("n", n, minimum=1)
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

    def loss_fn(model, x, step):
        model._check_x(x)
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
