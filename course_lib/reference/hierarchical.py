"""Lesson 5's reference models on Fashion-MNIST: hierarchical VAEs with bottom-up and ladder inference
(L = 2 and 3), ladder VAEs with L = 3 for five free-bits thresholds, and the flat VAEs matched to the
L = 2 models (as many latents in total, as many parameters).

Trained exactly as the lesson trains them in full mode (:func:`course_lib.lessons.hierarchical.fit_variant`,
:func:`~course_lib.lessons.hierarchical.fit_free_bits_sweep`, :func:`~course_lib.lessons.hierarchical.fit_flat`:
the negative ELBO on dynamically binarized images, 2,500 steps), on the Fashion-MNIST images the course
ships.  Measured on the 2,000 shipped test images binarized once (seed 0): the ELBO and IWAE_k with
k = 64 (nats per image), and for the hierarchical models each level's KL and active units, as the
lesson's :func:`~course_lib.lessons.hierarchical.evaluate` gives them.  The manifest keeps the four
hierarchical models' training histories, whose per-level KL the lesson plots.
"""
import torch

from ..data.fashion_mnist import load_shipped_subset
from ..lessons import hierarchical as lesson
from .recipe import Recipe, all_at_once, each_on_its_own, shipped_training_images

TRAINING = {"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test), dynamically binarized",
            "steps": 2500, "batch_size": 128, "lr": 1e-3, "optimizer": "Adam", "seed": 0, "test images": 2000,
            "iwae k": 64}
INFERENCES = ("bottom_up", "ladder")


def fit_variant(member, model, x, steps, device, progress):
    return lesson.fit_variant(model, x, steps, device=device, progress=progress)


def fit_flat(member, model, x, steps, device, progress):
    return lesson.fit_flat(model, x, steps, device=device, progress=progress)


def test_images(training):
    return lesson.binarized(load_shipped_subset().x_test[:training["test images"]])


def measure_hierarchical(model, member, training):
    r = lesson.evaluate(model, test_images(training), k=training["iwae k"])
    out = {"elbo": r["elbo"], "iwae": r["iwae"]}
    for level, (kl, active) in enumerate(zip(r["kl"], r["active"]), start=1):
        out[f"kl {level}"], out[f"active {level}"] = kl, float(active)
    return out


def build_variant(member):
    return lesson.build_model(member["inference"], member["levels"])


VARIANTS = Recipe(
    name="fashion-hierarchical", lesson="5",
    what="hierarchical VAEs on Fashion-MNIST, bottom-up and ladder inference, L = 2 and 3",
    source="Sønderby et al. (2016), Ladder variational autoencoders; the lesson's own networks",
    members={f"{inference}-L{levels}": {"inference": inference, "levels": levels,
                                        "latent_dims": list(lesson.LEVEL_SIZES[levels]), "hidden": 256}
             for levels in lesson.LEVEL_SIZES for inference in INFERENCES},
    training=TRAINING, tolerance={"elbo": 0.1, "iwae": 0.1, **{f"kl {l}": 0.05 for l in (1, 2, 3)},
                                  **{f"active {l}": 0.5 for l in (1, 2, 3)}},
    build=build_variant, train=each_on_its_own(shipped_training_images, fit_variant), measure=measure_hierarchical,
    quick={"test images": 200},
    history=True,
    as_lesson=lambda models, histories: {(inference, levels): (models[f"{inference}-L{levels}"],
                                                               histories[f"{inference}-L{levels}"])
                                         for levels in lesson.LEVEL_SIZES for inference in INFERENCES})


def build_seeded(member):
    return lesson.build_model(member["inference"], member["levels"], seed=member["seed"])


def fit_warmup(member, model, x, steps, device, progress):
    return lesson.fit_variant(model, x, steps, device=device, progress=progress, warmup=member["warm-up steps"],
                              seed=member["seed"])


WARMUP = Recipe(
    name="fashion-warmup", lesson="5",
    what="three-level VAEs on Fashion-MNIST, ladder and bottom-up inference, trained with KL warm-up, three seeds",
    source="Sønderby et al. (2016): ladder inference with KL warm-up keeps more units active (their Table 2 and "
           "Figure 5, with batch normalization and far longer training); the lesson's own networks",
    members={f"{inference}-L3-seed{seed}": {"inference": inference, "levels": 3, "seed": seed,
                                            "warm-up steps": lesson.WARMUP, "latent_dims": list(lesson.LEVEL_SIZES[3]),
                                            "hidden": 256}
             for inference in INFERENCES for seed in lesson.WARMUP_SEEDS},
    training=TRAINING, tolerance=VARIANTS.tolerance, build=build_seeded,
    train=each_on_its_own(shipped_training_images, fit_warmup), measure=measure_hierarchical,
    ships=lambda metrics, members: [],      # the lesson reads their recorded metrics; 4 MB of weights would
                                            # break the course's 40 MB budget (the SHA-256 of each stays recorded)
    as_lesson=lambda models: {(inference, seed): (models[f"{inference}-L3-seed{seed}"], None)
                              for inference in ("ladder", "bottom_up") for seed in lesson.WARMUP_SEEDS})


def fit_free_bits_sweep(x, steps, thresholds, device, progress):
    return lesson.fit_free_bits_sweep(x, steps, thresholds, device=device, progress=progress)


FREE_BITS = Recipe(
    name="fashion-free-bits", lesson="5", what="ladder VAEs (L = 3) on Fashion-MNIST, free bits λ = 0 to 2 nats a level",
    source="Kingma et al. (2016), free bits; Sønderby et al. (2016), ladder VAEs; the lesson's own networks",
    members={f"fb{v:g}": {"inference": "ladder", "levels": 3, "free_bits": float(v),
                          "latent_dims": list(lesson.LEVEL_SIZES[3]), "hidden": 256} for v in lesson.FREE_BITS},
    training=TRAINING, tolerance=VARIANTS.tolerance, build=build_variant,
    train=all_at_once(shipped_training_images, fit_free_bits_sweep, "free_bits"),
    measure=measure_hierarchical, one_at_a_time=False, quick={"test images": 200},
    as_lesson=lambda models: [(models[f"fb{v:g}"], None) for v in lesson.FREE_BITS])


def build_flat(member):
    """The flat VAE matched to a fresh L = 2 model of the member's inference (the match is by parameter
    count, which does not depend on the weights)."""
    reference = lesson.build_model(member["matched to"], 2)
    return lesson.matched_flat_vae(reference, sum(reference.latent_dims))


def measure_flat(model, member, training):
    x = test_images(training)
    torch.manual_seed(0)
    with torch.no_grad():
        iwae = float(model.iwae_bound(x, k=training["iwae k"]).mean())
        torch.manual_seed(0)
        elbo = float(model.loss_terms(x)["elbo"])
    return {"elbo": elbo, "iwae": iwae}


FLAT = Recipe(
    name="fashion-flat-vaes", lesson="5",
    what="flat VAEs on Fashion-MNIST with the latents and parameters of the L = 2 hierarchical ones",
    source="the lesson's question: does a hierarchy beat a flat VAE of the same size?",
    members={f"flat-{inference}": {"matched to": inference, "latent_dim": sum(lesson.LEVEL_SIZES[2])}
             for inference in INFERENCES},
    training=TRAINING, tolerance={"elbo": 0.1, "iwae": 0.1}, build=build_flat,
    train=each_on_its_own(shipped_training_images, fit_flat), measure=measure_flat, quick={"test images": 200},
    as_lesson=lambda models: {inference: (models[f"flat-{inference}"], None) for inference in INFERENCES})

RECIPES = (VARIANTS, WARMUP, FREE_BITS, FLAT)
