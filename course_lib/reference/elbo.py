"""Lesson 1's reference model on Fashion-MNIST: its VAE with 16 latents.  (The VAEs behind its
latent-size slider, 2 to 32 latents, are not shipped: five models of a million parameters would take
a seventh of the store's budget, and the slider trains a size on its first visit, with a progress bar.)

Trained exactly as the lesson trains it in full mode (:func:`course_lib.lessons.elbo.fit_vae`: the
negative ELBO on dynamically binarized images, Adam at 1e-3, batch 128, 6,000 steps), on the
Fashion-MNIST images the course ships; the manifest keeps its training history, which the lesson
plots.  Measured on the first 1,000 shipped test images binarized once (seed 1), as the lesson
measures it: IWAE_k for k = 1, 8 and 64, in nats per image.
"""
from ..lessons import elbo as lesson
from .recipe import Recipe, each_on_its_own, iwae_on_shipped_test_images, shipped_training_images

TRAINING = {"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test), dynamically binarized",
            "batch_size": 128, "lr": 1e-3, "optimizer": "Adam", "seed": 0, "test images": 1000,
            "iwae k": [1, 8, 64]}


def build(member):
    return lesson.build_vae(member["latent_dim"])


def fit(member, model, x, steps, device, progress):
    return lesson.fit_vae(model, x, steps, device=device, progress=progress)


def measure(model, member, training):
    return iwae_on_shipped_test_images(model, training)


TOLERANCE = {"iwae k1": 0.1, "iwae k8": 0.1, "iwae k64": 0.1}

VAE = Recipe(
    name="fashion-vae", lesson="1", what="the lesson's MLP VAE with 16 latents on Fashion-MNIST",
    source="Kingma & Welling (2014), Auto-encoding variational Bayes; the lesson's own network",
    members={"vae": {"latent_dim": 16}}, training={**TRAINING, "steps": 6000}, tolerance=TOLERANCE,
    build=build, train=each_on_its_own(shipped_training_images, fit), measure=measure,
    history=True,
    as_lesson=lambda models, histories: (models["vae"], histories["vae"]))

RECIPES = (VAE,)
