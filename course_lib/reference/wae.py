"""Lesson 6's reference models on Fashion-MNIST: a VAE against WAE-MMD (IMQ and RBF kernels) and WAE-GAN
with the same networks, WAE-MMD (IMQ) for four weights λ, and a VAE and a WAE-MMD with two latents, whose
plane lessons 1 and 6 draw.

Trained exactly as the lesson trains them in full mode (:func:`course_lib.lessons.wae.fit_model` and
:func:`~course_lib.lessons.wae.fit_lambda_sweep`, 3,000 steps), on the Fashion-MNIST images the course
ships.  Measured as the lesson measures them (:func:`~course_lib.lessons.wae.compare`) on the 2,000
shipped test images: the squared error of reconstructions, the sample proxy (pixel MMD²), the MMD²
between the codes and prior draws, and a linear probe's accuracy on the codes.  The two-latent pair is
measured as the lessons read it (:func:`~course_lib.lessons.wae.plane_summary`): the VAE's rate and posterior
spread, each model's codes against the prior (MMD²), and a neighbour vote's accuracy on the codes.
"""
import torch

from ..data.fashion_mnist import load_shipped_subset
from ..lessons import wae as lesson
from .recipe import Recipe, all_at_once, each_on_its_own, shipped_training_images

TRAINING = {"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test)", "steps": 3000, "batch_size": 128,
            "lr": 1e-3, "optimizer": "Adam", "seed": 0, "test images": 2000}
NETWORK = {"latent_dim": lesson.LATENT_DIM, "hidden": [256]}
METRICS = ("squared error", "sample MMD²", "codes vs prior MMD²", "probe accuracy")
TOLERANCE = {"squared error": 0.1, "sample MMD²": 0.001, "codes vs prior MMD²": 0.001, "probe accuracy": 0.005}
SHORT = {"VAE": "vae", "VAE (squared error)": "vae-squared-error", "WAE-MMD (IMQ)": "wae-mmd-imq", "WAE-MMD (RBF)": "wae-mmd-rbf", "WAE-GAN": "wae-gan"}


def measure(model, member, training):
    data = load_shipped_subset()
    n = training["test images"]
    row = lesson.compare({"model": model}, data.x_test[:n], data.y_test[:n])["model"]
    return {key: float(row[key]) for key in METRICS}


def build_model(member):
    return lesson.build_model(member["model"])


def fit_model(member, model, x, steps, device, progress):
    return lesson.fit_model(member["model"], model, x, steps, device=device, progress=progress)


MODELS = Recipe(
    name="fashion-wae", lesson="6", what="a VAE (Bernoulli decoder), a VAE matched to the WAEs' squared error, WAE-MMD (IMQ, RBF; λ = 10) and WAE-GAN (λ = 1) on Fashion-MNIST",
    source="Tolstikhin et al. (2018), Wasserstein auto-encoders; the lesson's own networks",
    members={SHORT[name]: {"model": name, **NETWORK} for name in lesson.MODELS},
    training=TRAINING, tolerance=TOLERANCE, build=build_model,
    train=each_on_its_own(shipped_training_images, fit_model), measure=measure, quick={"test images": 200},
    as_lesson=lambda models: {name: (models[SHORT[name]], None) for name in lesson.MODELS})


def fit_lambda_sweep(x, steps, lams, device, progress):
    return lesson.fit_lambda_sweep(x, steps, lams, device=device, progress=progress)


LAMBDA_SWEEP = Recipe(
    name="fashion-wae-lambda", lesson="6", what="WAE-MMD (IMQ) on Fashion-MNIST, one per λ from 0.1 to 100",
    source="Tolstikhin et al. (2018), Wasserstein auto-encoders; the lesson's own networks",
    members={f"lam{lam:g}": {"model": "WAE-MMD (IMQ)", "lam": float(lam), **NETWORK} for lam in lesson.LAMBDAS},
    training=TRAINING, tolerance=TOLERANCE, build=lambda member: lesson.build_wae(),
    train=all_at_once(shipped_training_images, fit_lambda_sweep, "lam"),
    measure=measure, one_at_a_time=False, quick={"test images": 200},
    as_lesson=lambda models: [(models[f"lam{lam:g}"], None) for lam in lesson.LAMBDAS])


def measure_2d(model, member, training):
    """The model's part of :func:`~course_lib.lessons.wae.plane_summary` on the shipped test images."""
    data = load_shipped_subset()
    n = training["test images"]
    x, labels = data.x_test[:n], data.y_test[:n]
    with torch.no_grad():
        if member["model"] == "VAE":
            q = model.encoder(model.check_input(x))
            return lesson.vae_plane_numbers(q.mean.cpu(), q.std.cpu(), labels)
        return lesson.wae_plane_numbers(model.encode(model.check_input(x)).cpu(), labels)


def fit_2d(member, model, x, steps, device, progress):
    return lesson.fit_2d(member["model"], model, x, steps, device=device, progress=progress)


PLANE = Recipe(
    name="fashion-2d-latents", lesson="1, 6",
    what="a VAE and WAE-MMD (IMQ, λ = 10) with two latents on Fashion-MNIST, drawn in their plane",
    source="Kingma & Welling (2014), figure 4; Tolstikhin et al. (2018), figure 1; the lesson's own networks",
    members={"vae": {"model": "VAE", "latent_dim": 2, "hidden": [128]},
             "wae": {"model": "WAE-MMD (IMQ)", "latent_dim": 2, "hidden": [128]}},
    training=TRAINING, tolerance={"rate": 0.05, "median posterior std": 0.002, "VAE codes vs prior MMD²": 0.001,
                                  "WAE codes vs prior MMD²": 0.001, "VAE 10-NN accuracy": 0.005,
                                  "WAE 10-NN accuracy": 0.005},
    build=lambda member: lesson.build_2d(member["model"]),
    train=each_on_its_own(shipped_training_images, fit_2d), measure=measure_2d,
    as_lesson=lambda models: {name: (models[short], None) for name, short in (("VAE", "vae"), ("WAE-MMD (IMQ)", "wae"))})

RECIPES = (MODELS, LAMBDA_SWEEP, PLANE)
