"""Lesson 3: rate and distortion — a β sweep of trained VAEs, its measurements and its slider."""
import math

import numpy as np
import torch

from ..data import dynamic_binarize
from ..device import get_device
from ..errors import CourseInputError, check_int
from ..figures.plots import image_grid
from ..figures.widgets import LiveFigure, choice_slider, new_figure
from ..metrics import (
    active_units,
    latent_means,
    linear_probe_accuracy,
    marginal_kl_and_information,
    rate_distortion_terms,
)
from ..models.vae import VAE, vae_sweep_objective
from ..training.cache import cached_sweep
from ..training.sweep import fit_sweep

BETAS = (0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 2.0, 4.0, 8.0, 20.0)     # about log-spaced from 0.05 to 20


def _check_data(data):
    if not all(hasattr(data, a) for a in ("x_train", "x_test", "y_train", "y_test", "source")):
        raise CourseInputError("data must be labelled image data (load_fashion_mnist()), "
                               f"got {type(data).__name__}.")


def build_vae(latent_dim=16, hidden=(256,)):
    """The lesson's MLP VAE (784 inputs, Bernoulli decoder)."""
    return VAE.mlp(latent_dim=latent_dim, hidden=tuple(hidden))


def fit_beta_sweep(x_train, steps, betas=BETAS, latent_dim=16, hidden=(256,), device=None, progress=True):
    """One VAE per β on dynamically binarized images ``x_train`` (N, 1, 28, 28), trained by
    ``fit_sweep``: every model starts from the same weights and sees the same batches; only β differs.
    -> a list of ``(model, history)`` in the order of ``betas``"""
    return fit_sweep(lambda: build_vae(latent_dim, hidden), x_train, vae_sweep_objective("beta"),
                     [float(b) for b in betas], steps=steps, transform=dynamic_binarize, seed=0, device=device,
                     progress=progress, desc="β sweep")


def train_beta_sweep(data, steps, betas=BETAS, latent_dim=16, hidden=(256,), device=None):
    """:func:`fit_beta_sweep` on ``data.x_train``, each model cached.

    Returns a list of ``(model, history)`` in the order of ``betas``.
    """
    _check_data(data)
    steps = check_int("steps", steps, minimum=1)
    device = get_device(device)
    config = {"steps": steps, "latent_dim": latent_dim, "hidden": list(hidden), "data": data.source,
              "n_train": len(data.x_train)}
    return cached_sweep("lesson03-beta", config, "beta", [float(b) for b in betas],
                        lambda: build_vae(latent_dim, hidden),
                        lambda values: fit_beta_sweep(data.x_train, steps, values, latent_dim, hidden, device=device),
                        device=device)


# what measure_sweep measures of each model, but kl_per_latent (one number per model each)
RECORDED = ("rate", "distortion", "iwae", "active_units", "probe_accuracy", "squared_error", "information",
            "marginal_kl")


def measure_sweep(models, data, n_test=500, k=50, seed=0, known=None):
    """Every measurement the lesson plots, for each trained model, on one fixed binarization of test images.

    Returns a dict of NumPy arrays, one entry per model: ``rate``, ``distortion``, ``kl_per_latent``
    (models, latent_dim), ``active_units``, ``iwae`` (IWAE_k per image, the log-likelihood bound),
    ``probe_accuracy`` (a linear classifier on the latent means, trained on 2,000 training images binarized
    once, as the test images are), ``squared_error`` (of the mean
    reconstruction, per image), ``information`` and ``marginal_kl`` (estimates over the test images),
    and ``log_n``.

    ``known``: one dict per model of every measurement but ``kl_per_latent``, measured before in exactly this way
    (the shipped models' recorded metrics), used instead of measuring those models again; ``kl_per_latent``, a
    single pass over the images, is still measured.
    """
    _check_data(data)
    n_test = check_int("n_test", n_test, minimum=2)
    if known is not None and (len(known) != len(models)
                              or any(not isinstance(row, dict) or set(RECORDED) - set(row) for row in known)):
        raise CourseInputError(f"known must hold one dict of measurements per model ({len(models)}), each with "
                               f"{', '.join(RECORDED)}.")
    g = torch.Generator().manual_seed(seed)
    x = torch.bernoulli(data.x_test[:n_test], generator=g)
    x_probe = torch.bernoulli(data.x_train[:2000], generator=g)     # binarized like the test images it is scored on
    out = {key: [] for key in ("rate", "distortion", "kl_per_latent", "active_units", "iwae", "probe_accuracy",
                               "squared_error", "information", "marginal_kl")}
    for i, model in enumerate(models):
        torch.manual_seed(seed)
        terms = rate_distortion_terms(model, x)
        out["kl_per_latent"].append(terms["kl_per_latent"].numpy())
        if known is not None:
            for key in RECORDED:
                out[key].append(known[i][key])
            continue
        info = marginal_kl_and_information(model, x, n_samples=2, generator=torch.Generator().manual_seed(seed))
        out["rate"].append(terms["rate"])
        out["distortion"].append(terms["distortion"])
        out["active_units"].append(int(active_units(model, x)[0].sum()))
        out["iwae"].append(-model.nll(x, k=k)[0].mean().item())
        out["probe_accuracy"].append(linear_probe_accuracy(latent_means(model, x_probe), data.y_train[:2000],
                                                           latent_means(model, x), data.y_test[:n_test]))
        with torch.no_grad():
            recon = model.reconstruct(data.x_test[:n_test]).cpu()
        out["squared_error"].append(((recon - data.x_test[:n_test]) ** 2).flatten(1).sum(1).mean().item())
        out["information"].append(info["information"])
        out["marginal_kl"].append(info["marginal_kl"])
    result = {key: np.array(value) for key, value in out.items()}
    result["log_n"] = math.log(len(x))                    # n_test, or fewer if the test set is smaller
    return result


def slope_check(betas, rate, distortion):
    """For neighbouring β_k < β_(k+1): the chord slope dD/dR between their points, and whether it lies in
    [−β_(k+1), −β_k], as it must if each model minimised D + β R exactly on a convex D(R) curve.

    Returns a list of ``(β_k, β_(k+1), slope, inside)``.
    """
    rows = []
    for k in range(len(betas) - 1):
        slope = (distortion[k + 1] - distortion[k]) / (rate[k + 1] - rate[k])
        rows.append((betas[k], betas[k + 1], slope, -betas[k + 1] <= slope <= -betas[k]))
    return rows


def plane_map_figure(entropy=1.0):
    """Alemi et al.'s map of the R–D plane for data of entropy H (discrete data, so D >= 0): the region
    D >= H - R that the bound H - D <= I_q <= R leaves, the line D = H - R where -ELBO = H (the best any
    model can do), and the two corners, auto-decoding (R = 0, D = H: a decoder that models x without the
    code) and auto-encoding (R = H, D = 0: a code that holds all of x).  Axes in units of H.
    -> the (pyplot) figure"""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)

    h = float(entropy)
    fig, ax = plt.subplots(figsize=(5.2, 4.0), layout="constrained")
    r = np.linspace(0, 1.6 * h, 100)
    ax.fill_between(r, 0, np.clip(h - r, 0, None), color="tab:red", alpha=0.15, label="impossible: D < H − R")
    ax.plot(r[r <= h], h - r[r <= h], color="tab:red", lw=1.5, label="D = H − R: −ELBO = H, the best possible")
    for level in (1.3 * h, 1.6 * h):
        ax.plot(r, level - r, "--", color="0.6", lw=0.8)
    ax.text(1.32 * h, 0.3 * h, "equal ELBO", color="0.4", fontsize=7, ha="center", va="bottom", rotation=-45)
    ax.plot([0], [h], "o", color="tab:blue", ms=8)
    ax.annotate("auto-decoding: R = 0,\nthe decoder ignores z", (0, h), (0.12 * h, 1.25 * h), fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "tab:blue"})
    ax.plot([h], [0], "o", color="tab:green", ms=8)
    ax.annotate("auto-encoding:\nD = 0, the code\nholds all of x", (h, 0), (1.02 * h, 0.55 * h), fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "tab:green"})
    ax.set(xlim=(0, 1.6 * h), ylim=(0, 1.6 * h), xlabel="rate R (in units of H)", ylabel="distortion D (in units of H)",
           title="the R–D plane for data of entropy H", aspect="equal")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def same_elbo_pair(rate, distortion, within=0.5):
    """The two models whose negative ELBOs (R + D) differ by less than ``within`` nats and whose rates differ
    the most.  -> (i, j) with rate[i] > rate[j], or None where no two are that close."""
    rate, distortion = np.asarray(rate, dtype=float), np.asarray(distortion, dtype=float)
    loss = rate + distortion
    pairs = [(i, j) for i in range(len(rate)) for j in range(len(rate))
             if rate[i] > rate[j] and abs(loss[i] - loss[j]) < within]
    return max(pairs, key=lambda p: rate[p[0]] - rate[p[1]], default=None)


def same_elbo_figure(models, measured, betas, pair, x_show):
    """Two models of the sweep with (nearly) the same ELBO: their points on one line of equal ELBO in the
    R–D plane, and what each makes of the same test images."""
    i, j = pair
    rate, distortion = np.asarray(measured["rate"]), np.asarray(measured["distortion"])
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)
    fig, (ax, ax_images) = plt.subplots(1, 2, figsize=(10.4, 3.4), layout="constrained")     # the notebook shows it
    ax.plot(rate, distortion, "o", color="0.6")
    level = (rate[i] + distortion[i] + rate[j] + distortion[j]) / 2
    r = np.linspace(0, rate.max() * 1.05, 50)
    ax.plot(r, level - r, "--", color="0.3", lw=0.8, label="equal ELBO, R + D = const")
    for k, color in ((i, "tab:blue"), (j, "tab:orange")):
        ax.plot(rate[k], distortion[k], "o", ms=9, color=color, label=f"β = {betas[k]:g}")
    ax.set(xlabel="rate R (nats)", ylabel="distortion D (nats)", title="same ELBO, different codes",
           ylim=(distortion.min() - 10, distortion.max() + 10))
    ax.legend(fontsize=7)
    with torch.no_grad():
        rows = [x_show] + [models[k].reconstruct(x_show.to(next(models[k].parameters()).device)).cpu() for k in (i, j)]
    ax_images.imshow(image_grid(torch.cat(rows), ncol=len(x_show)), cmap="gray")
    ax_images.set(xticks=[], yticks=[], title=f"rows: test images, then β = {betas[i]:g}, then β = {betas[j]:g}")
    return fig


def beta_explorer(models, measurements, betas, x_show, n_samples=16):
    """A β slider over the trained sweep.  Panels: the R–D plane with every model (the chosen one marked,
    with its tangent of slope −β and lines of equal ELBO), the chosen model's KL per latent,
    test images with their reconstructions, and samples from one fixed set of z."""
    if len(models) != len(betas) or len(measurements["rate"]) != len(betas):
        raise CourseInputError("models, measurements and betas must have one entry per β.")
    rate, distortion, kl = measurements["rate"], measurements["distortion"], measurements["kl_per_latent"]
    torch.manual_seed(0)
    z = torch.randn(n_samples, models[0].latent_dim)
    pictures = []
    with torch.no_grad():
        for model in models:                     # everything the slider shows, computed once
            device = next(model.parameters()).device
            rec = model.reconstruct(x_show).cpu()
            samples = model.decoder(z.to(device)).mean.cpu()
            pairs = torch.cat([x_show[:4].cpu(), rec[:4], x_show[4:8].cpu(), rec[4:8]])
            pictures.append((image_grid(pairs, ncol=4), image_grid(samples, ncol=4)))

    fig, axes = new_figure(4, 1, width=3.3, height=3.3)
    ax_rd, ax_kl, ax_r, ax_s = axes
    ax_rd.scatter(rate, distortion, c=np.log10(betas), cmap="viridis", s=30, zorder=3)
    for b, r, d in zip(betas, rate, distortion):
        ax_rd.annotate(f"{b:g}", (r, d), textcoords="offset points", xytext=(4, 3), fontsize=7, color="0.35")
    r_max, d_min, d_max = rate.max() * 1.08, distortion.min() * 0.95, distortion.max() * 1.03
    for elbo in np.linspace((rate + distortion).min(), (rate + distortion).max(), 4):
        r_line = np.linspace(0, r_max, 2)
        ax_rd.plot(r_line, elbo - r_line, color="0.75", lw=0.8, ls="--", zorder=1)
    (marker,) = ax_rd.plot([], [], "o", ms=13, mfc="none", mec="C3", mew=2, zorder=4)
    (tangent,) = ax_rd.plot([], [], color="C3", lw=1.2, zorder=2)
    ax_rd.set(xlim=(0, r_max), ylim=(d_min, d_max), xlabel="rate R (nats)", ylabel="distortion D (nats)",
              title="R–D plane (grey: equal ELBO)")
    order = np.arange(kl.shape[1])
    bars = ax_kl.bar(order, np.zeros(len(order)), color="C1")
    ax_kl.set(ylim=(0, kl.max() * 1.1 + 1e-9), xlabel="latent (sorted by KL)", ylabel="KL (nats)",
              title="KL per latent")
    im_r = ax_r.imshow(pictures[0][0], cmap="gray_r", vmin=0, vmax=1)
    im_s = ax_s.imshow(pictures[0][1], cmap="gray_r", vmin=0, vmax=1)
    ax_r.set_title("rows 1, 3: test images\nrows 2, 4: reconstructions", fontsize=9)
    ax_s.set_title("samples (same z for every β)", fontsize=9)
    for ax in (ax_r, ax_s):
        ax.set_axis_off()

    def update(fig, beta):
        i = list(betas).index(beta)
        marker.set_data([rate[i]], [distortion[i]])
        r_line = np.array([0.0, r_max])
        tangent.set_data(r_line, distortion[i] - beta * (r_line - rate[i]))
        for bar, height in zip(bars, np.sort(kl[i])[::-1]):
            bar.set_height(height)
        im_r.set_data(pictures[i][0])
        im_s.set_data(pictures[i][1])
        ax_kl.set_title(f"β = {beta:g}: KL per latent, {measurements['active_units'][i]} active", fontsize=10)

    return LiveFigure(fig, update, {"beta": choice_slider("β", list(betas), value=1.0 if 1.0 in betas else None)},
                      animated=lambda: [marker, tangent, *bars, im_r, im_s, ax_kl.title])
