"""Wasserstein autoencoders (Tolstikhin et al., 2018) and the maximum mean discrepancy.

A WAE has a deterministic encoder z = E(x) and decoder x_hat = G(z).  It trades
reconstruction against how far the *aggregate* posterior Q_Z (the codes of all
images) is from the prior P_Z = N(0, I):

    loss = E_x[ c(x, G(E(x))) ] + lambda * D(Q_Z, P_Z),      c(x, y) = ||x - y||^2 (summed over pixels)

with D = MMD^2 (WAE-MMD, no adversary) or a latent discriminator (WAE-GAN,
:func:`train_wae_gan`).

MMD^2 with a kernel k, from samples x_1..x_n ~ P and y_1..y_m ~ Q:

    U-statistic (unbiased):  1/(n(n-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
                             - 2/(nm) sum_{i, j} k(x_i, y_j)
    V-statistic (biased):    the same with the diagonal i = j kept and 1/n^2, 1/m^2 in front.

Kernels (x: (n, d), y: (m, d) -> (n, m)), with scale C:

    inverse multiquadratic   k(x, y) = C / (C + ||x - y||^2)        (Tolstikhin et al.: C = 2 d sigma_z^2)
    Gaussian (RBF)           k(x, y) = exp(-||x - y||^2 / C)
"""
import math

import torch
from torch import nn

from ..capture import LossFn, capturable
from ..errors import CourseInputError, check_choice, check_int, check_number, check_tensor
from ..nets import MLP
from .base import CourseModel
from .gans import AdversarialModel, discriminator_loss, generator_loss


def squared_distances(x, y):
    """||x_i - y_j||^2 for all pairs, as ||x_i||^2 + ||y_j||^2 - 2 x_i . y_j (one matrix product, so
    thousands of images fit in memory; clamped at 0 against rounding).  x (n, d), y (m, d) -> (n, m)."""
    return ((x * x).sum(1, keepdim=True) + (y * y).sum(1) - 2 * x @ y.T).clamp(min=0.0)


def imq_kernel(x, y, scale):
    """k(x, y) = C / (C + ||x - y||^2) for all pairs.  x (n, d), y (m, d) -> (n, m)."""
    return scale / (scale + squared_distances(x, y))


def rbf_kernel(x, y, scale):
    """k(x, y) = exp(-||x - y||^2 / C) for all pairs.  x (n, d), y (m, d) -> (n, m)."""
    return torch.exp(-squared_distances(x, y) / scale)


KERNELS = {"imq": imq_kernel, "rbf": rbf_kernel}


def mmd2(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq", scale: float | None = None,
         unbiased: bool = True) -> torch.Tensor:
    """MMD^2 between the samples x (n, d) and y (m, d): the U-statistic (``unbiased=True``) or
    the V-statistic.  ``scale`` defaults to C = 2 d (the IMQ scale of Tolstikhin et al. for a
    N(0, I) prior).  y is brought to x's device (e.g. a GPU model's samples against CPU test
    points), and both to their common floating dtype.  -> 0-dim tensor on x's device."""
    check_tensor("x", x, shape=(None, None))
    check_tensor("y", y, shape=(None, x.shape[1]))
    dtype = torch.promote_types(torch.promote_types(x.dtype, y.dtype), torch.get_default_dtype())
    x, y = x.to(dtype), y.to(x.device, dtype)
    check_choice("kernel", kernel, tuple(KERNELS))
    n, m = len(x), len(y)
    if unbiased and (n < 2 or m < 2):
        raise CourseInputError(f"the unbiased MMD^2 needs at least 2 samples on each side, got {n} and {m}.")
    scale = 2.0 * x.shape[1] if scale is None else check_number("scale", scale, minimum=0.0, strict_minimum=True)
    k = KERNELS[kernel]
    k_xx, k_yy, k_xy = k(x, x, scale), k(y, y, scale), k(x, y, scale)
    if unbiased:
        within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
        within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    else:
        within_x, within_y = k_xx.sum() / n ** 2, k_yy.sum() / m ** 2
    return within_x + within_y - 2 * k_xy.mean()


class WAE(CourseModel):
    """A deterministic autoencoder with a N(0, I) prior on its codes.  x: (batch, C, H, W); z: (batch, latent_dim).
    The decoder's output is a mean image in [0, 1] (a sigmoid)."""

    def __init__(self, image_shape=(1, 28, 28), latent_dim=8, hidden=(256,)):
        super().__init__()
        self.image_shape, self.latent_dim = tuple(image_shape), check_int("latent_dim", latent_dim, minimum=1)
        pixels = math.prod(self.image_shape)
        self.encoder = MLP(pixels, tuple(hidden), self.latent_dim)
        self.decoder_net = MLP(self.latent_dim, tuple(reversed(hidden)), pixels)

    def encode(self, x):
        """z = E(x).  -> (batch, latent_dim)"""
        return self.encoder(x.flatten(1))

    def decode(self, z):
        """x_hat = G(z), a mean image.  -> (batch, C, H, W)"""
        return torch.sigmoid(self.decoder_net(z)).reshape(*z.shape[:-1], *self.image_shape)

    def loss_terms(self, x, lam=10.0, kernel="imq"):
        """``loss`` = reconstruction + lam * mmd; ``reconstruction`` = mean over the batch of ||x - G(E(x))||^2;
        ``mmd`` = the U-statistic MMD^2 between the batch's codes and as many draws from N(0, I)."""
        x = self.check_input(x)
        if not isinstance(lam, torch.Tensor):
            lam = check_number("lam", lam, minimum=0.0)
        z = self.encode(x)
        reconstruction = (x - self.decode(z)).pow(2).flatten(1).sum(-1).mean()
        penalty = mmd2(z, torch.randn_like(z), kernel=kernel)
        return {"loss": reconstruction + lam * penalty, "reconstruction": reconstruction, "mmd": penalty}

    @torch.no_grad()
    def reconstruct(self, x):
        return self.decode(self.encode(self.check_input(x)))

    @torch.no_grad()
    def sample(self, n):
        """n images G(z), z ~ N(0, I)."""
        return self.decode(torch.randn(check_int("n", n, minimum=1), self.latent_dim, device=self._device()))


def wae_objective(lam: float = 10.0, kernel: str = "imq") -> LossFn:
    """A loss for :func:`course_lib.fit`: WAE-MMD with weight ``lam``."""
    lam = check_number("lam", lam, minimum=0.0)
    check_choice("kernel", kernel, tuple(KERNELS))

    @capturable
    def loss_fn(model, x, step):
        return model.loss_terms(x, lam=lam, kernel=kernel)

    return loss_fn


def wae_sweep_objective(kernel="imq"):
    """A loss for :func:`course_lib.fit_sweep` over lambda."""
    check_choice("kernel", kernel, tuple(KERNELS))

    @capturable
    def loss_fn(model, x, value, step):
        return model.loss_terms(x, lam=value, kernel=kernel)

    return loss_fn


def latent_discriminator(latent_dim, hidden=(128, 128)):
    """D(z): a logit, high where z looks like a draw from the prior."""
    return MLP(latent_dim, tuple(hidden), 1)


class WAEGAN(AdversarialModel):
    """A WAE and a discriminator d(z) on its codes, as one model for :func:`~course_lib.training.adversarial.train_adversarial`
    (the GAN form Tolstikhin et al. train; d is a logit, D = sigmoid(d)):

        discriminator:  minimise  -E log D(z_p) - E log(1 - D(z_q))        z_p ~ N(0, I), z_q = E(x)
        autoencoder:    minimise  E ||x - G(E(x))||^2 + lam * (-E log D(z_q))
    """

    capturable = True

    discriminator_names = ("discriminator",)

    def __init__(self, wae, discriminator, lam=1.0):
        super().__init__()
        if not isinstance(wae, WAE):
            raise CourseInputError(f"wae must be a course_lib WAE, got {type(wae).__name__}.")
        if not isinstance(discriminator, nn.Module):
            raise CourseInputError(f"discriminator must be a torch module d(z) on codes of size {wae.latent_dim}, "
                                   f"e.g. latent_discriminator({wae.latent_dim}); got {type(discriminator).__name__}.")
        self.wae, self.discriminator = wae, discriminator
        self.latent_dim = wae.latent_dim
        self.lam = check_number("lam", lam, minimum=0.0)

    def check_input(self, x):
        return self.wae.check_input(x)

    def discriminator_loss(self, x):
        x = self.check_input(x)
        with torch.no_grad():
            z_q = self.wae.encode(x)
        loss = discriminator_loss(self.discriminator(self.prior_sample(len(x))), self.discriminator(z_q))
        return {"loss": loss, "discriminator": loss}

    def generator_loss(self, x):
        x = self.check_input(x)
        z_q = self.wae.encode(x)
        reconstruction = (x - self.wae.decode(z_q)).pow(2).flatten(1).sum(-1).mean()
        fool = generator_loss(self.discriminator(z_q))
        return {"loss": reconstruction + self.lam * fool, "reconstruction": reconstruction, "fool": fool}
