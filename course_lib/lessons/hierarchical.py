"""Lesson 5: hierarchical VAEs, and gradients through very deep residual stacks.

The exact sandbox is a two-level linear-Gaussian model

    z_2 ~ N(0, 1),   z_1 | z_2 ~ N(a z_2, s_1^2),   x | z_1 ~ N(b z_1, s_0^2)

with a bottom-up q(z_1, z_2 | x) = N(z_1; m_1, v_1) N(z_2; c z_1 + e, v_2).  Everything is
jointly Gaussian, so log p(x), the posterior, the ELBO (from the joint and from its
per-level terms) and KL(q || posterior) all have closed forms (float64).
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data import dynamic_binarize
from ..errors import CourseInputError, check_int, check_number
from ..figures.widgets import LiveFigure, choice_slider, new_figure
from ..models.hierarchical import HierarchicalVAE, free_bits_sweep_objective, hierarchical_objective
from ..models.vae import VAE, vae_objective
from ..schedules import linear_warmup
from ..training.cache import cached_fit, cached_sweep, data_key
from ..training.sweep import fit_sweep
from ..training.train import History, fit

LOG_2PI = math.log(2 * math.pi)
DEPTHS = (2, 4, 8, 16, 32, 64)


def _expected_log_normal(mean_u, var_u, var):
    """E[log N(u; 0, var)] for u with mean ``mean_u`` and variance ``var_u``:
    -1/2 [log 2 pi var + (var_u + mean_u^2) / var]."""
    return -0.5 * (LOG_2PI + math.log(var) + (var_u + mean_u ** 2) / var)


@dataclass
class TwoLevelSandbox:
    """The two-level linear-Gaussian model above; ``q`` = (m_1, v_1, c, e, v_2)."""

    a: float = 1.5
    s1: float = 0.6
    b: float = -0.8
    s0: float = 0.5

    def __post_init__(self):
        """The noise scales must be positive (with s_1 = 0 or s_0 = 0 the posterior is singular)."""
        for name in ("a", "b"):
            check_number(name, getattr(self, name))
        for name in ("s1", "s0"):
            check_number(name, getattr(self, name), minimum=0.0, strict_minimum=True)

    # -- the model --------------------------------------------------------------
    def joint(self):
        """(z_1, z_2, x) ~ N(0, A A^T), written as linear functions of three standard normals."""
        A = torch.tensor([[self.a, self.s1, 0.0],                      # z_1 = a e_1 + s_1 e_2
                          [1.0, 0.0, 0.0],                             # z_2 = e_1
                          [self.b * self.a, self.b * self.s1, self.s0]],  # x = b z_1 + s_0 e_3
                         dtype=torch.float64)
        return torch.distributions.MultivariateNormal(torch.zeros(3, dtype=torch.float64), A @ A.T)

    def log_px(self, x):
        """Exact log p(x): x ~ N(0, b^2 (a^2 + s_1^2) + s_0^2)."""
        var = self.b ** 2 * (self.a ** 2 + self.s1 ** 2) + self.s0 ** 2
        return -0.5 * (LOG_2PI + math.log(var) + x ** 2 / var)

    def posterior(self, x):
        """p(z_1, z_2 | x) by conditioning the joint Gaussian on x."""
        cov = self.joint().covariance_matrix
        S_zz, S_zx, S_xx = cov[:2, :2], cov[:2, 2:], cov[2:, 2:]
        mean = (S_zx / S_xx).squeeze(-1) * x
        return torch.distributions.MultivariateNormal(mean, S_zz - S_zx @ S_zx.T / S_xx)

    def best_q(self, x):
        """The bottom-up q equal to the posterior (z_2 is independent of x given z_1, so it can be)."""
        post = self.posterior(x)
        (m1, m2), S = post.mean.tolist(), post.covariance_matrix
        c = float(S[0, 1] / S[0, 0])
        return (m1, float(S[0, 0]), c, m2 - c * m1, float(S[1, 1] - c * S[0, 1]))

    # -- q -----------------------------------------------------------------------
    @staticmethod
    def q_joint(q):
        """q(z_1, z_2 | x) as one 2-d Gaussian."""
        m1, v1, c, e, v2 = q
        mean = torch.tensor([m1, c * m1 + e], dtype=torch.float64)
        cov = torch.tensor([[v1, c * v1], [c * v1, c * c * v1 + v2]], dtype=torch.float64)
        return torch.distributions.MultivariateNormal(mean, cov)

    # -- three ways to the ELBO -----------------------------------------------------
    def elbo_from_joint(self, x, q):
        """E_q[log p(x, z_1, z_2)] + H[q]: the expected log-density of the 3-d joint Gaussian at
        (z_1, z_2, x), with (z_1, z_2) ~ q and x fixed, plus q's entropy."""
        p, qz = self.joint(), self.q_joint(q)
        mean = torch.cat([qz.mean, torch.tensor([x], dtype=torch.float64)])
        S = torch.zeros(3, 3, dtype=torch.float64)
        S[:2, :2] = qz.covariance_matrix
        P = torch.linalg.inv(p.covariance_matrix)
        expected = -0.5 * (3 * LOG_2PI + torch.logdet(p.covariance_matrix) + torch.trace(P @ S) + mean @ P @ mean)
        return float(expected + qz.entropy())

    def elbo_terms(self, x, q):
        """The ELBO level by level (bottom-up q, top-down p):
        reconstruction E_q[log p(x | z_1)], level 1 E_q[log p(z_1 | z_2) - log q(z_1 | x)],
        level 2 E_q[log p(z_2) - log q(z_2 | z_1)]; each a 1-d Gaussian expectation."""
        m1, v1, c, e, v2 = q
        m2, var2 = c * m1 + e, c * c * v1 + v2
        reconstruction = _expected_log_normal(x - self.b * m1, self.b ** 2 * v1, self.s0 ** 2)
        # z_1 - a z_2 = (1 - a c) z_1 - a e - a sqrt(v2) eta: its mean and variance under q
        u_mean, u_var = (1 - self.a * c) * m1 - self.a * e, (1 - self.a * c) ** 2 * v1 + self.a ** 2 * v2
        level_1 = _expected_log_normal(u_mean, u_var, self.s1 ** 2) + 0.5 * (LOG_2PI + 1 + math.log(v1))
        level_2 = _expected_log_normal(m2, var2, 1.0) + 0.5 * (LOG_2PI + 1 + math.log(v2))
        return {"reconstruction": reconstruction, "level 1": level_1, "level 2": level_2,
                "elbo": reconstruction + level_1 + level_2}

    def elbo_as_the_text_writes_it(self, x, q):
        """E[log p(x | z_1)] - E_{q(z_2|x)} KL(q(z_1|x) || p(z_1|z_2)) - KL(q(z_2|x) || p(z_2)), with
        the marginals q(z_1|x) = N(m_1, v_1) and q(z_2|x) = N(c m_1 + e, c^2 v_1 + v_2): the
        course text's formula, read literally."""
        m1, v1, c, e, v2 = q
        m2, var2 = c * m1 + e, c * c * v1 + v2
        reconstruction = _expected_log_normal(x - self.b * m1, self.b ** 2 * v1, self.s0 ** 2)
        kl_1 = 0.5 * (math.log(self.s1 ** 2 / v1) + (v1 + (m1 - self.a * m2) ** 2 + self.a ** 2 * var2) / self.s1 ** 2 - 1)
        kl_2 = 0.5 * (var2 + m2 ** 2 - 1 - math.log(var2))
        return reconstruction - kl_1 - kl_2

    def kl_to_posterior(self, x, q):
        return float(torch.distributions.kl_divergence(self.q_joint(q), self.posterior(x)))

    def monte_carlo_elbo(self, x, q, n=200_000, generator=None):
        """Mean and standard error of log p(x, z) - log q(z) over n draws z ~ q."""
        qz = self.q_joint(q)
        eps = torch.randn(n, 2, dtype=torch.float64, generator=generator)
        z = qz.mean + eps @ torch.linalg.cholesky(qz.covariance_matrix).T
        y = torch.cat([z, torch.full((n, 1), float(x), dtype=torch.float64)], dim=1)
        w = self.joint().log_prob(y) - qz.log_prob(z)
        return float(w.mean()), float(w.std() / math.sqrt(n))


# -- very deep residual stacks ---------------------------------------------------------
class Block(nn.Module):
    """f_l(h) = W_2 tanh(W_1 h)."""

    def __init__(self, width):
        super().__init__()
        self.inner, self.outer = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, h):
        return self.outer(torch.tanh(self.inner(h)))


def residual_stack(depth, width=32, seed=0):
    """``depth`` blocks f_0 .. f_{depth-1}, the same weights for the runs with and without skips."""
    depth = check_int("depth", depth, minimum=1)
    torch.manual_seed(seed)
    return nn.ModuleList([Block(width) for _ in range(depth)]).double()


def forward_stack(blocks, h0, skip=True):
    """h_{l+1} = h_l + f_l(h_l) (skip) or h_{l+1} = f_l(h_l); the loss is L = 1/2 ||h_depth||^2.
    Returns (loss, [h_0, ..., h_depth]) with every h_l keeping its gradient."""
    hs = [h0]
    for f in blocks:
        h = hs[-1]
        hs.append(h + f(h) if skip else f(h))
    for h in hs:
        h.retain_grad()
    return 0.5 * (hs[-1] ** 2).sum(), hs


def gradient_norms(depth, skip=True, width=32, seed=0):
    """||dL/dh_l|| for l = 0 .. depth, by autograd.  -> numpy array (depth + 1,)."""
    blocks = residual_stack(depth, width, seed)
    h0 = torch.randn(1, width, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1),
                     requires_grad=True)
    loss, hs = forward_stack(blocks, h0, skip)
    loss.backward()
    return np.array([float(h.grad.norm()) for h in hs])


def gradient_flow_check(depth=8, l=3, width=16, seed=0):
    """dL/dh_l three ways: autograd; the chain rule dL/dh_{l+1} (I + J_{f_l}(h_l)); and the
    course text's dL/dh_{l+1} (1 + J_{f_{l+1}}(h_{l+1})).  Jacobians by brute-force autograd.
    -> dict of the three (width,) vectors."""
    blocks = residual_stack(depth, width, seed)
    h0 = torch.randn(1, width, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1),
                     requires_grad=True)
    loss, hs = forward_stack(blocks, h0, skip=True)
    loss.backward()
    eye = torch.eye(width, dtype=torch.float64)
    J = lambda k: torch.autograd.functional.jacobian(lambda h: blocks[k](h), hs[k].detach()[0])
    upstream = hs[l + 1].grad[0]
    return {"autograd": hs[l].grad[0], "chain rule": upstream @ (eye + J(l)),
            "course text": upstream @ (eye + J(l + 1))}


# -- trained hierarchical VAEs on Fashion-MNIST ------------------------------------------
LEVEL_SIZES = {2: (16, 8), 3: (16, 8, 4)}
FREE_BITS = (0.0, 0.25, 0.5, 1.0, 2.0)
WARMUP = 1000                          # steps of KL warm-up (β from 0 to 1) in the warm-up comparison
WARMUP_SEEDS = (0, 1, 2)
ACTIVE = 0.01                          # nats: a unit with less KL than this is inactive


def build_model(inference, levels, seed=0):
    """The lesson's model: a HierarchicalVAE with levels of 16, 8 (and 4) latents, hidden width 256."""
    torch.manual_seed(seed)
    return HierarchicalVAE(latent_dims=LEVEL_SIZES[levels], hidden=256, inference=inference)



def fit_variant(model, x, steps, device=None, progress=True, warmup=0, seed=0):
    """Train a hierarchical VAE of :func:`build_model` on the negative ELBO, on dynamically binarized images
    ``x``; with ``warmup`` > 0, on D + β(t) Σ_l KL_l with β rising linearly from 0 to 1 over the first
    ``warmup`` steps (Sønderby et al.'s KL warm-up), then the negative ELBO.  -> History"""
    objective = hierarchical_objective(beta=linear_warmup(warmup)) if warmup else hierarchical_objective()
    return fit(model, x, objective, steps=steps, transform=dynamic_binarize, seed=seed, device=device,
               progress=progress, desc=f"{model.inference}, L = {model.levels}" + (", warm-up" if warmup else ""))


def train_variants(x, steps, device=None):
    """Bottom-up and ladder inference, L = 2 and 3, each trained on the negative ELBO (cached).
    -> {(inference, L): (model, history)}"""
    steps = check_int("steps", steps, minimum=1)
    out = {}
    for levels in LEVEL_SIZES:
        for inference in ("bottom_up", "ladder"):
            config = {"inference": inference, "levels": levels, "steps": steps, "data": data_key(x)}
            out[(inference, levels)] = cached_fit("lesson05-variant", config,
                                                  lambda i=inference, L=levels: build_model(i, L),
                                                  lambda m: fit_variant(m, x, steps, device=device), device=device)
    return out


def train_warmup_variants(x, steps, warmup=WARMUP, seeds=WARMUP_SEEDS, device=None):
    """Three-level models, ladder and bottom-up, each trained with KL warm-up over the first ``warmup`` steps
    (:func:`fit_variant`), one per seed, each cached.  -> {(inference, seed): (model, history)}"""
    steps = check_int("steps", steps, minimum=1)
    warmup = min(check_int("warmup", warmup, minimum=1), steps)
    out = {}
    for inference in ("ladder", "bottom_up"):
        for seed in seeds:
            config = {"inference": inference, "levels": 3, "steps": steps, "warmup": warmup, "seed": seed,
                      "data": data_key(x)}
            out[(inference, seed)] = cached_fit(
                "lesson05-warmup", config, lambda i=inference, s=seed: build_model(i, 3, seed=s),
                lambda m, s=seed: fit_variant(m, x, steps, device=device, warmup=warmup, seed=s), device=device)
    return out


def fit_free_bits_sweep(x, steps, values=FREE_BITS, device=None, progress=True):
    """Ladder VAEs with L = 3, one per free-bits threshold (nats per level), from the same start weights and
    batches.  -> list of (model, history) in the order of ``values``"""
    return fit_sweep(lambda: build_model("ladder", 3), x, free_bits_sweep_objective(), [float(v) for v in values],
                     steps=steps, transform=dynamic_binarize, seed=0, device=device, progress=progress,
                     desc="free-bits sweep")


def train_free_bits_sweep(x, steps, values=FREE_BITS, device=None):
    """:func:`fit_free_bits_sweep`, each model cached.  -> list of (model, history) in the order of ``values``."""
    steps = check_int("steps", steps, minimum=1)
    return cached_sweep("lesson05-free-bits", {"steps": steps, "data": data_key(x)}, "free_bits",
                        [float(v) for v in values], lambda: build_model("ladder", 3),
                        lambda values: fit_free_bits_sweep(x, steps, values, device=device), device=device)


@torch.no_grad()
def evaluate(model, x, k=64, seed=0):
    """On binarized test images: ELBO and IWAE_k (nats per image), each level's KL, and its
    active units (KL > 0.01 nats).  -> dict"""
    torch.manual_seed(seed)
    terms = model.loss_terms(x)
    units = model.kl_per_unit(x)
    return {"elbo": float(terms["elbo"]), "iwae": float(model.iwae_bound(x, k=k).mean()),
            "kl": [float(terms[f"kl_{l + 1}"]) for l in range(model.levels)],
            "active": [int((u > ACTIVE).sum()) for u in units], "units": [len(u) for u in units]}


def collapsed_from(history, term, below=0.01):
    """The first logged step from which ``term`` (a level's KL, say "kl_2") stays below ``below`` to the end of
    training; None if it never does.  history: a training History."""
    below = check_number("below", below, minimum=0.0)
    if not isinstance(history, History):
        raise CourseInputError(f"history must be a training History (what fit records), not {type(history).__name__}.")
    if term not in history.terms:
        raise CourseInputError(f"term: this history has no {term!r}; it must be one of {sorted(history.terms)}.")
    values = list(history[term])
    for i in range(len(values)):
        if max(values[i:]) < below:
            return history.steps[i]
    return None


def graphical_models_figure():
    """The three graphs of a two-level model, drawn: generation (z_2 -> z_1 -> x), bottom-up inference
    (x -> z_1 -> z_2) and Ladder inference (a deterministic pass x -> d_1 -> d_2, then z_2 from d_2 and z_1
    from d_1 merged with z_2's prior).  Random variables in circles, deterministic values in squares, the
    observed x shaded.  -> the (pyplot) figure"""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)

    column = {"x": (0.5, 0.12), "z₁": (0.5, 0.5), "z₂": (0.5, 0.88)}
    ladder = {"x": (0.2, 0.12), "d₁": (0.2, 0.5), "d₂": (0.2, 0.88), "z₁": (0.75, 0.5), "z₂": (0.75, 0.88)}
    graphs = {"generation: p(x, z₁, z₂)": [("z₂", "z₁"), ("z₁", "x")],
              "bottom-up inference: q(z₁ | x) q(z₂ | z₁)": [("x", "z₁"), ("z₁", "z₂")],
              "Ladder inference: top-down, merged": [("x", "d₁"), ("d₁", "d₂"), ("d₂", "z₂"), ("z₂", "z₁"), ("d₁", "z₁")]}
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.3), layout="constrained")
    for ax, (title, edges) in zip(axes, graphs.items()):
        at = ladder if title.startswith("Ladder") else column
        ax.set(xlim=(0, 1), ylim=(0, 1), xticks=[], yticks=[], title=title)
        ax.title.set_fontsize(9)
        for side in ax.spines.values():
            side.set_visible(False)
        for name in sorted({n for edge in edges for n in edge}):
            deterministic = name.startswith("d")
            ax.text(*at[name], name, ha="center", va="center", fontsize=11,
                    bbox={"boxstyle": "square" if deterministic else "circle",
                          "fc": "0.8" if name == "x" else "white", "ec": "0.2"})
        for a, b in edges:
            ax.annotate("", xy=at[b], xytext=at[a], arrowprops={"arrowstyle": "->", "shrinkA": 14, "shrinkB": 14,
                                                                "color": "0.2"})
    return fig


def residual_normal_kl(d_mean, d_std, prior_std):
    """KL(q || p) for NVAE's residual normal: p = N(mu_p, sigma_p²), q = N(mu_p + d_mean, (sigma_p d_std)²),
    per coordinate and summed over the last axis:
        1/2 sum_i (d_mean_i² / sigma_p,i² + d_std_i² - log d_std_i² - 1),
    free of mu_p altogether (Vahdat & Kautz, 2020)."""
    return 0.5 * (d_mean ** 2 / prior_std ** 2 + d_std ** 2 - torch.log(d_std ** 2) - 1).sum(-1)


def binarized(x, seed=0):
    """A fixed binarization of images in [0, 1] (pixel j is 1 with probability x_j)."""
    return torch.bernoulli(x, generator=torch.Generator().manual_seed(seed))


def level_samples(model, n=8, seed=0):
    """Two grids of n x n images: (a) rows share the top level z_L, columns share the noise of the
    levels below; (b) the same draws, shown transposed.  -> (n*n, C, H, W) images, row-major (a)."""
    g = torch.Generator().manual_seed(seed)
    tops = torch.randn(n, model.latent_dims[-1], generator=g)
    noises = [torch.randn(n, d, generator=g) for d in model.latent_dims[:-1]]
    # row i: top level i, column j: lower-level noise j
    rows = [model.sample(n, z_top=tops[i].expand(n, -1), noise=noises) for i in range(n)]
    return torch.cat(rows).cpu()


def free_bits_explorer(values, results):
    """A slider over the trained free-bits thresholds ``values``: each level's KL (bars) and the test ELBO,
    from ``results`` (one :func:`evaluate` dict per value)."""
    fig, (ax_kl, ax_elbo) = new_figure(2, width=4.2, height=3.2)
    levels = len(results[0]["kl"])
    bars = ax_kl.bar([f"level {l + 1}" for l in range(levels)], results[0]["kl"], color="tab:blue")
    top = max(max(max(r["kl"]) for r in results), max(values)) * 1.4 + 0.1   # bars and every λ line, with room
                                                                                # above for the text and legend
    ax_kl.set(ylim=(0, top), ylabel="KL of the level (nats per image)", title="where the rate goes")
    line = ax_kl.axhline(values[0], color="tab:red", ls="--", label="free-bits threshold λ")
    ax_kl.legend(loc="upper right", bbox_to_anchor=(1, 0.88))   # below the active-units line
    elbos = [r["elbo"] for r in results]
    ax_elbo.plot(values, elbos, "o-", color="0.6")
    marker, = ax_elbo.plot(values[:1], elbos[:1], "o", color="tab:red", ms=10)
    ax_elbo.set(xlabel="free bits λ (nats per level)", ylabel="test ELBO (nats per image)",
                title="the bound the model reaches")
    label = ax_kl.text(0.02, 0.97, "", transform=ax_kl.transAxes, va="top")

    def update(fig, lam):
        i = list(values).index(lam)
        for bar, kl in zip(bars, results[i]["kl"]):
            bar.set_height(kl)
        line.set_ydata([lam, lam])
        marker.set_data([lam], [elbos[i]])
        label.set_text("active units: " + ", ".join(f"{a}/{u}" for a, u in zip(results[i]["active"],
                                                                                 results[i]["units"])))

    return LiveFigure(fig, update, {"lam": choice_slider("λ", list(values))},
                      animated=lambda: [*bars, line, marker, label])


def depth_explorer(depths=DEPTHS, width=32):
    """A slider over stack depth: ||dL/dh_l|| at every block, with and without skip connections."""
    norms = {(d, skip): gradient_norms(d, skip, width) for d in depths for skip in (True, False)}
    fig, ax = new_figure(1, width=6.0, height=3.4)
    with_skip, = ax.semilogy([], [], "o-", color="tab:blue", ms=3, label="h + f(h)  (skip)")
    without, = ax.semilogy([], [], "o-", color="tab:orange", ms=3, label="f(h)  (no skip)")
    low = min(float(v[v > 0].min()) for v in norms.values())
    high = max(float(v.max()) for v in norms.values())
    ax.set(xlim=(-1, max(depths) + 1), ylim=(low / 3, high * 3), xlabel="block l (input side at 0)",
           ylabel="‖∂L/∂h_l‖", title="gradient reaching each depth")
    ax.legend(loc="lower right")

    def update(fig, depth):
        for artist, skip in ((with_skip, True), (without, False)):
            v = norms[(depth, skip)]
            artist.set_data(np.arange(len(v)), v)

    start = 16 if 16 in depths else depths[-1]
    return LiveFigure(fig, update, {"depth": choice_slider("depth", list(depths), value=start)},
                      animated=lambda: [with_skip, without])


# -- understanding question 4: flat against hierarchical at the same parameter budget -----------
def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def matched_flat_vae(reference, latent_dim):
    """A flat MLP VAE with ``latent_dim`` latents and two hidden layers of one width, the width
    chosen so that its parameter count is closest to ``reference``'s."""
    target, low, high = parameter_count(reference), 8, 4096
    while high - low > 1:                                   # the count grows with the width
        mid = (low + high) // 2
        if parameter_count(VAE.mlp(latent_dim=latent_dim, hidden=(mid, mid))) < target:
            low = mid
        else:
            high = mid
    width = min((low, high), key=lambda h: abs(parameter_count(VAE.mlp(latent_dim=latent_dim, hidden=(h, h)))
                                                 - target))
    torch.manual_seed(0)
    return VAE.mlp(latent_dim=latent_dim, hidden=(width, width))


def fit_flat(model, x, steps, device=None, progress=True):
    """Train a flat VAE like the hierarchical variants: the negative ELBO on dynamically binarized ``x``.
    -> History"""
    return fit(model, x, vae_objective(), steps=steps, transform=dynamic_binarize, seed=0, device=device,
               progress=progress, desc=f"flat VAE, {model.latent_dim} latents")


def train_flat(x, reference, steps, device=None):
    """The flat VAE matched to ``reference`` (as many latents in total, as many parameters),
    trained like the hierarchical variants (cached).  -> (model, history)"""
    latent_dim = sum(reference.latent_dims)
    width = matched_flat_vae(reference, latent_dim).encoder.net[0].out_features
    config = {"latent_dim": latent_dim, "width": width, "steps": steps, "data": data_key(x)}
    return cached_fit("lesson05-flat", config, lambda: matched_flat_vae(reference, latent_dim),
                      lambda m: fit_flat(m, x, steps, device=device), device=device)


def train_flats(x, variants, steps, device=None):
    """For each inference of the two-level variants ({(inference, L): (model, history)} from
    :func:`train_variants`), the flat VAE matched to it (:func:`train_flat`, cached).
    -> {inference: (model, history)}"""
    return {inference: train_flat(x, variants[(inference, 2)][0], steps, device=device)
            for inference in ("bottom_up", "ladder")}


@torch.no_grad()
def compare_with_flat(reference, flat, x, k=64, seed=0):
    """IWAE_k of a hierarchical model and of a flat one on the same images, and their paired difference.
    -> dict: hierarchical, flat (means, nats per image), difference (mean), se (its standard error)"""
    torch.manual_seed(seed)
    hierarchical = reference.iwae_bound(x, k=k).cpu()
    torch.manual_seed(seed)
    flat_bound = flat.iwae_bound(x, k=k).cpu()
    diff = hierarchical - flat_bound
    return {"hierarchical": float(hierarchical.mean()), "flat": float(flat_bound.mean()),
            "difference": float(diff.mean()), "se": float(diff.std() / math.sqrt(len(diff)))}
