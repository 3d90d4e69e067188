"""Lesson 2's reference models on Fashion-MNIST: the same VAE trained once with each gradient estimator of
the encoder (pathwise, score function, score function with a baseline), with the training curves the
lesson plots.

Trained exactly as the lesson trains them in full mode
(:func:`course_lib.lessons.reparam.fit_with_estimator`: the same initial weights and batches, ``VAE.mlp``
with 8 latents and one hidden layer of 256, dynamically binarized images, Adam at 1e-3, batch 128, 3,000
steps), on the Fashion-MNIST images the course ships; the manifest keeps each training history.  Measured on
the first 1,000 shipped test images binarized once (seed 1): IWAE_k for k = 1 (the ELBO, one draw) and 64,
in nats per image.
"""
from ..lessons import reparam as lesson
from .recipe import Recipe, each_on_its_own, iwae_on_shipped_test_images, shipped_training_images

NAMES = {"pathwise": "pathwise", "score function": "score-function",
         "score function + baseline": "score-function-baseline"}     # the lesson's name -> the model's


def build(member):
    return lesson.build_vae(member["latent_dim"], seed=0)


def fit(member, model, x, steps, device, progress):
    return lesson.fit_with_estimator(member["estimator"], model, x, steps, device=device, progress=progress)


def measure(model, member, training):
    return iwae_on_shipped_test_images(model, training)


ESTIMATORS = Recipe(
    name="fashion-estimators", lesson="2",
    what="the lesson's MLP VAE trained with each encoder-gradient estimator on Fashion-MNIST",
    source="Kingma & Welling (2014) for the pathwise estimator; Williams (1992) for the score function",
    members={short: {"estimator": name, "latent_dim": 8} for name, short in NAMES.items()},
    training={"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test), dynamically binarized",
              "batch_size": 128, "lr": 1e-3, "optimizer": "Adam", "seed": 0, "steps": 3000, "hidden": [256],
              "test images": 1000, "iwae k": [1, 64]},
    tolerance={"iwae k1": 0.2, "iwae k64": 0.1},
    build=build, train=each_on_its_own(shipped_training_images, fit), measure=measure, history=True,
    as_lesson=lambda models, histories: {name: (models[short], histories[short]) for name, short in NAMES.items()})

RECIPES = (ESTIMATORS,)
