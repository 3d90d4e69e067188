"""Lesson 7b's reference models on Fashion-MNIST: VAEs whose posterior is a Gaussian pushed through K
planar or IAF steps (K = 0, 2, 8; K = 0 is the Gaussian VAE, shared by both kinds), and the Glow-style
image flow (recipe ``fashion-image-flow``: 1,500 steps as the lesson trains it, measured in bits per
dimension on the 2,000 shipped test images, its training curve kept for the lesson's plot).

Trained exactly as the lesson trains them in full mode (:func:`course_lib.lessons.flow_vae.fit_flow_vae`:
the ELBO on dynamically binarized images, 3,000 steps), on the Fashion-MNIST images the course ships.
Measured as the lesson measures them (:func:`~course_lib.lessons.flow_vae.bounds`) on the first 1,000
shipped test images binarized once (seed 0): the ELBO (16 draws per image) and IWAE_256, in nats; and, for the
Gaussian and the deepest planar and IAF posteriors, the lesson's amortization-gap table on the first 200 of them.
"""
import inspect

import torch

from ..data import dynamic_binarize
from ..data.fashion_mnist import load_shipped_subset
from ..lessons import flow_vae as lesson
from .recipe import Recipe, each_on_its_own, shipped_training_images

TRAINING = {"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test), dynamically binarized",
            "steps": 3000, "batch_size": 128, "lr": 1e-3, "optimizer": "Adam", "seed": 0,
            "test images": lesson.TEST_IMAGES, "iwae k": lesson.K_IWAE}


def model_name(kind, k):
    """The recipe's name of the model with ``k`` steps of flow ``kind`` (one Gaussian VAE for K = 0)."""
    return "gaussian-K0" if k == 0 else f"{kind}-K{k}"


def build(member):
    return lesson.build_flow_vae(member["kind"], member["K"])


def fit(member, model, x, steps, device, progress):
    return lesson.fit_flow_vae(model, x, steps, device=device, progress=progress)


GAP_METRICS = ("ELBO (amortized q)", "ELBO (q optimised per image)", "log p(x) (IWAE)", "approximation gap",
               "amortization gap")


def has_gap_table(member):
    """The models of the lesson's amortization-gap table: the Gaussian (K = 0) and each kind at the deepest K."""
    return member["K"] in (0, max(lesson.FLOW_STEPS))


def measure(model, member, training):
    """The lesson's bounds table (ELBO and IWAE_k on the first "test images"); for the models of its gap table,
    also :func:`~course_lib.lessons.flow_vae.amortization_gap` on the first ``lesson.GAP_IMAGES`` of them (or
    "gap images", the quick check's slice) with the lesson's steps (or "gap steps", a test's stand-in) and k, each
    metric "gap: <column>"."""
    torch.manual_seed(0)
    x = dynamic_binarize(load_shipped_subset().x_test[:training["test images"]])
    elbo, iwae = lesson.bounds(model, x, k_iwae=training["iwae k"])
    out = {"elbo": elbo, "iwae": iwae}
    if has_gap_table(member):
        gaps = lesson.amortization_gap(model, x[:training.get("gap images", lesson.GAP_IMAGES)],
                                       steps=training.get("gap steps", lesson.GAP_STEPS), k_iwae=lesson.GAP_K_IWAE)
        out.update({f"gap: {column}": gaps[column] for column in GAP_METRICS})
    return out


def gap_settings():
    """The gap table's settings that ``training`` does not hold: the lesson's images, steps and k, and
    ``amortization_gap``'s own defaults (its learning rate and sample counts), so that ``--check`` names a change to
    any of them instead of blaming the models."""
    defaults = inspect.signature(lesson.amortization_gap).parameters
    return {"gap images": lesson.GAP_IMAGES, "gap steps": lesson.GAP_STEPS, "gap k": lesson.GAP_K_IWAE,
            "gap lr": defaults["lr"].default, "gap k per step": defaults["k"].default,
            "gap k_elbo": defaults["k_elbo"].default}


FLOW_VAES = Recipe(
    name="fashion-flow-vaes", lesson="7b", what="VAEs with planar and IAF posteriors (K = 0, 2, 8) on Fashion-MNIST",
    source="Rezende & Mohamed (2015); Kingma et al. (2016), IAF; the lesson's own networks",
    members={model_name(kind, k): {"kind": "planar" if k == 0 else kind, "K": k, "latent_dim": lesson.LATENT_DIM}
             for kind in lesson.KINDS for k in lesson.FLOW_STEPS},
    training=TRAINING, tolerance={"elbo": 0.1, "iwae": 0.1, **{f"gap: {c}": 0.1 for c in GAP_METRICS}}, build=build,
    train=each_on_its_own(shipped_training_images, fit), measure=measure,
    quick={"test images": 100, "gap images": 4, "gap steps": 30},
    measured_with=gap_settings,
    as_lesson=lambda models: {(kind, k): (models[model_name(kind, k)], None)
                              for kind in lesson.KINDS for k in lesson.FLOW_STEPS})

def fit_image_flow(member, flow, x, steps, device, progress):
    return lesson.fit_image_flow(flow, x, steps, device=device, progress=progress)


def measure_image_flow(flow, member, training):
    return {"bits per dim": lesson.image_bits_per_dim(flow, load_shipped_subset().x_test[:training["test images"]])}


IMAGE_FLOW = Recipe(
    name="fashion-image-flow", lesson="7b", what="a Glow-style flow on Fashion-MNIST images",
    source="Dinh et al. (2017), Real NVP; Kingma & Dhariwal (2018), Glow; the lesson's own network",
    members={"flow": {"model": "build_image_flow", "steps per scale": 4, "hidden": 32}},
    training={"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test), dequantized", "steps": 1500,
              "batch_size": 64, "lr": 1e-3, "optimizer": "Adam", "seed": 0, "test images": 2000},
    tolerance={"bits per dim": 0.005}, build=lambda member: lesson.seeded_image_flow(),
    train=each_on_its_own(shipped_training_images, fit_image_flow), measure=measure_image_flow, history=True,
    as_lesson=lambda models, histories: (models["flow"], histories["flow"]))

# -- question 6: planar posteriors of one observation -------------------------------------------------
POSTERIOR_CASES = {"two modes": "two-modes", "logistic": "logistic"}
POSTERIOR_DEPTHS = {"two modes": tuple(range(9)), "logistic": (0, 2, 8)}   # the slider's depths; question 6's


POSTERIOR_MEMBERS = {f"{POSTERIOR_CASES[case]}-K{d}": {"case": case, "kind": "planar", "depth": d}
                     for case, depths in POSTERIOR_DEPTHS.items() for d in depths}


def fit_posterior(member, q, z0, steps, device, progress):
    return lesson.fit_q(q, member["case"], z0, steps, seed=0, progress=progress)


POSTERIORS = Recipe(
    name="toy-posteriors", lesson="7b",
    what="planar-flow posteriors q_K(z|x) of question 6's two observations (K = 0 to 8)",
    source="Rezende & Mohamed (2015); the course's question 6 (when does a flow posterior help?)",
    members=POSTERIOR_MEMBERS,
    training={"data": "a fixed pool of 65,536 N(0, I) draws (seed 0)", "steps": 1500, "batch_size": 256,
              "lr": 1e-2, "optimizer": "Adam", "seed": 0, "objective": "reverse KL to the unnormalised posterior"},
    tolerance={"gap": 0.002},
    build=lambda member: lesson.seeded_posterior(member["kind"], member["depth"]),
    train=each_on_its_own(lambda training: lesson.base_draws(training["seed"]), fit_posterior),
    measure=lambda q, member, training: {"gap": lesson.posterior_gap(q, member["case"])},
    as_lesson=lambda models: {(POSTERIOR_MEMBERS[m]["case"], POSTERIOR_MEMBERS[m]["depth"]): q
                              for m, q in models.items()})

RECIPES = (FLOW_VAES, IMAGE_FLOW, POSTERIORS)
