"""Lesson 1: the ELBO on the exact linear-Gaussian model.

The model has a one-dimensional latent z and two-dimensional x, so the true
posterior p(z|x) and log p(x) are exact, and q(z|x) = N(m, s^2) can be moved
by hand.
"""
import math

import numpy as np
import torch
from IPython.display import Markdown
from matplotlib.ticker import MaxNLocator

from ..data import dynamic_binarize
from ..device import get_device
from ..errors import CourseInputError, check_int
from ..figures.plots import image_grid
from ..figures.widgets import LiveFigure, choice_slider, float_slider, new_figure
from ..metrics import latent_means
from ..metrics.probe import check_labels
from ..models.linear_gaussian import LinearGaussianModel
from ..models.vae import VAE, decode_log_prob
from ..objectives import importance_weighted_bound
from ..settings import cached_only
from ..training.cache import cached_fit, is_cached
from ..training.train import fit

F64 = torch.float64


def lesson_model():
    """The lesson's model and one observed x: z ~ N(0, 1), x | z ~ N(W z + b, 0.3 I_2)."""
    model = LinearGaussianModel(torch.tensor([[1.5], [-0.8]]), torch.tensor([0.5, 0.0]), 0.3)
    x = torch.tensor([[2.0, -1.5]], dtype=F64)
    return model, x


def decomposition(model, x, m, log_s):
    """log p(x), ELBO(q) and KL(q || p(z|x)) for q = N(m, exp(log_s)^2).  -> three floats."""
    mean = torch.tensor([[m]], dtype=F64)
    log_var = torch.tensor([[2 * log_s]], dtype=F64)
    return (model.log_marginal(x).item(), model.elbo(x, mean, log_var).item(),
            model.kl_to_posterior(x, mean, log_var).item())


def elbo_gap_explorer(model=None, x=None, blit=True):
    """Sliders for q's mean and log-std; panels: densities, the ELBO landscape, the decomposition.
    The axes keep their limits (a q narrower than the posterior runs off the top of the first panel),
    so each move redraws only what changes (``blit=False``: the whole figure, the same picture)."""
    if model is None:
        model, x = lesson_model()
    post_mean, post_cov = model.posterior(x)
    mu, sd = post_mean.item(), math.sqrt(post_cov.item())
    log_px = model.log_marginal(x).item()
    z = np.linspace(mu - 4.5, mu + 4.5, 400)

    # the ELBO over a grid of (m, log s), computed once
    ms = np.linspace(mu - 3, mu + 3, 121)
    log_ss = np.linspace(-3, 1, 101)
    M, LS = np.meshgrid(ms, log_ss)
    grid = model.elbo(x.expand(M.size, 2), torch.tensor(M.reshape(-1, 1)),
                      torch.tensor(2 * LS.reshape(-1, 1))).reshape(M.shape).numpy()

    fig, (ax_d, ax_l, ax_b) = new_figure(3, 1, width=4.2, height=3.2)
    ax_d.plot(z, np.exp(-0.5 * ((z - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)), "k", lw=2,
              label="true posterior p(z|x)")
    (q_line,) = ax_d.plot([], [], color="C1", lw=2, label="q(z|x)")
    ax_d.set(xlabel="z", ylabel="density", title="posterior and approximation",
             ylim=(0, 1.6 / (sd * math.sqrt(2 * math.pi))))      # fixed: the axes never jump
    ax_d.legend(loc="upper right", fontsize=8)

    ax_l.imshow(np.maximum(grid, np.quantile(grid, 0.05)), origin="lower", aspect="auto", cmap="viridis",
                extent=(ms[0], ms[-1], log_ss[0], log_ss[-1]))
    ax_l.plot([mu], [math.log(sd)], "w*", ms=12, label="q = p(z|x)")
    (q_dot,) = ax_l.plot([], [], "o", color="C1", ms=8, label="current q")
    ax_l.set(xlabel="mean m of q", ylabel="log std of q", title="ELBO(q): brighter is higher")
    ax_l.legend(loc="lower right", fontsize=8)

    bars = ax_b.bar(["log p(x)", "ELBO", "KL(q‖p(z|x))"], [log_px, 0, 0], color=["k", "C0", "C3"])
    zero = ax_b.axhline(0, color="gray", lw=0.8)
    level = ax_b.axhline(log_px, color="k", lw=1, ls="--")
    ax_b.set(ylim=(log_px - 12, 10), ylabel="nats", title="log p(x) = ELBO + KL")
    text = ax_b.text(0.02, 0.97, "", transform=ax_b.transAxes, fontsize=8, family="monospace",
                     ha="left", va="top")                # above the two negative bars, clear of the KL bar

    def update(fig, m, log_s):
        s = math.exp(log_s)
        q_line.set_data(z, np.exp(-0.5 * ((z - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)))
        q_dot.set_data([m], [log_s])
        _, elbo, kl = decomposition(model, x, m, log_s)
        bars[1].set_height(elbo)
        bars[2].set_height(kl)
        text.set_text(f"log p(x) = {log_px:8.3f}\nELBO     = {elbo:8.3f}\nKL       = {kl:8.3f}\n"
                      f"sum      = {elbo + kl:8.3f}")

    controls = {"m": float_slider("mean m of q", mu - 3, mu + 3, mu - 1.5, step=0.05),
                "log_s": float_slider("log std of q", -3.0, 1.0, 0.0, step=0.05)}
    # drawn in the order of a full redraw: the lines over the bars, the text last
    changing = [q_line, q_dot, bars[1], bars[2], zero, level, text]
    return LiveFigure(fig, update, controls, animated=(lambda: changing) if blit else None)


K_VALUES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def iwae_draws(model, x, q_mean, q_log_var, k_values=K_VALUES, reps=200, seed=0):
    """``reps`` independent IWAE_k estimates for each k.  -> {k: (reps,) NumPy array}."""
    torch.manual_seed(seed)
    return {k: torch.stack([model.iwae_bound(x, q_mean, q_log_var, k)[0] for _ in range(reps)]).numpy()
            for k in k_values}


def iwae_explorer(model=None, x=None, reps=200):
    """A slider for k; panels: E[IWAE_k] against k, and the spread of IWAE_k for the chosen k."""
    reps = check_int("reps", reps, minimum=2)
    if model is None:
        model, x = lesson_model()
    q_mean, q_log_var = poor_q(model, x)            # shifted by one posterior standard deviation and too wide
    log_px = model.log_marginal(x).item()
    elbo = model.elbo(x, q_mean, q_log_var).item()
    draws = iwae_draws(model, x, q_mean, q_log_var, reps=reps)
    ks = np.array(list(draws))
    means = np.array([d.mean() for d in draws.values()])
    ses = np.array([d.std() / math.sqrt(len(d)) for d in draws.values()])

    fig, (ax_k, ax_h) = new_figure(2, 1, width=4.6, height=3.2)
    ax_k.fill_between(ks, means - 2 * ses, means + 2 * ses, color="C0", alpha=0.3)
    ax_k.plot(ks, means, "o-", color="C0", label="mean of IWAE_k (±2 s.e.)")
    ax_k.axhline(log_px, color="k", ls="--", label="log p(x) (exact)")
    ax_k.axhline(elbo, color="C3", ls=":", label="ELBO (exact)")
    ax_k.set(xscale="log", xlabel="k (samples)", ylabel="nats", title="IWAE_k climbs towards log p(x)")
    ax_k.legend(fontsize=8, loc="lower right")
    (marker,) = ax_k.plot([], [], "o", ms=14, mfc="none", mec="C1", mew=2)

    ax_h.set(xlabel="IWAE_k estimate (nats)", ylabel="fraction of draws")
    ax_h.xaxis.set_major_locator(MaxNLocator(5))
    truth = ax_h.axvline(log_px, color="k", ls="--", label="log p(x)")
    steps = ax_h.stairs(np.zeros(30), np.linspace(0, 1, 31), fill=True, color="C1")
    ax_h.legend(handles=[truth], fontsize=8, loc="upper left")

    def update(fig, k):
        marker.set_data([k], [means[list(ks).index(k)]])
        d = draws[k]
        lo, hi = min(d.min(), log_px), max(d.max(), log_px)
        pad = 0.05 * (hi - lo) + 1e-3
        counts, edges = np.histogram(d, bins=30, range=(lo - pad, hi + pad))
        steps.set_data(counts / len(d), edges)
        ax_h.set(xlim=(edges[0], edges[-1]), ylim=(0, 1.15 * counts.max() / len(d)))
        ax_h.set_title(f"{reps} draws of IWAE_{k}: mean {d.mean():.3f}, sd {d.std():.3f}")

    return LiveFigure(fig, update, {"k": choice_slider("k", K_VALUES)})


def chi_square_to_posterior(model, x, q_mean, q_log_var, width=30.0, n=200001):
    """sigma² = Var_q(w) / p(x)² = ∫ p(z|x)² / q(z) dz - 1, the χ² divergence of the posterior from q, by
    quadrature on a grid (1-d latent; +inf where q's tails are too light for the integral).  It sets the
    bias of IWAE_k for large k: log p(x) - E[IWAE_k] ≈ sigma² / (2k)."""
    if model.k != 1 or len(x) != 1 or q_mean.numel() != 1 or q_log_var.numel() != 1:
        raise CourseInputError(f"the quadrature needs one point x and a model and q with one latent; got k = {model.k}, "
                               f"{len(x)} points, q_mean of shape {tuple(q_mean.shape)}.")
    post_mean, post_cov = (t.flatten()[0] for t in model.posterior(x))
    q_mean, q_var = q_mean.flatten()[0], q_log_var.exp().flatten()[0]
    z = torch.linspace(-width, width, n, dtype=torch.float64) + post_mean
    log_post = -0.5 * (z - post_mean) ** 2 / post_cov - 0.5 * torch.log(2 * math.pi * post_cov)
    log_q = -0.5 * (z - q_mean) ** 2 / q_var - 0.5 * torch.log(2 * math.pi * q_var)
    return float(torch.exp(2 * log_post - log_q).sum() * (z[1] - z[0])) - 1


def iwae_bias(model, x, q_mean, q_log_var, k_values=(5, 10, 20, 50, 100), reps=4000, seed=0):
    """log p(x) - mean of ``reps`` IWAE_k estimates, with its standard error, beside sigma² / (2k).
    -> {"k", "bias", "standard error", "predicted": arrays}"""
    exact = float(model.log_marginal(x))
    draws = iwae_draws(model, x, q_mean, q_log_var, k_values, reps, seed)
    sigma2 = chi_square_to_posterior(model, x, q_mean, q_log_var)
    ks = np.array(k_values, dtype=float)
    return {"k": ks, "bias": np.array([exact - d.mean() for d in draws.values()]),
            "standard error": np.array([d.std() / math.sqrt(len(d)) for d in draws.values()]),
            "predicted": sigma2 / (2 * ks), "sigma2": sigma2}


def iwae_bias_figure(bias):
    """The bias of IWAE_k against k on log-log axes, with two standard errors, beside sigma² / (2k)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)

    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    ax.errorbar(bias["k"], bias["bias"], yerr=2 * bias["standard error"], fmt="o", label="log p(x) − mean of IWAE_k")
    ax.plot(bias["k"], bias["predicted"], "-", color="k", lw=1, label="σ² / (2k), σ² = χ²(posterior ‖ q)")
    ax.set(xscale="log", xlabel="k (samples)", ylabel="bias (nats)", title="the bias of IWAE_k falls as 1/k")   # a linear y: a noisy bias may be below 0
    ax.legend(fontsize=7)
    return fig


def quadrature_log_marginal(model, x, n_points=2001, width=10.0):
    """log p(x) = log ∫ p(x|z) p(z) dz by the trapezoid rule on a grid of z in [-width, width].

    Only possible because z is one-dimensional: with d latent dimensions the grid
    needs n_points ** d evaluations.  -> (batch,)
    """
    if model.k != 1:
        raise CourseInputError(f"quadrature needs a one-dimensional latent (k = 1); this model has k = {model.k}.")
    z = torch.linspace(-width, width, n_points, dtype=F64)
    log_joint = model.log_joint(x, z.reshape(-1, 1, 1).expand(-1, len(x), 1))      # (n_points, batch)
    dz = z[1] - z[0]
    weights = torch.full((n_points,), dz.item(), dtype=F64)
    weights[0] = weights[-1] = dz.item() / 2
    return torch.logsumexp(log_joint + weights.log().unsqueeze(1), dim=0)


def best_mean_field(model, x):
    """The diagonal q that maximises the ELBO when the true posterior N(mu, Sigma) is Gaussian:
    mean mu and variances 1 / Lambda_jj with Lambda = Sigma^-1 (the "mean-field" solution).
    Its gap is KL = 1/2 (sum_j log Lambda_jj - log det Lambda) > 0 unless Sigma is diagonal.
    Returns q_mean (batch, k), q_log_var (batch, k) and that gap (a float)."""
    mean, cov = model.posterior(x)
    precision = torch.linalg.inv(cov)
    q_log_var = (-torch.log(torch.diagonal(precision))).expand_as(mean)
    gap = 0.5 * (torch.log(torch.diagonal(precision)).sum() - torch.logdet(precision)).item()
    return mean, q_log_var.clone(), gap


def best_elbo_and_log_px(model, x):
    """The ELBO of the best diagonal q for each row of ``x`` (:func:`best_mean_field`), and log p(x), each summed
    over the rows.  -> (float, float)"""
    q_mean, q_log_var, _ = best_mean_field(model, x)
    return model.elbo(x, q_mean, q_log_var).sum().item(), model.log_marginal(x).sum().item()


def rotation(angle):
    """The 2 x 2 rotation R(t) = [[cos t, −sin t], [sin t, cos t]] (float64)."""
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s], [s, c]], dtype=torch.float64)


def rotation_scan(model, x, angles):
    """Models that differ only by a rotation of the latent space, W -> W R(t), for a model with two latents.

    Every one gives the data the same density, since W R Rᵀ Wᵀ = W Wᵀ: log p(x) is flat in t.  The posterior
    turns with R, and with it what a diagonal q can match: the best ELBO moves, and is highest where the
    columns of W R are orthogonal (then the posterior's covariance is diagonal, as Tipping & Bishop's form).
    -> dict of arrays over ``angles``: "best elbo", "log p" (summed over the rows of x) and "column cosine"
    (the cosine of the angle between the two columns of W R)."""
    if model.k != 2:
        raise CourseInputError(f"the rotation scan needs a model with two latents, got k = {model.k}.")
    out = {"best elbo": [], "log p": [], "column cosine": []}
    for t in angles:
        W = model.W @ rotation(float(t))
        e, lp = best_elbo_and_log_px(LinearGaussianModel(W, model.b, model.sigma2), x)
        out["best elbo"].append(e)
        out["log p"].append(lp)
        out["column cosine"].append(float(W[:, 0] @ W[:, 1] / (W[:, 0].norm() * W[:, 1].norm())))
    return {k: np.array(v) for k, v in out.items()}


def sigma2_scan(model, x, sigma2_values):
    """The noise variance σ² scanned with the best diagonal q for every value (q re-fitted, not held fixed).
    -> dict of arrays over ``sigma2_values``: "best elbo" and "log p" (summed over the rows of x)."""
    out = {"best elbo": [], "log p": []}
    for s2 in sigma2_values:
        e, lp = best_elbo_and_log_px(LinearGaussianModel(model.W, model.b, float(s2)), x)
        out["best elbo"].append(e)
        out["log p"].append(lp)
    return {k: np.array(v) for k, v in out.items()}


def poor_q(model, x):
    """The q of the IWAE figure: the posterior shifted by one standard deviation and made wider.  -> (mean, log var)"""
    post_mean, post_cov = model.posterior(x)
    return post_mean + post_cov.sqrt(), torch.log(post_cov.reshape(1, 1)) + 0.5


PROPOSAL_KS = (1, 10, 100, 1000)


@torch.no_grad()
def prior_against_encoder(vae, x, ks=PROPOSAL_KS, repeats=5, seed=0):
    """log p(x) estimated as log (1/k) sum_i w_i, for each k, two ways: with z_i drawn from the prior
    (w_i = p(x | z_i)) and from the encoder's q(z | x) (w_i = p(x, z_i) / q(z_i | x): IWAE_k).  Both average
    to p(x) before the log, so both are lower bounds on log p(x) in expectation.  ``repeats`` independent
    estimates of each image.  -> {"k": list, "prior", "encoder": arrays (len(ks), repeats, images)}"""
    ks = [check_int("k", k, minimum=1) for k in ks]
    repeats = check_int("repeats", repeats, minimum=2)           # two at least: the figure shows their spread
    torch.manual_seed(seed)
    out = {"k": list(ks), "prior": [], "encoder": []}
    for k in ks:
        prior_runs, encoder_runs = [], []
        for _ in range(repeats):
            z = torch.randn(k, len(x), vae.latent_dim, device=x.device)
            prior_runs.append(importance_weighted_bound(decode_log_prob(vae.decoder, z, x)))
            encoder_runs.append(vae.iwae_bound(x, k))
        out["prior"].append(torch.stack(prior_runs).cpu().numpy())
        out["encoder"].append(torch.stack(encoder_runs).cpu().numpy())
    return {"k": out["k"], "prior": np.stack(out["prior"]), "encoder": np.stack(out["encoder"])}


def proposal_figure(estimates):
    """The mean estimate of log p(x) against k for both proposals, with the spread of one image's
    estimates over repeats (their standard deviation, averaged over the images) as a band."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)
    fig, (ax_mean, ax_spread) = plt.subplots(1, 2, figsize=(8.4, 3.2), layout="constrained")   # the notebook shows it
    for name, color in (("prior", "tab:red"), ("encoder", "tab:blue")):
        values = estimates[name]                                  # (ks, repeats, images)
        mean, spread = values.mean(axis=(1, 2)), values.std(axis=1, ddof=1).mean(axis=1)
        label = "z from the prior p(z)" if name == "prior" else "z from the encoder q(z|x)"
        ax_mean.plot(estimates["k"], mean, "o-", color=color, label=label)
        ax_mean.fill_between(estimates["k"], mean - spread, mean + spread, color=color, alpha=0.2)
        ax_spread.plot(estimates["k"], spread, "o-", color=color, label=label)
    ax_mean.set(xscale="log", xlabel="k (samples per estimate)", ylabel="log p(x) estimate (nats per image)",
                title="the estimate, with one image's spread")
    ax_spread.set(xscale="log", yscale="log", xlabel="k (samples per estimate)",
                  ylabel="standard deviation over repeats (nats)", title="how much one estimate varies")
    ax_mean.legend(fontsize=7)
    return fig


LATENT_SIZES = (2, 4, 8, 16, 32)


def build_vae(latent_dim=16):
    """The lesson's Fashion-MNIST VAE (``VAE.mlp``, Bernoulli decoder) with ``latent_dim`` latents, from seed 0."""
    torch.manual_seed(0)
    return VAE.mlp(latent_dim=latent_dim)


def fit_vae(model, x, steps, device=None, progress=True, desc=None):
    """Train it on the negative ELBO, on dynamically binarized images ``x`` (``fit``'s defaults).  -> History"""
    return fit(model, x, steps=steps, transform=dynamic_binarize, seed=0, device=device, progress=progress,
               desc=desc or f"training the VAE with {model.latent_dim} latent dimensions")


def latent_size_explorer(data, steps, latent_sizes=LATENT_SIZES, device=None, cache_directory=None):
    """A slider over the latent size of a Fashion-MNIST VAE that *trains* on a new value.

    Training shows a progress bar under the figure; each trained model is cached
    (:func:`course_lib.cached_fit`), so returning to a size is instant.  Panels:
    test images over their reconstructions, samples, and the final rate and
    distortion of every size trained so far.  ``cache_directory`` overrides the
    usual model cache folder.
    """

    steps = check_int("steps", steps, minimum=1)
    if not all(hasattr(data, a) for a in ("x_train", "x_test")):
        raise CourseInputError(f"data must be image data with x_train and x_test (load_fashion_mnist()), "
                               f"got {type(data).__name__}.")
    device = get_device(device)
    x_show = data.x_test[:8]
    results = {}

    def config(latent_dim):
        return {"latent_dim": latent_dim, "steps": steps, "data": data.source, "n_train": len(data.x_train)}

    def train_for(latent_dim):
        return cached_fit("lesson01-latent", config(latent_dim), lambda: build_vae(latent_dim),
                          lambda model: fit_vae(model, data.x_train, steps, device=device), device=device,
                          directory=cache_directory)

    if cached_only():            # only trained models may be used (make site): say so rather than train
        missing = [k for k in latent_sizes if not is_cached("lesson01-latent", config(k), cache_directory)]
        if missing:
            return Markdown(
                "*The latent-size slider trains a VAE for each size the first time it is moved there "
                "(a progress bar shows the training), so it is live only in JupyterLab: the course ships no "
                "models for it, and this page was built from trained "
                f"models only. Sizes with no trained model here: {', '.join(map(str, missing))}.*")

    fig, (ax_r, ax_s, ax_c) = new_figure(3, 1, width=3.6, height=3.4)
    blank = image_grid(torch.zeros(16, 1, 28, 28), ncol=4)
    im_r = ax_r.imshow(blank, cmap="gray_r", vmin=0, vmax=1)
    im_s = ax_s.imshow(blank, cmap="gray_r", vmin=0, vmax=1)
    for ax, title in ((ax_r, "rows 1, 3: test images\nrows 2, 4: reconstructions"), (ax_s, "samples")):
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
    x = np.arange(len(latent_sizes))
    rate_bars = ax_c.bar(x - 0.2, np.zeros(len(x)), 0.4, color="C1", label="rate")
    dist_bars = ax_c.bar(x + 0.2, np.zeros(len(x)), 0.4, color="C0", label="distortion")
    ax_c.set(xticks=x, xticklabels=[str(k) for k in latent_sizes], xlabel="latent dimensions",
             ylabel="nats (last training batches)", title="sizes trained so far")
    ax_c.legend(fontsize=8, loc="upper left", ncol=2)

    def update(fig, latent_dim):
        model, history = train_for(latent_dim)
        results[latent_dim] = (history.last("rate"), history.last("distortion"))
        with torch.no_grad():
            rec = model.reconstruct(x_show.to(device)).cpu()
            torch.manual_seed(0)
            samples = model.sample(16).cpu()
        pairs = torch.cat([x_show[:4], rec[:4], x_show[4:8], rec[4:8]])     # originals above their reconstructions
        im_r.set_data(image_grid(pairs, ncol=4))
        im_s.set_data(image_grid(samples, ncol=4))
        for i, k in enumerate(latent_sizes):
            rate, distortion = results.get(k, (0.0, 0.0))
            rate_bars[i].set_height(rate)
            dist_bars[i].set_height(distortion)
        top = max(max(r, d) for r, d in results.values())
        ax_c.set_ylim(0, 1.3 * top)

    return LiveFigure(fig, update, {"latent_dim": choice_slider("latent dimensions", latent_sizes, value=8)},
                      predraw=False)           # a first visit trains a model: only visited sizes are drawn


# -- a VAE with two latents, drawn in its plane (Kingma & Welling, 2014, figure 4) ---------------------
def prior_quantile_grid(n=15):
    """An n × n grid of codes in the plane whose rows and columns are equally spaced in probability under
    N(0, 1): z = Φ⁻¹((i + ½)/n) on each axis, so each row and column holds the same share of the prior's mass.
    -> (n·n, 2), row by row from the top (z₂ largest) and left to right (z₁ increasing)"""
    n = check_int("n", n, minimum=2)
    axis = torch.distributions.Normal(0.0, 1.0).icdf((torch.arange(n) + 0.5) / n)
    z2, z1 = torch.meshgrid(axis.flip(0), axis, indexing="ij")
    return torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)


@torch.no_grad()
@torch.no_grad()
def decoded_grid(vae, n=15):
    """The decoder's mean image for each code of :func:`prior_quantile_grid` (n × n), on the CPU.
    -> (n·n, C, H, W), in the grid's order"""
    return vae.decoder(prior_quantile_grid(n).to(next(vae.parameters()).device)).mean.cpu()


def latent_plane(vae, x, labels, names=None, n=15):
    """Left: the posterior mean of each image of ``x`` under a two-latent VAE, coloured by its class ``labels``;
    right: the decoder's mean image for each code of :func:`prior_quantile_grid` (n × n), laid out where the
    codes sit.  -> the pyplot figure"""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot only where a figure is drawn, so the notebook shows it)
    if getattr(vae, "latent_dim", None) != 2:
        raise CourseInputError(f"vae must have two latent dimensions to be drawn in the plane, not "
                               f"{getattr(vae, 'latent_dim', 'none')}.")
    check_labels("labels", labels, len(x), per="image")
    means = latent_means(vae, x)
    images = decoded_grid(vae, n)
    fig, (ax_codes, ax_grid) = plt.subplots(1, 2, figsize=(11, 5))
    colours = plt.get_cmap("tab10")
    names = names or [str(c) for c in range(int(labels.max()) + 1)]
    for c, name in enumerate(names):
        mine = labels.cpu() == c
        ax_codes.scatter(means[mine, 0], means[mine, 1], s=4, color=colours(c % 10), label=name)
    ax_codes.set(title="posterior mean of each test image, by class", xlabel="z₁", ylabel="z₂", aspect="equal")
    ax_codes.legend(fontsize=7, markerscale=3, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax_grid.imshow(image_grid(images, ncol=n, pad=0), cmap="gray_r", vmin=0, vmax=1)
    ax_grid.set(title=f"the decoder's mean image for a {n} × {n} grid of codes",
                xlabel="z₁ increases to the right", ylabel="z₂ increases upwards")
    ax_grid.set_xticks([]), ax_grid.set_yticks([])
    fig.tight_layout()
    return fig
