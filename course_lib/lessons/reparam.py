"""Lesson 2: score-function and pathwise gradient estimators, side by side.

q = N(mu, sigma^2) in one dimension, so every gradient has a closed form to
compare with.  Estimates of d/dmu E_q[f(z)] are what the figures show.
"""
import functools
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from ..data import dynamic_binarize
from ..errors import CourseInputError, check_choice, check_int, check_number
from ..estimators.gradients import pathwise_samples, score_function_samples, score_function_vae_objective
from ..figures.widgets import LiveFigure, choice_slider, float_slider, new_figure
from ..models.vae import VAE, vae_objective
from ..training.cache import cached_fit
from ..training.train import fit

N_VALUES = (1, 4, 16, 64, 256, 1024)
ESTIMATORS = ("score function", "score function + baseline", "pathwise")
COLORS = {"score function": "C3", "score function + baseline": "C1", "pathwise": "C0"}


def quadratic(z):
    """f(z) = (z - 1)^2, with E_q[f] = (mu - 1)^2 + sigma^2 and d/dmu E_q[f] = 2 (mu - 1)."""
    return (z - 1) ** 2


def quadratic_mean(mean, log_std):
    """Exact E_q[(z - 1)^2] = (mu - 1)^2 + sigma^2 for q = N(mu, sigma^2): the baseline b the lesson uses (the
    natural one, not the constant of least variance: :func:`best_constant_baseline`)."""
    return (check_number("mean", mean) - 1.0) ** 2 + math.exp(2 * check_number("log_std", log_std))


def baseline_variance(mean, log_std, baseline):
    """Per-sample variance of the score-function estimate (f(z) - b) eps / sigma of d/dmu E_q[(z - 1)^2] for a
    constant b, q = N(mu, sigma^2).  With a = mu - 1 and d = b - a^2 (so f - b = 2 a sigma eps + sigma^2 eps^2 - d):

        Var = 8 a^2 + 15 sigma^2 - 6 d + d^2 / sigma^2

    (b = 0 gives the plain score function's a^4/sigma^2 + 14 a^2 + 15 sigma^2, b = E_q f the 8 a^2 + 10 sigma^2 of
    :func:`quadratic_variances`).  -> float"""
    a, var = check_number("mean", mean) - 1.0, math.exp(2 * check_number("log_std", log_std))
    d = check_number("baseline", baseline) - a ** 2
    return 8 * a ** 2 + 15 * var - 6 * d + d ** 2 / var


def best_constant_baseline(mean, log_std):
    """The constant b of least variance for d/dmu, where :func:`baseline_variance` has zero slope in b:
    b* = a^2 + 3 sigma^2 = E_q[f] + 2 sigma^2, with variance 8 a^2 + 6 sigma^2.  In general, for one component g of
    the score, b* = E_q[f g^2] / E_q[g^2] (here g = eps / sigma and E_q[f eps^2] = a^2 + 3 sigma^2): it equals E_q[f]
    only where f and g^2 are uncorrelated.  -> float"""
    return (check_number("mean", mean) - 1.0) ** 2 + 3 * math.exp(2 * check_number("log_std", log_std))


def quadratic_variances(mean, log_std):
    """Per-sample variances of the three estimators of d/dmu E_q[(z - 1)^2], q = N(mu, sigma^2), in closed
    form (a = mu - 1; moments of a standard normal: E eps^4 = 3, E eps^6 = 15):

        pathwise                      f'(z) = 2(a + sigma eps)                     4 sigma^2
        score function                f(z) eps / sigma                             a^4/sigma^2 + 14 a^2 + 15 sigma^2
        score function + baseline     (f(z) - E_q f) eps / sigma                   8 a^2 + 10 sigma^2

    -> {estimator: float}.  The three are ordered the same way for every (mu, sigma)."""
    a, var = check_number("mean", mean) - 1.0, math.exp(2 * check_number("log_std", log_std))
    return {"pathwise": 4 * var, "score function": a ** 4 / var + 14 * a ** 2 + 15 * var,
            "score function + baseline": 8 * a ** 2 + 10 * var}


def _whole_numbers(name, values):
    values = [check_int(f"{name}[{i}]", v, minimum=1) for i, v in enumerate(values)]
    if not values:
        raise CourseInputError(f"{name} must hold at least one whole number >= 1.")
    return values


def gradient_paths(mean=0.3, log_std=-0.2, seed=0):
    """One z from q = N(mean, exp(log_std)²) two ways, and what autograd finds from the loss f(z) = (z - 1)²
    back to φ = (mean, log_std): z sampled from q (``sample``, a draw with no derivative) and z = mean + σ ε
    with ε ~ N(0, 1) drawn first (the reparameterization, ``rsample``).  -> {way: {"reaches φ": bool,
    "gradient": (d/dmean, d/dlog_std) or None, "formula": f'(z) (1, σ ε), the pathwise gradient}}"""
    out = {}
    for way in ("sampled", "reparameterized"):
        mu = torch.tensor(mean, dtype=torch.float64, requires_grad=True)
        s = torch.tensor(log_std, dtype=torch.float64, requires_grad=True)
        q = torch.distributions.Normal(mu, s.exp())
        torch.manual_seed(seed)
        z = q.sample() if way == "sampled" else q.rsample()
        loss = quadratic(z)
        reaches = loss.requires_grad
        gradient = torch.autograd.grad(loss, (mu, s)) if reaches else None
        eps = (z.detach() - mean) / math.exp(log_std)
        slope = 2 * (z.detach() - 1)
        out[way] = {"reaches φ": reaches, "gradient": None if gradient is None else tuple(float(g) for g in gradient),
                    "formula": (float(slope), float(slope * math.exp(log_std) * eps))}
    return out


def computation_graphs(paths):
    """The two ways as computation graphs: nodes φ, ε, z and the loss (random ones orange); the forward edges
    in grey, and the path back from the loss to φ green where autograd found it, red and dashed where it
    did not (``paths`` from gradient_paths)."""
    fig, axes = plt.subplots(1, 2, figsize=(8.8, 3.0), layout="constrained")     # pyplot: the notebook shows it
    spots = {"φ = (μ, s)": (0.15, 0.75), "ε ~ N(0, 1)": (0.15, 0.2), "z": (0.55, 0.5), "f(z)": (0.88, 0.5)}
    for ax, way in zip(axes, ("sampled", "reparameterized")):
        ax.set(xlim=(0, 1), ylim=(0, 1), xticks=[], yticks=[])
        for side in ax.spines.values():
            side.set_visible(False)
        nodes = dict(spots)
        if way == "sampled":
            nodes.pop("ε ~ N(0, 1)")
        for name, (x, y) in nodes.items():
            random = name.startswith("ε") or (way == "sampled" and name == "z")
            ax.text(x, y, name, ha="center", va="center", fontsize=10,
                    bbox={"boxstyle": "round", "fc": "#fde2c4" if random else "#dbe9f6", "ec": "0.3"})
        forward = [("φ = (μ, s)", "z"), ("z", "f(z)")] + ([("ε ~ N(0, 1)", "z")] if way != "sampled" else [])
        for a, b in forward:
            ax.annotate("", xy=nodes[b], xytext=nodes[a], arrowprops={"arrowstyle": "->", "color": "0.5",
                                                                      "shrinkA": 22, "shrinkB": 18})
        back = paths[way]["reaches φ"]
        ax.annotate("", xy=(nodes["φ = (μ, s)"][0] + 0.02, nodes["φ = (μ, s)"][1] + 0.1),
                    xytext=(nodes["f(z)"][0], nodes["f(z)"][1] + 0.12),
                    arrowprops={"arrowstyle": "->", "color": "tab:green" if back else "tab:red",
                                "ls": "-" if back else "--", "connectionstyle": "arc3,rad=0.35", "lw": 1.5})
        ax.text(0.5, 0.02, "∇φ f(z): autograd finds a path" if back else "∇φ f(z): no path (the draw has no derivative)",
                ha="center", fontsize=8, color="tab:green" if back else "tab:red")
        ax.set_title("z sampled from q_φ" if way == "sampled" else "z = μ + σε, ε drawn first")
    return fig


def averaged_estimates(f, mean, log_std, n_values=N_VALUES, reps=300, seed=0):
    """For each estimator and each n: ``reps`` independent n-sample estimates of d/dmu E_q[f].

    The baseline is the mean of f over 1,000 *separate* samples: a constant with
    respect to the samples it corrects, so the estimator stays unbiased.
    Returns {estimator: {n: (reps,) array}}.
    """
    n_values = _whole_numbers("n_values", n_values)
    reps = check_int("reps", reps, minimum=2)
    total = reps * max(n_values)
    for_baseline, for_score, for_baselined, for_pathwise = _noise(total, seed)
    baseline = f(mean + math.exp(log_std) * for_baseline).mean().item()
    per_sample = {
        "score function": score_function_samples(f, mean, log_std, total, eps=for_score)[:, 0],
        "score function + baseline": score_function_samples(f, mean, log_std, total, baseline=baseline,
                                                            eps=for_baselined)[:, 0],
        "pathwise": pathwise_samples(f, mean, log_std, total, eps=for_pathwise)[:, 0],
    }
    return {name: {n: s[:reps * n].reshape(reps, n).mean(1).numpy() for n in n_values}
            for name, s in per_sample.items()}


@functools.lru_cache(maxsize=4)
def _noise(total, seed):
    """The standard-normal draws behind :func:`averaged_estimates`: 1,000 for the baseline, then ``total`` for
    each estimator, in that order from one generator seeded with ``seed``.  They do not depend on q, so a slider
    over q's mean or spread moves without drawing again (the same numbers as drawing each time)."""
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(size, generator=g, dtype=torch.float64) for size in (1000, total, total, total))


def variance_explorer(reps=300, blit=True):
    """Sliders for n, mu and log sigma; panels: the spread of each estimator, variance against n.

    The right panel keeps one scale over every position of the sliders (from :func:`quadratic_variances` at
    each, with a factor of 3 either way for the Monte Carlo spread), so a move redraws its lines and the left
    panel only (``blit=False``: the whole figure, the same picture)."""
    fig, (ax_h, ax_v) = new_figure(2, 1, width=4.8, height=3.3)
    state = {}
    ax_v.set(xscale="log", yscale="log", xlabel="n (samples per estimate)", ylabel="variance of the estimate",
             title="variance falls as 1/n; the constant differs\n(colours as on the left)")
    lines = {name: ax_v.plot([], [], "o-", color=COLORS[name], label=name)[0] for name in ESTIMATORS}
    (marker,) = ax_v.plot([], [], "s", ms=14, mfc="none", mec="k")
    # One legend (the left panel's), few ticks, no minor ones: most of a redraw is spent laying out
    # text, and this figure is redrawn on every move of three sliders (the right panel's text only once).
    ax_v.xaxis.set_minor_locator(NullLocator())
    ax_v.yaxis.set_minor_locator(NullLocator())
    ax_v.yaxis.set_major_locator(LogLocator(numticks=4))
    ax_h.set(xlabel="estimate of d/dμ E[f(z)]", ylabel="fraction of estimates")
    ax_h.xaxis.set_major_locator(MaxNLocator(4))
    ax_h.yaxis.set_major_locator(MaxNLocator(3))
    hists = {name: ax_h.stairs(np.zeros(40), np.linspace(0, 1, 41), color=COLORS[name], lw=2, label=name)
             for name in ESTIMATORS}
    truth = ax_h.axvline(0, color="k", ls="--", label="exact 2(μ − 1)")
    ax_h.legend(handles=[*hists.values(), truth], fontsize=7, loc="upper left")

    def update(fig, n, mu, log_sigma):
        if state.get("params") != (mu, log_sigma):          # new q: measure again
            state["params"] = (mu, log_sigma)
            state["draws"] = averaged_estimates(quadratic, mu, log_sigma, reps=reps)
            variances = {name: np.array([d[k].var() for k in N_VALUES]) for name, d in state["draws"].items()}
            for name, line in lines.items():
                line.set_data(N_VALUES, variances[name])
            state["variances"] = variances
        exact = 2 * (mu - 1)
        truth.set_xdata([exact, exact])
        draws = {name: d[n] for name, d in state["draws"].items()}
        pooled = np.concatenate(list(draws.values())) - exact
        spread = max(np.quantile(np.abs(pooled), 0.98), 1e-3)     # the tails are long: show the bulk
        edges = np.linspace(exact - spread, exact + spread, 41)
        top = 0
        for name, h in hists.items():
            counts = np.histogram(draws[name], edges)[0] / len(draws[name])
            h.set_data(counts, edges)
            top = max(top, counts.max())
        ax_h.set(xlim=(edges[0], edges[-1]), ylim=(0, 1.15 * top))
        ax_h.set_title(f"{len(draws['pathwise'])} estimates, each from n = {n} samples", fontsize=10)
        marker.set_data([n], [state["variances"]["pathwise"][N_VALUES.index(n)]])

    controls = {"n": choice_slider("n samples", N_VALUES, value=16),
                "mu": float_slider("μ of q", -2.0, 3.0, 0.0, step=0.1),
                "log_sigma": float_slider("log σ of q", -1.5, 1.0, 0.0, step=0.1)}
    mus, log_sigmas = (np.arange(c.min, c.max + c.step / 2, c.step) for c in (controls["mu"], controls["log_sigma"]))
    per_sample = [v for mu in mus for log_sigma in log_sigmas for v in quadratic_variances(mu, log_sigma).values()]
    ax_v.set(xlim=(0.6, 1700), ylim=(min(per_sample) / max(N_VALUES) / 3, max(per_sample) * 3))
    changing = [ax_h, *lines.values(), marker]          # the left panel's scale follows the estimates
    return LiveFigure(fig, update, controls, animated=(lambda: changing) if blit else None)


def cosine_mean(omega, mean, log_std):
    """Exact E_q[cos(omega z)] = cos(omega mu) exp(-omega^2 sigma^2 / 2) (the Gaussian characteristic function)."""
    sigma = math.exp(log_std)
    return math.cos(omega * mean) * math.exp(-0.5 * omega ** 2 * sigma ** 2)


def cosine_gradient(omega, mean, log_std):
    """Exact d/dmu E_q[cos(omega z)] = -omega sin(omega mu) exp(-omega^2 sigma^2 / 2)."""
    sigma = math.exp(log_std)
    return -omega * math.sin(omega * mean) * math.exp(-0.5 * omega ** 2 * sigma ** 2)


def frequency_variances(omegas, mean=0.5, log_std=0.0, n=20000, seed=0):
    """Per-sample variance of the pathwise and the baseline score estimators of
    d/dmu E_q[cos(omega z)], for each omega.  -> {estimator: (len(omegas),) array}."""
    omegas = [check_number(f"omegas[{i}]", w) for i, w in enumerate(omegas)]
    if not omegas:
        raise CourseInputError("omegas must hold at least one frequency.")
    out = {"pathwise": [], "score function + baseline": []}
    for i, w in enumerate(omegas):
        f = lambda z, w=w: torch.cos(w * z)
        g = torch.Generator().manual_seed(seed + i)
        baseline = cosine_mean(w, mean, log_std)             # E_q[f], exact
        out["pathwise"].append(pathwise_samples(f, mean, log_std, n, generator=g)[:, 0].var().item())
        out["score function + baseline"].append(
            score_function_samples(f, mean, log_std, n, baseline=baseline, generator=g)[:, 0].var().item())
    return {k: np.array(v) for k, v in out.items()}


def frequency_explorer(mean=0.5, log_std=0.0):
    """A slider for omega in f(z) = cos(omega z): a fast-wiggling f makes the pathwise estimator the noisier one."""
    omegas = np.linspace(0.1, 4.0, 40)
    variances = frequency_variances(omegas, mean, log_std)
    sigma = math.exp(log_std)
    z = np.linspace(mean - 4 * sigma, mean + 4 * sigma, 600)
    fig, (ax_f, ax_v) = new_figure(2, 1, width=4.8, height=3.3)
    ax_f.fill_between(z, 0, np.exp(-0.5 * ((z - mean) / sigma) ** 2), color="0.85", label="q(z) (scaled)")
    (f_line,) = ax_f.plot([], [], color="C2", lw=2, label="f(z) = cos(ωz)")
    ax_f.set(xlabel="z", ylim=(-1.15, 1.35), title="the function and q")
    ax_f.legend(fontsize=8, loc="upper right")
    for name, v in variances.items():
        ax_v.plot(omegas, v, color=COLORS[name], lw=2, label=name)
    (m1,) = ax_v.plot([], [], "o", color=COLORS["pathwise"], ms=9)
    (m2,) = ax_v.plot([], [], "o", color=COLORS["score function + baseline"], ms=9)
    ax_v.set(yscale="log", xlabel="ω", ylabel="per-sample variance", title="which estimator is noisier?")
    ax_v.legend(fontsize=8, loc="lower right")

    def update(fig, omega):
        f_line.set_data(z, np.cos(omega * z))
        i = int(np.argmin(np.abs(omegas - omega)))
        m1.set_data([omegas[i]], [variances["pathwise"][i]])
        m2.set_data([omegas[i]], [variances["score function + baseline"][i]])

    return LiveFigure(fig, update, {"omega": choice_slider("ω", [round(float(w), 1) for w in omegas], value=1.0)})


def gumbel_explorer(probs=(0.1, 0.2, 0.3, 0.4), n=20000, seed=0, blit=True):
    """A slider for the temperature tau of the Gumbel-softmax relaxation (``blit=False``: each move
    redraws the whole figure instead of the bars and the title alone; the same picture)."""
    probs = [check_number(f"probs[{i}]", p, minimum=0.0, strict_minimum=True) for i, p in enumerate(probs)]
    if len(probs) < 2 or abs(sum(probs) - 1.0) > 1e-6:
        raise CourseInputError(f"probs must be at least two positive numbers that sum to 1, got {probs}.")
    logits = torch.log(torch.tensor(probs, dtype=torch.float64))
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, len(probs), generator=g, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
    gumbel = -torch.log(-torch.log(u))                 # fixed noise: moving tau changes only the relaxation
    k = len(probs)
    fig, (ax_s, ax_m) = new_figure(2, 1, width=4.6, height=3.2)
    show = 12
    bottoms = np.zeros(show)
    stacks = [ax_s.bar(np.arange(show), np.zeros(show), bottom=bottoms, color=f"C{j}", label=f"class {j}")
              for j in range(k)]
    ax_s.set(ylim=(0, 1), xlabel="sample", ylabel="relaxed one-hot", title="12 relaxed samples")
    ax_s.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))   # beside the bars, not over them
    x = np.arange(k)
    ax_m.bar(x - 0.2, probs, width=0.4, color="k", label="true probabilities")
    mean_bars = ax_m.bar(x + 0.2, np.zeros(k), width=0.4, color="C1", label="mean relaxed sample")
    ax_m.set(ylim=(0, max(probs) * 1.5), xticks=x, xlabel="class", title="mean of the relaxation")
    ax_m.legend(fontsize=8, loc="upper left")

    def update(fig, tau):
        y = torch.softmax((logits + gumbel) / tau, dim=-1).numpy()
        bottom = np.zeros(show)
        for j, stack in enumerate(stacks):
            for i, bar in enumerate(stack):
                bar.set_y(bottom[i])
                bar.set_height(y[i, j])
            bottom += y[:show, j]
        for bar, value in zip(mean_bars, y.mean(0)):
            bar.set_height(value)
        gap = np.abs(y.mean(0) - np.array(probs)).max()
        ax_m.set_title(f"τ = {tau:.2f}: largest gap to the truth {gap:.3f}", fontsize=10)

    changing = [bar for stack in stacks for bar in stack] + list(mean_bars) + [ax_m.title]
    return LiveFigure(fig, update, {"tau": float_slider("temperature τ", 0.05, 5.0, 0.5, log=True)},
                      animated=(lambda: changing) if blit else None)


def relaxed_gradient_moments(taus, probs=(0.1, 0.2, 0.3, 0.4), weights=(1.0, 0.0, 2.0, -1.0), n=20000, seed=0):
    """The gradient of E[f(y)] with respect to the logits, f(y) = w . y, through the Gumbel-softmax relaxation
    y = softmax((log pi + g) / tau), against the exact gradient of E_{k ~ Categorical(pi)}[w_k], which is
    pi_k (w_k - pi . w).  Per-sample gradients by the chain rule, (1/tau)(y * w - y (y . w)), from the same
    Gumbel noise at every tau.  -> {"tau": array, "variance": total variance of a per-sample gradient,
    "bias": ||mean gradient - exact||} for each tau in ``taus``."""
    taus = [check_number(f"taus[{i}]", t, minimum=0.0, strict_minimum=True) for i, t in enumerate(taus)]
    pi = torch.tensor([check_number("probs", p, minimum=0.0, strict_minimum=True) for p in probs], dtype=torch.float64)
    w = torch.tensor([check_number("weights", v) for v in weights], dtype=torch.float64)
    if len(pi) != len(w) or abs(float(pi.sum()) - 1.0) > 1e-6:
        raise CourseInputError(f"probs must sum to 1 and have as many entries as weights; got {list(probs)}, "
                               f"{list(weights)}.")
    u = torch.rand(check_int("n", n, minimum=2), len(pi), generator=torch.Generator().manual_seed(seed),
                   dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
    gumbel = -torch.log(-torch.log(u))
    exact = pi * (w - (pi * w).sum())
    variance, bias = [], []
    for tau in taus:
        y = torch.softmax((pi.log() + gumbel) / tau, dim=-1)
        grads = (y * w - y * (y * w).sum(-1, keepdim=True)) / tau
        variance.append(float(grads.var(0).sum()))
        bias.append(float((grads.mean(0) - exact).norm()))
    return {"tau": np.array(taus), "variance": np.array(variance), "bias": np.array(bias)}


def training_curves(runs):
    """Two panels of the ELBO on training batches against the step: (a) all three estimators, (b) only the
    two that train well, on an axis of their own, so that the few nats between them can be seen.
    runs: {estimator: (model, History)}.  -> the figure"""
    fig, (ax_all, ax_two) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, (_, history) in runs.items():
        ax_all.plot(history.steps, history["elbo"], color=COLORS[name], label=name)
        if name != "score function":
            ax_two.plot(history.steps, history["elbo"], color=COLORS[name], label=name)
    ax_all.set(xlabel="step", ylabel="ELBO on training batches (nats)", title="(a) all three estimators")
    ax_all.legend(fontsize=8)
    tail = [h["elbo"][len(h.steps) // 4:] for name, (_, h) in runs.items() if name != "score function"]
    low, high = min(float(t.min()) for t in tail), max(float(t.max()) for t in tail)
    ax_two.set(xlabel="step", ylim=(low - 0.1 * (high - low), high + 0.1 * (high - low)),
               title="(b) pathwise and score function + baseline")
    ax_two.legend(fontsize=8)
    fig.tight_layout()
    return fig


def estimator_objectives():
    """The fit loss for each estimator: the reconstruction term's encoder gradient differs."""
    return {"pathwise": vae_objective(),
            "score function": score_function_vae_objective(baseline=None),
            "score function + baseline": score_function_vae_objective(baseline="decoded_mean")}


def build_vae(latent_dim=8, seed=0):
    """The lesson's Fashion-MNIST VAE (``VAE.mlp``, one hidden layer of 256), with the initial weights of ``seed``."""
    torch.manual_seed(seed)
    return VAE.mlp(latent_dim=latent_dim, hidden=(256,))


def fit_with_estimator(name, model, x_train, steps, lr=1e-3, seed=0, device=None, progress=True):
    """Train ``model`` on dynamically binarized ``x_train`` with the encoder gradient of estimator ``name``
    (a key of :func:`estimator_objectives`), logging 40 points of its curve.  -> History"""
    objectives = estimator_objectives()
    check_choice("estimator", name, tuple(objectives))
    return fit(model, x_train, objectives[name], steps=steps, lr=lr, transform=dynamic_binarize, seed=seed,
               log_every=max(1, steps // 40), desc=name, device=device, progress=progress)


def train_with_each_estimator(x_train, steps, latent_dim=8, lr=1e-3, seed=0, device=None):
    """Train the same VAE (same initial weights, same batches) once per estimator.

    Results are cached (see :func:`course_lib.cached_fit`), so running the cell
    again is instant.  -> {estimator: (model, history)}
    """
    results = {}
    for name in estimator_objectives():
        config = {"estimator": name, "steps": steps, "latent_dim": latent_dim, "lr": lr, "seed": seed,
                  "data": [len(x_train), round(float(x_train.double().sum()), 3)]}

        def train(model, name=name):
            return fit_with_estimator(name, model, x_train, steps, lr=lr, seed=seed, device=device)

        results[name] = cached_fit("lesson02-estimators", config, lambda: build_vae(latent_dim, seed), train,
                                   device=device)
    return results


def encoder_gradient_spread(x, reps=20, latent_dim=8, seed=0):
    """Total variance (sum over parameters) of the encoder's gradient under each estimator,
    over ``reps`` draws of z for the same batch ``x``, at the initial weights.  -> {estimator: float}"""
    model = build_vae(latent_dim, seed)
    params = list(model.encoder.parameters())
    spread = {}
    for name, objective in estimator_objectives().items():
        grads = []
        for _ in range(reps):
            model.zero_grad()
            objective(model, x, 0)["loss"].backward()
            grads.append(torch.cat([p.grad.flatten() for p in params]))
        spread[name] = torch.stack(grads).var(0).sum().item()
    return spread
