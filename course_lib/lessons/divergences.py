"""Lesson 8: the alpha-divergence family, the VR bound, AIS against exact values, and the
total-correlation decomposition of beta-TCVAE."""
import math

import numpy as np
import torch

from ..data import dynamic_binarize
from ..distributions import DiagonalGaussian
from ..errors import CourseInputError, check_int
from ..estimators.ais import ais, log_mean_standard_error
from ..estimators.divergences import (
    alpha_divergence_gaussians,
    alpha_divergence_grid,
    renyi_gaussians,
    text_alpha_divergence_grid,
    vr_bound,
)
from ..figures.plots import plain_log_ticks
from ..figures.widgets import LiveFigure, choice_slider, new_figure
from ..metrics.information import importance_weighted_total_correlation, mws_total_correlation
from ..models.linear_gaussian import LinearGaussianModel
from ..models.vae import VAE
from ..training.cache import cached_fit, data_key
from ..training.train import fit
from .flows import cpu_copy

P, Q = (0.0, 0.8), (1.0, 1.2)                   # the two Gaussians (mean, std) of the alpha figure
ALPHAS = tuple(round(a, 2) + 0.0 for a in np.arange(-0.5, 3.01, 0.1))          # + 0.0: no "-0.0" on the slider
AIS_STEPS = (1, 10, 100, 300)
LATENT_DIM = 8


# -- the alpha family between two Gaussians ------------------------------------------------------------
def gaussian_grid(n=8001, edge=20.0):
    """x on [-edge, edge] and log N(x; P), log N(x; Q) there (float64).  -> (x, log_p, log_q, dx)."""
    x = torch.linspace(-edge, edge, n, dtype=torch.float64)
    normal = lambda m, s: -0.5 * ((x - m) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))
    return x, normal(*P), normal(*Q), float(x[1] - x[0])


def special_cases():
    """Each special case by quadrature, next to its closed form.  -> {name: (quadrature, closed form)}"""
    _x, log_p, log_q, dx = gaussian_grid()
    (mp, sp), (mq, sq) = P, Q
    kl_pq = alpha_divergence_gaussians(mp, sp, mq, sq, 1.0)
    kl_qp = alpha_divergence_gaussians(mq, sq, mp, sp, 1.0)
    bhattacharyya = math.sqrt(2 * sp * sq / (sp ** 2 + sq ** 2)) * math.exp(-(mp - mq) ** 2 / (4 * (sp ** 2 + sq ** 2)))
    # chi^2(N(m1, s1^2) || N(m2, s2^2)) = integral p^2 / q - 1, finite when 2 s2^2 > s1^2
    chi2 = lambda m1, s1, m2, s2: (s2 ** 2 / (s1 * math.sqrt(2 * s2 ** 2 - s1 ** 2))
                                   * math.exp((m1 - m2) ** 2 / (2 * s2 ** 2 - s1 ** 2)) - 1)
    near = 1e-4
    return {
        "alpha -> 1: KL(p || q)": (alpha_divergence_grid(log_p, log_q, 1 - near, dx), kl_pq),
        "alpha -> 0: KL(q || p)": (alpha_divergence_grid(log_p, log_q, near, dx), kl_qp),
        "alpha = 1/2: 4 (1 - Bhattacharyya) = 4 H^2": (alpha_divergence_grid(log_p, log_q, 0.5, dx),
                                                      4 * (1 - bhattacharyya)),
        "alpha = 2: chi^2(p || q) / 2": (alpha_divergence_grid(log_p, log_q, 2.0, dx), chi2(mp, sp, mq, sq) / 2),
    }


def text_formula_at_equal(alphas=(-0.5, 0.5, 2.0)):
    """The course text's formula with P = Q, where every divergence must be 0.  -> {alpha: value}"""
    _, log_p, _, dx = gaussian_grid()
    return {a: text_alpha_divergence_grid(log_p, log_p, a, dx) for a in alphas}


# -- the VR bound on the linear-Gaussian sandbox ---------------------------------------------------------
def vr_sandbox(alphas, k=5000, seed=0):
    """A pPCA model (d = 4, k = 2), one x, and a mean-field q: the posterior's mean and the diagonal of its
    covariance, widened by 1.5.  The VR bound L_alpha exactly (log p(x) - R_alpha(q || p(z|x))) and by
    Monte Carlo with k draws.  -> dict of arrays and the exact log p(x) and ELBO."""
    model = LinearGaussianModel.random(d=4, k=2, sigma2=0.3, seed=seed)
    x, _ = model.sample(1, generator=torch.Generator().manual_seed(seed + 1))
    mean, cov = model.posterior(x)
    q_var = 1.5 * torch.diagonal(cov)
    log_px, elbo = float(model.log_marginal(x)), float(model.elbo(x, mean, q_var.log()[None]))
    torch.manual_seed(seed)
    log_w = model.log_weights(x, mean, q_var.log()[None], k)
    exact, monte_carlo = [], []
    for a in alphas:
        if abs(a - 1) < 1e-12:
            exact.append(elbo)
        else:
            exact.append(log_px - float(renyi_gaussians(mean[0], torch.diag(q_var), mean[0], cov, a)))
        monte_carlo.append(float(vr_bound(log_w, a)))
    return {"alpha": np.array(alphas, dtype=float), "exact": np.array(exact), "monte carlo": np.array(monte_carlo),
            "log p(x)": log_px, "ELBO": elbo, "k": k}


def alpha_explorer(alphas=ALPHAS, vr=None):
    """An alpha slider: D_alpha(p || q) against alpha (quadrature; the text's formula beside it), the
    integrand p^alpha q^(1 - alpha), and the VR bound against alpha on the sandbox."""
    x, log_p, log_q, dx = gaussian_grid()
    values = [alpha_divergence_grid(log_p, log_q, a, dx) for a in alphas]
    text_values = [text_alpha_divergence_grid(log_p, log_q, a, dx) if a not in (0.0, 1.0) else np.nan for a in alphas]
    vr = vr or vr_sandbox(alphas)
    fig, (ax_d, ax_i, ax_v) = new_figure(3, width=3.6, height=3.1)
    ax_d.plot(alphas, values, color="tab:blue", label="D_α (Amari)")
    ax_d.plot(alphas, text_values, color="tab:red", ls="--", label="the text's formula")
    ax_d.set(xlabel="α", ylabel="divergence", title="D_α(p ‖ q)", ylim=(min(-1.0, np.nanmin(text_values)), max(values) * 1.1))
    ax_d.axhline(0, color="k", lw=0.6)
    ax_d.legend(fontsize=7)
    cursor_d = ax_d.axvline(alphas[0], color="0.5", ls=":")
    xs = x.numpy()
    ax_i.plot(xs, log_p.exp().numpy(), color="k", lw=1, label="p")
    ax_i.plot(xs, log_q.exp().numpy(), color="0.6", lw=1, label="q")
    integrand, = ax_i.plot(xs, torch.exp(alphas[0] * log_p + (1 - alphas[0]) * log_q).numpy(), color="tab:blue",
                           label="p^α q^(1−α)")
    ax_i.set(xlim=(-4, 5), ylim=(0, 1.0), xlabel="x", title="")
    title_i = ax_i.set_title("")
    ax_i.legend(fontsize=7)
    ax_v.plot(vr["alpha"], vr["exact"], color="tab:blue", label="L_α exact")
    ax_v.plot(vr["alpha"], vr["monte carlo"], "o", ms=2.5, color="tab:orange", label=f"L_α, {vr['k']} draws")
    ax_v.axhline(vr["log p(x)"], color="k", lw=0.8, label="log p(x)")
    ax_v.axhline(vr["ELBO"], color="tab:green", lw=0.8, ls="--", label="ELBO")
    ax_v.set(xlabel="α", ylabel="nats", title="VR bound (sandbox)")
    ax_v.legend(fontsize=7)
    cursor_v = ax_v.axvline(alphas[0], color="0.5", ls=":")

    def update(fig, alpha):
        i = list(alphas).index(alpha)
        cursor_d.set_xdata([alpha, alpha])
        cursor_v.set_xdata([alpha, alpha])
        integrand.set_ydata(torch.exp(alpha * log_p + (1 - alpha) * log_q).numpy())
        title_i.set_text(f"α = {alpha:g}: D_α = {values[i]:.3f}")

    return LiveFigure(fig, update, {"alpha": choice_slider("α", list(alphas), value=0.5)},
                      animated=lambda: [cursor_d, cursor_v, integrand, title_i])


# -- what minimising D_alpha does to a fitted q --------------------------------------------------------------
TWO_MODES = ((-2.0, 0.6), (2.0, 0.6))        # the target p: an equal mixture of N(-2, 0.6²) and N(2, 0.6²)
FIT_ALPHAS = tuple(round(a, 2) + 0.0 for a in np.arange(-0.5, 1.51, 0.1))
FIT_STARTS = {"one mode": (2.0, 0.6), "both modes": (0.0, 2.0)}     # (mean, std) where each fit starts


def two_modes_grid(n=4001, edge=10.0):
    """x on [-edge, edge] and the target's log-density there (float64).  -> (x, log_p, dx)"""
    x = torch.linspace(-edge, edge, n, dtype=torch.float64)
    parts = [-0.5 * ((x - m) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi)) for m, s in TWO_MODES]
    return x, torch.logsumexp(torch.stack(parts), 0) - math.log(len(TWO_MODES)), float(x[1] - x[0])


def _alpha_divergence(log_p, log_q, alpha, dx):
    """D_alpha(p || q) by quadrature, as :func:`course_lib.estimators.divergences.alpha_divergence_grid`, kept
    as a tensor so that it can be differentiated with respect to q."""
    if alpha == 1.0:
        return (log_p.exp() * (log_p - log_q)).sum() * dx
    if alpha == 0.0:
        return (log_q.exp() * (log_q - log_p)).sum() * dx
    return (1 - torch.exp(alpha * log_p + (1 - alpha) * log_q).sum() * dx) / (alpha * (1 - alpha))


def fit_gaussian(alpha, start, grid=None):
    """The Gaussian q = N(m, s²) that minimises D_alpha(p || q) for the two-mode target, by L-BFGS from
    ``start`` = (mean, std): a local minimum, the one the start leads to.  -> (mean, std, D_alpha)"""
    x, log_p, dx = grid or two_modes_grid()
    mean = torch.tensor(float(start[0]), dtype=torch.float64, requires_grad=True)
    log_std = torch.tensor(math.log(start[1]), dtype=torch.float64, requires_grad=True)

    def divergence():
        log_q = -0.5 * ((x - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
        return _alpha_divergence(log_p, log_q, alpha, dx)

    optimizer = torch.optim.LBFGS([mean, log_std], max_iter=500, tolerance_grad=1e-10, tolerance_change=1e-14,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        value = divergence()
        value.backward()
        return value

    optimizer.step(closure)
    with torch.no_grad():
        return float(mean), float(log_std.exp()), float(divergence())


def alpha_fits(alphas=FIT_ALPHAS):
    """For each alpha, the local minima of D_alpha(p || q) over Gaussians q that the two starts lead to: one
    on a mode, one wide and centred.  Where a start on the mode slides to the centre (|mean| < 1), that
    minimum no longer exists: its entries are NaN.  -> {"alpha": array, name: {"mean", "std", "divergence"}}"""
    grid = two_modes_grid()
    out = {"alpha": np.array(alphas, dtype=float)}
    for name, start in FIT_STARTS.items():
        fits = np.array([fit_gaussian(a, start, grid) for a in alphas])
        if name == "one mode":
            fits[np.abs(fits[:, 0]) < 1] = np.nan
        out[name] = {"mean": fits[:, 0], "std": fits[:, 1], "divergence": fits[:, 2]}
    return out


def best_fit(fits, i):
    """The name of the fit with the lower D_alpha at alpha = fits["alpha"][i] (of those that exist there)."""
    return min((name for name in FIT_STARTS if np.isfinite(fits[name]["divergence"][i])),
               key=lambda name: fits[name]["divergence"][i])


def alpha_fit_explorer(fits):
    """An alpha slider: the two-mode target with the best Gaussian fit (solid) and the other local minimum
    (dashed, where there is one), and D_alpha at both minima against alpha."""
    x, log_p, _dx = two_modes_grid()
    xs, alphas = x.numpy(), list(fits["alpha"])
    colors = dict(zip(FIT_STARTS, ("tab:orange", "tab:blue")))
    fig, (ax_q, ax_d) = new_figure(2, width=4.2, height=3.2)
    ax_q.plot(xs, log_p.exp().numpy(), color="k", lw=1.2, label="target p")
    lines = {name: ax_q.plot(xs, 0 * xs, color=colors[name], label=f"q on {name}")[0] for name in FIT_STARTS}
    ax_q.set(xlim=(-5, 5), ylim=(0, 0.75), xlabel="x", ylabel="density")
    title = ax_q.set_title("")
    ax_q.legend(fontsize=7, loc="upper left")
    for name in FIT_STARTS:
        ax_d.plot(alphas, fits[name]["divergence"], "o-", ms=3, color=colors[name], label=f"q on {name}")
    ax_d.set(xlabel="α", ylabel="D_α(p ‖ q) at the local minimum", title="which minimum is lower")
    ax_d.legend(fontsize=7)
    cursor = ax_d.axvline(alphas[0], color="0.5", ls=":")

    def update(fig, alpha):
        i = alphas.index(alpha)
        best = best_fit(fits, i)
        for name, line in lines.items():
            m, s = fits[name]["mean"][i], fits[name]["std"][i]
            line.set_ydata(np.exp(-0.5 * ((xs - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)) if np.isfinite(m)
                           else np.full_like(xs, np.nan))
            line.set_linestyle("-" if name == best else "--")
        cursor.set_xdata([alpha, alpha])
        title.set_text(f"α = {alpha:g}: the best Gaussian sits on {best}")

    return LiveFigure(fig, update, {"alpha": choice_slider("α", alphas, value=0.5)},
                      animated=lambda: [*lines.values(), cursor, title])


# -- AIS ------------------------------------------------------------------------------------------------------
def alpha_vae_counterexample(x=4.0, noise_var=0.1, alpha=0.5):
    """The course text's "α-VAE objective" E_q[log p(x|z)] − D_α(q ‖ p(z)) on a model where everything is exact:
    z ~ N(0, 1), x | z ~ N(z, noise_var), one observation x, and q = the exact posterior
    N(x / (1 + v), v / (1 + v)), v = noise_var.  -> dict: "log p(x)" (x ~ N(0, 1 + v)), "E_q log p(x|z)",
    "D_alpha(q || p(z))" (Amari's, closed form) and "text's objective" (their difference).

    For 0 < α < 1, Amari's D_α is at most 1/(α(1 − α)) however far apart q and p(z) are, so the text's
    penalty cannot pay for the KL that the ELBO charges, and its objective can exceed log p(x)."""
    v = float(noise_var)
    if not v > 0:
        raise CourseInputError(f"noise_var must be > 0, got {noise_var}.")
    mean, var = x / (1 + v), v / (1 + v)
    log_px = -0.5 * (math.log(2 * math.pi * (1 + v)) + x ** 2 / (1 + v))
    expected = -0.5 * math.log(2 * math.pi * v) - ((x - mean) ** 2 + var) / (2 * v)
    divergence = alpha_divergence_gaussians(mean, math.sqrt(var), 0.0, 1.0, alpha)
    return {"log p(x)": log_px, "E_q log p(x|z)": expected, "D_alpha(q || p(z))": divergence,
            "text's objective": expected - divergence}


def _standard_normal(z):
    """log N(z; 0, I) over the last axis."""
    return DiagonalGaussian.standard(z.shape[-1]).log_prob(z)


def ais_sandbox(steps=AIS_STEPS, chains=200, seed=0):
    """AIS on a pPCA model (d = 6, k = 3, sigma^2 = 0.3) for 4 points against the exact log p(x).
    -> ({T: (estimates (4,), standard errors (4,))}, exact (4,))"""
    model = LinearGaussianModel.random(d=6, k=3, sigma2=0.3, seed=seed + 1)
    x, _ = model.sample(4, generator=torch.Generator().manual_seed(seed))
    out = {}
    for t in steps:
        estimate, log_w, _ = ais(_standard_normal, lambda z: model.log_likelihood(x, z),
                                 lambda n: torch.randn(n, 4, 3, dtype=torch.float64), t, chains, step_size=0.2)
        out[t] = (estimate.numpy(), log_mean_standard_error(log_w).numpy())
    return out, model.log_marginal(x).numpy()


def build_vae():
    """The Fashion-MNIST VAE that AIS and the decomposition are measured on (latent 8, one hidden layer of 256),
    with the initial weights of seed 0."""
    torch.manual_seed(0)
    return VAE.mlp(latent_dim=LATENT_DIM, hidden=(256,))


def fit_vae(model, x, steps, device=None, progress=True):
    """Train it on the negative ELBO, on dynamically binarized images ``x`` (``fit``'s defaults).  -> History"""
    return fit(model, x, steps=steps, transform=dynamic_binarize, seed=0, device=device, progress=progress,
               desc="VAE for AIS")


def train_vae(x, steps, device=None):
    """:func:`build_vae` trained by :func:`fit_vae` for ``steps`` steps, cached.  -> (model, history)"""
    key = {"steps": check_int("steps", steps, minimum=1), "data": data_key(x)}
    return cached_fit("lesson08-vae", key, build_vae, lambda m: fit_vae(m, x, steps, device=device), device=device)


def ais_on_vae(model, x, steps=AIS_STEPS, chains=50, step_size=0.25):
    """AIS estimates of log p(x) for each image, for each T, with the trained decoder (run on a float32 copy
    on the CPU, the precision it was trained in; the model is left where it is).  A float64 copy takes twice
    as long and moves the mean estimate by less than its chains' own spread (T = 100: 0.008 nats).
    -> {T: (estimates (n,), log weights (chains, n), acceptance rate)}"""
    decoder = cpu_copy(model, torch.float32).decoder
    x = x.cpu().float()
    out = {}
    for t in steps:
        estimate, log_w, rate = ais(_standard_normal, lambda z: decoder(z).log_prob(x),
                                    lambda n: torch.randn(n, len(x), model.latent_dim), t,
                                    chains, step_size=step_size)
        out[t] = (estimate.numpy(), log_w.numpy(), rate)
    return out


@torch.no_grad()
def iwae_values(model, x, ks=(1, 100, 1000), seed=0):
    """Mean IWAE_k over the images for each k (one draw each).  -> {k: float}"""
    torch.manual_seed(seed)
    return {k: float(model.iwae_bound(x, k).mean()) for k in ks}


def ais_explorer(results, iwae, image=0):
    """A slider over the number of intermediate distributions T: the spread of one image's log weights,
    and the mean AIS estimate against T beside IWAE_k."""
    steps = sorted(results)
    fig, (ax_h, ax_m) = new_figure(2, width=4.3, height=3.2)
    all_w = np.concatenate([results[t][1][:, image] for t in steps])
    bins = np.linspace(np.percentile(all_w, 1), all_w.max() + 1, 40)
    _, _, bars = ax_h.hist(results[steps[0]][1][:, image], bins=bins, color="tab:blue", alpha=0.7)
    top = max(np.histogram(results[t][1][:, image], bins=bins)[0].max() for t in steps) * 1.1
    estimate_line = ax_h.axvline(results[steps[0]][0][image], color="k", lw=1)
    ax_h.set(ylim=(0, top), xlabel="log w of one chain", ylabel="chains", title="")
    title = ax_h.set_title("")
    means = [results[t][0].mean() for t in steps]
    ax_m.plot(steps, means, "o-", color="tab:blue", label="AIS (mean over images)")
    for (k, value), color in zip(sorted(iwae.items()), ("tab:red", "tab:orange", "tab:green", "tab:purple")):
        ax_m.axhline(value, color=color, ls="--", lw=1, label=f"IWAE, k = {k}")
    ax_m.set(xscale="log", xlabel="intermediate distributions T", ylabel="nats per image", title="estimates of log p(x)")
    plain_log_ticks(ax_m, "x", at=steps)
    ax_m.legend(fontsize=7)
    cursor = ax_m.axvline(steps[0], color="0.5", ls=":")

    def update(fig, T):
        counts, _ = np.histogram(results[T][1][:, image], bins=bins)
        for bar, count in zip(bars, counts):
            bar.set_height(count)
        estimate_line.set_xdata([results[T][0][image]] * 2)
        rate = results[T][2]
        title.set_text(f"T = {T}: HMC acceptance {rate:.2f}" if np.isfinite(rate)
                       else f"T = {T}: no HMC moves (prior as proposal)")
        cursor.set_xdata([T, T])

    return LiveFigure(fig, update, {"T": choice_slider("T", steps)},
                      animated=lambda: [*bars, estimate_line, title, cursor])


# -- the total-correlation decomposition ---------------------------------------------------------------------
@torch.no_grad()
def posterior_parameters(model, x):
    q = model.encoder(x.to(next(model.parameters()).device))
    return q.mean.double().cpu(), q.log_var.double().cpu()


def minibatch_tc(mean, log_var, batch_sizes, repeats=20, seed=0):
    """TC estimated from random batches of each size M, by MWS (Chen et al.'s formula) and with
    importance weights, from the N posteriors.  -> {"MWS": {M: array}, "importance-weighted": {M: array}}"""
    g = torch.Generator().manual_seed(seed)
    n = len(mean)
    out = {"MWS": {}, "importance-weighted": {}}
    for m in batch_sizes:
        m = check_int("batch size", m, minimum=2)
        if m > n:
            raise CourseInputError(f"batch size must be at most the number of posteriors N = {n}, got {m}.")
        values = {key: [] for key in out}
        for _ in range(repeats):
            idx = torch.randperm(n, generator=g)[:m]
            mu, lv = mean[idx], log_var[idx]
            z = mu + (0.5 * lv).exp() * torch.randn(mu.shape, generator=g, dtype=torch.float64)
            pairs = DiagonalGaussian(mu[None], lv[None]).log_prob_per_dim(z[:, None, :])     # (M, M, d)
            values["MWS"].append(float(mws_total_correlation(pairs, n)))
            values["importance-weighted"].append(float(importance_weighted_total_correlation(pairs, n)))
        for key in out:
            out[key][m] = np.array(values[key])
    return out
