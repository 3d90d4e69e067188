"""Lesson 6: Wasserstein autoencoders and the maximum mean discrepancy."""
import math

import numpy as np
import torch
from torch import nn

from ..distributions import kl_standard_normal
from ..errors import CourseInputError, check_choice, check_int, check_number, check_tensor
from ..figures.plots import image_grid
from ..figures.widgets import LiveFigure, choice_slider, new_figure
from ..metrics import (
    gaussian_fit_kl,
    laplacian_variance,
    linear_probe_accuracy,
    linear_probe_correct,
    neighbour_vote_accuracy,
)
from ..models.vae import VAE, GaussianDecoder, GaussianEncoder, vae_objective
from ..models.wae import (
    WAE,
    latent_discriminator,
    mmd2,
    squared_distances,
    wae_objective,
    wae_sweep_objective,
)
from ..nets import MLP
from ..training.adversarial import train_wae_gan
from ..training.cache import cached_fit, cached_sweep, data_key
from ..training.sweep import fit_sweep
from ..training.train import fit

SIZES = (4, 8, 16, 32, 64, 128)
LAMBDAS = (0.1, 1.0, 10.0, 100.0)
LATENT_DIM = 8


# -- the MMD estimators, exactly and by simulation -----------------------------------------
def gaussian_rbf_mmd2(mean_p, var_p, mean_q, var_q, scale):
    """Exact MMD^2 between N(mean_p, var_p I) and N(mean_q, var_q I) (mean: (d,) tensors) under
    k(x, y) = exp(-||x - y||^2 / C): with u = x - y ~ N(delta, s I),
    E k = (1 + 2 s / C)^(-d/2) exp(-||delta||^2 / (C + 2 s))."""
    d = len(mean_p)

    def expected_k(delta, s):
        return (1 + 2 * s / scale) ** (-d / 2) * math.exp(-float((delta ** 2).sum()) / (scale + 2 * s))

    zero = torch.zeros(d)
    return (expected_k(zero, 2 * var_p) + expected_k(zero, 2 * var_q)
            - 2 * expected_k(mean_p - mean_q, var_p + var_q))


def estimator_values(n, repeats, mean_p, var_p, mean_q, var_q, kernel="rbf", scale=None, generator=None):
    """``repeats`` values of the U- and V-statistic of MMD^2 between n points from N(mean_p, var_p I)
    and n points from N(mean_q, var_q I), in float64 on the CPU (means (d,), variances numbers).
    -> {"U": array (repeats,), "V": array (repeats,)}"""
    n, repeats = check_int("n", n, minimum=2), check_int("repeats", repeats, minimum=1)
    var_p = check_number("var_p", var_p, minimum=0.0, strict_minimum=True)
    var_q = check_number("var_q", var_q, minimum=0.0, strict_minimum=True)
    mean_p = check_tensor("mean_p", torch.as_tensor(mean_p, dtype=torch.float64, device="cpu"), shape=(None,))
    mean_q = check_tensor("mean_q", torch.as_tensor(mean_q, dtype=torch.float64, device="cpu"), shape=(len(mean_p),))
    d = len(mean_p)
    u, v = [], []
    for _ in range(repeats):
        x = mean_p + var_p ** 0.5 * torch.randn(n, d, generator=generator, dtype=torch.float64)
        y = mean_q + var_q ** 0.5 * torch.randn(n, d, generator=generator, dtype=torch.float64)
        u.append(float(mmd2(x, y, kernel, scale, unbiased=True)))
        v.append(float(mmd2(x, y, kernel, scale, unbiased=False)))
    return {"U": np.array(u), "V": np.array(v)}


def estimator_draws(sizes=SIZES, repeats=400, dim=2, kernel="imq", seed=0):
    """For each sample size n, ``repeats`` values of the U- and V-statistic of MMD^2 between two
    independent samples of n points from the same N(0, I).  -> {n: {"U": array, "V": array}}"""
    g = torch.Generator().manual_seed(seed)
    zero = torch.zeros(dim)
    return {n: estimator_values(n, repeats, zero, 1.0, zero, 1.0, kernel, generator=g) for n in sizes}


def bias_explorer(draws):
    """A sample-size slider: the spread of the two estimators at that n, and their means against n."""
    sizes = sorted(draws)
    fig, (ax_h, ax_m) = new_figure(2, width=4.3, height=3.2)
    bins = np.linspace(min(draws[sizes[0]]["U"].min(), 0) - 0.01, draws[sizes[0]]["V"].max() + 0.01, 40)
    _, _, bars_u = ax_h.hist(draws[sizes[0]]["U"], bins=bins, alpha=0.6, color="tab:blue", label="U-statistic")
    _, _, bars_v = ax_h.hist(draws[sizes[0]]["V"], bins=bins, alpha=0.6, color="tab:orange", label="V-statistic")
    top = max(np.histogram(draws[n][k], bins=bins)[0].max() for n in sizes for k in "UV") * 1.1
    ax_h.axvline(0, color="k", lw=0.8)
    ax_h.set(ylim=(0, top), xlabel="estimate of MMD² (true value 0)", ylabel="count", title="two samples from one N(0, I)")
    ax_h.legend(fontsize=8)
    for key, color in (("U", "tab:blue"), ("V", "tab:orange")):
        means = [draws[n][key].mean() for n in sizes]
        errors = [2 * draws[n][key].std() / math.sqrt(len(draws[n][key])) for n in sizes]
        ax_m.errorbar(sizes, means, yerr=errors, fmt="o-", color=color, ms=3, label=f"mean of {key} (± 2 s.e.)")
    ax_m.axhline(0, color="k", lw=0.8)
    ax_m.set(xscale="log", xlabel="sample size n", ylabel="mean estimate", title="bias against n")
    cursor = ax_m.axvline(sizes[0], color="0.5", ls="--")
    ax_m.legend(fontsize=8)

    def update(fig, n):
        for bars, key in ((bars_u, "U"), (bars_v, "V")):
            counts, _ = np.histogram(draws[n][key], bins=bins)
            for bar, count in zip(bars, counts):
                bar.set_height(count)
        cursor.set_xdata([n, n])

    return LiveFigure(fig, update, {"n": choice_slider("n", sizes)},
                      animated=lambda: [*bars_u, *bars_v, cursor])


# -- the text's inequality, and the one that holds ---------------------------------------------
def transport_bound_example(sigma_x=1.0, s=3.0):
    """P_X = N(0, sigma_x^2), encoder E(x) = x / s, decoder G(z) = s z: reconstruction is exact, Q_Z =
    N(0, (sigma_x / s)^2), P_G = G#N(0, 1) = N(0, s^2).  For 1-d Gaussians W2 = |difference of stds|.
    -> dict with W2(P_X, P_G), the text's right-hand side (0 + W2(Q_Z, P_Z)) and the bound with G's
    Lipschitz constant s (0 + s W2(Q_Z, P_Z))."""
    w_data_model = abs(sigma_x - s)
    w_latent = abs(sigma_x / s - 1.0)
    return {"W2(P_X, P_G)": w_data_model, "text: reconstruction + W2(Q_Z, P_Z)": 0.0 + w_latent,
            "with Lip(G): reconstruction + Lip(G) W2(Q_Z, P_Z)": 0.0 + s * w_latent}


# -- trained models on Fashion-MNIST ------------------------------------------------------------

def build_wae(seed=0):
    torch.manual_seed(seed)
    return WAE(latent_dim=LATENT_DIM, hidden=(256,))


def build_vae(seed=0):
    torch.manual_seed(seed)
    return VAE.mlp(latent_dim=LATENT_DIM, hidden=(256,))


def build_squared_error_vae(seed=0):
    """The VAE matched to the WAEs' cost and decoder: p(x|z) = N(x; G(z), ½ I) with G the WAE's decoder network
    (one hidden layer, sigmoid output), so −log p(x|z) = ‖x − G(z)‖² + const, and the negative ELBO is the
    WAE's squared error plus the KL (where WAE-MMD adds λ MMD²)."""

    torch.manual_seed(seed)
    pixels = 28 * 28
    encoder = GaussianEncoder(MLP(pixels, (256,), 2 * LATENT_DIM), LATENT_DIM)
    decoder = GaussianDecoder(nn.Sequential(MLP(LATENT_DIM, (256,), pixels), nn.Sigmoid()), (1, 28, 28),
                              log_var=math.log(0.5), learn_var=False)
    return VAE(encoder, decoder, LATENT_DIM, (1, 28, 28))


MODELS = ("VAE", "VAE (squared error)", "WAE-MMD (IMQ)", "WAE-MMD (RBF)", "WAE-GAN")


def build_model(name):
    """A fresh model of the comparison, from seed 0: the VAE (Bernoulli decoder), the VAE matched to the WAEs'
    squared error, or the WAE that each WAE objective trains."""
    check_choice("name", name, MODELS)
    return {"VAE": build_vae, "VAE (squared error)": build_squared_error_vae}.get(name, build_wae)()


def fit_model(name, model, x, steps, device=None, progress=True):
    """Train one model of the comparison on the images ``x``: the VAE by the ELBO, WAE-MMD with the IMQ or the
    RBF kernel at lambda = 10, WAE-GAN at lambda = 1 against a latent discriminator.  -> History"""
    check_choice("name", name, MODELS)
    if name.startswith("VAE"):
        return fit(model, x, vae_objective(), steps=steps, seed=0, device=device, progress=progress, desc=name)
    if name == "WAE-GAN":
        return train_wae_gan(model, latent_discriminator(LATENT_DIM), x, steps, lam=1.0, device=device,
                             progress=progress)
    kernel = "imq" if "IMQ" in name else "rbf"
    return fit(model, x, wae_objective(10.0, kernel), steps=steps, seed=0, device=device, progress=progress,
               desc=f"WAE-MMD ({kernel})")


def train_models(x, steps, device=None):
    """A VAE, WAE-MMD (IMQ and RBF, lambda = 10) and WAE-GAN (lambda = 1) with the same networks,
    each cached.  -> {name: (model, history)}"""
    steps = check_int("steps", steps, minimum=1)
    key = {"steps": steps, "data": data_key(x), "latent_dim": LATENT_DIM}
    cache = {"VAE": ("lesson06-vae", key), "VAE (squared error)": ("lesson06-vae-squared-error", key),
             "WAE-MMD (IMQ)": ("lesson06-wae-mmd", {**key, "kernel": "imq", "lam": 10.0}),
             "WAE-MMD (RBF)": ("lesson06-wae-mmd", {**key, "kernel": "rbf", "lam": 10.0}),
             "WAE-GAN": ("lesson06-wae-gan", {**key, "lam": 1.0})}
    return {name: cached_fit(*cache[name], lambda name=name: build_model(name),
                             lambda m, name=name: fit_model(name, m, x, steps, device=device), device=device)
            for name in MODELS}


def fit_lambda_sweep(x, steps, values=LAMBDAS, device=None, progress=True):
    """WAE-MMD (IMQ), one per lambda, from the same start weights and batches.  -> list of (model, history)"""
    return fit_sweep(build_wae, x, wae_sweep_objective("imq"), [float(v) for v in values], steps=steps, seed=0,
                     device=device, progress=progress, desc="λ sweep")


def train_lambda_sweep(x, steps, values=LAMBDAS, device=None):
    """:func:`fit_lambda_sweep`, each model cached.  -> list of (model, history)."""
    steps = check_int("steps", steps, minimum=1)
    return cached_sweep("lesson06-lambda", {"steps": steps, "data": data_key(x), "latent_dim": LATENT_DIM},
                        "lam", [float(v) for v in values], build_wae,
                        lambda values: fit_lambda_sweep(x, steps, values, device=device), device=device)


# -- two latent dimensions: the picture of what each objective asks of the codes ---------------------
MODELS_2D = ("VAE", "WAE-MMD (IMQ)")


def build_2d(name, seed=0):
    """A VAE or WAE like the lesson's (one hidden layer each way, here of 128 units: half the width, so that
    the pair ships in under half a megabyte) with a code of two numbers, so that each image's posterior (VAE)
    or code (WAE) can be drawn in the plane."""
    check_choice("name", name, MODELS_2D)
    torch.manual_seed(seed)
    if name == "VAE":
        return VAE.mlp(latent_dim=2, hidden=(128,))
    return WAE(latent_dim=2, hidden=(128,))


def fit_2d(name, model, x, steps, device=None, progress=True):
    """Train a model of :func:`build_2d` as its objective asks: the VAE by the negative ELBO, the WAE by
    squared error + 10 MMD² (IMQ), as in the 8-latent comparison.  -> History"""
    check_choice("name", name, MODELS_2D)
    objective = vae_objective() if name == "VAE" else wae_objective(10.0, "imq")
    return fit(model, x, objective, steps=steps, seed=0, device=device, progress=progress, desc=f"{name}, 2 latents")


def train_2d_models(x, steps, device=None):
    """The VAE and WAE-MMD of :func:`build_2d`, each trained by :func:`fit_2d` and cached.
    -> {name: (model, history)}"""
    steps = check_int("steps", steps, minimum=1)
    key = {"steps": steps, "data": data_key(x), "latent_dim": 2}
    return {name: cached_fit("lesson06-2d-" + ("vae" if name == "VAE" else "wae-mmd"), key,
                             lambda name=name: build_2d(name),
                             lambda m, name=name: fit_2d(name, m, x, steps, device=device), device=device)
            for name in MODELS_2D}


@torch.no_grad()
def plane_codes(vae, wae, x):
    """What each model makes of the images ``x`` in its plane: the VAE's posterior means and standard
    deviations (q(z|x) = N(mean, diag std²)), and the WAE's codes E(x).
    -> {"vae mean", "vae std", "wae code"}: each (N, 2) on the CPU"""
    for name, model in (("vae", vae), ("wae", wae)):
        if getattr(model, "latent_dim", None) != 2:
            raise CourseInputError(f"{name} must have two latent dimensions (build_2d), not "
                                   f"{getattr(model, 'latent_dim', 'none')}.")
    q = vae.encoder(vae.check_input(x))
    return {"vae mean": q.mean.cpu(), "vae std": q.std.cpu(), "wae code": wae.encode(wae.check_input(x)).cpu()}


def plane_summary(found, labels):
    """The numbers behind :func:`plane_picture`, from :func:`plane_codes`'s result and the images' classes:

        rate                 the VAE's mean KL(q(z|x) ‖ N(0, I)), nats per image (closed form)
        median posterior std the median over images and both axes of the VAE's posterior standard deviation
        VAE codes vs prior MMD², WAE codes vs prior MMD²
                             MMD² (IMQ, U-statistic, as WAE-MMD trains) between the codes, one draw of
                             q(z|x) per image for the VAE, and as many prior draws: the aggregate against N(0, I)
        VAE 10-NN accuracy, WAE 10-NN accuracy
                             a vote of the 10 nearest codes of the first half of the images names the class of
                             each image of the second half (VAE: its posterior means)
    -> {name: float}"""
    return {**vae_plane_numbers(found["vae mean"], found["vae std"], labels),
            **wae_plane_numbers(found["wae code"], labels)}


def _prior_draws(shape):
    """As many draws of N(0, I) as there are codes (seed 1), in float64: what both models' codes are compared with."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def vae_plane_numbers(mean, std, labels):
    """The VAE's part of :func:`plane_summary` (rate, median posterior std, VAE codes vs prior MMD², VAE 10-NN
    accuracy) from its posterior means and standard deviations (N, 2).  -> {name: float}"""
    check_tensor("mean", mean, shape=(None, 2))
    check_tensor("std", std, shape=(len(mean), 2))
    if not bool((std > 0).all()):
        raise CourseInputError("std must hold the posterior standard deviations, all > 0.")
    mean, std = mean.detach().cpu().double(), std.detach().cpu().double()       # wherever the model ran
    draw = mean + std * torch.randn(mean.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    half = len(mean) // 2
    return {"rate": float(kl_standard_normal(mean, 2 * std.log()).mean()), "median posterior std": float(std.median()),
            "VAE codes vs prior MMD²": float(mmd2(draw, _prior_draws(mean.shape))),
            "VAE 10-NN accuracy": neighbour_vote_accuracy(mean[:half], labels[:half], mean[half:], labels[half:])}


def wae_plane_numbers(code, labels):
    """The WAE's part of :func:`plane_summary` (WAE codes vs prior MMD², WAE 10-NN accuracy) from its codes (N, 2).
    -> {name: float}"""
    check_tensor("code", code, shape=(None, 2))
    code, half = code.detach().cpu().double(), len(code) // 2
    return {"WAE codes vs prior MMD²": float(mmd2(code, _prior_draws(code.shape))),
            "WAE 10-NN accuracy": neighbour_vote_accuracy(code[:half], labels[:half], code[half:], labels[half:])}


def plane_picture(found, labels, n_show=40, names=None):
    """Tolstikhin et al.'s picture, drawn from trained models: the prior N(0, I) as circles, and for the
    first ``n_show`` images the VAE's posterior q(z|x) as an ellipse of one standard deviation (left) and
    the WAE's code E(x) as a point (right), coloured by class; every image's code as grey dots behind.
    found: :func:`plane_codes`'s result; labels: (N,) classes.  -> the pyplot figure"""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot only where a figure is drawn, so the notebook shows it)
    from matplotlib.patches import Circle, Ellipse  # noqa: PLC0415 (with pyplot)
    n_show = check_int("n_show", n_show, minimum=1)
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), sharex=True, sharey=True)
    panels = (("VAE: each image's posterior q(z|x), one standard deviation", found["vae mean"]),
              ("WAE: each image's code E(x), a point", found["wae code"]))
    for ax, (title, points) in zip(axes, panels):
        ax.scatter(points[:, 0], points[:, 1], s=2, color="0.8", zorder=1, label="every test image")
        for radius in (1, 2, 3):
            ax.add_patch(Circle((0, 0), radius, fill=False, ls="--", color="0.4", lw=0.8, zorder=2))
        ax.set(title=title, xlabel="z₁", ylabel="z₂", xlim=(-3.8, 3.8), ylim=(-3.8, 3.8), aspect="equal")
        ax.title.set_fontsize(9)
    for i in range(min(n_show, len(labels))):
        colour = colours(int(labels[i]) % 10)
        mean, std = found["vae mean"][i].numpy(), found["vae std"][i].numpy()
        axes[0].add_patch(Ellipse(mean, 2 * std[0], 2 * std[1], color=colour, alpha=0.35, zorder=3))
        axes[0].plot(*mean, ".", color=colour, ms=3, zorder=4)
        axes[1].plot(*found["wae code"][i].numpy(), "o", color=colour, ms=5, zorder=4)
    names = names or [str(c) for c in range(10)]
    handles = [plt.Line2D([], [], ls="", marker="o", color=colours(c), label=names[c]) for c in range(len(names))]
    fig.legend(handles=handles, loc="lower center", ncol=len(names), fontsize=7, frameon=False)
    fig.suptitle("the prior N(0, I): dashed circles at radius 1, 2, 3", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


@torch.no_grad()
def codes(model, x):
    """The code of each image: E(x) for a WAE, one draw from q(z|x) for a VAE (so that the codes of all
    images are a sample of the aggregate posterior).  -> (N, d) on the CPU"""
    torch.manual_seed(0)
    if hasattr(model, "encode"):
        return model.encode(model.check_input(x)).cpu()
    return model.encoder(model.check_input(x)).rsample().cpu()


@torch.no_grad()
def reconstructions(model, x):
    return model.reconstruct(x).cpu()


def sample_quality_proxy(samples, images, scale=None):
    """Pixel-space MMD^2 (U-statistic, RBF kernel with C = the mean squared distance between test images)
    between generated samples and test images: lower is closer.  A stated proxy, not a perceptual score."""
    a, b = samples.flatten(1).double(), images.flatten(1).double()
    if scale is None:
        scale = float(squared_distances(b, b).mean())
    return float(mmd2(a, b, "rbf", scale=scale))


@torch.no_grad()
def compare(models, x_test, labels, n_train_probe=None):
    """For each model: squared error of reconstructions (per image: fidelity), their sharpness (the variance of
    their Laplacian over the test images'), the sample proxy, MMD^2 between the codes and N(0, I) (IMQ with
    C = 2d, U-statistic: WAE-MMD (IMQ)'s own training criterion), the kernel-free KL of a Gaussian fitted to the
    codes from N(0, I) (:func:`~course_lib.metrics.gaussian_fit_kl`), and a linear probe's accuracy on the codes
    (classes, half/half)."""
    half = len(x_test) // 2 if n_train_probe is None else n_train_probe
    data_sharpness = laplacian_variance(x_test)
    rows = {}
    for name, model in models.items():
        torch.manual_seed(0)
        recon = reconstructions(model, x_test)
        error = float((recon - x_test).pow(2).flatten(1).sum(-1).mean())
        samples = model.sample(len(x_test)).cpu()
        z = codes(model, x_test)
        rows[name] = {"squared error": error, "sharpness / data's": laplacian_variance(recon) / data_sharpness,
                      "sample MMD²": sample_quality_proxy(samples, x_test),
                      "codes vs prior MMD²": float(mmd2(z, torch.randn(len(z), z.shape[1],
                                                                       generator=torch.Generator().manual_seed(1)))),
                      "codes: Gaussian-fit KL": gaussian_fit_kl(z),
                      "probe accuracy": linear_probe_accuracy(z[:half], labels[:half], z[half:], labels[half:])}
    return rows


@torch.no_grad()
def probe_correct(models, x_test, labels, n_train_probe=None):
    """For each model, whether the linear probe of :func:`compare` labels each test image right (the same codes, the
    same split): -> {name: (N_test,) bool}.  Its mean is the table's probe accuracy; two models' rows, compared image
    by image, give the paired standard error of their difference (:func:`course_lib.claims.paired_standard_error`)."""
    half = len(x_test) // 2 if n_train_probe is None else n_train_probe
    out = {}
    for name, model in models.items():
        z = codes(model, x_test)
        out[name] = linear_probe_correct(z[:half], labels[:half], z[half:], labels[half:])
    return out


def lambda_explorer(sweep, values, x_test, n=8):
    """A slider over the trained lambdas: test reconstructions and prior samples of that model."""
    torch.manual_seed(0)
    pictures = []
    for model, _ in sweep:
        recon = reconstructions(model, x_test[:n])
        samples = model.sample(n).cpu()
        pictures.append(image_grid(torch.cat([x_test[:n].cpu(), recon, samples]), n))
    fig, ax = new_figure(1, width=7.0, height=3.0)
    shown = ax.imshow(pictures[0], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set(xticks=[], yticks=[], title="rows: test images · reconstructions · samples G(z), z ~ N(0, I)")

    def update(fig, lam):
        shown.set_data(pictures[list(values).index(lam)])

    return LiveFigure(fig, update, {"lam": choice_slider("λ", list(values))}, animated=lambda: [shown])
