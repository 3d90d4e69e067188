"""Lesson 8b's reference models on the eight-Gaussians toy: the models its understanding questions and
its InfoGAN section are computed on.

* ``toy-infogans``: InfoGANs with 8 code values and λ = 0, 0.1, 1 on their information term (Chen et
  al., 2016), measured by how far the code decides the mode (:func:`course_lib.lessons.hybrids.code_control`);
  their training histories ship with them (the lesson plots the information term over training);
* ``toy-infogan-continuous``: the λ = 1 InfoGAN with a continuous code beside its 8 values, measured by
  what that code does (:func:`course_lib.lessons.hybrids.continuous_sweep`) as well;
* ``toy-three-models``: a VAE, a GAN and a Real NVP flow on the same points (question 7), measured by
  the test log-likelihood where the model has one (exact for the flow, the IWAE bound for the VAE)
  and by the sample proxy (MMD² against the test points);
* ``toy-unified``: the text's unified objective and each of its parts (question 8), measured by the
  IWAE bound, the sample proxy and the consistency error;
* ``toy-bigan``: the BiGAN whose cycle errors the lesson plots (its training history ships with it),
  measured by both cycle errors on the test points.

Each model is trained exactly as the lesson trains it in full mode (the lesson's own ``build_*`` and
``fit_*`` functions, 3,000 steps on its 20,000 training points), so ``retrain = True`` in the lesson
trains the same models again.  Measured on the first 2,000 of the lesson's test points, as the lesson
does.
"""
import torch

from ..lessons import hybrids as lesson
from .recipe import Recipe, each_on_its_own

TRAINING = {"data": "eight_gaussians toy: 20,000 training points (seed 0), the first 2,000 of 5,000 test "
                    "points (seed 1)", "train": 20000, "test": 2000, "steps": 3000, "seed": 0}


def toy_points(training):
    """(training points, test points) of the training settings."""
    x, x_test = lesson.toy_data(training["train"])
    return x, x_test[:training["test"]]


def training_points(training):
    return toy_points(training)[0]


# -- InfoGANs -------------------------------------------------------------------------------------------
def build_infogan(member):
    return lesson.build_infogan(member["lam"])


def fit_infogan(member, model, x, steps, device, progress):
    return lesson.fit_infogan(model, x, steps, device=device, progress=progress)


def measure_infogan(model, member, training):
    """Purity, I(c; mode), the InfoGAN bound and the sample MMD², from 1,000 samples per code value."""
    control = lesson.code_control(model, toy_points(training)[1], n=1000)
    return {k: control[k] for k in ("purity", "I(c; mode)", "bound", "sample MMD²")}


INFOGANS = Recipe(
    name="toy-infogans", lesson="8b", what="InfoGANs on the eight-Gaussians toy (λ = 0, 0.1, 1)",
    source="Chen et al. (2016), InfoGAN; the lesson's own networks and training",
    members={f"lam{lam:g}": {"model": "InfoGAN", "lam": lam, "codes": 8} for lam in lesson.INFO_LAMS},
    training=TRAINING, tolerance={"purity": 0.01, "I(c; mode)": 0.01, "bound": 0.01, "sample MMD²": 0.001},
    build=build_infogan, train=each_on_its_own(training_points, fit_infogan),
    measure=measure_infogan, history=True,
    as_lesson=lambda models, histories: [(models[f"lam{lam:g}"], histories[f"lam{lam:g}"]) for lam in lesson.INFO_LAMS])


def build_continuous(member):
    return lesson.build_continuous_infogan()


def measure_continuous(model, member, training):
    control = lesson.code_control(model, toy_points(training)[1])
    sweep = lesson.continuous_sweep(model)
    return {"purity": control["purity"], "I(c; mode)": control["I(c; mode)"], "bound": control["bound"],
            "sample MMD²": control["sample MMD²"], "u bound": sweep["bound"], "u same mode": sweep["same mode"],
            "u shift": sweep["shift"], "noise spread": sweep["noise spread"]}


CONTINUOUS = Recipe(
    name="toy-infogan-continuous", lesson="8b",
    what="an InfoGAN on the eight-Gaussians toy with a continuous code beside its 8 code values",
    source="Chen et al. (2016), InfoGAN (continuous codes, weighted less than categorical ones); the lesson's own "
           "networks and training",
    members={"continuous": {"model": "InfoGAN", "lam": 1.0, "codes": 8, "continuous": 1,
                            "lam continuous": lesson.CONTINUOUS_LAM}},
    training=TRAINING, tolerance={"purity": 0.01, "I(c; mode)": 0.01, "bound": 0.01, "sample MMD²": 0.001,
                                  "u bound": 0.01, "u same mode": 0.01, "u shift": 0.005, "noise spread": 0.005},
    build=build_continuous, train=each_on_its_own(training_points, fit_infogan), measure=measure_continuous,
    history=True, as_lesson=lambda models, histories: (models["continuous"], histories["continuous"]))


# -- question 7: VAE, GAN, flow --------------------------------------------------------------------------
def build_toy_model(member):
    return lesson.build_toy_model(member["model"])


def fit_toy_model(member, model, x, steps, device, progress):
    return lesson.fit_toy_model(member["model"], model, x, steps, device=device, progress=progress)


def measure_question7(model, member, training):
    """The test log-likelihood (the flow's exact, the VAE's IWAE bound with k = 1,000; the GAN has none)
    and the sample MMD²."""
    rows, _ = lesson.question7({member["model"]: model}, toy_points(training)[1], k=1000)
    row = rows[member["model"]]
    out = {"sample MMD²": row["sample MMD²"]}
    if member["model"] != "GAN":
        out["test log-likelihood"] = row["test log-likelihood (nats)"]
    return out


THREE = Recipe(
    name="toy-three-models", lesson="8b", what="a VAE, a GAN and a Real NVP flow on the eight-Gaussians toy",
    source="the course's question 7 (the text's understanding questions); Dinh et al. (2017) for Real NVP",
    members={name.lower(): {"model": name, **({"steps": lesson.FLOW_STEPS} if name == "flow" else {})}
             for name in lesson.THREE_MODELS},
    training=TRAINING, tolerance={"sample MMD²": 0.001, "test log-likelihood": 0.01},
    build=build_toy_model, train=each_on_its_own(training_points, fit_toy_model),
    measure=measure_question7, quick={"test": 200},
    as_lesson=lambda models: {name: (models[name.lower()], None) for name in lesson.THREE_MODELS})


# -- question 8: the unified objective and its parts ------------------------------------------------------
UNIFIED_NAMES = {"VAE": "vae", "flow posterior": "flow-posterior", "adversarial": "adversarial",
                 "consistency": "consistency", "flow + adversarial": "flow-adversarial",
                 "unified (flow + adv. + consistency)": "unified"}


def _unified_member(name, seed):
    """A model's name in the recipe: the part's short name, and "-seed<s>" after it for the seeds after the first
    (seed 0's models keep the names they were first trained under)."""
    return UNIFIED_NAMES[name] + (f"-seed{seed}" if seed else "")


def measure_question8(model, member, training):
    """The IWAE bound (k = 1,000), the sample MMD² and the consistency error."""
    rows, _ = lesson.question8({member["part"]: model}, toy_points(training)[1], k=1000)
    row = rows[member["part"]]
    return {"test IWAE bound": row["test IWAE bound (nats)"], "sample MMD²": row["sample MMD²"],
            "consistency error": row["consistency error"]}


def build_unified_part(member):
    return lesson.build_unified_part(member["part"], seed=member.get("seed", 0))


def fit_unified_part(member, model, x, steps, device, progress):
    return lesson.fit_unified_part(member["part"], model, x, steps, device=device, progress=progress,
                                   seed=member.get("seed", 0))


def _part(name, seed):
    flow_steps, lam_adv, lam_cons = lesson.UNIFIED_PARTS[name]
    return {"part": name, "flow steps": flow_steps, "lam_adv": lam_adv, "lam_cons": lam_cons,
            **({"seed": seed} if seed else {})}


UNIFIED = Recipe(
    name="toy-unified", lesson="8b",
    what="the unified objective and each of its parts on the eight-Gaussians toy, three seeds each",
    source="the course text's unified objective (flow posterior + adversarial + consistency terms), question 8",
    members={_unified_member(name, seed): _part(name, seed) for seed in lesson.UNIFIED_SEEDS
             for name in lesson.UNIFIED_PARTS},
    training=TRAINING, tolerance={"test IWAE bound": 0.01, "sample MMD²": 0.001, "consistency error": 0.01},
    build=build_unified_part, train=each_on_its_own(training_points, fit_unified_part),
    measure=measure_question8, quick={"test": 200},
    ships=lambda metrics, members: [m for m, member in members.items() if "seed" not in member],   # seed 0's
    as_lesson=lambda models: {(name, seed): (models[_unified_member(name, seed)], None)
                              for seed in lesson.UNIFIED_SEEDS for name in lesson.UNIFIED_PARTS
                              if _unified_member(name, seed) in models})


# -- the BiGAN and its cycle errors -----------------------------------------------------------------------
def build_bigan(member):
    return lesson.build_bigan()


def fit_bigan(member, model, x, steps, device, progress):
    """The lesson's BiGAN training; its history records the cycle errors on the first 1,000 test points."""
    return lesson.fit_bigan(model, x, lesson.toy_data()[1], steps, log_every=member["log_every"], device=device,
                            progress=progress)


def measure_bigan(model, member, training):
    """Both cycle errors (per coordinate) on the test points, with the prior draws of seed 1."""
    torch.manual_seed(1)
    errors = model.cycle_errors(toy_points(training)[1])
    return {"latent cycle error": errors["latent"], "data cycle error": errors["data"]}


BIGAN = Recipe(
    name="toy-bigan", lesson="8b", what="a BiGAN (encoder, generator, joint discriminator) on the eight-Gaussians toy",
    source="Donahue et al. (2017), Adversarial feature learning; Dumoulin et al. (2017), ALI",
    members={"bigan": {"log_every": 50}}, training=TRAINING,
    tolerance={"latent cycle error": 0.001, "data cycle error": 0.001},
    build=build_bigan, train=each_on_its_own(training_points, fit_bigan), measure=measure_bigan, history=True,
    as_lesson=lambda models, histories: (models["bigan"], histories["bigan"]))

RECIPES = (INFOGANS, CONTINUOUS, THREE, UNIFIED, BIGAN)
