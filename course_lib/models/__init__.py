"""The models of the course, one module per family, each with its objective beside it.

    base             CourseModel: the device and the input check every model shares
    vae              the VAE: Gaussian encoder q(z|x), Bernoulli or Gaussian decoder p(x|z), N(0, I) prior
    hierarchical     L-level VAEs, bottom-up or Ladder inference
    flow_vae         a VAE whose posterior is a planar or IAF flow
    wae              MMD^2 and the Wasserstein autoencoder (WAE-MMD, and WAE-GAN's model)
    gans             GAN losses, GAN, BiGAN/ALI and InfoGAN
    hybrids          VAE-GAN and the course text's "unified" objective
    tcvae            the beta-TCVAE loss
    control          ControlVAE's PI controller for beta
    linear_gaussian  probabilistic PCA: exact posterior and log p(x), the truth to compare with
    rate_distortion  the Gaussian R(D) and a linear Gaussian autoencoder in closed form
    classifier       a small Fashion-MNIST classifier whose features measure generated images

Models build on ``distributions``, ``nets``, ``objectives``, ``flows`` and ``metrics``; training
loops live one level up, in :mod:`course_lib.training`.
"""
from .base import CourseModel
from .classifier import FashionClassifier
from .control import PIController, control_vae_objective
from .flow_vae import FlowVAE, flow_vae_objective
from .gans import GAN, AdversarialModel, BiGAN, InfoGAN, discriminator_loss, generator_loss
from .hierarchical import HierarchicalVAE, hierarchical_objective
from .hybrids import VAEGAN, UnifiedVAE
from .linear_gaussian import LinearGaussianModel
from .tcvae import tcvae_objective, tcvae_sweep_objective
from .vae import VAE, BernoulliDecoder, GaussianDecoder, GaussianEncoder, vae_objective, vae_sweep_objective
from .wae import WAE, WAEGAN, latent_discriminator, mmd2, wae_objective

__all__ = [
                  "GAN",
                  "VAE",
                  "VAEGAN",
                  "WAE",
                  "WAEGAN",
                  "AdversarialModel",
                  "BernoulliDecoder",
                  "BiGAN",
                  "CourseModel",
                  "FashionClassifier",
                  "FlowVAE",
                  "GaussianDecoder",
                  "GaussianEncoder",
                  "HierarchicalVAE",
                  "InfoGAN",
                  "LinearGaussianModel",
                  "PIController",
                  "UnifiedVAE",
                  "control_vae_objective",
                  "discriminator_loss",
                  "flow_vae_objective",
                  "generator_loss",
                  "hierarchical_objective",
                  "latent_discriminator",
                  "mmd2",
                  "tcvae_objective",
                  "tcvae_sweep_objective",
                  "vae_objective",
                  "vae_sweep_objective",
                  "wae_objective",
]
