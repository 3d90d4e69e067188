"""Lesson 7b: flows inside VAEs, on images, and the course text's q_K formula.

* the order of the inverse composition in q_K(z|x), checked on a grid;
* Understanding question 6: two exact posteriors (a grid gives log p(x)), one where a flow
  closes a large ELBO gap and one where there is little to close;
* a VAE with planar and IAF posteriors on Fashion-MNIST, and its amortization gap;
* a small Glow-style multi-scale flow on Fashion-MNIST in bits per dimension.
"""
import copy
import functools
import math

import torch

from ..capture import capturable
from ..data import dynamic_binarize
from ..distributions import DiagonalGaussian
from ..errors import CourseInputError, check_choice, check_int, check_number, check_tensor
from ..figures.plots import plain_log_ticks
from ..figures.widgets import LiveFigure, choice_slider, new_figure
from ..flows import (
    ActNorm,
    AffineCoupling,
    Composite,
    FactorOut,
    Flow,
    Inverse,
    InvertibleConv1x1,
    LogitTransform,
    Planar,
    Radial,
    Squeeze,
    standard_normal_log_prob,
)
from ..flows.coupling import coupling_cnn
from ..models.flow_vae import FlowVAE, flow_vae_objective
from ..objectives import bits_per_dim, importance_weighted_bound
from ..training.cache import cached_fit, data_key
from ..training.train import fit
from .flows import grid, reverse_kl_terms

FLOW_STEPS = (0, 2, 8)
# The amortization-gap table of the lesson (full mode): the first GAP_IMAGES test images, GAP_STEPS Adam steps per
# image, log p(x) by IWAE with GAP_K_IWAE draws.  The reference recipe records it with these very settings.
GAP_IMAGES, GAP_STEPS, GAP_K_IWAE = 200, 300, 1024
TEST_IMAGES, K_IWAE = 1000, 256        # the bounds table (full mode): test images, and k of its IWAE bound
KINDS = ("planar", "iaf")
LATENT_DIM = 16


# -- the order in q_K ---------------------------------------------------------------------------
def order_check(seed=0, edge=7.0, n=401):
    """Two non-commuting steps f_1 (planar) and f_2 (radial) of a flow z_2 = f_2(f_1(z_0)), z_0 ~ N(0, I).
    The density of z_2 by the correct inverse order z_0 = f_1^{-1}(f_2^{-1}(z)), and by the course
    text's order f_2^{-1} o f_1^{-1} read as written (f_1^{-1} applied first).  Both on a grid.
    Both integrate to 1 (the text's is the density of the flow with its steps swapped); the samples
    of the real flow tell them apart by their mean log-density under each.
    -> {"mass correct", "mass text", "max |difference|", "mean log q(samples) correct", "... text",
        "correct" (n, n), "text" (n, n), "samples" (m, 2), "edge"}"""
    torch.manual_seed(seed)
    f1, f2 = Planar(2).double(), Radial(2).double()
    with torch.no_grad():
        f1.u.copy_(torch.tensor([2.5, 0.0]))
        f1.w.copy_(torch.tensor([0.0, 2.0]))
        f2.z0.copy_(torch.tensor([1.5, 0.5]))
        f2.raw_beta.fill_(3.0)
    points, h = grid(edge, n)
    log_base = DiagonalGaussian.standard(2).log_prob
    with torch.no_grad():
        a, ld2 = f2.inverse(points)
        z0, ld1 = f1.inverse(a)
        correct = (log_base(z0) + ld1 + ld2).exp()
        b, ld1_text = f1.inverse(points)                              # the text's order: f_1^{-1} first
        z0_text, ld2_text = f2.inverse(b)
        text = (log_base(z0_text) + ld1_text + ld2_text).exp()
        samples = f2(f1(torch.randn(4000, 2, dtype=torch.float64))[0])[0]

        def log_q(z, first, second):
            a, ld_a = first.inverse(z)
            b, ld_b = second.inverse(a)
            return log_base(b) + ld_a + ld_b
        fit_correct = float(log_q(samples, f2, f1).mean())
        fit_text = float(log_q(samples, f1, f2).mean())
    return {"mean log q(samples) correct": fit_correct, "mean log q(samples) text": fit_text, "mass correct": float(correct.sum() * h * h), "mass text": float(text.sum() * h * h),
            "max |difference|": float((correct - text).abs().max()),
            "correct": correct.reshape(n, n).numpy(), "text": text.reshape(n, n).numpy(),
            "samples": samples.numpy(), "edge": edge}


# -- Understanding question 6: when does a flow posterior help? ----------------------------------
def posterior_target(case):
    """Unnormalised log p(z | x) = log p(x | z) + log p(z) of two 2-d models, p(z) = N(0, I):

    "two modes":   x | z ~ N(z_1 z_2, 0.25^2), x = 1.5: mass on both branches of z_1 z_2 = 1.5,
                   a posterior no Gaussian can cover;
    "logistic":    eight coin flips y_i ~ Bernoulli(sigmoid(a_i . z)): Bayesian logistic
                   regression, a log-concave posterior close to a Gaussian.
    Returns a function z (..., 2) -> (...)."""
    check_choice("case", case, ("two modes", "logistic"))
    if case == "two modes":
        return lambda z: -0.5 * ((z[..., 0] * z[..., 1] - 1.5) / 0.25) ** 2 - math.log(0.25 * math.sqrt(2 * math.pi)) \
            - 0.5 * (z ** 2).sum(-1) - math.log(2 * math.pi)
    g = torch.Generator().manual_seed(3)
    a = torch.randn(8, 2, generator=g, dtype=torch.float64)
    y = torch.tensor([1, 1, 0, 1, 0, 1, 1, 0], dtype=torch.float64)

    def log_joint(z):
        logits = z.to(a.dtype) @ a.T
        likelihood = (y * torch.nn.functional.logsigmoid(logits) + (1 - y) * torch.nn.functional.logsigmoid(-logits))
        return (likelihood.sum(-1) - 0.5 * (z.to(a.dtype) ** 2).sum(-1) - math.log(2 * math.pi)).to(z.dtype)
    return log_joint


@functools.cache
def exact_log_evidence(case, edge=7.0, n=1401):
    """log p(x) = log of the integral of p(x|z) p(z) over a grid (float64 midpoint rule); remembered per case."""
    points, h = grid(edge, n)
    return float(torch.logsumexp(posterior_target(case)(points), 0) + 2 * math.log(h))


def build_posterior(kind, depth):
    """q(z) = a flow of ``depth`` planar or radial steps after a learned diagonal Gaussian
    (ActNorm on the base draws: z = mean + std * eps).  depth 0: the Gaussian alone."""
    check_choice("kind", kind, ("planar", "radial"))
    step = Planar if kind == "planar" else Radial
    gaussian = ActNorm(2, data_init=False)                  # start at N(0, I)
    return Flow(Composite([gaussian] + [step(2) for _ in range(check_int("depth", depth, minimum=0))]), 2)


def seeded_posterior(kind, depth, seed=0):
    """:func:`build_posterior` from ``seed``."""
    torch.manual_seed(seed)
    return build_posterior(kind, depth)


def base_draws(seed=0, n=65536):
    """The fixed pool of N(0, I) draws that a posterior of question 6 is trained on.  -> (n, 2)"""
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))


def fit_q(q, case, z0, steps, seed=0, progress=False):
    """Maximise the ELBO of q for the one observation of ``case`` (the reverse KL to the unnormalised
    posterior) on the base draws ``z0``: batch 256, Adam at 1e-2.  -> History"""
    target = posterior_target(case)
    return fit(q, z0, lambda flow, batch, step: reverse_kl_terms(flow, batch, target), steps=steps,
               batch_size=256, lr=1e-2, seed=seed, device="cpu", progress=progress,
               log_every=max(1, min(100, steps)))


@torch.no_grad()
def posterior_gap(q, case, seed=0):
    """log p(x) - ELBO = KL(q || p(z|x)) for ``case``: the ELBO from 20,000 draws of q (seed + 1), log p(x)
    from the grid."""
    torch.manual_seed(seed + 1)
    x, log_q = copy.deepcopy(q).double().sample_and_log_prob(20000)
    elbo = float((posterior_target(case)(x) - log_q).mean())
    return exact_log_evidence(case) - elbo


def fit_posterior(case, kind, depth, steps, seed=0):
    """:func:`fit_q` on a fresh posterior (cached); returns (q, gap), gap = log p(x) - ELBO = KL(q || p(z|x))."""
    steps = check_int("steps", steps, minimum=1)
    q, _ = cached_fit("lesson07b-posterior", {"case": case, "kind": kind, "depth": depth, "steps": steps,
                                               "seed": seed}, lambda: seeded_posterior(kind, depth, seed),
                      lambda q: fit_q(q, case, base_draws(seed), steps, seed), device="cpu")
    return q, posterior_gap(q, case, seed)


def _posterior(case, depth, steps, trained):
    """(q, gap) of question 6's planar posterior: from ``trained`` {(case, depth): q} where it has one,
    else fitted here (cached)."""
    if trained and (case, depth) in trained:
        q = trained[case, depth]
        return q, posterior_gap(q, case)
    return fit_posterior(case, "planar", depth, steps)


def question6(steps, depths=(0, 2, 8), cases=("two modes", "logistic"), trained=None):
    """The gap log p(x) - ELBO for planar posteriors of each depth on each case.  ``trained``: {(case, depth): q}
    already fitted (the course's reference posteriors), used instead of fitting.  -> {(case, depth): gap}"""
    return {(case, depth): _posterior(case, depth, steps, trained)[1] for case in cases for depth in depths}


def missing_branch_floor(share):
    """The least KL(q ‖ p(z|x)) a q can have on question 6's symmetric two-mode posterior when a share ``share`` of
    its mass has z₁ > 0: log 2 − H(share), H the binary entropy.  (Merging each distribution into the two events
    z₁ > 0 and z₁ < 0 cannot raise a KL, and the posterior gives each exactly one half.)  log 2 for a q on one
    branch, 0 for one that splits its mass evenly."""
    s = check_number("share", share, minimum=0.0)
    if s > 1:
        raise CourseInputError(f"share must be in [0, 1], got {s}.")
    entropy = -sum(p * math.log(p) for p in (s, 1 - s) if p > 0)
    return math.log(2) - entropy


def depth_explorer(steps, depths=tuple(range(9)), case="two modes", edge=3.5, n=141, trained=None):
    """A flow-depth slider over trained posteriors of question 6's ``case``: q_K(z|x) (shaded) against the
    exact posterior p(z|x) (contours, from the grid), and the gap log p(x) - ELBO = KL(q_K || p(z|x))
    against K.  Each depth's q_K is fitted once and cached (:func:`fit_posterior`), or taken from
    ``trained`` {(case, depth): q}."""
    depths = [check_int("depth", d, minimum=0) for d in depths]
    points, _ = grid(edge, n)
    exact = (posterior_target(case)(points) - exact_log_evidence(case)).exp().reshape(n, n).numpy()
    fitted = {d: _posterior(case, d, steps, trained) for d in depths}
    densities = {}
    with torch.no_grad():
        for d, (q, _) in fitted.items():
            densities[d] = q.log_prob(points.float()).exp().reshape(n, n).numpy()
    gaps = [max(fitted[d][1], 1e-4) for d in depths]

    fig, (ax_q, ax_g) = new_figure(2, width=4.2, height=3.7)
    top = max(float(v.max()) for v in densities.values())          # one colour scale for every depth
    image = ax_q.imshow(densities[depths[0]], extent=(-edge, edge, -edge, edge), origin="lower", cmap="Blues",
                        vmin=0.0, vmax=top, interpolation="bilinear")
    peak = float(exact.max())
    contours = ax_q.contour(exact, levels=[peak * f for f in (0.05, 0.25, 0.6)], extent=(-edge, edge, -edge, edge),
                            colors="C3", linewidths=1.0)
    ax_q.set(xlabel="z₁", ylabel="z₂")
    title = ax_q.set_title("", fontsize=10)
    ax_g.plot(depths, gaps, "o-", color="C0")
    (marker,) = ax_g.plot([], [], "s", ms=13, mfc="none", mec="k")
    ax_g.set(yscale="log", xlabel="planar steps K", ylabel="log p(x) − ELBO (nats)",
             title="the gap each depth leaves")
    plain_log_ticks(ax_g, "y")

    def update(fig, depth):
        image.set_data(densities[depth])
        gap = fitted[depth][1]
        marker.set_data([depth], [max(gap, 1e-4)])
        title.set_text(f"q_K shaded, p(z|x) in red; K = {depth}: gap {gap:.3f} nats")

    return LiveFigure(fig, update, {"depth": choice_slider("planar steps K", depths)},
                      animated=lambda: [image, contours, marker, title])    # the contours over the shading


# -- a VAE with a flow posterior on Fashion-MNIST -------------------------------------------------

def build_flow_vae(kind, k):
    """A fresh FlowVAE (latent 16, one hidden layer of 256) with K steps of ``kind`` ("planar" or "iaf") in
    its posterior, from seed 0; K = 0 is the Gaussian VAE."""
    torch.manual_seed(0)
    return FlowVAE(latent_dim=LATENT_DIM, flow=kind, steps=k)


def fit_flow_vae(model, x, steps, device=None, progress=True):
    """Train a FlowVAE on its ELBO, on dynamically binarized images ``x``.  -> History"""
    return fit(model, x, flow_vae_objective(), steps=steps, transform=dynamic_binarize, seed=0, device=device,
               progress=progress, desc=f"VAE, {model.kind} posterior, K = {model.steps}")


def train_flow_vaes(x, steps, flow_steps=FLOW_STEPS, kinds=KINDS, device=None):
    """FlowVAEs (latent 16, one hidden layer of 256) for each kind and number of steps K, each cached;
    K = 0 is the Gaussian VAE, shared by both kinds.  -> {(kind, K): (model, history)}"""
    steps = check_int("steps", steps, minimum=1)
    out = {}
    for kind in kinds:
        for k in flow_steps:
            name = "planar" if k == 0 else kind                 # K = 0: one Gaussian VAE for both
            out[kind, k] = cached_fit("lesson07b-flow-vae", {"steps": steps, "data": data_key(x), "kind": name,
                                                             "K": k, "latent": LATENT_DIM},
                                      lambda name=name, k=k: build_flow_vae(name, k),
                                      lambda m: fit_flow_vae(m, x, steps, device=device), device=device)
    return out


@torch.no_grad()
def bounds(model, x, k_elbo=16, k_iwae=256, batch_size=100):
    """Mean ELBO (k_elbo draws per image) and IWAE_k (k_iwae) in nats over the images x."""
    torch.manual_seed(0)
    elbo, iwae = [], []
    for i in range(0, len(x), batch_size):
        part = x[i:i + batch_size]
        elbo.append(model.elbo(part, k_elbo))
        iwae.append(model.iwae_bound(part, k_iwae))
    return float(torch.cat(elbo).mean()), float(torch.cat(iwae).mean())


def amortization_gap(model, x, steps=200, lr=0.05, k=8, k_elbo=64, k_iwae=1024):
    """Cremer, Li & Duvenaud (2018): split log p(x) - ELBO into

        approximation gap = log p(x) - ELBO[q*]         q* optimised for each image within the family
        amortization gap  = ELBO[q*] - ELBO[q_amortized]

    q* starts from the encoder's output for each image and moves those local parameters by Adam
    on the k-sample ELBO.  log p(x) is estimated by IWAE with k_iwae draws from q*, which is below
    log p(x); ELBO[q*] is below the family's best when the optimisation has not converged.  So the
    amortization gap shown is a lower bound, and the approximation gap can err either way.
    For a flow posterior "the family" is what the shared flow weights allow through the local
    parameters (mean, log-variance, context).  -> dict of per-image means."""
    device = next(model.parameters()).device
    x = x.to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        torch.manual_seed(0)
        start = model.local_parameters(x).detach()
        local = start.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([local], lr=lr)
        for _ in range(check_int("steps", steps, minimum=1)):
            optimizer.zero_grad()
            (-model.log_weights_from(x, local, k).mean()).backward()
            optimizer.step()
        with torch.no_grad():
            elbo_amortized = float(model.log_weights_from(x, start, k_elbo).mean())
            elbo_local = float(model.log_weights_from(x, local, k_elbo).mean())
            log_px = float(importance_weighted_bound(model.log_weights_from(x, local, k_iwae)).mean())
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return {"ELBO (amortized q)": elbo_amortized, "ELBO (q optimised per image)": elbo_local,
            "log p(x) (IWAE)": log_px, "approximation gap": log_px - elbo_local,
            "amortization gap": elbo_local - elbo_amortized}


# -- a multi-scale flow on images ---------------------------------------------------------------------
def _channel_mask(channels, height, width, flip):
    mask = torch.zeros(channels, height, width)
    mask[: channels // 2] = 1
    return 1 - mask if flip else mask


def _glow_steps(channels, side, n, hidden):
    steps = []
    for k in range(n):
        steps += [ActNorm(channels), InvertibleConv1x1(channels),
                  AffineCoupling(_channel_mask(channels, side, side, k % 2 == 1), coupling_cnn(channels, hidden))]
    return steps


def build_image_flow(steps_per_scale=4, hidden=32):
    """Written from image to base (and wrapped in Inverse, so that forward generates):

        logit -> squeeze (1x28x28 -> 4x14x14) -> [ActNorm, 1x1 conv, coupling] x n
              -> factor out half -> squeeze (2x14x14 -> 8x7x7) -> [ActNorm, 1x1 conv, coupling] x n
                                 -> unsqueeze (back to 2x14x14, so the halves fit together again)
    """
    n = check_int("steps_per_scale", steps_per_scale, minimum=1)
    inner = Composite([Squeeze(), *_glow_steps(8, 7, n, hidden), Inverse(Squeeze())])
    to_base = Composite([LogitTransform(0.05), Squeeze(), *_glow_steps(4, 14, n, hidden), FactorOut(inner)])
    return Flow(Inverse(to_base), (1, 28, 28), base_shape=(4, 14, 14))


def _stage_name(t):
    return {"LogitTransform": "logit", "Squeeze": "squeeze", "ActNorm": "ActNorm", "InvertibleConv1x1": "1×1 conv",
            "AffineCoupling": "coupling"}.get(type(t).__name__, type(t).__name__)


@torch.no_grad()
def image_flow_stages(flow, x):
    """Walk images x (batch, 1, 28, 28) through the image flow of :func:`build_image_flow` from image to base,
    stage by stage: what each stage does to the shape of what goes on, and the log-determinants summed so
    far (nats per image, averaged).  At the factor-out, half of the channels leave for the base.
    -> (rows of (stage, shape going on, shape factored out so far, summed log-det), log p(x) from the walk)"""
    x = check_tensor("x", x, shape=(None, 1, 28, 28)).to(next(flow.parameters()).device)
    to_base = flow.transform.transform                    # the flow is Inverse(to_base)
    rows, total, out = [], x.new_zeros(len(x)), None

    def walk(transforms, h):
        nonlocal total, out
        for t in transforms:
            if isinstance(t, FactorOut):
                on, out = t._halves(h)
                rows.append(("factor out half", tuple(on.shape[1:]), tuple(out.shape[1:]), float(total.mean())))
                h = walk(t.inner.transforms, on)
                continue
            if isinstance(t, Inverse):                    # the un-squeeze that lets the halves fit together
                h, logabsdet = t(h)
                name = "un-squeeze"
            else:
                h, logabsdet = t(h)
                name = _stage_name(t)
            total = total + logabsdet
            row = (name, tuple(h.shape[1:]), None if out is None else tuple(out.shape[1:]), float(total.mean()))
            if name == "coupling" and [r[0] for r in rows[-2:]] == ["ActNorm", "1×1 conv"]:
                del rows[-2:]                             # one Glow step: ActNorm, 1x1 conv, coupling
                row = ("Glow step (ActNorm, 1×1 conv, coupling)", *row[1:])
            rows.append(row)
        return h

    on = walk(to_base.transforms, x)
    z = torch.cat([on, out], dim=1)
    return rows, standard_normal_log_prob(z) + total


@torch.no_grad()
def tempered_samples(flow, n=16, temperatures=(0.7, 1.0), seed=1):
    """Samples x = f(T z), z ~ N(0, I), the same z at every temperature T (Glow's practice: T < 1 trades
    variety for cleaner samples), and the mean log-density the flow gives them.
    -> {T: (images, mean log p(x) in nats per image)}"""
    temperatures = [check_number("temperature", t, minimum=0.0, strict_minimum=True) for t in temperatures]
    z = torch.randn(check_int("n", n, minimum=1), *flow.base_shape, generator=torch.Generator().manual_seed(seed))
    z = z.to(flow._device())
    out = {}
    for temperature in temperatures:
        x, _ = flow.transform(temperature * z)
        out[temperature] = (x.clamp(0, 1).cpu(), float(flow.log_prob(x).mean()))
    return out


@capturable
def dequantize(x):
    """Uniform dequantization: pixel values k/255 become (k + u)/256, u ~ U(0, 1)."""
    return (x * 255 + torch.rand_like(x)) / 256




def image_nll_objective(flow, y, step=None):
    """-log p(y) per dimension for dequantized images y; bits/dim = (that + log 256) / log 2."""
    d = y[0].numel()
    nll = -flow.log_prob(y).mean() / d
    return {"loss": nll, "bits/dim": bits_per_dim(d * (nll + math.log(256)), d)}


capturable(image_nll_objective, when=False)  # ActNorm initialises itself on the first batch


def fit_image_flow(flow, x, steps, device=None, progress=True):
    """Train the image flow by maximum likelihood on dequantized images ``x`` (batch 64, Adam 1e-3).  -> History"""
    return fit(flow, x, image_nll_objective, steps=steps, batch_size=64, lr=1e-3, transform=dequantize, seed=0,
               device=device, progress=progress, desc="Glow-style flow")


def seeded_image_flow():
    """:func:`build_image_flow` from seed 0."""
    torch.manual_seed(0)
    return build_image_flow()


def train_image_flow(x, steps, device=None):
    """:func:`fit_image_flow` on a fresh flow, cached.  -> (flow, history)"""
    steps = check_int("steps", steps, minimum=1)
    return cached_fit("lesson07b-image-flow", {"steps": steps, "data": data_key(x)}, seeded_image_flow,
                      lambda flow: fit_image_flow(flow, x, steps, device=device), device=device)


@torch.no_grad()
def image_bits_per_dim(flow, x, batch_size=200):
    """Bits per dimension of 8-bit images x under the flow: (-E_u log p((255 x + u)/256) + D log 256) / (D log 2),
    an upper bound on -log2 P(x) / D (one dequantization draw per image)."""
    torch.manual_seed(0)
    device = next(flow.parameters()).device
    values = [image_nll_objective(flow, dequantize(x[i:i + batch_size].to(device)))["bits/dim"]
              for i in range(0, len(x), batch_size)]
    return float(torch.stack(values).mean())


def pixel_histogram_bits_per_dim(x_train, x_test, levels=256):
    """A baseline for :func:`image_bits_per_dim`: every pixel on its own, a histogram over its ``levels``
    values fitted to ``x_train`` (with one pseudo-count per value), scored on ``x_test`` in bits per
    dimension.  A model that beats it has learned something about how pixels depend on each other.
    Images in [0, 1] holding k / (levels - 1).  -> float"""
    check_tensor("x_train", x_train, min_dim=2)
    check_tensor("x_test", x_test, min_dim=2)
    to_level = lambda x: (x.flatten(1) * (levels - 1)).round().long().clamp(0, levels - 1)
    train, test = to_level(x_train), to_level(x_test)
    counts = torch.ones(train.shape[1], levels, dtype=torch.float64)            # (pixels, levels)
    counts.scatter_add_(1, train.T, torch.ones(train.T.shape, dtype=torch.float64))
    log_p = (counts / counts.sum(1, keepdim=True)).log2()
    return float(-log_p.gather(1, test.T).mean())
