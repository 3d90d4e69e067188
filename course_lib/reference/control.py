"""Lesson 4's reference models on its own sprites (sections 5 and 6): the settled limits of the capacity
objective D + γ|R − C| (``sprites-cases``: a plain VAE, C = 0 with a small and a large γ, and a C beyond
reach), and a ControlVAE whose PI controller sets β during training (``sprites-control-vae``, with the
training history the lesson plots: β(t) beside the rate).

Trained exactly as the lesson trains them in full mode (:func:`course_lib.lessons.beta_vae.fit_cases`, the
four cases as one sweep for 1,500 steps, and :func:`~course_lib.lessons.beta_vae.fit_control_vae`, 2,000
steps with set point 8 nats), on the lesson's 10,000 sprites (``make_sprites``, seed 0).  Measured as the
lesson measures them: rate and distortion on the first 5,000 of those sprites.
"""
import functools

import torch

from ..data.sprites import make_sprites
from ..lessons import beta_vae as lesson
from ..metrics.information import rate_distortion_terms
from .recipe import Recipe, all_at_once, each_on_its_own

TRAINING = {"data": "the lesson's sprites: make_sprites(10,000, seed 0) at 32 x 32; measured on the first 5,000",
            "train": 10000, "test": 5000, "batch_size": 128, "lr": 1e-3, "optimizer": "Adam", "seed": 0,
            "latent_dim": lesson.LATENT_DIM, "hidden": [256]}
CASE_NAMES = {"plain VAE (β = 1, C = 0)": "plain", "C = 0, γ = 0.5": "C0-gamma0.5", "C = 0, γ = 20": "C0-gamma20",
              "C = 200, γ = 20": "C200-gamma20"}       # the lesson's name -> the model's


@functools.lru_cache(maxsize=2)
def _sprites(n):
    return make_sprites(n, seed=0)


def sprites(training):
    """The lesson's sprites (rendered once per size: every model is measured on them)."""
    return _sprites(training["train"])


def build(member):
    return lesson.build_sprite_vae(32)


@torch.no_grad()
def measure(model, member, training):
    torch.manual_seed(0)
    terms = rate_distortion_terms(model, sprites(training).images[:training["test"]])
    return {"rate": terms["rate"], "distortion": terms["distortion"]}


def fit_cases(data, steps, cases, device, progress):
    return lesson.fit_cases(data, cases, steps, device=device, progress=progress)


CASES = Recipe(
    name="sprites-cases", lesson="4", what="sprite VAEs at the settled limits of D + γ|R − C| (C = 0 and C = 200)",
    source="Burgess et al. (2018), Understanding disentangling in β-VAE; the course text's C = 0 and C = ∞",
    members={short: {"case": list(lesson.CASES[name])} for name, short in CASE_NAMES.items()},
    training={**TRAINING, "steps": 1500}, tolerance={"rate": 0.05, "distortion": 0.1},
    build=build, train=all_at_once(sprites, fit_cases, "case"), measure=measure, one_at_a_time=False, quick={"test": 500},
    as_lesson=lambda models: [(models[short], None) for short in CASE_NAMES.values()])


def build_control(member):
    return lesson.seeded_sprite_vae(32)


def fit_control(member, model, data, steps, device, progress):
    return lesson.fit_control_vae(model, data, member["set_point"], steps, kp=member["kp"], ki=member["ki"],
                                  beta_max=member["beta_max"], log_every=member["log_every"], device=device,
                                  progress=progress)


CONTROL = Recipe(
    name="sprites-control-vae", lesson="4", what="a sprite VAE whose β is set by ControlVAE's PI controller",
    source="Shao et al. (2020), ControlVAE: controllable variational autoencoder",
    members={"control": {"set_point": 8.0, "kp": 0.5, "ki": 0.002, "beta_max": 4.0, "log_every": 20}},
    training={**TRAINING, "steps": 2000}, tolerance={"rate": 0.05, "distortion": 0.1},
    build=build_control, train=each_on_its_own(sprites, fit_control), measure=measure, history=True,
    as_lesson=lambda models, histories: (models["control"], histories["control"]))

RECIPES = (CASES, CONTROL)
