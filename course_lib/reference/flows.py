"""Lesson 7's reference flows: planar and radial flows of depth K = 1 ... 32 fitted to U1-U4, and
Real NVP flows fitted to two 2-D toys (``toy-couplings``, at the end).

Recipe (Rezende & Mohamed, 2015, section 6.1, with a budget a CPU can afford): minimise the
reverse KL, loss = E[log q(z_K) - beta_t log p~(z_K)], with the inverse temperature annealed
linearly from 0.01 to 1 (they raise it by 1/10,000 per step), Adam instead of their RMSprop,
and z_0 drawn from a fixed pool of N(0, I) draws.  The four targets of one kind and depth are
trained as one ``fit_sweep``, from three initial draws (seeds), and once more from the trained flows
of the depth before with identity steps appended; each target keeps the restart whose training loss
ended lowest.  A deeper flow can represent everything a shallower one can, and the last restart lets
training keep it: without it, two radial steps fitted U2 worse than one.  Each flow is measured by
KL(q || p) (Monte Carlo, 20,000 draws, seed 1, log Z by quadrature) and, on the symmetric U1, by the
share of its draws with z_1 > 0 (1/2 when both modes are kept).
"""
import time

from ..lessons import flows as lesson
from ..settings import budget
from .recipe import Recipe

TRAINING = {"steps": 6000, "ramp_steps": 4000, "batch_size": 256, "lr": 3e-3, "seeds": [0, 1, 2], "pool": 65536,
            "optimizer": "Adam", "beta": "0.01 -> 1, linear over ramp_steps",
            "grow": True,
            "restarts": "each seed from fresh weights with annealing, and (grow) the flow of the depth before with "
                        "new identity steps appended, without annealing; per target, the run whose final free "
                        "energy (mean of the last 100 steps) is lowest"}


def _members(kinds=lesson.KINDS, depths=lesson.DEPTHS, energies=lesson.ENERGIES):
    return {f"{kind}-K{depth}-{name}": {"kind": kind, "depth": depth, "target": name}
            for kind in kinds for depth in depths for name in energies}


def build(member):
    return lesson.build_energy_flow(member["kind"], member["depth"])


def train(recipe, device, progress):
    """One ``fit_sweep`` over the targets per (kind, depth) and restart, depths in increasing order so that
    each depth can also start from the one before (``grow``).  -> {model name: (flow, seconds)}"""
    t = recipe.training
    groups = {}
    for m, member in sorted(recipe.members.items(), key=lambda item: (item[1]["kind"], item[1]["depth"])):
        groups.setdefault((member["kind"], member["depth"]), []).append(m)
    out, done = {}, {}                              # done: {(kind, depth, target): trained flow}
    for (kind, depth), names in groups.items():
        targets = [recipe.members[m]["target"] for m in names]
        before = [d for (k, d, _) in done if k == kind and d < depth]
        start = None
        if t["grow"] and before and all((kind, max(before), name) in done for name in targets):
            start = [done[kind, max(before), name] for name in targets]
        began = time.perf_counter()
        trained = lesson.fit_energy_flows(kind, depth, targets, steps=t["steps"], ramp_steps=t["ramp_steps"],
                                          lr=t["lr"], batch_size=t["batch_size"], seeds=t["seeds"], pool=t["pool"],
                                          start_from=start, device=device, progress=progress)
        seconds = (time.perf_counter() - began) / len(names)
        for m, name, (flow, _) in zip(names, targets, trained):
            done[kind, depth, name] = flow
            out[m] = (flow, seconds)
    return out


def train_here(depths=lesson.DEPTHS, device=None):
    """What lesson 7 trains when it does not load these flows (``retrain = True``, or fast mode), cached
    like every lesson model: by this recipe in full mode (steps, annealing, learning rate, restarts,
    growth), and with 40 steps from one seed in fast mode.  -> {(kind, target, depth): (flow, history)}"""
    t = TRAINING
    steps, ramp, seeds = budget(full=(t["steps"], t["ramp_steps"], t["seeds"]), fast=(40, 20, [0]))
    return lesson.train_energy_flows(steps, depths=depths, lr=t["lr"], ramp_steps=ramp, seeds=seeds, grow=t["grow"],
                                     pool=t["pool"], device=device)


def measure(flow, member, training=None):
    """KL(q || p) in nats, and for U1 the share of draws right of the axis."""
    metrics = {"kl": lesson.reverse_kl(flow, member["target"], n=20000, seed=1)[0]}
    if member["target"] == "u1":
        metrics["share z1 > 0"] = lesson.right_share(flow)
    return metrics


def as_lesson(models):
    """{(kind, target, depth): (flow, None)}, the shape of ``train_energy_flows``'s answer (no history)."""
    settings = _members()
    return {(settings[m]["kind"], settings[m]["target"], settings[m]["depth"]): (flow, None)
            for m, flow in models.items()}


def summarise(metrics, members=None):
    """Markdown rows: KL(q || p) against K for each kind and target, and U1's share right of the axis."""
    depths = sorted({int(m.split("-")[1][1:]) for m in metrics})
    lines = ["| flow | target | " + " | ".join(f"K = {d}" for d in depths) + " |",
             "|---|---|" + "---:|" * len(depths)]
    for kind in lesson.KINDS:
        for name in lesson.ENERGIES:
            row = [f"{metrics[f'{kind}-K{d}-{name}']['kl']:.3f}" for d in depths]
            lines.append(f"| {kind} | {name.upper()} | " + " | ".join(row) + " |")
        shares = [f"{metrics[f'{kind}-K{d}-u1']['share z1 > 0']:.2f}" for d in depths]
        lines.append(f"| {kind} | U1: share z₁ > 0 | " + " | ".join(shares) + " |")
    return lines


ENERGY_FLOWS = Recipe(
    name="flows-u1-u4", lesson="7", what="planar and radial flows, K = 1 to 32, fitted to U1-U4 by annealed reverse KL",
    source="Rezende & Mohamed (2015), Variational inference with normalizing flows, sec. 6.1 and Table 1",
    members=_members(), training=TRAINING, tolerance={"kl": 0.01, "share z1 > 0": 0.01},
    build=build, train=train, measure=measure, as_lesson=as_lesson, summarise=summarise,
    one_at_a_time=False)


# -- lesson 7's Real NVP flows on two-dimensional toys ------------------------------------------------------
def build_coupling(member):
    return lesson.seeded_coupling_flow(member["depth"])


def train_couplings(recipe, device, progress):
    """Each flow fitted on its own toy's points, as :func:`course_lib.lessons.flows.train_coupling_flows`
    fits it.  -> {model name: (flow, seconds)}"""
    out = {}
    for m, member in recipe.members.items():
        x = lesson.coupling_training_points(member["toy"], recipe.training["train"])
        flow = build_coupling(member).to(device)
        start = time.perf_counter()
        lesson.fit_coupling_flow(flow, x, recipe.training["steps"], device=device, progress=progress,
                                 desc=f"Real NVP x{member['depth']} on {member['toy']}")
        out[m] = (flow, time.perf_counter() - start)
    return out


def measure_coupling(flow, member, training=None):
    """The mean -log q(x) in nats on 5,000 fresh points of the toy (seed 1), as the lesson prints it."""
    return {"test nll": lesson.test_nll(flow, member["toy"])}


COUPLING_MEMBERS = {f"{toy}-x{depth}": {"toy": toy, "depth": depth}
                    for toy in lesson.TOYS for depth in lesson.COUPLING_DEPTHS}

COUPLING_FLOWS = Recipe(
    name="toy-couplings", lesson="7", what="Real NVP flows of 1 to 8 affine couplings fitted to two 2-D toys",
    source="Dinh et al. (2017), Density estimation using Real NVP; the lesson's own network",
    members=COUPLING_MEMBERS,
    training={"data": "20,000 points of each toy (seed 0); measured on 5,000 fresh ones (seed 1)", "train": 20000,
              "steps": 1500, "batch_size": 256, "lr": 3e-3, "optimizer": "Adam", "seed": 0, "hidden": 64},
    tolerance={"test nll": 0.01},
    build=build_coupling, train=train_couplings, measure=measure_coupling,
    as_lesson=lambda models: {(COUPLING_MEMBERS[m]["toy"], COUPLING_MEMBERS[m]["depth"]): (flow, None)
                              for m, flow in models.items()})

RECIPES = (ENERGY_FLOWS, COUPLING_FLOWS)
