"""Lesson 8b: adversarial hybrids (VAE-GAN, BiGAN/ALI, InfoGAN), β-TCVAE against β-VAE, and
understanding questions 7 and 8 computed on one toy data set."""
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..data import sample_toy
from ..errors import CourseInputError, check_choice, check_int, check_number, check_tensor
from ..figures.plots import image_grid
from ..figures.widgets import LiveFigure, choice_slider, new_figure
from ..metrics import frechet_feature_distance, laplacian_variance, variational_information_bound
from ..models.classifier import features_of
from ..models.flow_vae import FlowVAE
from ..models.gans import GAN, BiGAN, InfoGAN
from ..models.hybrids import VAEGAN, UnifiedVAE
from ..models.tcvae import tcvae_sweep_objective
from ..models.vae import VAE, vae_objective
from ..training.adversarial import train_adversarial
from ..training.cache import cached_fit, cached_sweep, data_key
from ..training.sweep import fit_sweep
from ..training.train import fit
from . import beta_vae
from .flows import build_coupling_flow, cpu_copy, negative_log_likelihood
from .wae import sample_quality_proxy

TOY = "eight_gaussians"
INFO_LAMS = (0.0, 0.1, 1.0)
MEANS, SIGMA = (-3.0, -1.0, 1.0, 3.0), 0.7          # the known-MI mixture: c uniform on 4, x | c ~ N(MEANS[c], SIGMA^2)
TOY_SCALE = 0.1               # the RBF scale C of the sample proxy on the toy: exp(-|x - y|^2 / C), about a mode's width


def toy_data(n=20000):
    """Training points (seed 0) and test points (seed 1) of the eight-Gaussians toy.  -> (x, x_test)"""
    return sample_toy(TOY, check_int("n", n, minimum=100), seed=0), sample_toy(TOY, 5000, seed=1)


def true_log_density(x, radius=2.0, std=0.1):
    """log p(x) of the eight-Gaussians toy itself: (1/8) sum_k N(x; radius (cos, sin)(2 pi k / 8), std^2 I).
    (n, 2) -> (n,).  The best test log-likelihood any model can reach in expectation."""
    angles = torch.arange(8, dtype=x.dtype) * (2 * math.pi / 8)
    centres = radius * torch.stack([angles.cos(), angles.sin()], 1)
    squared = (x[:, None, :] - centres).pow(2).sum(-1)
    return torch.logsumexp(-0.5 * squared / std ** 2, 1) - math.log(8) - math.log(2 * math.pi * std ** 2)


def reference_row(x_test):
    """What the data itself scores: its true density on the test points, and the sample proxy of a fresh
    sample of the same size (seed 2) against them, the proxy's floor.  -> (log-likelihood, MMD²)"""
    x = x_test.double()
    fresh = sample_toy(TOY, len(x), seed=2).double()
    return float(true_log_density(x).mean()), toy_proxy(fresh, x)


def toy_proxy(samples, x_test):
    """The sample proxy on the toy: MMD² (U-statistic) between samples and test points with the RBF kernel
    exp(-||x - y||^2 / C), C = TOY_SCALE, narrow enough to see the shape of each mode.  Lower is closer;
    a fresh sample of the data scores about 0 (:func:`reference_row`)."""
    return sample_quality_proxy(samples.double(), x_test.double(), scale=TOY_SCALE)


def _seeded(build):
    def seeded():
        torch.manual_seed(0)
        return build()
    return seeded


# -- VAE-GAN on Fashion-MNIST ------------------------------------------------------------------------------
def build_image_vae():
    return VAE.mlp(latent_dim=16, hidden=(512, 256))


def train_vae_and_vae_gan(x, steps, device=None):
    """The course's MLP VAE, and the same networks trained as a VAE-GAN (Larsen's loss: features
    instead of pixels), both cached.  -> {name: (model, history)}"""
    steps = check_int("steps", steps, minimum=1)
    key = {"steps": steps, "data": data_key(x)}
    vae = cached_fit("lesson08b-image-vae", key, _seeded(build_image_vae),
                     lambda m: fit(m, x, vae_objective(), steps=steps, seed=0, device=device, desc="VAE"),
                     device=device)
    vae_gan = cached_fit("lesson08b-vae-gan", key, _seeded(lambda: VAEGAN(build_image_vae())),
                         lambda m: train_adversarial(m, x, steps, batch_size=128, lr=2e-4, device=device,
                                                     desc="VAE-GAN"), device=device)
    return {"VAE": vae, "VAE-GAN": vae_gan}


def sharpness(images):
    """Mean absolute difference between neighbouring pixels (both directions): a stated proxy for how
    sharp images are.  (N, 1, H, W) -> float"""
    images = images.detach().float().cpu()
    return float(0.5 * ((images[..., 1:, :] - images[..., :-1, :]).abs().mean()
                        + (images[..., :, 1:] - images[..., :, :-1]).abs().mean()))


@torch.no_grad()
def image_comparison(models, x_test, n=8, classifier=None):
    """For each model: test reconstructions and prior samples as one picture, the sample proxy (pixel MMD^2
    against the test images), the samples' sharpness over the test images' (the variance of the Laplacian,
    and the mean difference of neighbouring pixels), and the reconstructions' squared error; with a ``classifier`` (:class:`course_lib.models.classifier.FashionClassifier`), also
    the Fréchet distance between the samples' features and the test images' (the course's proxy, not FID).
    -> (pictures {name: array}, rows {name: {measure: value}})"""
    pictures, rows = {}, {}
    reference, reference_laplacian = sharpness(x_test), laplacian_variance(x_test)
    test_features = None if classifier is None else features_of(classifier, x_test)
    for name, model in models.items():
        model = cpu_copy(model, torch.float32)
        torch.manual_seed(0)
        samples = model.sample(len(x_test))
        recon = model.reconstruct(x_test)
        rows[name] = {"sample MMD²": sample_quality_proxy(samples, x_test),
                      "Laplacian var. / data's": laplacian_variance(samples.clamp(0, 1)) / reference_laplacian,
                      "sharpness / data's": sharpness(samples) / reference,
                      "squared error": float((recon - x_test).pow(2).flatten(1).sum(-1).mean())}
        if classifier is not None:
            rows[name]["feature distance"] = frechet_feature_distance(features_of(classifier, samples.clamp(0, 1)),
                                                                      test_features)
        pictures[name] = image_grid(torch.cat([x_test[:n], recon[:n], samples[:2 * n]]), n)
    return pictures, rows


# -- BiGAN ---------------------------------------------------------------------------------------------------
def build_bigan():
    """The lesson's BiGAN on the toy, with the initial weights of seed 0."""
    return _seeded(BiGAN)()


def fit_bigan(model, x, x_test, steps, log_every=50, device=None, progress=True):
    """Train it on the points ``x`` (``train_adversarial``'s defaults), recording its cycle errors on the first
    1,000 of ``x_test`` every ``log_every`` steps.  -> History"""
    probe = x_test[:1000]
    return train_adversarial(model, x, steps, device=device, log_every=log_every, desc="BiGAN", progress=progress,
                             snapshot=lambda m, step: m.cycle_errors(probe))


def train_bigan(x, x_test, steps, log_every=50, device=None):
    """A BiGAN on the toy, with its cycle errors on 1,000 test points recorded every ``log_every`` steps,
    cached.  -> (model, history)"""
    steps = check_int("steps", steps, minimum=1)
    return cached_fit("lesson08b-bigan", {"steps": steps, "data": data_key(x), "log_every": log_every},
                      build_bigan, lambda model: fit_bigan(model, x, x_test, steps, log_every, device=device),
                      device=device)


# -- InfoGAN -------------------------------------------------------------------------------------------------
def mixture_log_joint(x, means=MEANS, sigma=SIGMA):
    """log p(x, c) for the 1-D mixture with a uniform c: x (n,) -> (n, K)."""
    means = torch.as_tensor(means, dtype=torch.float64)
    k = len(means)
    return (-0.5 * ((x[:, None] - means) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi)) - math.log(k))


def known_information(q_sigma=1.5 * SIGMA, n=20000, seed=0, edge=12.0, grid=20001):
    """The InfoGAN bound on a case with known mutual information: c uniform on 4 values,
    x | c ~ N(MEANS[c], SIGMA^2).

    exact I(c; x) = H(x) - H(x|c) by quadrature; the bound E[log Q(c|x)] + H(c) by Monte Carlo with n
    draws, once with Q = the true posterior p(c|x) and once with a wrong Q (the posterior of a mixture
    with std ``q_sigma``); the wrong Q's gap E_x KL(p(c|x) || Q(c|x)) by quadrature; and the text's
    E[log Q] - H(c).  -> dict of floats"""
    n = check_int("n", n, minimum=10)
    q_sigma = check_number("q_sigma", q_sigma, minimum=0.0, strict_minimum=True)
    k = len(MEANS)
    entropy_c = math.log(k)
    xs = torch.linspace(-edge, edge, grid, dtype=torch.float64)
    dx = float(xs[1] - xs[0])
    log_joint = mixture_log_joint(xs)
    log_px = torch.logsumexp(log_joint, 1)
    entropy_x = float(-(log_px.exp() * log_px).sum() * dx)
    exact = entropy_x - 0.5 * math.log(2 * math.pi * math.e * SIGMA ** 2)
    posterior = log_joint - log_px[:, None]
    log_q_wrong = mixture_log_joint(xs, sigma=q_sigma)
    log_q_wrong = log_q_wrong - torch.logsumexp(log_q_wrong, 1, keepdim=True)
    gap = float((log_px.exp()[:, None] * posterior.exp() * (posterior - log_q_wrong)).sum() * dx)

    g = torch.Generator().manual_seed(seed)
    c = torch.randint(k, (n,), generator=g)
    x = torch.as_tensor(MEANS, dtype=torch.float64)[c] + SIGMA * torch.randn(n, generator=g, dtype=torch.float64)
    true_q = mixture_log_joint(x).log_softmax(1)[torch.arange(n), c]
    wrong_q = mixture_log_joint(x, sigma=q_sigma).log_softmax(1)[torch.arange(n), c]
    return {"exact I(c; x)": exact, "H(c)": entropy_c,
            "bound, Q = p(c|x)": float(variational_information_bound(true_q, entropy_c)),
            "its standard error": float(true_q.std() / math.sqrt(n)),
            "bound, wrong Q": float(variational_information_bound(wrong_q, entropy_c)),
            "wrong Q: exact I - gap": exact - gap, "gap by quadrature": gap,
            "wrong Q's standard error": float(wrong_q.std() / math.sqrt(n)),
            "text's E[log Q] - H(c)": float(true_q.mean() - entropy_c)}


def build_infogan(lam):
    """A fresh InfoGAN with 8 code values and weight ``lam`` on its information term, from seed 0."""
    torch.manual_seed(0)
    return InfoGAN(lam=lam)


def fit_infogan(model, x, steps, device=None, progress=True):
    """Train an InfoGAN on the points ``x`` as the lesson does (``train_adversarial``'s defaults).  -> History"""
    return train_adversarial(model, x, steps, device=device, progress=progress, desc=f"InfoGAN λ = {model.lam:g}")


def train_infogans(x, steps, lams=INFO_LAMS, device=None):
    """InfoGANs with 8 code values, one per lambda, each cached.  -> list of (model, history)"""
    steps = check_int("steps", steps, minimum=1)
    out = []
    for lam in lams:
        lam = check_number("lam", lam, minimum=0.0)
        out.append(cached_fit("lesson08b-infogan", {"steps": steps, "data": data_key(x), "lam": lam},
                              lambda lam=lam: build_infogan(lam),
                              lambda m: fit_infogan(m, x, steps, device=device), device=device))
    return out


@torch.no_grad()
def same_mode_rate(bigan, x):
    """How often G(E(x)) lands in the same one of the toy's eight modes as x (1 for exact inverses), and what a
    G∘E that ignores x's mode would score by chance, Σ_k p_k r_k with p and r the shares of x and of G(E(x)) in
    mode k (ALI's mixture experiment).  x: (n, 2) test points.  -> (rate, chance)"""
    x = check_tensor("x", x, shape=(None, 2))
    mode_x, mode_back = mode_of(x.cpu()), mode_of(bigan.reconstruct(x).cpu())
    p, r = (torch.bincount(m, minlength=8).double() / len(x) for m in (mode_x, mode_back))
    return float((mode_x == mode_back).double().mean()), float((p * r).sum())


def neighbouring_miss_share(bigan, x, n_modes=8):
    """Of the points x whose G(E(x)) lands in another of the toy's modes than x's own, the share that lands in a
    neighbouring mode (one step round the circle either way); nan when none misses.  x: (n, 2).  -> float"""
    x = check_tensor("x", x, shape=(None, 2))
    n_modes = check_int("n_modes", n_modes, minimum=3)
    with torch.no_grad():
        mode_x, mode_back = mode_of(x.cpu(), n_modes), mode_of(bigan.reconstruct(x).cpu(), n_modes)
    missed = mode_x != mode_back
    if not missed.any():
        return float("nan")
    step = (mode_back - mode_x) % n_modes
    return float(((step == 1) | (step == n_modes - 1))[missed].double().mean())


def mode_of(points, n_modes=8):
    """Index of the nearest of the toy's eight centres (angle k 2 pi / 8).  (n, 2) -> (n,)"""
    angle = torch.atan2(points[:, 1], points[:, 0])
    return torch.round(angle / (2 * math.pi / n_modes)).long() % n_modes


@torch.no_grad()
def code_control(model, x_test, n=1000):
    """How far the code decides the mode.  For each code value, n samples: the share that lands in
    that code's most frequent mode (1 = the code fixes the mode), I(c; mode) from the counts (log 8 at
    most), the InfoGAN bound with the trained Q, and the sample proxy against test points.  -> dict"""
    model = cpu_copy(model, torch.float32)
    torch.manual_seed(0)
    counts = np.zeros((model.n_codes, 8))
    points, codes, log_q = [], [], []
    for c in range(model.n_codes):
        x, code = model.sample(n, code=c)
        counts[c] = np.bincount(mode_of(x).numpy(), minlength=8)
        points.append(x)
        codes.append(code)
        log_q.append(model.read_codes(x)[0].log_softmax(1)[:, c])      # the logits over c, not u's outputs
    joint = counts / counts.sum()
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    mi = float(np.sum(joint[joint > 0] * np.log(joint[joint > 0] / outer[joint > 0])))
    points = torch.cat(points)
    order = torch.randperm(len(points))[:len(x_test)]
    return {"purity": float((counts.max(1) / counts.sum(1)).mean()), "I(c; mode)": mi,
            "bound": float(variational_information_bound(torch.cat(log_q), math.log(model.n_codes))),
            "sample MMD²": toy_proxy(points[order], x_test), "points": points.numpy(),
            "codes": torch.cat(codes).numpy()}


def infogan_explorer(control, lams, x_test):
    """A lambda slider: the samples of that InfoGAN coloured by their code, and purity, the MI bound and the
    sample proxy against lambda."""
    lams = [float(v) for v in lams]
    if len(control) != len(lams):
        raise CourseInputError("control and lams must have one entry per InfoGAN.")
    fig, (ax, ax_line) = new_figure(2, width=4.2, height=3.8)
    ax.scatter(*x_test[:2000].T.numpy(), s=2, c="0.8")
    shown = ax.scatter(*control[0]["points"][::4].T, s=3, c=control[0]["codes"][::4], cmap="tab10", vmin=0, vmax=9)
    ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xticks=[], yticks=[])
    x_axis = np.arange(len(lams))
    ax_line.plot(x_axis, [c["bound"] for c in control], "o-", label="MI bound (nats)")
    ax_line.plot(x_axis, [c["I(c; mode)"] for c in control], "s--", label="I(c; mode) (nats)")
    ax_line.axhline(math.log(8), color="0.5", ls=":", label="log 8")
    ax_mmd = ax_line.twinx()
    ax_mmd.plot(x_axis, [c["sample MMD²"] for c in control], "^-", color="C3", label="sample MMD²")
    ax_mmd.set_ylabel("sample MMD² (lower is better)", color="C3")
    ax_line.set(xticks=x_axis, xticklabels=[f"{v:g}" for v in lams], xlabel="λ", ylabel="nats")
    ax_line.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8)   # below: clear of every curve
    (marker,) = ax_line.plot([], [], "o", ms=14, mfc="none", mec="C3", mew=2)

    def update(fig, lam):
        i = lams.index(lam)
        shown.set_offsets(control[i]["points"][::4])
        shown.set_array(control[i]["codes"][::4])
        marker.set_data([i], [control[i]["bound"]])
        ax.set_title(f"λ = {lam:g}: samples coloured by code\npurity {control[i]['purity']:.2f}", fontsize=9)

    return LiveFigure(fig, update, {"lam": choice_slider("λ", lams)}, animated=lambda: [shown, marker, ax.title])


# -- a continuous code beside the categorical one ------------------------------------------------------------
CONTINUOUS_LAM = 0.1      # the weight on the continuous code's bound (Chen et al. weigh continuous codes less)


def build_continuous_infogan():
    """A fresh InfoGAN like the lesson's λ = 1 one (8 code values, weight 1 on their bound), with one continuous
    code u uniform on [-1, 1] beside them, weighted :data:`CONTINUOUS_LAM`; from seed 0."""
    torch.manual_seed(0)
    return InfoGAN(lam=1.0, n_continuous=1, lam_continuous=CONTINUOUS_LAM)


def train_continuous_infogan(x, steps, device=None):
    """:func:`build_continuous_infogan` trained by :func:`fit_infogan` on the points ``x``, cached.
    -> (model, history)"""
    steps = check_int("steps", steps, minimum=1)
    return cached_fit("lesson08b-infogan-continuous", {"steps": steps, "data": data_key(x),
                                                       "lam continuous": CONTINUOUS_LAM},
                      build_continuous_infogan, lambda m: fit_infogan(m, x, steps, device=device), device=device)


@torch.no_grad()
def continuous_sweep(model, n=200, points=9, seed=0):
    """What the continuous code u does.  For each code value c and each of ``n`` noise draws z, the points
    G(z, c, u) for u at ``points`` values from -1 to 1.  -> dict:

        paths      (K, n, points, 2) the swept points
        same mode  the share of sweeps whose points all stay in one of the toy's modes
        shift      the mean distance between a sweep's two ends (u = -1 and u = 1)
        noise spread   how far the noise moves a point with c and u held: the root mean squared distance of
                   the n points at one (c, u) from their mean, averaged over every (c, u)
        bound      E[log Q(u|x)] + log 2 on fresh samples (u drawn uniformly): a lower bound on I(u; x)"""
    if getattr(model, "n_continuous", 0) != 1:
        raise CourseInputError("model must be an InfoGAN with one continuous code (build_continuous_infogan).")
    n, points = check_int("n", n, minimum=1), check_int("points", points, minimum=2)
    model = cpu_copy(model, torch.float32)
    generator = torch.Generator().manual_seed(seed)
    u = torch.linspace(-1, 1, points)
    paths = torch.empty(model.n_codes, n, points, 2)
    for c in range(model.n_codes):
        z = torch.randn(n, model.latent_dim, generator=generator)
        grid = model.generate(z.repeat_interleave(points, 0), torch.full((n * points,), c),
                              u.repeat(n)[:, None])
        paths[c] = grid.reshape(n, points, 2)
    modes = mode_of(paths.reshape(-1, 2)).reshape(model.n_codes, n, points)
    torch.manual_seed(seed)
    fresh_u = 2 * torch.rand(4000, 1) - 1
    fresh, _ = model.sample(4000, u=fresh_u)
    return {"paths": paths.numpy(), "same mode": float((modes == modes[..., :1]).all(-1).float().mean()),
            "shift": float((paths[:, :, -1] - paths[:, :, 0]).norm(dim=-1).mean()),
            "noise spread": float((paths - paths.mean(1, keepdim=True)).pow(2).sum(-1).mean(1).sqrt().mean()),
            "bound": float(model.continuous_bound(fresh, fresh_u))}


def continuous_code_figure(sweep, x_test, n_show=12):
    """Left: the toy's test points and, for ``n_show`` noise draws per code value, the path a point takes as the
    continuous code u goes from -1 (light) to 1 (dark); right: one mode close up.  -> the pyplot figure"""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot only where a figure is drawn, so the notebook shows it)
    n_show = check_int("n_show", n_show, minimum=1)
    paths = sweep["paths"][:, :n_show]
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.2))
    for ax in axes:
        ax.scatter(*x_test[:3000].cpu().T.numpy(), s=2, c="0.85", zorder=1)
        for path in paths.reshape(-1, *paths.shape[2:]):
            ax.plot(path[:, 0], path[:, 1], "-", color="0.5", lw=0.6, zorder=2)
            ax.scatter(path[:, 0], path[:, 1], c=np.linspace(-1, 1, len(path)), cmap="viridis", s=9, zorder=3)
        ax.set(aspect="equal", xlabel="x₁", ylabel="x₂")
    axes[0].set(xlim=(-2.8, 2.8), ylim=(-2.8, 2.8), title="each path: one z and c, u from −1 to 1")
    centre = paths[0].reshape(-1, 2).mean(0)
    axes[1].set(xlim=(centre[0] - 0.5, centre[0] + 0.5), ylim=(centre[1] - 0.5, centre[1] + 0.5),
                title="code value 0's mode, close up")
    colours = plt.cm.ScalarMappable(norm=plt.Normalize(-1, 1), cmap="viridis")
    fig.colorbar(colours, ax=axes, label="continuous code u", shrink=0.8)
    return fig


# -- β-TCVAE against β-VAE -------------------------------------------------------------------------------------
def train_tcvae_sweep(sprites, steps, values=beta_vae.BETAS, device=None):
    """β-TCVAEs on the sprites, one per beta, trained together and cached, with lesson 4's model.
    -> list of (model, history)"""
    beta_vae._check_sprites(sprites)
    steps = check_int("steps", steps, minimum=1)
    size = sprites.images.shape[-1]

    def train(values):
        return fit_sweep(lambda: beta_vae.build_sprite_vae(size), sprites.images, tcvae_sweep_objective(len(sprites)),
                         values, steps=steps, seed=0, device=device, desc="β-TCVAE sweep")

    return cached_sweep("lesson08b-tcvae", {"steps": steps, "n": len(sprites), "size": size}, "beta",
                        [float(v) for v in values], lambda: beta_vae.build_sprite_vae(size), train, device=device)


def tcvae_sweep_models(sprites, steps, values=beta_vae.BETAS, device=None):
    """:func:`train_tcvae_sweep` in the shape a slider takes: (models, values, sprites)."""
    sweep = train_tcvae_sweep(sprites, steps, values, device=device)
    return [model for model, _ in sweep], [float(v) for v in values], sprites


# -- understanding questions 7 and 8 -----------------------------------------------------------------------------
def build_point_vae():
    return VAE.mlp(image_shape=(2,), latent_dim=2, hidden=(128, 128), likelihood="gaussian")


THREE_MODELS = ("VAE", "GAN", "flow")
FLOW_STEPS = 1500   # the flow trains as lesson 7 trains it: at its constant learning rate, twice as many steps
                    # ended 1.8 nats worse in test log-likelihood (the course's first run of question 7)


def build_toy_model(name):
    """A fresh model of question 7, from seed 0: "VAE" (Gaussian decoder, 2 latents), "GAN", or "flow"
    (Real NVP, 8 couplings)."""
    check_choice("name", name, THREE_MODELS)
    torch.manual_seed(0)
    return {"VAE": build_point_vae, "GAN": GAN, "flow": lambda: build_coupling_flow(8)}[name]()


def fit_toy_model(name, model, x, steps, device=None, progress=True):
    """Train a model of question 7 on the points ``x``: the VAE by the ELBO and the flow by maximum
    likelihood (batch 256, the flow at learning rate 3e-3 for at most ``FLOW_STEPS`` steps, as lesson 7's
    coupling flows), the GAN by ``train_adversarial``.  -> History"""
    check_choice("name", name, THREE_MODELS)
    if name == "GAN":
        return train_adversarial(model, x, steps, device=device, progress=progress, desc="GAN")
    if name == "flow":
        steps = min(steps, FLOW_STEPS)
    loss, lr, desc = (vae_objective(), 1e-3, "VAE") if name == "VAE" else (negative_log_likelihood, 3e-3, "Real NVP")
    return fit(model, x, loss, steps=steps, batch_size=256, lr=lr, seed=0, device=device, progress=progress,
               desc=desc)


def train_three_models(x, steps, device=None):
    """A VAE (Gaussian decoder), a GAN and a Real NVP flow (8 couplings) on the same points, each cached.
    -> {name: (model, history)}"""
    steps = check_int("steps", steps, minimum=1)
    key = {"steps": steps, "data": data_key(x)}
    cache = {"VAE": "lesson08b-point-vae", "GAN": "lesson08b-gan", "flow": "lesson08b-flow"}
    keys = {**dict.fromkeys(THREE_MODELS, key), "flow": {**key, "flow steps": min(steps, FLOW_STEPS)}}
    return {name: cached_fit(cache[name], keys[name], lambda name=name: build_toy_model(name),
                             lambda m, name=name: fit_toy_model(name, m, x, steps, device=device), device=device)
            for name in THREE_MODELS}


@torch.no_grad()
def question7(models, x_test, k=1000):
    """The side-by-side table: the mean test log-likelihood (exact for the flow, the IWAE_k lower bound for
    the VAE, none for the GAN), the sample proxy (:func:`toy_proxy`), and how a point's latent code is found.  A last row, "data",
    gives the true density and the proxy of a fresh sample of the data (see :func:`reference_row`).
    -> (rows, samples)"""
    rows, samples = {}, {}
    for name, model in models.items():
        model = cpu_copy(model, torch.float64)
        torch.manual_seed(0)
        x = x_test.double()
        if name == "flow":
            log_lik, how = float(model.log_prob(x).mean()), "exact"
            sample, inference = model.sample(len(x)), "exact: z = f⁻¹(x)"
        elif name == "VAE":
            log_lik, how = float(model.iwae_bound(x, k).mean()), f"≥ (IWAE, k = {k})"
            sample, inference = model.decoder(torch.randn(len(x), model.latent_dim, dtype=x.dtype)).sample(), \
                "approximate: q(z|x)"
        else:
            log_lik, how = float("nan"), "none"
            sample, inference = model.sample(len(x)), "none (no encoder)"
        rows[name] = {"test log-likelihood (nats)": log_lik, "kind": how,
                      "sample MMD²": toy_proxy(sample, x), "inference": inference}
        samples[name] = sample.float().numpy()
    log_lik, floor = reference_row(x_test)
    rows["data"] = {"test log-likelihood (nats)": log_lik, "kind": "true density", "sample MMD²": floor,
                    "inference": "—"}
    return rows, samples


def build_unified(steps, lam_adv, lam_cons):
    """The unified model on points: a FlowVAE (2 latents, ``steps`` IAF steps, Gaussian decoder) with the
    adversarial and consistency weights."""
    return UnifiedVAE(FlowVAE(latent_dim=2, hidden=(128, 128), flow="iaf", steps=steps, context_dim=8,
                              image_shape=(2,), likelihood="gaussian"), lam_adv=lam_adv, lam_cons=lam_cons)


UNIFIED_PARTS = {"VAE": (0, 0.0, 0.0), "flow posterior": (4, 0.0, 0.0), "adversarial": (0, 1.0, 0.0),
                 "consistency": (0, 0.0, 1.0), "flow + adversarial": (4, 1.0, 0.0),
                 "unified (flow + adv. + consistency)": (4, 1.0, 1.0)}
UNIFIED_SEEDS = (0, 1, 2)


def build_unified_part(name, parts=UNIFIED_PARTS, seed=0):
    """A fresh model of question 8's part ``name`` (a key of ``parts``), from ``seed``."""
    check_choice("part", name, tuple(parts))
    torch.manual_seed(check_int("seed", seed, minimum=0))
    return build_unified(*parts[name])


def fit_unified_part(name, model, x, steps, device=None, progress=True, seed=0):
    """Train one part of the unified objective on the points ``x`` (``train_adversarial``'s defaults, its batches
    drawn from ``seed``).  -> History"""
    return train_adversarial(model, x, steps, seed=seed, device=device, progress=progress, desc=name)


def train_unified_parts(x, steps, parts=UNIFIED_PARTS, seeds=UNIFIED_SEEDS, device=None):
    """The text's unified objective and each of its parts, on the same points, once per seed, each cached.
    -> {(name, seed): (model, history)}"""
    steps = check_int("steps", steps, minimum=1)
    out = {}
    for seed in seeds:
        for name, (flow_steps, lam_adv, lam_cons) in parts.items():
            config = {"steps": steps, "data": data_key(x), "flow_steps": flow_steps, "lam_adv": lam_adv,
                      "lam_cons": lam_cons, "seed": seed}
            out[name, seed] = cached_fit(
                "lesson08b-unified", config, lambda name=name, seed=seed: build_unified_part(name, parts, seed),
                lambda m, name=name, seed=seed: fit_unified_part(name, m, x, steps, device=device, seed=seed),
                device=device)
    return out


@torch.no_grad()
def question8(models, x_test, k=1000, known=None):
    """For each part: the IWAE_k bound on the test log-likelihood, the sample proxy, and the consistency
    error E||E(x_p) - z_p||^2 per latent; a last row "data" as in :func:`question7` (its first column is the
    true log-density, the ceiling of every bound).  ``known``: {name: row} measured before in exactly this way
    (the shipped models' recorded metrics), used instead of measuring those models again (their samples are
    still drawn).  -> (rows, samples)"""
    rows, samples = {}, {}
    for name, model in models.items():
        model = cpu_copy(model, torch.float64)
        torch.manual_seed(0)
        x = x_test.double()
        z = torch.randn(len(x), model.latent_dim, dtype=x.dtype)
        sample = model.generate(z)
        if known and name in known:
            rows[name] = dict(known[name])
        else:
            rows[name] = {"test IWAE bound (nats)": float(model.vae.iwae_bound(x, k).mean()),
                          "sample MMD²": toy_proxy(sample, x),
                          "consistency error": float((model.encode(sample) - z).pow(2).mean())}
        samples[name] = sample.float().numpy()
    log_lik, floor = reference_row(x_test)
    rows["data"] = {"test IWAE bound (nats)": log_lik, "sample MMD²": floor, "consistency error": float("nan")}
    return rows, samples


def scatter_panels(samples, x_test, rows=None, measure="sample MMD²", width=2.6):
    """One panel per model: its samples (dark) over the test points (light).  A pyplot figure, so a notebook
    shows it."""
    fig, axes = plt.subplots(1, len(samples), figsize=(width * len(samples), width + 0.3))
    for ax, (name, points) in zip(np.atleast_1d(axes), samples.items()):
        ax.scatter(*x_test[:2000].T.numpy(), s=1, c="0.8")
        ax.scatter(*points[:2000].T, s=1, c="C0")
        title = name if rows is None else f"{name}\n{measure} {rows[name][measure]:.4f}"
        ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xticks=[], yticks=[], title=title)
        ax.title.set_fontsize(8)
    return fig
