"""Lessons 4 and 8b's reference models: β-VAEs, β-TCVAEs and the capacity ramp on dSprites (64 x 64).

Recipes, and where they come from:

* the networks of Burgess et al. (2018, appendix A.1) for dSprites: four 4 x 4 stride-2
  convolutions of 32 channels, two fully connected layers of 256, 10 latents, Bernoulli decoder;
* β-VAE (Higgins et al., 2017): loss = D + β R, β in {1, 2, 4, 8, 16}, three seeds each, because
  single seeds scatter (Locatello et al., 2019);
* β-TCVAE (Chen et al., 2018): the same β values on the total-correlation term, estimated on each
  minibatch with the course's importance-weighted estimator (:mod:`course_lib.models.tcvae`), the
  same seeds;
* capacity (Burgess et al., 2018): loss = D + γ |R - C(t)|, γ = 1000, C raised linearly to its final
  value over the first half of training; one model per final C.

Data: a stated random subset of the full dSprites grid (:class:`course_lib.data.DSpritesGrid`,
737,280 combinations): the first ``train`` points of a seeded permutation for training, the next
``test`` for measuring.  Measured on the test points: MIG and each factor's gap, rate and distortion
(nats), and each factor's largest normalised mutual information with one latent.
"""
import functools
import time

import numpy as np
import torch

from ..data.sprites import FACTOR_NAMES, DSpritesGrid, SpritesData, dsprites_factor_values
from ..errors import check_choice
from ..lessons import beta_vae as lesson
from ..models.tcvae import tcvae_sweep_objective
from ..models.vae import VAE, vae_sweep_objective
from .recipe import Recipe

BETAS = (1.0, 2.0, 4.0, 8.0, 16.0)
SEEDS = (0, 1, 2)
CAPACITIES = (0.0, 5.0, 10.0, 15.0, 25.0)
NETWORK = {"latent_dim": 10, "channels": [32, 32, 32, 32], "hidden": [256, 256], "image": 64}
TRAINING = {"data": "DSpritesGrid 64 x 64, seeded permutation", "split_seed": 0, "train": 100000, "test": 5000,
            "steps": 20000, "batch_size": 256, "lr": 5e-4, "optimizer": "Adam"}


def build(member=None):
    return VAE.conv((1, NETWORK["image"], NETWORK["image"]), NETWORK["latent_dim"],
                    channels=NETWORK["channels"], hidden=NETWORK["hidden"])


@functools.lru_cache(maxsize=4)
def sprites(part, train, test, seed):
    """The "train" or the "test" sprites: consecutive slices of one seeded permutation of the grid (the
    first ``train`` indices, then the next ``test``), rendered on demand.  -> SpritesData"""
    grid = DSpritesGrid()
    order = torch.randperm(len(grid), generator=torch.Generator().manual_seed(seed))
    index = order[:train] if part == "train" else order[train:train + test]
    return SpritesData(grid.images(index), grid.factors(index), dsprites_factor_values())


def _split(t, part):
    return sprites(part, t["train"], t["test"], t["split_seed"])


def _sweeps(recipe, device, progress, objective, over):
    """One ``fit_sweep`` per seed over the members' values of ``over``.  -> {model name: (model, seconds)}"""
    from ..training.sweep import fit_sweep
    t = recipe.training
    x = _split(t, "train").images
    by_seed = {}
    for m, member in recipe.members.items():
        by_seed.setdefault(member.get("seed", 0), []).append(m)
    out = {}
    for seed, names in by_seed.items():
        start = time.perf_counter()
        trained = fit_sweep(build, x, objective, [recipe.members[m][over] for m in names],
                            steps=t["steps"], batch_size=t["batch_size"], lr=t["lr"], seed=seed, device=device,
                            log_every=100, progress=progress, desc=f"{recipe.name}, seed {seed}")
        seconds = (time.perf_counter() - start) / len(names)
        out.update({m: (model, seconds) for m, (model, _) in zip(names, trained)})
    return out


def train_beta(recipe, device, progress):
    return _sweeps(recipe, device, progress, vae_sweep_objective("beta"), "beta")


def train_tcvae(recipe, device, progress):
    return _sweeps(recipe, device, progress, tcvae_sweep_objective(recipe.training["train"]), "beta")


def train_capacity(recipe, device, progress):
    t = recipe.training
    objective = vae_sweep_objective("capacity", beta=t["gamma"], ramp_steps=t["ramp_steps"])
    return _sweeps(recipe, device, progress, objective, "capacity")


def measure(model, member, t):
    """MIG and each factor's gap, rate and distortion, and each factor's largest normalised MI, on the
    test sprites of the training settings ``t``."""
    test = _split(t, "test")
    s = lesson.scores([model], test)
    out = {"mig": float(s["mig"][0]), "rate": float(s["rate"][0]), "distortion": float(s["distortion"][0])}
    for k, name in enumerate(FACTOR_NAMES):
        out[f"gap {name}"] = float(s["gaps"][0][k])
        out[f"MI {name}"] = float(s["mi"][0][:, k].max() / s["entropies"][k])
    return out


def as_lesson(models):
    return models


TOLERANCE = {"mig": 0.01, "rate": 0.05, "distortion": 0.5, **{f"gap {f}": 0.01 for f in FACTOR_NAMES},
             **{f"MI {f}": 0.01 for f in FACTOR_NAMES}}
_COMMON = dict(lesson="4", tolerance=TOLERANCE, build=build, measure=measure, needs_gpu=True, as_lesson=as_lesson)


BETA_VAE = Recipe(
    name="beta-vae-dsprites", what="β-VAEs on dSprites (β = 1 to 16, 3 seeds each)",
    source="Higgins et al. (2017); networks of Burgess et al. (2018), appendix A.1",
    members={f"beta{int(b)}-seed{s}": {"beta": b, "seed": s, **NETWORK} for b in BETAS for s in SEEDS},
    training=TRAINING, train=train_beta, **_COMMON)

TCVAE = Recipe(
    name="beta-tcvae-dsprites", what="β-TCVAEs on dSprites (β = 1 to 16, 3 seeds each)",
    source="Chen et al. (2018), Isolating sources of disentanglement in VAEs; networks of Burgess et al. (2018)",
    members={f"beta{int(b)}-seed{s}": {"beta": b, "seed": s, "objective": "beta-TCVAE (importance-weighted TC)", **NETWORK}
             for b in BETAS for s in SEEDS},
    training=TRAINING, train=train_tcvae, **{**_COMMON, "lesson": "8b"})

CAPACITY_TRAINING = {**TRAINING, "gamma": 1000.0, "ramp_steps": TRAINING["steps"] // 2}
CAPACITY = Recipe(
    name="capacity-dsprites", what="capacity-controlled VAEs on dSprites (final C = 0 to 25 nats)",
    source="Burgess et al. (2018), Understanding disentangling in β-VAE, sec. 4 and appendix A",
    members={f"C{int(c)}": {"capacity": c, "seed": 0, **NETWORK} for c in CAPACITIES},
    training=CAPACITY_TRAINING, train=train_capacity, **_COMMON)

RECIPES = (BETA_VAE, TCVAE, CAPACITY)


# -- what lessons 4 and 8b show of them ------------------------------------------------------------
def by_value(name, over="beta", folder=None):
    """The recorded metrics of recipe ``name``'s shipped models, grouped by the swept value (the seeds of
    one value together).  -> {value: [(model name, metrics), ...]}, or None when the course ships none."""
    check_choice("over", over, ("beta", "capacity"))
    from .catalog import get_recipe, shipped
    from .store import read_manifest
    if not shipped(name, folder):
        return None
    recipe, models = get_recipe(name), read_manifest(folder)["models"]
    out = {}
    for m, member in recipe.members.items():
        out.setdefault(member[over], []).append((m, models[f"{name}/{m}"]["metrics"]))
    return dict(sorted(out.items()))


def seed_table(name, over="beta", folder=None, say=print):
    """Print, for each swept value, the median MIG over seeds with its range, and the median rate and gaps of
    x, y and scale, from the manifest (``make test`` re-measures every one).  Where the course ships none,
    say so and how to make them.  -> by_value(...) or None"""
    from .catalog import get_recipe, provenance, retrain_hint
    groups = by_value(name, over, folder)
    recipe = get_recipe(name)
    if groups is None:
        say(f"No reference models '{name}' ship with the course yet ({recipe.what}). "
            f"To make them: {retrain_hint(recipe)}")
        return None
    symbol = {"beta": "β", "capacity": "C"}[over]
    t = recipe.training
    say(f"{recipe.what}: {t['steps']} steps of {t['batch_size']} sprites each, from {t['train']} training sprites, "
        f"{provenance(name, folder)}; recipe after {recipe.source}")
    say(f"{symbol:>5} {'seeds':>5} {'median MIG':>11} {'range':>13} {'rate':>7} {'gap x':>6} {'gap y':>6} "
        f"{'gap scale':>9}")
    for value, rows in groups.items():
        mig = np.array([r["mig"] for _, r in rows])
        med = {k: float(np.median([r[k] for _, r in rows])) for k in ("rate", "gap x", "gap y", "gap scale")}
        say(f"{value:5g} {len(rows):5d} {np.median(mig):11.3f} {mig.min():6.3f}–{mig.max():<6.3f} {med['rate']:7.1f} "
            f"{med['gap x']:6.2f} {med['gap y']:6.2f} {med['gap scale']:9.2f}")
    medians = {value: float(np.median([r["mig"] for _, r in rows])) for value, rows in groups.items()}
    best = max(medians, key=medians.get)
    say(f"best median MIG: {medians[best]:.3f} at {symbol} = {best:g}")
    return groups


def median_explorer(name, over="beta", folder=None, n=None):
    """The lesson's slider over the shipped models of ``name``: for each value the seed with the median MIG,
    scored again on the recipe's test sprites (``n`` of them; all by default).  None where none ship."""
    from .catalog import get_recipe, load
    groups = by_value(name, over, folder)
    if groups is None:
        return None
    recipe = get_recipe(name)
    models = load(name, folder)
    chosen = []
    for rows in groups.values():
        rows = sorted(rows, key=lambda row: row[1]["mig"])
        chosen.append(models[rows[len(rows) // 2][0]])
    test = _split(recipe.training, "test")
    test = test if n is None else SpritesData(test.images[:n], test.factors[:n], test.factor_values)
    measured = lesson.scores(chosen, test)
    return lesson.sweep_explorer(chosen, list(groups), measured, test.images[0], test.factor_names,
                                 symbol={"beta": "β", "capacity": "C"}[over], target=over == "capacity")


def capacity_table(name="capacity-dsprites", folder=None, say=print):
    """For each final capacity C of the shipped models: the rate reached and, per factor, the largest mutual
    information of one latent with it over the factor's entropy (1: one latent carries it all), from the
    manifest.  Where the course ships none, say so and how to make them.  -> by_value(...) or None"""
    groups = by_value(name, "capacity", folder)
    if groups is None:
        return seed_table(name, "capacity", folder, say)
    say(f"{'C':>5} {'rate':>6} " + " ".join(f"{n:>11}" for n in FACTOR_NAMES))
    for c, rows in groups.items():
        metrics = rows[0][1]
        say(f"{c:5g} {metrics['rate']:6.1f} " + " ".join(f"{metrics['MI ' + n]:11.2f}" for n in FACTOR_NAMES))
    return groups
