"""The variational autoencoder.

    prior    p(z)     = N(0, I)
    encoder  q_phi(z|x) = N(mean_phi(x), diag var_phi(x))
    decoder  p_theta(x|z) = Bernoulli or Gaussian pixels

Training minimises, per batch,

    loss = distortion + beta * |rate - C|
    distortion = -E_q[log p(x|z)]          (one reparameterized sample)
    rate       = KL(q(z|x) || p(z))         (closed form)

averaged over the batch.  With C = 0 this is the beta-VAE loss (rate >= 0);
with beta = 1 and C = 0 it is the negative ELBO.  A target C > 0 is the
capacity-controlled objective of Burgess et al. (2018).
"""
import math
from collections.abc import Sequence

import torch
from torch import nn

from ..capture import LossFn, Schedule, SweepLossFn, capturable, is_capturable
from ..distributions import Bernoulli, DiagonalGaussian, Gaussian
from ..errors import CourseInputError, check_choice, check_int, check_number
from ..nets import MLP, ConvDecoder, ConvEncoder
from ..objectives import bits_per_dim, importance_weighted_bound
from ..schedules import evaluate, linear_warmup
from .base import CourseModel, example_chunks


class GaussianEncoder(nn.Module):
    """q(z|x) = N(mean(x), diag exp(log_var(x))).  ``net`` maps x to 2 * latent_dim numbers."""

    def __init__(self, net: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.net, self.latent_dim = net, latent_dim

    def forward(self, x: torch.Tensor) -> DiagonalGaussian:
        h = self.net(x.flatten(1) if isinstance(self.net, MLP) else x)
        mean, log_var = h.chunk(2, dim=-1)
        return DiagonalGaussian(mean, log_var)


class BernoulliDecoder(nn.Module):
    """p(x|z) = prod_j Bernoulli(x_j; sigmoid(logit_j(z))).  z: (..., d) -> logits (..., C, H, W).
    ``image_shape`` may also be (D,) for vectors, such as points in the plane."""

    def __init__(self, net: nn.Module, image_shape: Sequence[int]) -> None:
        super().__init__()
        self.net, self.image_shape = net, tuple(image_shape)

    def forward(self, z: torch.Tensor) -> Bernoulli:
        logits = self.net(z)
        return Bernoulli(logits.reshape(*z.shape[:-1], *self.image_shape), event_dims=len(self.image_shape))


class GaussianDecoder(nn.Module):
    """p(x|z) = prod_j N(x_j; mean_j(z), sigma^2) with one learned log sigma^2."""

    def __init__(self, net: nn.Module, image_shape: Sequence[int], log_var: float = 0.0, learn_var: bool = True) -> None:
        super().__init__()
        self.net, self.image_shape = net, tuple(image_shape)
        start = torch.tensor(float(log_var))
        if learn_var:
            self.log_var = nn.Parameter(start)
        else:
            self.register_buffer("log_var", start)

    def forward(self, z: torch.Tensor) -> Gaussian:
        mean = self.net(z).reshape(*z.shape[:-1], *self.image_shape)
        return Gaussian(mean, self.log_var, event_dims=len(self.image_shape))


class VAE(CourseModel):
    """A VAE with a standard-normal prior.  x: (batch, C, H, W); z: (batch, latent_dim)."""

    def __init__(self, encoder: GaussianEncoder, decoder: nn.Module, latent_dim: int, image_shape: Sequence[int]) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.image_shape = latent_dim, tuple(image_shape)

    # -- constructors -------------------------------------------------------------
    @classmethod
    def mlp(cls, image_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 16, hidden: Sequence[int] = (512, 256),
            likelihood: str = "bernoulli") -> "VAE":
        """Fully connected encoder and decoder with the given hidden widths."""
        latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        check_choice("likelihood", likelihood, ("bernoulli", "gaussian"))
        d = math.prod(image_shape)
        encoder = GaussianEncoder(MLP(d, hidden, 2 * latent_dim), latent_dim)
        net = MLP(latent_dim, tuple(reversed(hidden)), d)
        return cls(encoder, cls._decoder(net, image_shape, likelihood), latent_dim, image_shape)

    @classmethod
    def conv(cls, image_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 16, likelihood: str = "bernoulli",
             channels: int | Sequence[int] = (32, 64), hidden: int | Sequence[int] = 256) -> "VAE":
        """Convolutional encoder and decoder: one stride-2 layer per entry of ``channels`` (the side must
        halve that often), fully connected layers of widths ``hidden`` (see :class:`course_lib.nets.ConvEncoder`)."""
        latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        check_choice("likelihood", likelihood, ("bernoulli", "gaussian"))
        widths = (channels,) if isinstance(channels, int) else tuple(channels)
        layers = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        encoder = GaussianEncoder(ConvEncoder(image_shape, 2 * latent_dim, widths, layers), latent_dim)
        net = ConvDecoder(latent_dim, image_shape, widths[::-1], layers[::-1])
        return cls(encoder, cls._decoder(net, image_shape, likelihood), latent_dim, image_shape)

    @staticmethod
    def _decoder(net, image_shape, likelihood):
        return BernoulliDecoder(net, image_shape) if likelihood == "bernoulli" else GaussianDecoder(net, image_shape)

    # -- the model ------------------------------------------------------------------
    def prior(self) -> DiagonalGaussian:
        """p(z) = N(0, I) on the model's device."""
        return DiagonalGaussian.standard(self.latent_dim, device=self._device())



    def loss_terms(self, x: torch.Tensor, beta: float | torch.Tensor = 1.0,
                   capacity: float | torch.Tensor = 0.0) -> dict[str, torch.Tensor]:
        """Batch-averaged terms of the (beta, C) objective.

        Returns a dict of scalars: ``loss`` = distortion + beta * |rate - C|,
        ``distortion`` = -E_q[log p(x|z)], ``rate`` = KL(q(z|x) || p(z)),
        ``elbo`` = -(distortion + rate).
        A tensor ``beta`` or ``capacity`` (as sweeps pass them, one value per model)
        is used as it is; numbers are checked.
        """
        x = self.check_input(x)
        if not isinstance(beta, torch.Tensor):
            beta = check_number("beta", beta, minimum=0.0)
        if not isinstance(capacity, torch.Tensor):
            capacity = check_number("capacity C", capacity, minimum=0.0)
        q = self.encoder(x)
        z = q.rsample()
        log_px_given_z = self.decoder(z).log_prob(x)
        kl = q.kl_standard_normal()
        distortion, rate = -log_px_given_z.mean(), kl.mean()
        return {
            "loss": distortion + beta * (rate - capacity).abs(),
            "distortion": distortion,
            "rate": rate,
            "elbo": -(distortion + rate),
        }

    def log_weights(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for z_i ~ q(z|x).  -> (k, batch)."""
        x = self.check_input(x)
        k = check_int("k", k, minimum=1)
        q = self.encoder(x)
        z = q.rsample(k)                                     # (k, batch, d), drawn at once
        log_px_given_z = decode_log_prob(self.decoder, z, x)  # (k, batch)
        return log_px_given_z + self.prior().log_prob(z) - q.log_prob(z)

    @torch.no_grad()
    def iwae_bound(self, x: torch.Tensor, k: int = 64) -> torch.Tensor:
        """The importance-weighted lower bound IWAE_k on log p(x).  -> (batch,)."""
        return importance_weighted_bound(self.log_weights(x, k))

    @torch.no_grad()
    def nll(self, x: torch.Tensor, k: int = 64, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor | float]:
        """Estimated -log p(x) in nats per example, from IWAE_k (an upper bound on
        the true NLL in expectation).  Returns (nll_nats, bits_per_dim) as
        (batch,) tensors."""
        x = self.check_input(x)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        parts = [-self.iwae_bound(x[i:i + batch_size], k) for i in range(0, len(x), batch_size)]
        nll = torch.cat(parts)
        return nll, bits_per_dim(nll, math.prod(self.image_shape))

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """n images from the model: z ~ p(z), x = E[x|z].  -> (n, C, H, W)."""
        n = check_int("n", n, minimum=1)
        z = torch.randn(n, self.latent_dim, device=self._device())
        return self.decoder(z).mean

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """E[x | z = mean of q(z|x)].  -> same shape as x."""
        x = self.check_input(x)
        return self.decoder(self.encoder(x).mean).mean


def decode_log_prob(decoder: nn.Module, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | z) for k samples z (k, batch, d) of each example of x (batch, ...), decoded a few examples
    at a time (:func:`course_lib.models.base.example_chunks`; the same numbers as all at once).  -> (k, batch)"""
    width = len(z) * max(x[0].numel(), 512)               # the decoder's widest layer, or its output
    return torch.cat([decoder(z[:, part]).log_prob(x[part]) for part in example_chunks(len(x), width)], dim=1)


def vae_objective(beta: float | Schedule = 1.0, capacity: float | Schedule = 0.0) -> LossFn:
    """A loss function for :func:`course_lib.training.train.fit`.

    ``beta`` and ``capacity`` are numbers or schedules (``step -> value``, see
    :mod:`course_lib.schedules`).  Returns ``loss_fn(model, x, step) -> dict``.
    """
    for name, value in (("beta", beta), ("capacity C", capacity)):
        if not callable(value):
            check_number(name, value, minimum=0.0)

    def loss_fn(model, x, step):
        return model.loss_terms(x, beta=evaluate(beta, step), capacity=evaluate(capacity, step))

    capturable(loss_fn, when=all(not callable(v) or is_capturable(v) for v in (beta, capacity)))
    return loss_fn


def _case_table(cases):
    """(beta, C) pairs -> a (K, 2) float tensor, each number checked."""
    if cases is None or isinstance(cases, (str, bytes)) or not hasattr(cases, "__len__") or len(cases) == 0:
        raise CourseInputError(f"over='case' needs cases, a list of (beta, C) pairs; got {cases!r}.")
    rows = []
    for i, case in enumerate(cases):
        if not hasattr(case, "__len__") or len(case) != 2:
            raise CourseInputError(f"cases[{i}] must be a pair (beta, C), got {case!r}.")
        rows.append([check_number(f"cases[{i}] beta", case[0], minimum=0.0),
                     check_number(f"cases[{i}] capacity C", case[1], minimum=0.0)])
    return torch.tensor(rows, dtype=torch.float32)


def vae_sweep_objective(over: str = "beta", beta: float = 1.0, capacity: float = 0.0, ramp_steps: int | None = None,
                        cases: Sequence[tuple[float, float]] | None = None) -> SweepLossFn:
    """A loss function for :func:`course_lib.training.sweep.fit_sweep`: each model's value sets ``over``.

    over="beta":      loss = D + value * |R - C|      (C = ``capacity``; C = 0 is the beta-VAE)
    over="capacity":  loss = D + beta * |R - C(t)|    with C(t) = value * min(t / ramp_steps, 1),
                      the capacity raised linearly to its target (Burgess et al., 2018);
                      without ``ramp_steps``, C(t) = value from the start.
    over="case":      loss = D + beta_i * |R - C_i|   with (beta_i, C_i) = ``cases[value]``: models that
                      differ in both numbers, trained together (the values are 0, 1, ..., len(cases) - 1).
    Returns ``loss_fn(model, x, value, step) -> dict``.
    """
    check_choice("over", over, ("beta", "capacity", "case"))
    beta = check_number("beta", beta, minimum=0.0)
    capacity = check_number("capacity C", capacity, minimum=0.0)
    if ramp_steps is not None:
        ramp_steps = check_int("ramp_steps", ramp_steps, minimum=1)
    table = _case_table(cases) if over == "case" else None
    on_device = {}                         # the table, copied to each device once (never inside a recorded step)

    ramp = linear_warmup(ramp_steps) if ramp_steps is not None else (lambda step: 1.0)

    @capturable  # only tensor operations, also on a tensor step
    def loss_fn(model, x, value, step):
        if over == "beta":
            return model.loss_terms(x, beta=value, capacity=capacity)
        if over == "case":
            if x.device not in on_device:        # copied once, in an eager step, before any recording
                on_device[x.device] = table.to(x.device)
            rows = on_device[x.device]
            case_beta, case_capacity = torch.index_select(rows, 0, value.long().reshape(1))[0]
            return model.loss_terms(x, beta=case_beta, capacity=case_capacity)
        return model.loss_terms(x, beta=beta, capacity=value * ramp(step))

    return loss_fn
