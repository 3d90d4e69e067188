"""Lesson 3's reference models: the β sweep of ten MLP VAEs on Fashion-MNIST.

Trained exactly as the lesson trains them in full mode (:func:`course_lib.lessons.rate_distortion.fit_beta_sweep`:
one VAE per β = 0.05 ... 20, all from the same start weights and the same batches of dynamically
binarized images, 2,000 steps), on the Fashion-MNIST images the course ships, so that they are the
same everywhere.  Measured as the lesson measures them (:func:`~course_lib.lessons.rate_distortion.measure_sweep`),
on 1,000 test images binarized once: rate and distortion (nats), the IWAE bound (k = 100), the
active units, a linear probe's accuracy on the latent means, the squared error of the mean
reconstruction, and the estimates of I(x; z) and KL(q(z) ‖ p(z)).
"""
import numpy as np

from ..data.fashion_mnist import load_shipped_subset
from ..lessons import rate_distortion as lesson
from .recipe import Recipe, all_at_once, shipped_training_images

TRAINING = {"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test), dynamically binarized",
            "steps": 2000, "batch_size": 128, "lr": 1e-3, "optimizer": "Adam", "seed": 0,
            "start": "the same weights and batches for every β", "test images": 1000, "iwae k": 100}
NETWORK = {"latent_dim": 16, "hidden": [256]}
METRICS = lesson.RECORDED


def build(member):
    return lesson.build_vae(member["latent_dim"], member["hidden"])


def fit_sweep(x, steps, betas, device, progress):
    return lesson.fit_beta_sweep(x, steps, betas, NETWORK["latent_dim"], NETWORK["hidden"], device=device,
                                 progress=progress)


def measure(model, member, training):
    measured = lesson.measure_sweep([model], load_shipped_subset(), n_test=training["test images"],
                                    k=training["iwae k"])
    return {key: float(np.asarray(measured[key])[0]) for key in METRICS}


def summarise(metrics, members):
    lines = ["| β | rate | distortion | −ELBO | IWAE bound | active units | probe accuracy | I(x; z) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in sorted(metrics, key=lambda m: members[m]["beta"]):
        v = metrics[m]
        lines.append(f"| {members[m]['beta']:g} | {v['rate']:.2f} | {v['distortion']:.2f} | "
                     f"{v['rate'] + v['distortion']:.2f} | {v['iwae']:.2f} | {v['active_units']:.0f} | "
                     f"{v['probe_accuracy']:.3f} | {v['information']:.2f} |")
    return lines


BETA_SWEEP = Recipe(
    name="fashion-beta-sweep", lesson="3", what="MLP VAEs on Fashion-MNIST, one per β from 0.05 to 20",
    source="Alemi et al. (2018), Fixing a broken ELBO (the rate–distortion plane); the lesson's own networks",
    members={f"beta{b:g}": {"beta": float(b), **NETWORK} for b in lesson.BETAS},
    training=TRAINING,
    tolerance={"rate": 0.05, "distortion": 0.1, "iwae": 0.1, "active_units": 0.5, "probe_accuracy": 0.005,
               "squared_error": 0.1, "information": 0.05, "marginal_kl": 0.05},
    build=build, train=all_at_once(shipped_training_images, fit_sweep, "beta"), measure=measure, summarise=summarise,
    quick={"test images": 100},
    one_at_a_time=False,
    as_lesson=lambda models: [(models[f"beta{b:g}"], None) for b in lesson.BETAS])

RECIPES = (BETA_SWEEP,)
