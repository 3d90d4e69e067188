"""Lesson 4: β-VAE and capacity control on sprites with known factors — sweeps, scores and sliders."""
import numpy as np
import torch

from ..errors import CourseInputError, check_choice, check_int, check_number
from ..figures.plots import image_grid
from ..figures.widgets import LiveFigure, choice_slider, new_figure
from ..metrics import factor_entropies, latent_means, mig, mutual_information_matrix, rate_distortion_terms
from ..models.control import PIController, control_vae_objective
from ..models.vae import VAE, vae_sweep_objective
from ..training.cache import cached_fit, cached_sweep
from ..training.sweep import fit_sweep
from ..training.train import fit

BETAS = (1.0, 2.0, 4.0, 8.0, 16.0)
CAPACITIES = (0.0, 2.0, 5.0, 10.0, 15.0, 25.0)
LATENT_DIM = 8


# Section 5's settled limits of D + γ|R − C|: the lesson's name of each case -> (γ, C)
CASES = {"plain VAE (β = 1, C = 0)": (1.0, 0.0), "C = 0, γ = 0.5": (0.5, 0.0), "C = 0, γ = 20": (20.0, 0.0),
         "C = 200, γ = 20": (20.0, 200.0)}


def build_sprite_vae(image_size=32):
    """The lesson's model: an MLP VAE for sprites, 8 latents."""
    return VAE.mlp(image_shape=(1, image_size, image_size), latent_dim=LATENT_DIM, hidden=(256,))


def train_sweep(sprites, over, values, steps, gamma=20.0, ramp_steps=None, device=None):
    """One sprite VAE per value, trained together and cached.

    over="beta":      loss = D + β R
    over="capacity":  loss = D + γ |R − C(t)|, C(t) raised linearly to C over ``ramp_steps`` (Burgess et al., 2018)
    """
    _check_sprites(sprites)
    check_choice("over", over, ("beta", "capacity"))
    steps = check_int("steps", steps, minimum=1)
    gamma = check_number("gamma", gamma, minimum=0.0, strict_minimum=True)
    size = sprites.images.shape[-1]
    config = {"steps": steps, "n": len(sprites), "size": size, "latent_dim": LATENT_DIM,
              "gamma": gamma if over == "capacity" else None, "ramp_steps": ramp_steps}
    objective = vae_sweep_objective(over, beta=gamma, ramp_steps=ramp_steps) if over == "capacity" \
        else vae_sweep_objective("beta")

    def train(values):
        return fit_sweep(lambda: build_sprite_vae(size), sprites.images, objective, values, steps=steps, seed=0,
                         device=device, desc=f"{over} sweep")

    return cached_sweep(f"lesson04-{over}", config, over, [float(v) for v in values],
                        lambda: build_sprite_vae(size), train, device=device)


def sweep_models(sprites, over, values, steps, **options):
    """:func:`train_sweep`'s models with their values and the sprites they trained on, in the shape a
    lesson's slider takes: (models, values, sprites)."""
    sweep = train_sweep(sprites, over, values, steps, **options)
    return [model for model, _ in sweep], [float(v) for v in values], sprites


def seeded_sprite_vae(size):
    """The lesson's model with the initial weights of seed 0 (every single-model training starts there)."""
    torch.manual_seed(0)
    return build_sprite_vae(size)


def _check_sprites(sprites):
    if not hasattr(sprites, "images") or not hasattr(sprites, "factors"):
        raise CourseInputError(f"sprites must be SpritesData (make_sprites()), got {type(sprites).__name__}.")


def fit_cases(sprites, cases, steps, device=None, progress=True, indices=None):
    """One sprite VAE per (γ, C) pair, each trained on D + γ|R − C| with a fixed C (C = 0: a β-VAE with
    β = γ), all of them together as one sweep, every one from the weights of seed 0.  ``indices``: only
    the cases at these positions (all by default).
    -> a list of ``(model, history)`` in the order of ``cases`` (or of ``indices``)"""
    _check_sprites(sprites)
    objective = vae_sweep_objective("case", cases=cases)          # checks every pair
    steps = check_int("steps", steps, minimum=1)
    size = sprites.images.shape[-1]
    indices = [float(i) for i in (range(len(cases)) if indices is None else indices)]
    return fit_sweep(lambda: build_sprite_vae(size), sprites.images, objective, indices, steps=steps, seed=0,
                     device=device, progress=progress, desc="γ and C cases")


def train_cases(sprites, cases, steps, device=None):
    """:func:`fit_cases`, cached.  Returns a list of ``(model, history)`` in the order of ``cases``."""
    _check_sprites(sprites)
    vae_sweep_objective("case", cases=cases)                      # checks every pair before the cache is asked
    cases = [(float(gamma), float(capacity)) for gamma, capacity in cases]
    steps = check_int("steps", steps, minimum=1)
    size = sprites.images.shape[-1]
    return cached_sweep("lesson04-cases", {"steps": steps, "n": len(sprites), "size": size, "cases": cases},
                        "case", [float(i) for i in range(len(cases))], lambda: build_sprite_vae(size),
                        lambda indices: fit_cases(sprites, cases, steps, device=device, indices=indices),
                        device=device)


def fit_control_vae(model, sprites, set_point, steps, kp=0.5, ki=0.002, beta_max=4.0, log_every=20, device=None,
                    progress=True):
    """Train ``model`` on the β-VAE loss with β set by ControlVAE's PI controller (starting at β = 1).
    -> History, with ``beta`` recorded next to ``rate``"""
    controller = PIController(set_point=set_point, kp=kp, ki=ki, beta_min=0.0, beta_max=beta_max, beta_start=1.0)
    return fit(model, sprites.images, control_vae_objective(controller), steps=steps, log_every=log_every,
               seed=0, device=device, progress=progress, desc="ControlVAE")


def train_control_vae(sprites, set_point, steps, kp=0.5, ki=0.002, beta_max=4.0, log_every=20, device=None):
    """A sprite VAE whose β is set during training by ControlVAE's PI controller
    (:class:`course_lib.models.control.PIController`, starting at β = 1), cached.  The history records
    ``beta`` next to ``rate``.  Returns ``(model, history)``."""
    _check_sprites(sprites)
    set_point = check_number("set_point", set_point, minimum=0.0)
    steps = check_int("steps", steps, minimum=1)
    size = sprites.images.shape[-1]

    def train(model):
        return fit_control_vae(model, sprites, set_point, steps, kp=kp, ki=ki, beta_max=beta_max,
                               log_every=log_every, device=device)

    config = {"set_point": set_point, "steps": steps, "kp": kp, "ki": ki, "beta_max": beta_max,
              "log_every": log_every, "n": len(sprites), "size": size}
    return cached_fit("lesson04-control", config, lambda: seeded_sprite_vae(size), train, device=device)


def scores(models, sprites, n=None, bins=20):
    """For each model: rate, distortion, KL per latent, the latent–factor MI matrix, MIG and per-factor gaps.
    Returns a dict of NumPy arrays (first axis: models)."""
    _check_sprites(sprites)
    n = len(sprites) if n is None else check_int("n", n, minimum=10)
    x, factors = sprites.images[:n], sprites.factors[:n]
    entropies = factor_entropies(factors)
    out = {"rate": [], "distortion": [], "kl_per_latent": [], "mi": [], "mig": [], "gaps": []}
    for model in models:
        torch.manual_seed(0)
        terms = rate_distortion_terms(model, x)
        mi = mutual_information_matrix(latent_means(model, x), factors, bins=bins)
        score, gaps = mig(mi, entropies)
        for key, value in (("rate", terms["rate"]), ("distortion", terms["distortion"]),
                           ("kl_per_latent", terms["kl_per_latent"].numpy()), ("mi", mi), ("mig", score),
                           ("gaps", gaps)):
            out[key].append(value)
    result = {k: np.array(v) for k, v in out.items()}
    result["entropies"] = entropies
    return result


@torch.no_grad()
def traversal(model, x0, order, span=2.5, n_steps=7):
    """Decode z with one latent swept over [−span, span] and the others at x0's posterior mean.
    One row per latent in ``order``.  -> an image grid (rows, n_steps) as a NumPy array."""
    mean = latent_means(model, x0[None])[0].to(next(model.parameters()).device)
    values = torch.linspace(-span, span, n_steps, device=mean.device)
    rows = []
    for u in order:
        z = mean.repeat(n_steps, 1)
        z[:, u] = values
        rows.append(model.decoder(z).mean.cpu())
    return image_grid(torch.cat(rows), ncol=n_steps)


def sweep_explorer(models, values, measured, x0, factor_names, symbol="β", target=False):
    """A slider over a trained sweep.  Panels: latent traversals (latents sorted by KL, their KL on the right),
    the latent–factor mutual information, and MIG and rate against the swept value (rate against
    the target C when ``target``)."""
    if not (len(models) == len(values) == len(measured["mig"])):
        raise CourseInputError("models, values and measured must have one entry per value of the sweep.")
    orders = [np.argsort(kl)[::-1] for kl in measured["kl_per_latent"]]
    grids = [traversal(m, x0, order) for m, order in zip(models, orders)]
    values = [float(v) for v in values]
    fig, (ax_t, ax_mi, ax_line) = new_figure(3, 1, width=3.6, height=3.6)
    im_t = ax_t.imshow(grids[0], cmap="gray_r", vmin=0, vmax=1)
    ax_t.set_xticks([])
    ax_t.set_yticks([])
    ax_t.set_xlabel("latent value −2.5 … 2.5")
    im_mi = ax_mi.imshow(measured["mi"][0][orders[0]].T, cmap="YlGnBu", vmin=0, vmax=measured["entropies"].max(),
                         aspect="auto")
    ax_mi.set(yticks=range(len(factor_names)), yticklabels=factor_names, xlabel="latent (sorted by KL)",
              title="I(latent; factor), nats")
    fig.colorbar(im_mi, ax=ax_mi, label="nats", shrink=0.8)
    x_axis = np.arange(len(values))
    ax_line.plot(x_axis, measured["mig"], "o-", color="C2", label="MIG")
    ax_line.set(xticks=x_axis, xticklabels=[f"{v:g}" for v in values], xlabel=symbol, ylabel="MIG", ylim=(0, 1))
    ax_rate = ax_line.twinx()
    ax_rate.plot(x_axis, measured["rate"], "s--", color="C1", label="rate")
    if target:
        ax_rate.plot(x_axis, values, ":", color="0.5", label="target C")
    ax_rate.set_ylabel("rate (nats)")
    ax_line.legend(loc="upper left", fontsize=8)
    ax_rate.legend(loc="upper right", fontsize=8)
    (marker,) = ax_line.plot([], [], "o", ms=14, mfc="none", mec="C3", mew=2)
    labels = []

    def update(fig, value):
        i = values.index(value)
        im_t.set_data(grids[i])
        im_mi.set_data(measured["mi"][i][orders[i]].T)
        marker.set_data([i], [measured["mig"][i]])
        for label in labels:
            label.remove()
        labels.clear()
        kl = measured["kl_per_latent"][i][orders[i]]
        height = grids[i].shape[0] / len(kl)
        for row, k in enumerate(kl):
            labels.append(ax_t.text(grids[i].shape[1] + 1, (row + 0.5) * height, f"{k:.1f}", va="center", fontsize=7))
        ax_t.set_title(f"{symbol} = {value:g}: traversals (KL on the right)\nrate {measured['rate'][i]:.1f} nats, "
                       f"MIG {measured['mig'][i]:.2f}", fontsize=9)

    return LiveFigure(fig, update, {"value": choice_slider(symbol, values)},
                      animated=lambda: [im_t, im_mi, marker, ax_t.title, *labels])


@torch.no_grad()
def kl_split(models, images):
    """The data-averaged KL of diagonal Gaussian posteriors from N(0, I), split by where it comes from.  With
    mu_j(x), sigma_j(x) the posterior of latent j and E, Var taken over the images,

        E_x KL = 1/2 sum_j Var mu_j  +  1/2 sum_j (E mu_j)^2  +  1/2 sum_j (E sigma_j^2 - 1 - E log sigma_j^2)
                 spread of the means    offset of the means    widths unlike the prior's (narrower or wider)

    (each part >= 0; the first is the only one that can tell images apart).  models: {name: VAE}; images:
    (N, 1, H, W).  -> {name: {"spread of the means", "offset of the means", "widths", "sum", "closed form"}} in nats,
    "closed form" the mean of the encoder's own KL, which "sum" must equal."""
    if not isinstance(models, dict) or not models:
        raise CourseInputError("models must be a non-empty {name: VAE} dictionary.")
    out = {}
    for name, model in models.items():
        q = model.encoder(model.check_input(images))
        mean, log_var = q.mean.double(), q.log_var.double()
        parts = {"spread of the means": 0.5 * float(mean.var(0, unbiased=False).sum()),
                 "offset of the means": 0.5 * float(mean.mean(0).pow(2).sum()),
                 "widths": 0.5 * float((log_var.exp().mean(0) - 1 - log_var.mean(0)).sum())}
        parts["sum"] = sum(parts.values())
        parts["closed form"] = float(q.kl_standard_normal().double().mean())
        out[name] = parts
    return out
