"""Lesson 8's reference model on Fashion-MNIST: the VAE that AIS, IWAE and the ELBO are compared on.

Trained exactly as the lesson trains it in full mode (:func:`course_lib.lessons.divergences.fit_vae`: the
negative ELBO on dynamically binarized images, ``VAE.mlp`` with 8 latents and one hidden layer of 256,
Adam at 1e-3, batch 128, 3,000 steps), on the Fashion-MNIST images the course ships.  Measured on the
first 1,000 shipped test images binarized once (seed 1) by the lesson's own
:func:`~course_lib.lessons.divergences.iwae_values`: IWAE_k for k = 1 and 64, in nats per image.
"""
import torch

from ..lessons import divergences as lesson
from .recipe import Recipe, binarized_shipped_test_images, each_on_its_own, shipped_training_images


def build(member):
    return lesson.build_vae()


def fit(member, model, x, steps, device, progress):
    return lesson.fit_vae(model, x, steps, device=device, progress=progress)


@torch.no_grad()
def measure(model, member, training):
    x = binarized_shipped_test_images(training["test images"])
    return {f"iwae k{k}": value for k, value in lesson.iwae_values(model, x, ks=training["iwae k"]).items()}


AIS_VAE = Recipe(
    name="fashion-ais-vae", lesson="8", what="the MLP VAE (8 latents) that AIS is run on, on Fashion-MNIST",
    source="Kingma & Welling (2014); Neal (2001), annealed importance sampling; the lesson's own network",
    members={"vae": {"latent_dim": lesson.LATENT_DIM, "hidden": [256]}},
    training={"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test), dynamically binarized",
              "batch_size": 128, "lr": 1e-3, "optimizer": "Adam", "seed": 0, "steps": 3000,
              "test images": 1000, "iwae k": [1, 64]},
    tolerance={"iwae k1": 0.1, "iwae k64": 0.1},
    build=build, train=each_on_its_own(shipped_training_images, fit), measure=measure,
    as_lesson=lambda models: (models["vae"], None))

RECIPES = (AIS_VAE,)
