"""Lesson 7: normalizing flows on two-dimensional targets, and what each kind of flow costs.

The figures of this lesson come from here; the flows themselves are in :mod:`course_lib.flows`.
"""
import copy
import functools
import math
import time

import numpy as np
import torch
from matplotlib.patches import Rectangle

from ..capture import capturable
from ..data.toy2d import ENERGIES as _ENERGY_FUNCTIONS
from ..data.toy2d import sample_toy
from ..errors import CourseInputError, check_choice, check_int, check_number
from ..figures.plots import plain_log_ticks
from ..figures.widgets import LiveFigure, choice_slider, new_figure
from ..flows import (
    MADE,
    AffineCoupling,
    Composite,
    Flow,
    Planar,
    Radial,
    alternating_masks,
    iaf,
    maf,
    standard_normal_log_prob,
)
from ..flows.coupling import coupling_mlp
from ..schedules import linear_warmup
from ..training.cache import cached_fit, cached_sweep
from ..training.sweep import fit_sweep
from ..training.train import fit

ENERGIES = ("u1", "u2", "u3", "u4")
KINDS = ("planar", "radial")
DEPTHS = (1, 2, 4, 8, 16, 32)
COUPLING_DEPTHS = (1, 2, 4, 8)
TOYS = ("two_moons", "eight_gaussians")
WALL, WALL_WIDTH = 4.0, 0.2          # the soft wall that makes U2-U4 normalizable (see target_log_density)
EDGE = 7.0                           # quadrature box [-EDGE, EDGE]^2


def cpu_copy(model, dtype=torch.float64):
    """A copy of ``model`` on the CPU in ``dtype``, for evaluations on grids and many draws; the
    model itself (perhaps a cached one, on the GPU) is left as it is."""
    return copy.deepcopy(model).to("cpu", dtype)


def perturbed(transform, scale=0.3, seed=0):
    """``transform`` with every parameter moved by scale * N(0, 1): most transforms start as the
    identity, where a log-determinant check would prove little.  Changes it in place; returns it."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in transform.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device))
    return transform


# -- a picture first: what an invertible map does to a density ----------------------------------------------
BENDS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)       # a in f(z) = z + a tanh(2z), the 1-d slider


def bend(z, a):
    """The 1-d map f(z) = z + a tanh(2z) and its slope f'(z) = 1 + 2a (1 - tanh²(2z)) > 0 for a >= 0."""
    t = torch.tanh(2 * z)
    return z + a * t, 1 + 2 * a * (1 - t ** 2)


def unbend(y, a, iterations=80):
    """f⁻¹(y) by bisection: f is increasing and |f(z) - z| <= a, so the root lies in [y - a, y + a]."""
    lo, hi = y - a - 1e-9, y + a + 1e-9
    for _ in range(iterations):
        mid = (lo + hi) / 2
        too_big = bend(mid, a)[0] > y
        hi, lo = torch.where(too_big, mid, hi), torch.where(too_big, lo, mid)
    return (lo + hi) / 2


def bent_density(y, a):
    """The density of y = f(z), z ~ N(0, 1), by the change of variables: p(z) / f'(z) at z = f⁻¹(y)."""
    z = unbend(y, a)
    return standard_normal_log_prob(z[:, None]).exp() / bend(z, a)[1]


def change_of_variables_check(a=1.5, n=200_000, bins=60, seed=0):
    """The formula against the histogram of f(z) for n draws z ~ N(0, 1), bin by bin, and its integral by
    quadrature.  -> {"integral", "largest z-score": the largest |formula - histogram| over the binomial
    standard error of a bin's share}"""
    a = check_number("a", a, minimum=0.0)                      # a >= 0 keeps f increasing, so f⁻¹ exists
    y_grid = torch.linspace(-12, 12, 24001, dtype=torch.float64)
    integral = float(bent_density(y_grid, a).sum() * (y_grid[1] - y_grid[0]))
    z = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    y = bend(z, a)[0]
    counts = torch.histc(y, bins=bins, min=-4, max=4)
    fine = torch.linspace(-4, 4, bins * 200 + 1, dtype=torch.float64)          # the formula's mass in each bin
    mass = (bent_density(fine, a)[:-1] * (fine[1] - fine[0])).reshape(bins, 200).sum(1)
    share = counts / n
    error = torch.sqrt(mass * (1 - mass) / n).clamp(min=1e-12)
    return {"integral": integral, "largest z-score": float(((share - mass).abs() / error).max()), "bins": bins}


def bend_explorer(bends=BENDS):
    """A slider over a: the map f(z) = z + a tanh(2z) carrying equal-width bands of z to bands of y, and the
    density of y from the change of variables beside the N(0, 1) it came from.  Each move updates the
    artists in place (no axes redrawn), so the slider answers at once."""
    z = torch.linspace(-3.5, 3.5, 701, dtype=torch.float64)
    y = torch.linspace(-5.5, 5.5, 1101, dtype=torch.float64)
    bands = torch.arange(-2.0, 2.01, 0.5, dtype=torch.float64)
    colors = ["tab:blue" if k % 2 else "tab:orange" for k in range(len(bands) - 1)]
    fig, (ax_f, ax_p) = new_figure(2, width=4.2, height=3.2)
    curve, = ax_f.plot(z.numpy(), z.numpy(), color="k", lw=1.2)
    for lo, hi, color in zip(bands[:-1], bands[1:], colors):
        ax_f.add_patch(Rectangle((float(lo), -5.5), float(hi - lo), 0.4, color=color, alpha=0.6))
    y_bands = [ax_f.add_patch(Rectangle((-3.5, 0.0), 0.25, 0.0, color=color, alpha=0.6)) for color in colors]
    ax_f.set(xlim=(-3.5, 3.5), ylim=(-5.5, 5.5), xlabel="z", ylabel="y = f(z)")
    title = ax_f.set_title("")
    ax_p.plot(y.numpy(), standard_normal_log_prob(y[:, None]).exp().numpy(), color="0.6", label="p(z), N(0, 1)")
    density, = ax_p.plot(y.numpy(), y.numpy() * 0, color="tab:blue", label="p(y) = p(z) / f'(z)")
    ax_p.set(xlim=(-5.5, 5.5), ylim=(0, 0.45), xlabel="value", ylabel="density", title="the density, stretched")
    ax_p.legend(fontsize=7, loc="upper left")

    def update(fig, a):
        curve.set_ydata(bend(z, a)[0].numpy())
        ends = bend(bands, a)[0]
        for patch, lo, hi in zip(y_bands, ends[:-1], ends[1:]):
            patch.set_y(float(lo))
            patch.set_height(float(hi - lo))
        density.set_ydata(bent_density(y, a).numpy())
        title.set_text(f"f(z) = z + {a:g} tanh(2z): bands of z to bands of y")

    return LiveFigure(fig, update, {"a": choice_slider("bend a", list(bends), value=1.5)},
                      animated=lambda: [curve, *y_bands, density, title])


PLANAR_STEPS = (((3.0, 0.0), (0.0, 1.5), 0.0),          # (w, u, b) of each step: the first lifts the right half
                ((0.0, 3.0), (-1.5, 0.0), 0.0),         # and lowers the left, the second shears the top left
                ((2.0, 2.0), (1.0, -1.0), 0.5))


def planar_steps():
    """Three planar steps with hand-set parameters (every w.u_hat >= -1: each invertible)."""
    steps = []
    for w, u, b in PLANAR_STEPS:
        step = Planar(2).double()
        with torch.no_grad():
            step.w.copy_(torch.tensor(w, dtype=torch.float64))
            step.u.copy_(torch.tensor(u, dtype=torch.float64))
            step.b.fill_(b)
        steps.append(step)
    return steps


def planar_stages(n=3000, seed=0):
    """n draws z_0 ~ N(0, I) pushed through the steps one at a time, with log q_k(z_k) by the change of
    variables.  -> list of (z_k, log q_k(z_k)), k = 0..K"""
    z = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    log_q = standard_normal_log_prob(z)
    stages = [(z, log_q)]
    with torch.no_grad():
        for step in planar_steps():
            z, logabsdet = step(z)
            log_q = log_q - logabsdet
            stages.append((z, log_q))
    return stages


def planar_density_check(edge=9.0, n=601):
    """q_K on a grid, from the inverses: log q_K(y) = log N(f⁻¹(y)) + log |det ∂f⁻¹/∂y|, and its integral by
    quadrature (1 for a density), with the largest gap between that and the forward value at the sample
    points.  -> {"integral", "largest gap"}"""
    composite = Composite(planar_steps())
    points, spacing = grid(edge, n)
    with torch.no_grad():
        z0, logabsdet = composite.inverse(points)
        integral = float((standard_normal_log_prob(z0) + logabsdet).exp().sum() * spacing ** 2)
        z, log_q = planar_stages()[-1]
        back, back_logabsdet = composite.inverse(z)
        gap = float((standard_normal_log_prob(back) + back_logabsdet - log_q).abs().max())
    return {"integral": integral, "largest gap": gap}


def planar_stages_figure(stages):
    """The samples after each planar step, coloured by their log-density log q_k(z_k)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)
    fig, axes = plt.subplots(1, len(stages), figsize=(2.9 * len(stages), 3.0), layout="constrained")  # shown
    low, high = (float(v) for v in torch.quantile(stages[-1][1], torch.tensor([0.02, 0.98], dtype=torch.float64)))
    for k, (ax, (z, log_q)) in enumerate(zip(axes, stages)):
        dots = ax.scatter(z[:, 0].numpy(), z[:, 1].numpy(), c=log_q.numpy(), s=3, cmap="viridis", vmin=low, vmax=high)
        ax.set(xlim=(-5, 5), ylim=(-5, 5), aspect="equal", xlabel="first coordinate",
               ylabel="second coordinate" if k == 0 else "", title="z₀ ~ N(0, I)" if k == 0 else f"after step {k}")
    fig.colorbar(dots, ax=list(axes), shrink=0.8, label="log q_k(z_k)")
    return fig


# -- the cost of a determinant ----------------------------------------------------------------
def determinant_timings(dims, repeats=3, seed=0):
    """Seconds to get log |det J| of a d x d matrix: a general one (LU, O(d^3)) and a triangular one
    (sum of log |diagonal|, O(d)).  The best of ``repeats`` runs.  -> {"d", "general", "triangular"}."""
    g = torch.Generator().manual_seed(seed)
    out = {"d": [], "general": [], "triangular": []}
    for d in dims:
        d = check_int("d", d, minimum=1)
        general = torch.randn(d, d, generator=g, dtype=torch.float64)
        triangular = torch.tril(general) + d * torch.eye(d, dtype=torch.float64)
        times = {}
        for name, fn in (("general", lambda: torch.linalg.slogdet(general).logabsdet),  # noqa: B023 (called in this iteration)
                         ("triangular", lambda: torch.log(torch.diagonal(triangular).abs()).sum())):  # noqa: B023 (called in this iteration)
            best = math.inf
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - start)
            times[name] = best
        # the triangular shortcut is exact: compare with the general routine once
        assert torch.isclose(torch.linalg.slogdet(triangular).logabsdet,
                             torch.log(torch.diagonal(triangular).abs()).sum())
        out["d"].append(d)
        out["general"].append(times["general"])
        out["triangular"].append(times["triangular"])
    return {k: np.array(v) for k, v in out.items()}


# -- flows fitted to the energies U1-U4 by reverse KL ------------------------------------------
def target_log_density(name, z):
    """log p~(z) = -U(z) - 1/2 ((|z_1| - 4)_+ / 0.2)^2.  U2-U4 do not depend on z_1 far from the
    origin, so exp(-U) has infinite mass on the plane; the soft wall beyond |z_1| = 4 (where the
    usual figures stop) makes every target a proper density and leaves it unchanged inside.
    z: (..., 2) -> (...)."""
    check_choice("name", name, ENERGIES)
    wall = torch.relu(z[..., 0].abs() - WALL) / WALL_WIDTH
    return -_ENERGY_FUNCTIONS[name](z) - 0.5 * wall ** 2


def grid(edge=EDGE, n=701):
    """A square grid of n x n points on [-edge, edge]^2.  -> (points (n*n, 2) float64, spacing)."""
    axis = torch.linspace(-edge, edge, n, dtype=torch.float64)
    points = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    return points, float(axis[1] - axis[0])


@functools.cache
def log_normalizer(name, edge=EDGE, n=701):
    """log Z = log of the integral of exp(log p~) by the midpoint rule on the grid (float64); remembered."""
    points, h = grid(edge, n)
    return float(torch.logsumexp(target_log_density(name, points), 0) + 2 * math.log(h))


def build_energy_flow(kind, depth):
    """A flow of ``depth`` planar or radial steps on the plane."""
    check_choice("kind", kind, KINDS)
    depth = check_int("depth", depth, minimum=1)
    step = Planar if kind == "planar" else Radial
    return Flow(Composite([step(2) for _ in range(depth)]), 2)


def all_target_log_densities(z):
    """log p~(z) of every target, stacked: (..., 2) -> (len(ENERGIES), ...)."""
    return torch.stack([target_log_density(name, z) for name in ENERGIES])


def reverse_kl_terms(flow, z0, log_target, beta=1.0):
    """z_K = f(z_0), log q(z_K) = log N(z_0) - log |det df/dz_0|, and the batch means of
    log q - beta log p~ ("loss") and log q - log p~ ("free energy" = KL(q || p) - log Z)."""
    x, logabsdet = flow.transform(z0)
    log_q = standard_normal_log_prob(z0) - logabsdet
    log_p = log_target(x)
    return {"loss": (log_q - beta * log_p).mean(), "free energy": (log_q - log_p).mean()}


def reverse_kl_objective(ramp_steps):
    """Loss for :func:`course_lib.training.sweep.fit_sweep`, one model per target; ``value`` is the index of
    the model's target in ENERGIES.  The "data" are draws z_0 ~ N(0, I):

        z_K = f(z_0),  log q(z_K) = log N(z_0) - log |det df/dz_0|
        loss = mean[log q(z_K) - beta_t log p~(z_K)],   beta_t from 0.01 to 1 over ``ramp_steps``

    With beta = 1 the loss is KL(q || p) - log Z.  The ramp (Rezende & Mohamed anneal the same
    way) lets q spread before the target pulls it into one mode."""
    ramp = linear_warmup(check_int("ramp_steps", ramp_steps, minimum=1))

    @capturable
    def loss_fn(flow, z0, value, step):
        pick = (torch.arange(len(ENERGIES), device=z0.device) == value).to(z0.dtype)      # one-hot of the target
        return reverse_kl_terms(flow, z0, lambda x: torch.einsum("k,kb->b", pick, all_target_log_densities(x)),
                                beta=0.01 + 0.99 * ramp(step))

    return loss_fn


def grown(flow, depth):
    """A flow of ``depth`` steps that starts as ``flow``: copies of its steps, then fresh steps of the same
    kind (each starts at the identity), so it is the same map until training moves the new steps."""
    steps = [copy.deepcopy(step) for step in flow.transform.transforms]
    kind = type(steps[0])
    if depth < len(steps):
        raise CourseInputError(f"depth must be at least the flow's {len(steps)} steps, got {depth}.")
    return Flow(Composite(steps + [kind(2) for _ in range(depth - len(steps))]), 2)


def fit_energy_flows(kind, depth, targets, *, steps, ramp_steps, lr=1e-2, batch_size=256, seeds=(0,), pool=65536,
                     start_from=None, device=None, progress=True):
    """Flows of one kind and depth, one per target named in ``targets``, trained together by
    ``fit_sweep`` on the annealed reverse KL (:func:`reverse_kl_objective`), z_0 from a fixed pool of
    ``pool`` draws of N(0, I).

    Restarts: one run per entry of ``seeds`` (other initial weights) and, with ``start_from`` (a
    shallower flow per target), one more that starts from it :func:`grown` to this depth, trained
    without annealing (it has found its shape already).  Each target keeps the run whose training
    loss ended lowest: the free energy averaged over the last logged steps, which is KL(q || p) - log Z,
    so the choice uses nothing but the objective.  -> a list of (flow, history), in the order of ``targets``."""
    z0 = torch.randn(pool, 2, generator=torch.Generator().manual_seed(0))
    values = [ENERGIES.index(check_choice("target", t, ENERGIES)) for t in targets]
    runs = [(f"seed {seed}", lambda: build_energy_flow(kind, depth), reverse_kl_objective(ramp_steps),
             check_int("seed", seed, minimum=0)) for seed in seeds]
    if start_from is not None:
        if len(start_from) != len(values):
            raise CourseInputError(f"start_from must hold one flow per target ({len(values)}), got {len(start_from)}.")
        starts = iter([grown(flow, depth) for flow in start_from])     # fit_sweep calls build once per target, in order
        runs.append((f"grown from K = {len(start_from[0].transform.transforms)}", lambda: next(starts),
                     reverse_kl_objective(1), 0))
    if not runs:
        raise CourseInputError("seeds must hold at least one seed, or start_from must give flows to grow; got neither.")
    best = [None] * len(values)
    for name, build, objective, seed in runs:
        trained = fit_sweep(build, z0, objective, values, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                            device=device, log_every=max(1, min(100, steps)), progress=progress,
                            desc=f"{kind} flows, K = {depth}, {name}")
        for i, (flow, history) in enumerate(trained):
            if best[i] is None or history.last("free energy") < best[i][1].last("free energy"):
                best[i] = (flow, history)
    return best


def train_energy_flows(steps, depths=DEPTHS, kinds=KINDS, device=None, pool=65536, lr=1e-2, ramp_steps=None,
                       seeds=(0,), grow=False):
    """For each kind and depth, one flow per target U1-U4, the four trained together and cached.
    ``ramp_steps`` (default steps // 2) is the length of the annealing; ``seeds`` are restarts and with
    ``grow`` each depth also restarts from the previous depth's flow (see :func:`fit_energy_flows`), the
    best kept.  -> {(kind, name, depth): (flow, history)}"""
    steps = check_int("steps", steps, minimum=1)
    ramp_steps = steps // 2 if ramp_steps is None else check_int("ramp_steps", ramp_steps, minimum=1)
    depths = sorted(depths)
    out = {}
    for kind in kinds:
        for j, depth in enumerate(depths):
            def build(kind=kind, depth=depth):
                return build_energy_flow(kind, depth)

            def train(values, kind=kind, depth=depth, previous=depths[j - 1] if grow and j else None):
                names = [ENERGIES[int(v)] for v in values]
                start = None if previous is None else [out[kind, name, previous][0] for name in names]
                return fit_energy_flows(kind, depth, names, steps=steps, ramp_steps=max(1, ramp_steps), lr=lr,
                                        seeds=seeds, pool=pool, start_from=start, device=device)

            config = {"steps": steps, "kind": kind, "depth": depth, "pool": pool, "lr": lr, "ramp_steps": ramp_steps,
                      "seeds": list(seeds), "grow": bool(grow)}
            trained = cached_sweep("lesson07-energy", config, "target", list(range(len(ENERGIES))), build, train,
                                   device=device)
            for name, result in zip(ENERGIES, trained):
                out[kind, name, depth] = result
    return out


@torch.no_grad()
def reverse_kl(flow, name, n=20000, seed=1):
    """KL(q || p) = E_q[log q - log p~] + log Z, estimated with n draws of q.  -> (kl, standard error)."""
    torch.manual_seed(seed)
    x, log_q = cpu_copy(flow).sample_and_log_prob(n)
    gap = log_q - target_log_density(name, x)
    return float(gap.mean()) + log_normalizer(name), float(gap.std() / math.sqrt(n))


def depth_rises(kl, depths, kinds=KINDS, energies=ENERGIES, z=2.0):
    """Where KL(q || p) rose from depth K to the next depth in ``depths`` by more than ``z`` standard
    errors of the difference (the two Monte Carlo estimates are independent).
    kl: {(kind, target, depth): (kl, standard error)}  -> [(kind, target, K, next K), ...]"""
    rises = []
    for kind in kinds:
        for name in energies:
            for shallow, deep in zip(depths, depths[1:]):
                (a, sa), (b, sb) = kl[kind, name, shallow], kl[kind, name, deep]
                if b - a > z * math.hypot(sa, sb):
                    rises.append((kind, name, shallow, deep))
    return rises


@torch.no_grad()
def initial_log_det(depth, small_init=False, n=4000, seed=0):
    """The mean log |det J| over n draws of N(0, I) of a fresh stack of ``depth`` planar steps: with the
    course's initialisation (each step near the identity), or with u and w both drawn as 0.1 N(0, I)
    (``small_init``), where the invertibility correction alone makes every step contract."""
    torch.manual_seed(seed)
    flow = build_energy_flow("planar", depth)
    if small_init:
        for step in flow.transform.transforms:
            step.u.copy_(0.1 * torch.randn(2))
            step.w.copy_(0.1 * torch.randn(2))
    return float(flow.transform(torch.randn(n, 2))[1].mean())


@torch.no_grad()
def right_share(flow, n=4000, seed=0):
    """The share of n draws of q with z_1 > 0: 1/2 for a flow that keeps both halves of the symmetric U1."""
    torch.manual_seed(seed)
    return float((cpu_copy(flow).sample(n)[:, 0] > 0).double().mean())


@torch.no_grad()
def flow_density_image(flow, edge=4.0, n=100):
    """q(z) on an n x n grid of [-edge, edge]^2 through the inverse (exact change of variables)."""
    points, _ = grid(edge, n)
    return cpu_copy(flow).log_prob(points).exp().reshape(n, n).numpy()


def target_image(name, edge=4.0, n=100):
    points, _ = grid(edge, n)
    return target_log_density(name, points).exp().reshape(n, n).numpy()


def energy_explorer(results, kl, depths, energies=ENERGIES, kinds=KINDS, edge=4.0):
    """Sliders for the energy and the depth: the target, each flow's density q, and KL(q || p) against depth."""
    images = {key: flow_density_image(flow, edge) for key, (flow, _) in results.items()}
    targets = {name: target_image(name, edge) for name in energies}
    fig, axes = new_figure(len(kinds) + 2, width=3.0, height=3.0)
    extent = (-edge, edge, -edge, edge)
    shown = [ax.imshow(targets[energies[0]], origin="lower", extent=extent, cmap="magma") for ax in axes[:-1]]
    axes[0].set_title("target exp(-U)")
    titles = [ax.set_title("") for ax in axes[1:-1]]
    for ax in axes[:-1]:
        ax.set(xticks=[], yticks=[])
    curves = []
    ax_kl = axes[-1]
    for kind, color in zip(kinds, ("tab:blue", "tab:orange")):
        curves.append(ax_kl.plot(depths, [kl[kind, energies[0], d][0] for d in depths], "o-", color=color,
                                 label=kind)[0])
    top = max(v[0] for v in kl.values())
    ax_kl.set(xscale="log", yscale="log", xlabel="flow depth K", ylabel="KL(q || p) in nats",
              ylim=(max(min(v[0] for v in kl.values()), 1e-3) / 2, top * 2), title="reached KL")
    plain_log_ticks(ax_kl, "x", at=depths)
    ax_kl.legend(fontsize=8)
    cursor = ax_kl.axvline(depths[0], color="0.5", ls="--")

    def update(fig, energy, depth):
        name = energy.lower()
        shown[0].set_data(targets[name])
        shown[0].set_clim(0, targets[name].max())
        for image, title, kind in zip(shown[1:], titles, kinds):
            density = images[kind, name, depth]
            image.set_data(density)
            image.set_clim(0, density.max())
            title.set_text(f"{kind}, K = {depth}: KL {kl[kind, name, depth][0]:.2f}")
        for curve, kind in zip(curves, kinds):
            curve.set_ydata([max(kl[kind, name, d][0], 1e-3) for d in depths])
        cursor.set_xdata([depth, depth])

    controls = {"energy": choice_slider("energy", [e.upper() for e in energies]),
                "depth": choice_slider("depth K", list(depths))}
    return LiveFigure(fig, update, controls, animated=lambda: [*shown, *titles, *curves, cursor])


# -- MAF against IAF ----------------------------------------------------------------------------
def made_masks(dim=4, hidden=(8, 8)):
    """The 0/1 masks of a MADE with one output per input, layer by layer, read from the network's own buffers,
    the connectivity they allow from the inputs to the outputs (their product, > 0 where a path exists), and
    where the outputs really depend on the inputs: the autograd Jacobian of a MADE with random weights, non-zero
    at one of 64 random points (a path through a ReLU that is off at one point carries no derivative there).  -> {"layers": [(out, in) masks], "paths": (dim, dim), "jacobian": (dim, dim)}"""
    made = MADE(dim, hidden, n_outputs=1)
    with torch.no_grad():
        for layer in [*made.hidden, made.output]:
            layer.weight.normal_(generator=torch.Generator().manual_seed(0))
    layers = [layer.mask.clone() for layer in [*made.hidden, made.output]]
    paths = layers[0]
    for mask in layers[1:]:
        paths = mask @ paths
    x = torch.randn(64, dim, generator=torch.Generator().manual_seed(1))      # a ReLU may be off at one x: 64 of them
    jacobians = torch.stack([torch.autograd.functional.jacobian(lambda v: made(v[None]).reshape(-1), point)
                             for point in x])
    return {"layers": layers, "paths": (paths > 0).float(), "jacobian": (jacobians.abs().amax(0) > 0).float()}


def made_masks_figure(masks):
    """Each layer's mask (rows: the layer's units, columns: what they read), then which outputs a path reaches
    from which inputs, beside where autograd finds a non-zero derivative."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)

    panels = [(m, f"layer {k + 1} (black: kept)" if k < len(masks["layers"]) - 1 else "output layer (black: kept)")
              for k, m in enumerate(masks["layers"])]
    panels += [(masks["paths"], "paths: output i from input j"), (masks["jacobian"], "autograd: ∂ output i / ∂ input j ≠ 0")]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.8), layout="constrained")
    for ax, (mask, title) in zip(axes, panels):
        ax.imshow(mask.numpy(), cmap="Greys", vmin=0, vmax=1)
        ax.set(title=title, xlabel="input unit" if "layer" in title else "input j",
               ylabel="unit" if "layer" in title else "output i", xticks=[], yticks=[])
        ax.title.set_fontsize(8)
    return fig


def autoregressive_timings(dims, n=512, hidden=(128,), repeats=3, seed=0):
    """Seconds for the log-density of n given points and for n samples, for a one-layer MAF and IAF
    in d dimensions (best of ``repeats``).  -> {"d", "MAF density", "MAF sampling", "IAF density", "IAF sampling"}"""
    out = {k: [] for k in ("d", "MAF density", "MAF sampling", "IAF density", "IAF sampling")}
    for d in dims:
        d = check_int("d", d, minimum=1)
        torch.manual_seed(seed)
        x = torch.randn(n, d)
        out["d"].append(d)
        for name, flow in (("MAF", Flow(maf(d, 1, hidden), d)), ("IAF", Flow(iaf(d, 1, hidden), d))):
            for what, fn in (("density", lambda: flow.log_prob(x)), ("sampling", lambda: flow.sample(n))):  # noqa: B023 (called in this iteration)
                best = math.inf
                with torch.no_grad():
                    for _ in range(repeats):
                        start = time.perf_counter()
                        fn()
                        best = min(best, time.perf_counter() - start)
                out[f"{name} {what}"].append(best)
    return {k: np.array(v) for k, v in out.items()}


# -- Real NVP on two-dimensional data ------------------------------------------------------------
def build_coupling_flow(depth, hidden=64):
    """``depth`` affine couplings on the plane, the mask alternating between the two coordinates."""
    depth = check_int("depth", depth, minimum=1)
    return Flow(Composite([AffineCoupling(m, coupling_mlp(2, hidden)) for m in alternating_masks(2, depth)]), 2)


@capturable
def negative_log_likelihood(flow, x, step=None):
    """Loss for :func:`course_lib.fit`: the mean of -log q(x) over the batch (maximum likelihood)."""
    nll = -flow.log_prob(x).mean()
    return {"loss": nll, "nll": nll}




def seeded_coupling_flow(depth):
    """:func:`build_coupling_flow` with the initial weights of seed 0 (every coupling flow starts there)."""
    torch.manual_seed(0)
    return build_coupling_flow(depth)


def coupling_training_points(toy, n=20000):
    """The points a coupling flow is fitted to: ``n`` draws of the toy, seed 0."""
    return sample_toy(toy, n, seed=0)


def fit_coupling_flow(flow, x, steps, device=None, progress=False, desc="Real NVP"):
    """Maximum likelihood on the points ``x``: Adam at 3e-3, batch 256, seed 0.  -> History"""
    return fit(flow, x, negative_log_likelihood, steps=steps, batch_size=256, lr=3e-3, seed=0, device=device,
               log_every=max(1, min(100, steps)), desc=desc, progress=progress)


def train_coupling_flows(steps, depths=COUPLING_DEPTHS, toys=TOYS, n=20000, device=None):
    """Real NVP flows of each depth fitted to each toy data set, each cached.  -> {(toy, depth): (flow, history)}"""
    steps = check_int("steps", steps, minimum=1)
    out = {}
    for toy in toys:
        x = coupling_training_points(toy, n)
        for depth in depths:
            def train(flow, x=x, depth=depth, toy=toy):
                return fit_coupling_flow(flow, x, steps, device=device, desc=f"Real NVP x{depth} on {toy}")

            out[toy, depth] = cached_fit("lesson07-coupling", {"steps": steps, "toy": toy, "depth": depth, "n": n},
                                         lambda depth=depth: seeded_coupling_flow(depth), train, device=device)
    return out


@torch.no_grad()
def test_nll(flow, toy, n=5000):
    """Mean -log q(x) in nats on fresh points of the toy (seed 1, never trained on)."""
    x = sample_toy(toy, n, seed=1)
    return float(-cpu_copy(flow, torch.float32).log_prob(x).mean())


def coupling_explorer(results, depths, toys=TOYS, edge=3.0):
    """A depth slider: each toy's data beside the density of the Real NVP flow of that depth."""
    images = {key: flow_density_image(flow, edge) for key, (flow, _) in results.items()}
    nll = {key: test_nll(flow, key[0]) for key, (flow, _) in results.items()}
    fig, axes = new_figure(2 * len(toys), width=2.8, height=2.8)
    extent = (-edge, edge, -edge, edge)
    shown, titles = [], []
    for i, toy in enumerate(toys):
        data = sample_toy(toy, 3000, seed=1).numpy()
        axes[2 * i].scatter(data[:, 0], data[:, 1], s=1, alpha=0.3, color="k")
        axes[2 * i].set(xlim=(-edge, edge), ylim=(-edge, edge), title=f"{toy}: data", xticks=[], yticks=[])
        axes[2 * i].set_aspect("equal")
        shown.append(axes[2 * i + 1].imshow(images[toy, depths[0]], origin="lower", extent=extent, cmap="viridis"))
        titles.append(axes[2 * i + 1].set_title(""))
        axes[2 * i + 1].set(xticks=[], yticks=[])

    def update(fig, depth):
        for image, title, toy in zip(shown, titles, toys):
            image.set_data(images[toy, depth])
            image.set_clim(0, images[toy, depth].max())
            title.set_text(f"{depth} coupling(s): test NLL {nll[toy, depth]:.2f}")

    return LiveFigure(fig, update, {"depth": choice_slider("coupling layers", list(depths))},
                      animated=lambda: [*shown, *titles])
