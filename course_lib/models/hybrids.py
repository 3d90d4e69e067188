"""Hybrids of a VAE with a discriminator: VAE-GAN (Larsen et al., 2016) and the course text's
"unified" objective (a flow posterior, an adversarial term and a consistency term).

Both follow the contract of :mod:`course_lib.models.gans` (two parameter groups, two losses) and are
trained with :func:`course_lib.training.adversarial.train_adversarial`.  A VAE's "generator" is its decoder:
G(z) is the decoder's mean for z ~ p(z) (images), or a draw from p(x|z) (Gaussian points).
"""
import math

import torch
from torch import nn
from torch.nn.functional import leaky_relu, softplus

from ..errors import CourseInputError, check_int, check_number
from ..nets import MLP
from .flow_vae import FlowVAE
from .gans import AdversarialModel, discriminator_loss, generator_loss
from .vae import VAE


class FeatureDiscriminator(nn.Module):
    """d(x) = w . f(x) + b, with f(x) an MLP's last hidden layer (the features that VAE-GAN compares).
    x: (batch, ...) -> logits (batch, 1); ``features(x)`` -> (batch, feature_dim)."""

    def __init__(self, data_dim, hidden=(512,), feature_dim=256):
        super().__init__()
        self.body = MLP(data_dim, hidden, feature_dim, activation=lambda: nn.LeakyReLU(0.2))
        self.head = nn.Linear(feature_dim, 1)

    def features(self, x):
        return leaky_relu(self.body(x.flatten(1)), 0.2)

    def forward(self, x):
        return self.head(self.features(x))


class ConvFeatureDiscriminator(nn.Module):
    """A convolutional d(x) = w . f(x) + b for images, as Larsen et al.'s: f(x) is the output of the last
    convolution (one 4 x 4 stride-2 convolution per entry of ``channels``, then a 3 x 3 one of
    ``channels[-1]`` channels, LeakyReLU 0.2), flattened; the learned similarity compares images there.
    x: (batch, C, H, W) -> logits (batch, 1); ``features(x)`` -> (batch, channels[-1] * (H / 2^L)^2)."""

    def __init__(self, image_shape, channels=(32, 64)):
        super().__init__()
        if len(image_shape) != 3:
            raise CourseInputError(f"image_shape must be (C, H, W), got {tuple(image_shape)}.")
        c, side, _ = image_shape
        channels = tuple(check_int("channels", k, minimum=1) for k in channels)
        if side % 2 ** len(channels):
            raise CourseInputError(f"the image side {side} must halve {len(channels)} times for channels={channels}.")
        layers = []
        for c_in, c_out in zip((c, *channels), channels):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(channels[-1], channels[-1], 3, padding=1)]
        self.body = nn.Sequential(*layers)
        self.feature_dim = channels[-1] * (side // 2 ** len(channels)) ** 2
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x):
        return leaky_relu(self.body(x), 0.2).flatten(1)

    def forward(self, x):
        return self.head(self.features(x))


class VAEGAN(AdversarialModel):
    """VAE-GAN: a VAE (``vae``: encoder q(z|x), decoder mean image G(z)) and a discriminator d(x)
    whose hidden features f replace the pixels in the reconstruction term.

        discriminator:        -log D(x) - log(1 - D(G(z_q))) - log(1 - D(G(z_p)))     z_q ~ q(z|x), z_p ~ p(z)
        encoder and decoder:  beta * KL(q(z|x) || p(z))                                 (the prior term)
                              + 1/2 ||f(G(z_q)) - f(x)||^2                              (a unit Gaussian in feature space)
                              + lam * (-log D(G(z_q)) - log D(G(z_p)))                 (non-saturating; decoder only)
                              + pixel_weight * (-log p(x|z_q))                          (0 in Larsen et al.)

    The defaults (lam = 1, pixel_weight = 0) are Larsen et al.'s loss; pixel_weight = 1 adds the
    ordinary VAE reconstruction term, closer to the course text's L_VAE + lam L_GAN.  As in Larsen et al., the adversarial term trains the decoder only (z_q is detached there), and the
    features are a fixed target for the reconstruction term (the discriminator learns only from its loss).

    discriminator:  "mlp" (a fully connected FeatureDiscriminator of widths ``hidden`` and ``feature_dim``
                    features) or "conv" (a ConvFeatureDiscriminator of ``channels``, Larsen et al.'s kind)
    balance:        None, or (equilibrium, margin), Larsen et al.'s gating of the two players (their code uses
                    (0.68, 0.35)).  With e_real = -log D(x) and e_fake = -log(1 - D(G(z_q))) averaged on the
                    minibatch: if either is below equilibrium - margin the discriminator is winning, and it
                    skips its update; if either is above equilibrium + margin it is losing, and the decoder
                    drops the adversarial term for that step; if both would hold, both players train.  The
                    decision reads the errors on the host, so a balanced model trains eagerly.
    """

    capturable = True

    discriminator_names = ("discriminator",)

    def __init__(self, vae, feature_dim=256, hidden=(512,), beta=1.0, pixel_weight=0.0, lam=1.0,
                 discriminator="mlp", channels=(32, 64), balance=None):
        super().__init__()
        if not isinstance(vae, VAE):
            raise CourseInputError(f"vae must be a course_lib.VAE (e.g. VAE.mlp()), got {type(vae).__name__}.")
        self.vae = vae
        self.image_shape, self.latent_dim = vae.image_shape, vae.latent_dim
        if discriminator == "conv":
            self.discriminator = ConvFeatureDiscriminator(self.image_shape, channels)
        elif discriminator == "mlp":
            pixels = math.prod(self.image_shape)
            self.discriminator = FeatureDiscriminator(pixels, hidden, check_int("feature_dim", feature_dim, minimum=1))
        else:
            raise CourseInputError(f"discriminator must be 'mlp' or 'conv', got {discriminator!r}.")
        self.beta = check_number("beta", beta, minimum=0.0)
        self.pixel_weight = check_number("pixel_weight", pixel_weight, minimum=0.0)
        self.lam = check_number("lam", lam, minimum=0.0)
        self.balance = None
        if balance is not None:
            if not hasattr(balance, "__len__") or len(balance) != 2:
                raise CourseInputError(f"balance must be None or (equilibrium, margin), got {balance!r}.")
            equilibrium = check_number("equilibrium", balance[0], minimum=0.0, strict_minimum=True)
            margin = check_number("margin", balance[1], minimum=0.0)
            self.balance = (equilibrium, margin)
            self.capturable = False
        self.gan_on = True          # the decoder's adversarial term this step (balance turns it off)

    def players(self, d_terms):
        """Larsen et al.'s balance, from the discriminator's errors on this minibatch.
        -> (update the discriminator, use the decoder's adversarial term), both True without ``balance``."""
        if self.balance is None:
            return True, True
        equilibrium, margin = self.balance
        errors = (float(d_terms["real error"].detach()), float(d_terms["fake error"].detach()))
        train_d = not any(e < equilibrium - margin for e in errors)
        train_g = not any(e > equilibrium + margin for e in errors)
        if not (train_d or train_g):
            return True, True
        return train_d, train_g

    def check_input(self, x):
        return self.vae.check_input(x)

    def decode(self, z):
        return self.vae.decoder(z).mean

    def discriminator_loss(self, x):
        x = self.check_input(x)
        with torch.no_grad():
            reconstruction = self.decode(self.vae.encoder(x).rsample())
            sample = self.decode(self.prior_sample(len(x)))
        d = self.discriminator
        real, fake = softplus(-d(x)).mean(), softplus(d(reconstruction)).mean()
        loss = real + fake + softplus(d(sample)).mean()
        return {"loss": loss, "discriminator": loss, "real error": real, "fake error": fake}

    def generator_loss(self, x):
        x = self.check_input(x)
        q = self.vae.encoder(x)
        z = q.rsample()
        kl = q.kl_standard_normal().mean()
        d = self.discriminator
        decoded = self.vae.decoder(z)
        feature_error = 0.5 * (d.features(decoded.mean) - d.features(x).detach()).pow(2).sum(-1).mean()
        distortion = -decoded.log_prob(x).mean()
        fool = generator_loss(d(self.decode(z.detach()))) + generator_loss(d(self.decode(self.prior_sample(len(x)))))
        loss = self.beta * kl + feature_error + self.pixel_weight * distortion + (self.lam if self.gan_on else 0.0) * fool
        return {"loss": loss, "rate": kl, "feature error": feature_error, "distortion": distortion, "generator": fool}

    @torch.no_grad()
    def sample(self, n):
        return self.vae.sample(n)

    @torch.no_grad()
    def reconstruct(self, x):
        return self.vae.reconstruct(x)


class UnifiedVAE(AdversarialModel):
    """The course text's answer to understanding question 8, made concrete:

        loss = -ELBO_flow(x)                                   a VAE with a flow posterior q_K(z|x)
               + lam_adv * (-log D(x_p)),   x_p ~ p(x|z_p), z_p ~ p(z)     the adversarial term on samples
               + lam_cons * E ||E(x_p) - z_p||^2 / latent_dim             a consistency term

    where E(x) is the posterior's "code", the base mean pushed through the flow.  With
    lam_adv = lam_cons = 0 it is the flow VAE; with steps = 0 the posterior is Gaussian.  The
    discriminator d(x) sees data against x_p.  Points or images: ``flow_vae`` decides.
    """

    capturable = True

    def __init__(self, flow_vae, lam_adv=0.0, lam_cons=0.0, hidden=(128, 128)):
        super().__init__()
        if not isinstance(flow_vae, FlowVAE):
            raise CourseInputError(f"flow_vae must be a course_lib.FlowVAE, got {type(flow_vae).__name__}.")
        self.vae = flow_vae
        self.latent_dim, self.image_shape = flow_vae.latent_dim, flow_vae.image_shape
        pixels = math.prod(self.image_shape)
        self.discriminator = MLP(pixels, hidden, 1)
        self.lam_adv = check_number("lam_adv", lam_adv, minimum=0.0)
        self.lam_cons = check_number("lam_cons", lam_cons, minimum=0.0)

    def check_input(self, x):
        return self.vae.check_input(x)

    def generate(self, z):
        """x ~ p(x|z), reparameterized, for a Gaussian decoder (points); the mean image for a Bernoulli one."""
        p_x = self.vae.decoder(z)
        return p_x.sample() if self.vae.likelihood == "gaussian" else p_x.mean

    def encode(self, x):
        """E(x) = f_K o ... o f_1(mean(x); h(x)): the base mean pushed through the posterior flow."""
        params = self.vae.local_parameters(x)
        mean, _, context = params.split([self.latent_dim, self.latent_dim, self.vae.context_dim], dim=-1)
        return self.vae.flow(mean, context)[0]

    def discriminator_loss(self, x):
        x = self.check_input(x)
        with torch.no_grad():
            fake = self.generate(self.prior_sample(len(x)))
        loss = discriminator_loss(self.discriminator(x.flatten(1)), self.discriminator(fake.flatten(1)))
        return {"loss": loss, "discriminator": loss}

    def generator_loss(self, x):
        terms = self.vae.loss_terms(x)
        z_p = self.prior_sample(len(x))
        fake = self.generate(z_p)
        fool = generator_loss(self.discriminator(fake.flatten(1)))
        consistency = (self.encode(fake) - z_p).pow(2).mean()
        loss = -terms["elbo"] + self.lam_adv * fool + self.lam_cons * consistency
        return {"loss": loss, "elbo": terms["elbo"], "generator": fool, "consistency": consistency}

    @torch.no_grad()
    def sample(self, n):
        """Draws x ~ p(x|z), z ~ p(z) (for a Gaussian decoder, with its noise)."""
        return self.generate(self.prior_sample(check_int("n", n, minimum=1)))
