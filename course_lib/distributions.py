"""The three distributions a VAE needs, written out so the formulas are visible.

Shape conventions: a distribution has a *batch* part and an *event* part.
``log_prob`` sums over the event dimensions and returns one number per batch
element.  For a latent code ``z`` of shape ``(batch, d)`` the event is the last
dimension; for images ``x`` of shape ``(batch, C, H, W)`` it is the last three.

Each class is checked against ``torch.distributions`` in ``tests/``.
"""
import math

import torch
import torch.nn.functional as F

from .errors import CourseInputError, check_tensor

LOG_2PI = math.log(2 * math.pi)


def _sum_event(t, event_dims):
    return t.sum(dim=tuple(range(-event_dims, 0))) if event_dims > 0 else t


def _check_pair(name_a, a, name_b, b):
    """Both tensors, of shapes that broadcast to each other."""
    for name, t in ((name_a, a), (name_b, b)):
        check_tensor(name, t)
    try:
        torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        raise CourseInputError(f"{name_a} {tuple(a.shape)} and {name_b} {tuple(b.shape)} must have the same shape "
                               "(or shapes that broadcast).") from None


class DiagonalGaussian:
    """N(mean, diag(exp(log_var))) over the last dimension.

    mean, log_var: (..., d), broadcastable to each other.
    """

    def __init__(self, mean, log_var):
        if not isinstance(mean, torch.Tensor) or not isinstance(log_var, torch.Tensor):
            raise CourseInputError("DiagonalGaussian needs tensors for mean and log_var.")
        try:
            self.mean, self.log_var = torch.broadcast_tensors(mean, log_var)
        except RuntimeError:
            raise CourseInputError(
                f"mean {tuple(mean.shape)} and log_var {tuple(log_var.shape)} do not broadcast: "
                "log_var must have the shape of mean (or one that broadcasts to it).") from None

    @classmethod
    def standard(cls, *shape, device=None):
        """The standard normal N(0, I) with ``shape`` = (..., d)."""
        zeros = torch.zeros(*shape, device=device)
        return cls(zeros, zeros)

    @property
    def var(self):
        return self.log_var.exp()

    @property
    def std(self):
        return (0.5 * self.log_var).exp()

    def rsample(self, n_samples=None):
        """Reparameterized sample z = mean + std * eps, eps ~ N(0, I).

        Returns (..., d), or (n_samples, ..., d) when ``n_samples`` is given.
        Gradients flow to ``mean`` and ``log_var``.
        """
        shape = self.mean.shape if n_samples is None else (n_samples, *self.mean.shape)
        eps = torch.randn(shape, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def log_prob(self, z):
        """log N(z; mean, diag var) = -1/2 sum_i [log 2pi + log var_i + (z_i - mean_i)^2 / var_i].

        z: (..., d) -> (...)
        """
        return self.log_prob_per_dim(z).sum(-1)

    def log_prob_per_dim(self, z):
        """The terms of :meth:`log_prob`, one per coordinate.  z: (..., d) -> (..., d)"""
        return -0.5 * (LOG_2PI + self.log_var + (z - self.mean) ** 2 / self.var)

    def entropy(self):
        """H = 1/2 sum_i [log 2pi + 1 + log var_i].  Returns (...)."""
        return 0.5 * (LOG_2PI + 1.0 + self.log_var).sum(-1)

    def kl(self, other):
        """KL(self || other) between diagonal Gaussians, in closed form:

        1/2 sum_i [log var_p,i - log var_q,i + (var_q,i + (mean_q,i - mean_p,i)^2) / var_p,i - 1].
        Returns (...).
        """
        return kl_diagonal_gaussians(self.mean, self.log_var, other.mean, other.log_var)

    def kl_per_dim(self, other):
        """The terms of :meth:`kl`, one per coordinate.  Returns (..., d)."""
        return kl_diagonal_gaussians_per_dim(self.mean, self.log_var, other.mean, other.log_var)

    def kl_standard_normal(self):
        """KL(self || N(0, I)) = 1/2 sum_i [var_i + mean_i^2 - 1 - log var_i].  Returns (...)."""
        return kl_standard_normal(self.mean, self.log_var)


def kl_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag exp(log_var)) || N(0, I)), summed over the last dimension."""
    return kl_standard_normal_per_dim(mean, log_var).sum(-1)


def kl_standard_normal_per_dim(mean, log_var):
    """The KL to N(0, 1) of each coordinate: 1/2 [var + mean^2 - 1 - log var], elementwise.
    (Its sum over the last dimension is :func:`kl_standard_normal`.)"""
    _check_pair("mean", mean, "log_var", log_var)
    return 0.5 * (log_var.exp() + mean ** 2 - 1.0 - log_var)


def kl_diagonal_gaussians(mean_q: torch.Tensor, log_var_q: torch.Tensor, mean_p: torch.Tensor,
                          log_var_p: torch.Tensor) -> torch.Tensor:
    """KL(q || p) for two diagonal Gaussians, summed over the last dimension."""
    return kl_diagonal_gaussians_per_dim(mean_q, log_var_q, mean_p, log_var_p).sum(-1)


def kl_diagonal_gaussians_per_dim(mean_q, log_var_q, mean_p, log_var_p):
    """KL(q_i || p_i) of each coordinate, elementwise:
    1/2 [log var_p - log var_q + (var_q + (mean_q - mean_p)^2) / var_p - 1]."""
    _check_pair("mean_q", mean_q, "log_var_q", log_var_q)
    _check_pair("mean_p", mean_p, "log_var_p", log_var_p)
    _check_pair("mean_q", mean_q, "mean_p", mean_p)
    return 0.5 * (log_var_p - log_var_q + (log_var_q.exp() + (mean_q - mean_p) ** 2) / log_var_p.exp() - 1.0)


class Bernoulli:
    """Independent Bernoulli pixels with probabilities sigmoid(logits).

    log p(x) = sum_j [x_j * logit_j - softplus(logit_j)]  (= -BCE with logits).

    For binary x this is an exact log-probability.  For grey levels x in (0, 1)
    it is the widely used "Bernoulli loss", which is *not* a normalized density
    over [0, 1]; log-likelihoods in nats are only meaningful on binarized data.

    logits: (batch..., *event); ``event_dims`` counts the event dimensions.
    """

    def __init__(self, logits, event_dims=3):
        check_tensor("logits", logits)
        self.logits = logits
        self.event_dims = event_dims

    @property
    def mean(self):
        return torch.sigmoid(self.logits)

    def log_prob(self, x):
        """x: same shape as logits (or broadcastable) -> batch shape."""
        logits, x = torch.broadcast_tensors(self.logits, x)
        return _sum_event(-F.binary_cross_entropy_with_logits(logits, x, reduction="none"),
                          self.event_dims)

    def sample(self):
        return torch.bernoulli(self.mean)


class Gaussian:
    """Independent Gaussian pixels N(mean, exp(log_var)); log_var may be a scalar tensor.

    log p(x) = -1/2 sum_j [log 2pi + log_var_j + (x_j - mean_j)^2 / exp(log_var_j)].
    """

    def __init__(self, mean, log_var, event_dims=3):
        self.mean = mean
        self.log_var = torch.as_tensor(log_var, dtype=mean.dtype, device=mean.device)
        self.event_dims = event_dims

    def log_prob(self, x):
        mean, log_var, x = torch.broadcast_tensors(self.mean, self.log_var, x)
        return _sum_event(-0.5 * (LOG_2PI + log_var + (x - mean) ** 2 / log_var.exp()),
                          self.event_dims)

    def sample(self):
        return self.mean + (0.5 * self.log_var).exp() * torch.randn_like(self.mean)
