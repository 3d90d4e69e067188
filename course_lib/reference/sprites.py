"""Lessons 4 and 8b's reference models: β-VAEs, β-TCVAEs and the capacity ramp on dSprites.

Two sets of recipes share one design; they differ in image size and so in cost:

* the CPU recipes (``beta-vae-dsprites``, ``beta-tcvae-dsprites``, ``capacity-dsprites``), which the
  course ships: dSprites' grid rendered at 32 x 32, three 4 x 4 stride-2 convolutions of 32 channels,
  two fully connected layers of 256, 10 latents, Bernoulli decoder (Burgess et al.'s networks cut
  by one layer for the smaller side).  One model takes minutes on a 2-core CPU;
* the GPU recipes (the same names ending in ``-64``): dSprites' own 64 x 64 and Burgess et al.'s
  networks as published (2018, appendix A.1), four convolutions; hours on a CPU.

The objectives:

* β-VAE (Higgins et al., 2017): loss = D + β R, three seeds for every β, because single seeds
  scatter (Locatello et al., 2019);
* β-TCVAE (Chen et al., 2018): loss = D + R + (β − 1) TC, TC estimated on each minibatch with the
  course's importance-weighted estimator (:mod:`course_lib.models.tcvae`), the same seeds;
* capacity (Burgess et al., 2018): the rate steered along a ramp C(t), one model per final C.  The
  GPU recipe keeps Burgess et al.'s published form, loss = D + γ |R − C(t)| with C from 0 over half
  the steps and γ = 1000.  On the CPU recipe that penalty failed at every setting tried (the search
  table in docs/reference-models.md): started at C = 0 the rate met C with a posterior that told the
  decoder nothing, and started from a plain VAE no factor ever got half a latent.  So the CPU
  recipe holds the rate to C(t) with a feedback-set β instead (Shao et al., 2020, who use it for
  this ramp): loss = D + β(t) R, β(t) from a PI controller (:mod:`course_lib.models.control`) that
  starts at β = 20 and lowers β as C(t) rises linearly from 0.5 nat to its final value over 4,000
  steps, then holds it.

Data: a stated random subset of the full dSprites grid (:class:`course_lib.data.DSpritesGrid`,
737,280 combinations): the first ``train`` points of a seeded permutation for training, the next
``test`` for measuring.  Measured on the test points: MIG and each factor's gap, rate and distortion
(nats), and each factor's largest normalised mutual information with one latent.

Every model is trained on its own (``fit``), so that ``python -m course_lib.reference train``
can write each one as it finishes and a rerun goes on where an interrupted one stopped.
"""
import functools
import time

import numpy as np
import torch

from ..data.sprites import FACTOR_NAMES, DSpritesGrid, SpritesData, dsprites_factor_values
from ..lessons import beta_vae as lesson
from ..models.control import PIController, control_vae_objective
from ..models.tcvae import tcvae_objective
from ..models.vae import VAE, vae_objective
from ..schedules import after_warm_start, linear_warmup
from ..training.train import fit
from .recipe import Recipe

SEEDS = (0, 1, 2)
BETAS = (1.0, 2.0, 4.0, 8.0, 16.0)
TCVAE_BETAS = (1.0, 2.0, 4.0, 6.0, 10.0)
CAPACITIES = (1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 16.0)          # the CPU recipe: 32 x 32 spends fewer nats
CAPACITIES_64 = (2.0, 5.0, 10.0, 15.0, 20.0, 25.0)

# The CPU recipes: 32 x 32.
NETWORK = {"latent_dim": 10, "channels": [32, 32, 32], "hidden": [256, 256], "image": 32}
TRAINING = {"data": "DSpritesGrid, seeded permutation", "image": 32, "split_seed": 0, "train": 100000, "test": 5000,
            "steps": 6000, "batch_size": 256, "lr": 1e-3, "optimizer": "Adam"}
CAPACITY_TRAINING = {**TRAINING, "steps": 5500, "start_capacity": 0.5, "ramp_steps": 4000,
                     "controller": {"kp": 1.0, "ki": 0.005, "beta_min": 0.0, "beta_max": 20.0}}

# The GPU recipes: dSprites' own 64 x 64 and Burgess et al.'s networks.
STEPS_64 = 20000
NETWORK_64 = {"latent_dim": 10, "channels": [32, 32, 32, 32], "hidden": [256, 256], "image": 64}
TRAINING_64 = {"data": "DSpritesGrid, seeded permutation", "image": 64, "split_seed": 0, "train": 100000, "test": 5000,
               "steps": STEPS_64, "batch_size": 256, "lr": 5e-4, "optimizer": "Adam"}
CAPACITY_TRAINING_64 = {**TRAINING_64, "gamma": 1000.0, "ramp_steps": STEPS_64 // 2}


def build(member):
    """A fresh VAE with the member's network (its keys latent_dim, channels, hidden, image)."""
    side = member["image"]
    return VAE.conv((1, side, side), member["latent_dim"], channels=member["channels"], hidden=member["hidden"])


@functools.lru_cache(maxsize=4)
def sprites(part, train, test, seed, image=64):
    """The "train" or the "test" sprites: consecutive slices of one seeded permutation of the grid (the
    first ``train`` indices, then the next ``test``), rendered on demand at ``image`` x ``image``.
    -> SpritesData"""
    grid = DSpritesGrid(image)
    order = torch.randperm(len(grid), generator=torch.Generator().manual_seed(seed))
    index = order[:train] if part == "train" else order[train:train + test]
    return SpritesData(grid.images(index), grid.factors(index), dsprites_factor_values())


def split(training, part):
    """The recipe's "train" or "test" sprites."""
    t = training
    return sprites(part, t["train"], t["test"], t["split_seed"], t["image"])


def objective(member, training):
    """The member's loss for ``fit``: β-VAE, β-TCVAE or the capacity ramp."""
    kind = member["objective"]
    if kind == "beta-VAE":
        return vae_objective(beta=member["beta"])
    if kind == "beta-TCVAE":
        return tcvae_objective(member["beta"], training["train"])
    start = min(training.get("start_capacity", 0.0), member["capacity"])
    ramp = linear_warmup(training["ramp_steps"], start=start, end=member["capacity"])
    if "controller" in training:                     # β(t) set so that the rate follows C(t)
        c = training["controller"]
        controller = PIController(start, kp=c["kp"], ki=c["ki"], beta_min=c["beta_min"], beta_max=c["beta_max"],
                                  integral=-(c["beta_max"] - c["beta_min"] - c["kp"]) / c["ki"])  # from beta_max
        return control_vae_objective(controller, set_point=ramp)
    warm = training.get("warm_steps", 0)             # first a plain VAE: beta = 1, C = 0
    return vae_objective(beta=after_warm_start(warm, 1.0, training["gamma"]),
                         capacity=after_warm_start(warm, 0.0, ramp))


def train(recipe, device, progress):
    """Each member on its own, from its own seed.  -> {model name: (model, seconds)}"""
    t = recipe.training
    x = split(t, "train").images
    out = {}
    for m, member in recipe.members.items():
        torch.manual_seed(member["seed"])
        model = build(member)
        start = time.perf_counter()
        fit(model, x, objective(member, t), steps=t["steps"], batch_size=t["batch_size"], lr=t["lr"],
            seed=member["seed"], device=device, log_every=100, progress=progress, desc=f"{recipe.name}/{m}")
        out[m] = (model, time.perf_counter() - start)
    return out


def measure(model, member, t):
    """MIG and each factor's gap, rate and distortion, and each factor's largest normalised MI, on the
    test sprites of the training settings ``t``."""
    s = lesson.scores([model], split(t, "test"))
    out = {"mig": float(s["mig"][0]), "rate": float(s["rate"][0]), "distortion": float(s["distortion"][0])}
    for k, name in enumerate(FACTOR_NAMES):
        out[f"gap {name}"] = float(s["gaps"][0][k])
        out[f"MI {name}"] = float(s["mi"][0][:, k].max() / s["entropies"][k])
    return out


def median_seeds(metrics, members, over):
    """Of each swept value's seeds, the one with the median MIG, once all its seeds are measured.
    metrics: {model name: recorded metrics} of the models trained so far.  -> {value: model name}"""
    groups = {}
    for m, member in members.items():
        groups.setdefault(member[over], []).append(m)
    chosen = {}
    for value, names in groups.items():
        if all(m in metrics for m in names):
            ranked = sorted(names, key=lambda m: (metrics[m]["mig"], m))
            chosen[value] = ranked[len(ranked) // 2]
    return chosen


def ships_medians(over):
    """A recipe's ``ships``: the weights of each value's median seed, all metrics (the store stays small);
    a value whose seeds are not all trained keeps every weight until they are."""
    def ships(metrics, members):
        chosen = median_seeds(metrics, members, over)
        return {m for m, member in members.items() if chosen.get(member[over], m) == m}
    return ships


def summarise_seeds(over):
    """A recipe's ``summarise``: one row per swept value, over the seeds trained so far: their number, the
    median MIG and its range, the median rate, distortion and gaps of x, y and scale, and the seed whose
    weights ship."""
    symbol = {"beta": "β", "capacity": "C"}[over]

    def summarise(metrics, members):
        chosen = median_seeds(metrics, members, over)
        groups = {}
        for m, member in members.items():
            if m in metrics:
                groups.setdefault(member[over], []).append(m)
        lines = [f"| {symbol} | seeds | median MIG | range | rate | distortion | gap x | gap y | gap scale | "
                 "weights shipped |", "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"]
        for value in sorted(groups):
            names = groups[value]

            def median(key):
                return float(np.median([metrics[m][key] for m in names]))  # noqa: B023 (called in this iteration)
            migs = [metrics[m]["mig"] for m in names]
            lines.append(f"| {value:g} | {len(names)} | {median('mig'):.3f} | {min(migs):.3f}–{max(migs):.3f} | "
                         f"{median('rate'):.1f} | {median('distortion'):.1f} | {median('gap x'):.2f} | "
                         f"{median('gap y'):.2f} | {median('gap scale'):.2f} | "
                         f"{chosen.get(value, 'all, until every seed is in')} |")
        return lines
    return summarise


def summarise_capacity(metrics, members):
    """The capacity recipe's ``summarise``: per final C, the rate reached, MIG and each factor's largest
    normalised MI with one latent."""
    lines = ["| final C | rate | distortion | MIG | " + " | ".join(f"MI {f}" for f in FACTOR_NAMES) + " |",
             "|---:|---:|---:|---:|" + "---:|" * len(FACTOR_NAMES)]
    for m in sorted(metrics, key=lambda m: members[m]["capacity"]):
        v = metrics[m]
        lines.append(f"| {members[m]['capacity']:g} | {v['rate']:.1f} | {v['distortion']:.1f} | {v['mig']:.3f} | "
                     + " | ".join(f"{v['MI ' + f]:.2f}" for f in FACTOR_NAMES) + " |")
    return lines


TOLERANCE = {"mig": 0.01, "rate": 0.05, "distortion": 0.5, **{f"gap {f}": 0.01 for f in FACTOR_NAMES},
             **{f"MI {f}": 0.01 for f in FACTOR_NAMES}}


def _recipes(suffix, network, training, capacity_training, capacities, gpu, where):
    common = dict(tolerance=TOLERANCE, build=build, train=train, measure=measure, needs_gpu=gpu,
                  quick={"test": 500})
    beta_vae = Recipe(
        name=f"beta-vae-dsprites{suffix}", lesson="4", what=f"β-VAEs on dSprites {where} (β = 1 to 16, 3 seeds each)",
        source="Higgins et al. (2017); networks after Burgess et al. (2018), appendix A.1",
        members={f"beta{b:g}-seed{s}": {"objective": "beta-VAE", "beta": b, "seed": s, **network}
                 for b in BETAS for s in SEEDS},
        training=training, ships=ships_medians("beta"), summarise=summarise_seeds("beta"), **common)
    tcvae = Recipe(
        name=f"beta-tcvae-dsprites{suffix}", lesson="8b",
        what=f"β-TCVAEs on dSprites {where} (β = 1 to 10, 3 seeds each)",
        source="Chen et al. (2018), Isolating sources of disentanglement in VAEs; networks after Burgess et al. (2018)",
        members={f"beta{b:g}-seed{s}": {"objective": "beta-TCVAE", "tc estimator": "importance-weighted",
                                        "beta": b, "seed": s, **network}
                 for b in TCVAE_BETAS for s in SEEDS},
        training=training, ships=ships_medians("beta"), summarise=summarise_seeds("beta"), **common)
    capacity = Recipe(
        name=f"capacity-dsprites{suffix}", lesson="4",
        what=f"capacity-controlled VAEs on dSprites {where} (final C = {capacities[0]:g} to {capacities[-1]:g} nats)",
        source="Burgess et al. (2018), Understanding disentangling in β-VAE, sec. 4 and appendix A"
               + ("; the rate held to C(t) by Shao et al. (2020)'s PI controller" if "controller" in capacity_training
                  else ""),
        members={f"C{c:g}": {"objective": "capacity", "capacity": c, "seed": 0, **network} for c in capacities},
        training=capacity_training, summarise=summarise_capacity, **common)
    return beta_vae, tcvae, capacity


BETA_VAE, TCVAE, CAPACITY = _recipes("", NETWORK, TRAINING, CAPACITY_TRAINING, CAPACITIES, False, "at 32 x 32")
BETA_VAE_64, TCVAE_64, CAPACITY_64 = _recipes("-64", NETWORK_64, TRAINING_64, CAPACITY_TRAINING_64, CAPACITIES_64,
                                              True, "at 64 x 64")
RECIPES = (BETA_VAE, TCVAE, CAPACITY, BETA_VAE_64, TCVAE_64, CAPACITY_64)
