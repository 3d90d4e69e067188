"""Hierarchical VAEs: L levels of latent variables, generated top-down.

Generation (both kinds of model):

    z_L ~ p(z_L) = N(0, I)
    z_l ~ p(z_l | z_{l+1}) = N(mu_l(z_{l+1}), diag var_l(z_{l+1}))      l = L-1, ..., 1
    x   ~ p(x | z_1)                                                   (Bernoulli pixels)

Inference, two ways:

* ``"bottom_up"``: q(z|x) = q(z_1 | x) q(z_2 | z_1) ... q(z_L | z_{L-1}), the Markov special case of the course
  text's q(z_1 | x) prod_l q(z_l | z_1, ..., z_{l-1}, x);
* ``"ladder"`` (Sønderby et al., 2016): a deterministic bottom-up pass d_1 = f_1(x),
  d_l = f_l(d_{l-1}) gives Gaussians N(m_l, v_l); sampling then runs top-down,
  q(z_L | x) = N(m_L, v_L) and q(z_l | z_{l+1}, x) = the precision-weighted merge of
  N(m_l, v_l) with the prior p(z_l | z_{l+1}) (:func:`precision_weighted_merge`).

The ELBO of either is

    ELBO = E_q[ log p(x | z_1) ] - sum_l KL_l,
    KL_l = E_q[ log q(z_l | .) - log p(z_l | z_{l+1}) ]      (p(z_L | z_{L+1}) := N(0, I))

where "." is what level l's q conditions on.  For the ladder model q(z_l | .) and
p(z_l | z_{l+1}) share their condition z_{l+1}, so the inner KL is in closed form,
KL_l = E_{q(z_{l+1} | .)}[ KL(q(z_l | z_{l+1}, x) || p(z_l | z_{l+1})) ].  For the
bottom-up model q conditions on the level below and p on the level above, so no such
closed form exists and KL_l is the one-sample estimate log q - log p.

Shapes: x (batch, C, H, W); z_l (batch, d_l); per-level terms (batch, L).
"""
import math

import torch
from torch import nn

from ..capture import LossFn, Schedule, capturable, is_capturable
from ..distributions import Bernoulli, DiagonalGaussian
from ..errors import CourseInputError, check_choice, check_int, check_number
from ..nets import MLP
from ..objectives import importance_weighted_bound
from ..schedules import evaluate
from .base import CourseModel


def precision_weighted_merge(mean_1, log_var_1, mean_2, log_var_2):
    """The normalized product of N(mean_1, var_1) and N(mean_2, var_2), elementwise:

        1 / var = 1 / var_1 + 1 / var_2,      mean = var * (mean_1 / var_1 + mean_2 / var_2).

    Computed in log-variances (log var = -logaddexp(-log var_1, -log var_2)), so very large or
    small variances stay finite.  Returns a :class:`DiagonalGaussian`.
    """
    for name, t in (("mean_1", mean_1), ("log_var_1", log_var_1), ("mean_2", mean_2), ("log_var_2", log_var_2)):
        if not isinstance(t, torch.Tensor):
            raise CourseInputError(f"{name} must be a tensor (means and log-variances of the same shape), "
                                   f"got {type(t).__name__}.")
    log_var = -torch.logaddexp(-log_var_1, -log_var_2)
    weight_1 = torch.sigmoid(log_var_2 - log_var_1)            # = precision_1 / (precision_1 + precision_2)
    return DiagonalGaussian(weight_1 * mean_1 + (1.0 - weight_1) * mean_2, log_var)


def _gaussian(h):
    mean, log_var = h.chunk(2, dim=-1)
    return DiagonalGaussian(mean, log_var)


class HierarchicalVAE(CourseModel):
    """An L-level VAE (L = len(latent_dims)) with bottom-up or ladder inference.

    latent_dims: (d_1, ..., d_L), the bottom level first
    hidden:      width of every hidden layer
    inference:   "ladder" or "bottom_up"
    """

    def __init__(self, image_shape=(1, 28, 28), latent_dims=(16, 8), hidden=256, inference="ladder"):
        super().__init__()
        if not isinstance(latent_dims, (list, tuple)) or len(latent_dims) < 1:
            raise CourseInputError(f"latent_dims must be a list of level sizes, bottom level first, got {latent_dims!r}.")
        self.latent_dims = tuple(check_int(f"latent_dims[{i}]", d, minimum=1) for i, d in enumerate(latent_dims))
        hidden = check_int("hidden", hidden, minimum=1)
        self.inference = check_choice("inference", inference, ("ladder", "bottom_up"))
        self.image_shape = tuple(image_shape)
        dims, pixels = self.latent_dims, math.prod(self.image_shape)
        if self.inference == "ladder":
            # d_1 = f_1(x), d_l = f_l(d_{l-1}); each d_l gives the bottom-up Gaussian of level l
            self.up = nn.ModuleList([MLP(pixels if l == 0 else hidden, (hidden,), hidden) for l in range(len(dims))])
            self.q_heads = nn.ModuleList([nn.Linear(hidden, 2 * d) for d in dims])
        else:
            # q(z_1 | x) from x, q(z_l | z_{l-1}) from the sample below
            self.q_nets = nn.ModuleList([MLP(pixels if l == 0 else dims[l - 1], (hidden,), 2 * d)
                                         for l, d in enumerate(dims)])
        self.p_nets = nn.ModuleList([MLP(dims[l + 1], (hidden,), 2 * dims[l]) for l in range(len(dims) - 1)])
        self.decoder_net = MLP(dims[0], (hidden, hidden), pixels)

    @property
    def levels(self):
        return len(self.latent_dims)



    # -- the generative model ----------------------------------------------------------
    def top_prior(self, batch):
        """p(z_L) = N(0, I) for a batch of ``batch``.  -> DiagonalGaussian (batch, d_L)."""
        return DiagonalGaussian.standard(batch, self.latent_dims[-1], device=self._device())

    def conditional_prior(self, l, z_above):
        """p(z_l | z_{l+1}) for a level l = 0 .. L-2 (0 is the bottom).  z_above: (batch, d_{l+1})."""
        return _gaussian(self.p_nets[l](z_above))

    def decoder(self, z_1):
        """p(x | z_1), Bernoulli pixels.  z_1: (..., d_1)."""
        return Bernoulli(self.decoder_net(z_1).reshape(*z_1.shape[:-1], *self.image_shape), event_dims=3)

    # -- one pass: sample every level, keep each level's q and p --------------------------
    def pass_through(self, x, use_means=False):
        """Sample z_1..z_L from q(z|x) (or take q's means if ``use_means``).

        Returns (z, q, p): lists over levels (bottom first) of samples (batch, d_l), and of
        the Gaussians q(z_l | .) and p(z_l | z_{l+1}) evaluated on this pass.
        """
        L = self.levels
        z, q, p = [None] * L, [None] * L, [None] * L
        pick = (lambda g: g.mean) if use_means else (lambda g: g.rsample())
        if self.inference == "bottom_up":
            below = x.flatten(1)
            for l in range(L):
                q[l] = _gaussian(self.q_nets[l](below))
                z[l] = below = pick(q[l])
            for l in range(L):
                p[l] = self.conditional_prior(l, z[l + 1]) if l + 1 < L else self.top_prior(len(x))
        else:
            d, up = x.flatten(1), []
            for l in range(L):
                d = self.up[l](d)
                up.append(_gaussian(self.q_heads[l](d)))
            for l in reversed(range(L)):
                p[l] = self.conditional_prior(l, z[l + 1]) if l + 1 < L else self.top_prior(len(x))
                q[l] = up[l] if l == L - 1 else precision_weighted_merge(up[l].mean, up[l].log_var,
                                                                         p[l].mean, p[l].log_var)
                z[l] = pick(q[l])
        return z, q, p

    def kl_per_level(self, z, q, p):
        """KL_l for each level (see the module docstring).  -> (batch, L)."""
        if self.inference == "ladder":
            return torch.stack([q[l].kl(p[l]) for l in range(self.levels)], dim=-1)
        return torch.stack([q[l].log_prob(z[l]) - p[l].log_prob(z[l]) for l in range(self.levels)], dim=-1)

    @torch.no_grad()
    def kl_per_unit(self, x):
        """Each level's KL split over its units, averaged over the batch (closed form for the ladder,
        a one-sample estimate for bottom-up).  A unit whose KL is under 0.01 nats carries almost no
        information about x: it is inactive.  -> list over levels of (d_l,) tensors."""
        z, q, p = self.pass_through(self.check_input(x))
        if self.inference == "ladder":
            parts = [q[l].kl_per_dim(p[l]) for l in range(self.levels)]
        else:
            parts = [q[l].log_prob_per_dim(z[l]) - p[l].log_prob_per_dim(z[l]) for l in range(self.levels)]
        return [part.mean(0) for part in parts]

    def loss_terms(self, x, beta=1.0, free_bits=0.0):
        """Batch-averaged terms.  ``loss`` = distortion + beta * sum_l max(KL_l, free_bits),
        with KL_l averaged over the batch first (free bits per level, Kingma et al., 2016);
        ``elbo`` = -(distortion + sum_l KL_l); ``kl_1`` .. ``kl_L`` the levels' KLs (1 = bottom)."""
        x = self.check_input(x)
        if not isinstance(beta, torch.Tensor):
            beta = check_number("beta", beta, minimum=0.0)
        if not isinstance(free_bits, torch.Tensor):
            free_bits = check_number("free_bits", free_bits, minimum=0.0)
        z, q, p = self.pass_through(x)
        distortion = -self.decoder(z[0]).log_prob(x).mean()
        kl = self.kl_per_level(z, q, p).mean(0)                          # (L,)
        rate = kl.sum()
        no_free_bits = not isinstance(free_bits, torch.Tensor) and free_bits == 0
        penalised = rate if no_free_bits else torch.clamp(kl, min=free_bits).sum()
        terms = {"loss": distortion + beta * penalised, "distortion": distortion, "rate": rate,
                 "elbo": -(distortion + rate)}
        for l in range(self.levels):
            terms[f"kl_{l + 1}"] = kl[l]
        return terms

    # -- likelihood, samples ----------------------------------------------------------
    def log_weights(self, x, k=64):
        """log w = log p(x | z_1) + sum_l log p(z_l | z_{l+1}) - sum_l log q(z_l | .), z ~ q.  -> (k, batch)."""
        x = self.check_input(x)
        k = check_int("k", k, minimum=1)
        xs = x.repeat(k, *([1] * (x.dim() - 1)))
        z, q, p = self.pass_through(xs)
        log_w = self.decoder(z[0]).log_prob(xs)
        for l in range(self.levels):
            log_w = log_w + p[l].log_prob(z[l]) - q[l].log_prob(z[l])
        return log_w.reshape(k, len(x))

    @torch.no_grad()
    def iwae_bound(self, x, k=64, batch_size=256):
        """IWAE_k, a lower bound on log p(x) that tightens with k, per example.  -> (batch,)."""
        x = self.check_input(x)
        return torch.cat([importance_weighted_bound(self.log_weights(x[i:i + batch_size], k))
                          for i in range(0, len(x), batch_size)])

    @torch.no_grad()
    def sample(self, n, z_top=None, noise=None):
        """n images, generated top-down with the mean of p(x | z_1).

        z_top: (n, d_L) top-level values, drawn from N(0, I) if None
        noise: list of (n, d_l) standard-normal draws for the levels below the top, bottom first
               (drawn if None); z_l = mean_l + std_l * noise_l.  Fixing ``noise`` and changing
               ``z_top`` shows what the top level controls, and the other way round.
        """
        n = check_int("n", n, minimum=1)
        device = self._device()
        z = z_top.to(device) if z_top is not None else torch.randn(n, self.latent_dims[-1], device=device)
        for l in reversed(range(self.levels - 1)):
            p = self.conditional_prior(l, z)
            eps = noise[l].to(device) if noise is not None else torch.randn_like(p.mean)
            z = p.mean + p.std * eps
        return self.decoder(z).mean


def hierarchical_objective(beta: float | Schedule = 1.0, free_bits: float = 0.0) -> LossFn:
    """A loss for :func:`course_lib.fit`: ``model.loss_terms(x, beta, free_bits)``; beta may be a
    schedule (a KL warm-up, :func:`course_lib.schedules.linear_warmup`)."""
    free_bits = check_number("free_bits", free_bits, minimum=0.0)

    def loss_fn(model, x, step):
        return model.loss_terms(x, beta=evaluate(beta, step), free_bits=free_bits)

    capturable(loss_fn, when=not callable(beta) or is_capturable(beta))
    return loss_fn


def free_bits_sweep_objective():
    """A loss for :func:`course_lib.fit_sweep` over the free-bits threshold (nats per level)."""

    @capturable
    def loss_fn(model, x, value, step):
        return model.loss_terms(x, free_bits=value)

    return loss_fn
