"""Checks for the lesson 1 exercises (the ELBO, a VAE of your own, the linear-Gaussian posterior by completing the square)."""
import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..data import dynamic_binarize, load_fashion_mnist
from ..models.vae import VAE
from ..settings import budget
from ..training.cache import cached_fit
from ..training.train import fit
from .feedback import Feedback, _Failed, apply_answer, graded, run_check

_g = torch.Generator().manual_seed(101)
_MEAN = torch.randn(5, 3, generator=_g, dtype=torch.float64)
_LOG_VAR = torch.randn(5, 3, generator=_g, dtype=torch.float64)
_EPS = torch.randn(5, 3, generator=_g, dtype=torch.float64)


def _kl(mean, log_var):
    return 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)


@graded
def kl_standard_normal(fn):
    """KL(N(mean, diag exp(log_var)) || N(0, I)) per row: (batch, d) -> (batch,)."""
    cases = [dict(mean=_MEAN, log_var=_LOG_VAR), dict(mean=_MEAN[:1, :1], log_var=_LOG_VAR[:1, :1])]
    mistakes = [
        ("the sign is flipped: KL is never negative. Check the order of the terms.",
         lambda mean, log_var: -_kl(mean, log_var)),
        ("the value is twice the right one: did you forget the factor 1/2?",
         lambda mean, log_var: 2 * _kl(mean, log_var)),
        ("you averaged over the latent dimensions; the KL of independent coordinates is their sum.",
         lambda mean, log_var: _kl(mean, log_var) / mean.shape[-1]),
        ("it looks as if you used exp(log_var / 2), the standard deviation, where the variance belongs.",
         lambda mean, log_var: 0.5 * ((0.5 * log_var).exp() + mean ** 2 - 1 - log_var).sum(-1)),
        ("the -1 inside the sum is missing.",
         lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - log_var).sum(-1)),
    ]
    return run_check("kl_standard_normal", fn, cases, _kl, mistakes)


@graded
def reparameterize(fn):
    """z = mean + std * eps with std = exp(log_var / 2)."""
    cases = [dict(mean=_MEAN, log_var=_LOG_VAR, eps=_EPS)]
    mistakes = [
        ("you multiplied eps by the variance exp(log_var); it needs the standard deviation exp(log_var / 2).",
         lambda mean, log_var, eps: mean + log_var.exp() * eps),
        ("you multiplied eps by log_var itself; it needs the standard deviation exp(log_var / 2).",
         lambda mean, log_var, eps: mean + log_var * eps),
        ("the mean is missing: z should be centred on `mean`.",
         lambda mean, log_var, eps: (0.5 * log_var).exp() * eps),
        ("you subtracted the noise term; z = mean + std * eps (the sign matters for which sample you get).",
         lambda mean, log_var, eps: mean - (0.5 * log_var).exp() * eps),
        ("z equals the mean: the noise term std * eps is missing, so z does not depend on `eps`.",
         lambda mean, log_var, eps: mean + 0 * eps),
    ]

    def reference(mean, log_var, eps):
        return mean + (0.5 * log_var).exp() * eps

    feedback = run_check("reparameterize", fn, cases, reference, mistakes, noise="eps")
    if feedback.passed:                                   # gradients must reach mean and log_var
        case = dict(mean=_MEAN.clone().requires_grad_(), log_var=_LOG_VAR.clone().requires_grad_(), eps=_EPS)
        out = apply_answer("reparameterize", fn, case)
        if not out.requires_grad:
            feedback.passed, feedback.message = False, (
                "the values are right, but gradients cannot flow back to mean and log_var "
                "(did you use .detach(), .item() or torch.no_grad()?)")
    return feedback


def _iwae(log_weights):
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


@graded
def iwae_bound(fn):
    """IWAE_k = logsumexp_i(log w_i) - log k over the first axis: (k, batch) -> (batch,)."""
    g = torch.Generator().manual_seed(7)
    cases = [dict(log_weights=torch.randn(6, 4, generator=g, dtype=torch.float64)),
             dict(log_weights=torch.randn(3, 2, generator=g, dtype=torch.float64) - 1000.0)]
    mistakes = [
        ("this is the average of the log-weights, which is the ELBO estimate, not IWAE: "
         "average the weights themselves, in log space.",
         lambda log_weights: log_weights.mean(0)),
        ("the -log k is missing: IWAE averages the k weights, it does not add them.",
         lambda log_weights: torch.logsumexp(log_weights, dim=0)),
        ("you divided the log of the sum by k; averaging the weights subtracts log k in log space.",
         lambda log_weights: torch.logsumexp(log_weights, dim=0) / log_weights.shape[0]),
        ("this is the largest log-weight only; logsumexp adds all k weights (and then subtract log k).",
         lambda log_weights: log_weights.max(dim=0).values),
        ("you subtracted k instead of log k.",
         lambda log_weights: torch.logsumexp(log_weights, dim=0) - log_weights.shape[0]),
    ]
    return run_check("iwae_bound", fn, cases, _iwae, mistakes)


# -- a VAE of your own -------------------------------------------------------------------------------
# The learner's VAE works on flattened images, (batch, 784).  Its loss must equal the course's VAE
# (course_lib.VAE.mlp with one hidden layer) on the same weights, batch and noise.

PIXELS = 784


def _course_vae(latent_dim, hidden, dtype=torch.float32, seed=0):
    """The course's VAE with one hidden layer of ``hidden`` units, seeded: what the learner's is held to."""
    torch.manual_seed(seed)
    return VAE.mlp(image_shape=(PIXELS,), latent_dim=latent_dim, hidden=(hidden,)).to(dtype)


class _Nets(nn.Module):
    """The course VAE's two networks under the names the exercise asks for: encoder (x -> 2L numbers:
    mean, then log-variance) and decoder (z -> 784 logits)."""

    def __init__(self, vae):
        super().__init__()
        self.encoder, self.decoder = vae.encoder.net, vae.decoder.net


def _course_negative_elbo(vae, x, eps):
    """The course VAE's loss (``vae.loss_terms(x)["loss"]`` with β = 1) with the noise ``eps`` given:
    the batch mean of -log p(x|z) + KL(q(z|x) || N(0, I)), z = mean + std * eps."""
    q = vae.encoder(x)
    z = q.mean + q.std * eps
    return (-vae.decoder(z).log_prob(x) + q.kl_standard_normal()).mean()


def _learner_model(cls, name, latent_dim, hidden):
    """The learner's class built and checked against the course's layout; -> (model, None) or (None, Feedback)."""
    if not isinstance(cls, type):
        return None, Feedback(name, False, f"pass your class itself, e.g. check.MyVAE(MyVAE), not {type(cls).__name__}.")
    try:
        model = cls(latent_dim, hidden)
    except NotImplementedError:
        return None, Feedback(name, None, "Replace `raise NotImplementedError()` with your code, then run this cell again.")
    except Exception as e:  # noqa: BLE001 (the learner's code failed: say how, briefly)
        return None, Feedback(name, False, f"MyVAE({latent_dim}, {hidden}) raised {type(e).__name__}: {e}")
    if not isinstance(model, nn.Module) or not all(isinstance(getattr(model, a, None), nn.Module)
                                                  for a in ("encoder", "decoder")):
        return None, Feedback(name, False, "MyVAE must be an nn.Module with two networks as attributes, "
                                           "self.encoder and self.decoder.")
    return model, None


def _shape_after(net, x):
    with torch.no_grad():
        try:
            return tuple(net(x).shape)
        except Exception as e:  # noqa: BLE001 (the learner's network failed: its message is the feedback)
            return f"an error ({type(e).__name__}: {e})"


@graded
def MyVAE(cls):       # named as the class the learner writes: nbgrader grades it under that name
    """The learner's VAE class: MyVAE(latent_dim, hidden) with .encoder (784 -> 2L) and .decoder (L -> 784 logits),
    each Linear, ReLU, Linear; checked by loading the course VAE's weights into it and comparing outputs."""
    name, latent_dim, hidden = "MyVAE", 3, 24
    model, problem = _learner_model(cls, name, latent_dim, hidden)
    if problem:
        return problem
    x, z = torch.rand(5, PIXELS), torch.randn(5, latent_dim)
    got_e, got_d = _shape_after(model.encoder, x), _shape_after(model.decoder, z)
    if got_e != (5, 2 * latent_dim):
        if got_e == (5, latent_dim):
            return Feedback(name, False, "the encoder gives latent_dim numbers per image; it must give 2 * latent_dim: "
                                         "the mean of q(z|x) and its log-variance, side by side.")
        return Feedback(name, False, f"the encoder must map a batch (5, 784) to (5, {2 * latent_dim}); it gave {got_e}.")
    if got_d != (5, PIXELS):
        return Feedback(name, False, f"the decoder must map a batch of codes (5, {latent_dim}) to (5, 784) logits; "
                                     f"it gave {got_d}.")
    course = _course_vae(latent_dim, hidden)
    theirs, ours = list(model.parameters()), list(_Nets(course).parameters())
    if [tuple(p.shape) for p in theirs] != [tuple(p.shape) for p in ours]:
        return Feedback(name, False, "the layers differ from the ones asked for: the encoder Linear(784, hidden), ReLU, "
                                     "Linear(hidden, 2 * latent_dim); the decoder Linear(latent_dim, hidden), ReLU, "
                                     "Linear(hidden, 784); use the `hidden` argument, not a fixed width. Yours has "
                                     f"parameters of shapes {[tuple(p.shape) for p in theirs]}.")
    with torch.no_grad():
        for mine, course_p in zip(theirs, ours):
            mine.copy_(course_p)
        enc_ok = torch.allclose(model.encoder(x), course.encoder.net(x), atol=1e-5)
        dec = model.decoder(z)
        dec_ok = torch.allclose(dec, course.decoder.net(z), atol=1e-5)
        if not dec_ok and torch.allclose(dec, torch.sigmoid(course.decoder.net(z)), atol=1e-5):
            return Feedback(name, False, "the decoder ends with a sigmoid: give the logits, and let the loss "
                                         "turn them into probabilities (binary_cross_entropy_with_logits does).")
    if not (enc_ok and dec_ok):
        which = "encoder" if not enc_ok else "decoder"
        return Feedback(name, False, f"with the course's weights loaded, your {which} computes something else: "
                                     "between its two Linear layers it needs one ReLU, and nothing after the last.")
    return Feedback(name, True, "")


def _cases_for_loss(seed=5):
    g = torch.Generator().manual_seed(seed)
    vae = _course_vae(3, 24, torch.float64, seed=seed)
    x = (torch.rand(6, PIXELS, generator=g, dtype=torch.float64) < 0.3).double()
    eps = torch.randn(6, 3, generator=g, dtype=torch.float64)
    return vae, [dict(model=_Nets(vae), x=x, eps=eps)]


def _split(model, x):
    h = model.encoder(x)
    return h.chunk(2, dim=-1)


def _recon(model, x, z):                      # -log p(x|z) per image, Bernoulli pixels with logits
    return F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum(-1)


@graded
def negative_elbo(fn):
    """negative_elbo(model, x, eps) -> the batch mean of -ELBO (closed-form KL), equal to the course VAE's loss."""
    vae, cases = _cases_for_loss()

    def reference(model, x, eps):
        return _course_negative_elbo(vae, x, eps)

    def slip(kl=1.0, recon=1.0, sample=None, reduce=torch.mean, sign=1.0, kl_reduce=torch.sum):
        def wrong(model, x, eps):
            mean, log_var = _split(model, x)
            z = sample(mean, log_var, eps) if sample else mean + (0.5 * log_var).exp() * eps
            kl_term = 0.5 * kl_reduce(log_var.exp() + mean ** 2 - 1 - log_var, dim=-1)
            return sign * reduce(recon * _recon(model, x, z) + kl * kl_term)
        return wrong

    mistakes = [
        ("this is the ELBO itself; the loss to minimise is its negative.", slip(sign=-1.0)),
        ("you summed over the batch; the course's loss is the average over the examples.", slip(reduce=torch.sum)),
        ("the KL term is missing: the loss is the reconstruction term plus KL(q(z|x) || p(z)).", slip(kl=0.0)),
        ("the KL is averaged over the latent dimensions; the KL of independent coordinates is their sum.",
         slip(kl_reduce=torch.mean)),
        ("the sample is the mean alone: z = mean + exp(log_var / 2) * eps.", slip(sample=lambda m, lv, e: m)),
        ("the noise is scaled by the variance exp(log_var); it needs the standard deviation exp(log_var / 2).",
         slip(sample=lambda m, lv, e: m + lv.exp() * e)),
        ("the reconstruction term is averaged over the 784 pixels; -log p(x|z) is their sum.", slip(recon=1 / PIXELS)),
        ("the decoder gives logits: apply the sigmoid once, or use binary_cross_entropy_with_logits on the logits.",
         lambda model, x, eps: slip()(_SigmoidTwice(model), x, eps)),
    ]
    return run_check("negative_elbo", fn, cases, reference, mistakes, noise="eps")


class _SigmoidTwice(nn.Module):
    """A model whose decoder already applies the sigmoid: the slip of treating probabilities as logits."""

    def __init__(self, model):
        super().__init__()
        self.encoder, self.inner = model.encoder, model.decoder

    def decoder(self, z):
        return torch.sigmoid(self.inner(z))


def _step_reference(model, optimizer, x):
    """One step as the course takes it: noise one draw per example and latent (torch.randn_like(mean)),
    the course's loss, zero_grad, backward, step.  -> the loss as a float."""
    mean, log_var = _split(model, x)
    eps = torch.randn_like(mean)
    z = mean + (0.5 * log_var).exp() * eps
    loss = (_recon(model, x, z) + 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _run_steps(step, seeds=(11, 12)):
    """Two steps of ``step`` on a fresh copy of the check's model, each after torch.manual_seed(seed).
    -> (losses, the parameters after each step, the encoder's parameters before)"""
    vae = _course_vae(3, 24, seed=3)
    model = _Nets(vae)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = (torch.rand(8, PIXELS, generator=torch.Generator().manual_seed(4)) < 0.3).float()
    before = [p.detach().clone() for p in model.encoder.parameters()]
    losses, after = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        losses.append(step(model, optimizer, x.clone()))
        after.append([p.detach().clone() for p in model.parameters()])
    return losses, after, before


def _same(a, b, atol=1e-6):
    return all(torch.allclose(p, q, atol=atol, rtol=1e-5) for p, q in zip(a, b))


@graded
def train_step(fn):
    """train_step(model, optimizer, x) -> the loss (a number): one Adam step on the negative ELBO, its noise
    drawn as torch.randn_like(mean); two steps must move the parameters as the course's two steps do."""
    name = "train_step"
    if not callable(fn):
        return Feedback(name, False, f"pass your function itself, e.g. check.train_step(train_step), not {type(fn).__name__}.")
    try:
        losses, after, before = _run_steps(lambda m, o, x: apply_answer(name, fn, dict(model=m, optimizer=o, x=x)))
    except _Failed as failed:
        return failed.feedback
    want_losses, want_after, _ = _run_steps(_step_reference)
    try:
        got = [float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for v in losses]
    except (TypeError, ValueError):
        return Feedback(name, False, f"it should return the loss as a number (float(loss)), not {type(losses[0]).__name__}.")
    if not math.isclose(got[0], want_losses[0], rel_tol=1e-4, abs_tol=1e-3):
        if math.isclose(got[0], -want_losses[0], rel_tol=1e-4, abs_tol=1e-3):
            return Feedback(name, False, "it returns the ELBO; return the loss it minimised, the negative ELBO.")
        return Feedback(name, False, f"the loss it returned, {got[0]:.4f}, is not the negative ELBO of the batch "
                                     f"({want_losses[0]:.4f}) with noise drawn as torch.randn_like(mean), one number per "
                                     "example and latent dimension.")
    if _same(after[0], [p.detach() for p in _Nets(_course_vae(3, 24, seed=3)).parameters()], atol=0.0):
        return Feedback(name, False, "the parameters did not change: call optimizer.step() after loss.backward().")
    if _same(after[0][:len(before)], before, atol=0.0):
        return Feedback(name, False, "the decoder learned but the encoder did not: no gradient reaches it. Build z from "
                                     "the encoder's mean and log-variance without .detach() or torch.no_grad().")
    if not _same(after[0], want_after[0]):
        return Feedback(name, False, "after one step the parameters are not where one Adam step on the negative ELBO "
                                     "puts them: minimise the loss (loss.backward() on the negative ELBO itself).")
    if not _same(after[1], want_after[1]):
        return Feedback(name, False, "the first step is right, the second is not: the gradients of the first step were "
                                     "added to the second's. Call optimizer.zero_grad() before loss.backward().")
    return Feedback(name, True, "")


MARGIN = 5.0      # nats: how far below the course's model of the same size and budget a learner's may end


def _test_elbo(model, x, seed=1):
    """The single-sample ELBO per image, averaged, of a model with .encoder and .decoder (the exercise's
    layout) on binary images x (N, 784), with seeded noise.  -> float (nats)"""
    with torch.no_grad():
        mean, log_var = _split(model, x)
        eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(seed))
        z = mean + (0.5 * log_var).exp() * eps
        kl = 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)
        return -float((_recon(model, x, z) + kl).mean())


def train_and_compare(cls, step, latent_dim=16, hidden=256, steps=None, batch_size=128, lr=1e-3):
    """Train the learner's ``cls(latent_dim, hidden)`` with their ``step(model, optimizer, x)`` on the
    shipped Fashion-MNIST (dynamically binarized batches, Adam), and the course's VAE of the same size
    with the same budget (cached after its first run); compare their test ELBOs.  Passes when the
    learner's is at most MARGIN nats below the course's.  -> Feedback"""
    name = "your VAE, trained"
    model, problem = _learner_model(cls, name, latent_dim, hidden)
    if problem:
        return problem
    if not callable(step):
        return Feedback(name, False, "pass your train_step function as the second argument.")
    steps = budget(full=1500, fast=30) if steps is None else steps
    data = load_fashion_mnist()
    x_train = data.x_train.flatten(1)
    x_test = torch.bernoulli(data.x_test[:budget(full=1000, fast=200)].flatten(1),
                             generator=torch.Generator().manual_seed(2))       # binarized once, seeded
    torch.manual_seed(0)                                  # the course's model starts from the same draw
    model = cls(latent_dim, hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(0)
    try:
        for _ in tqdm(range(steps), desc="training your VAE"):
            batch = dynamic_binarize(x_train[torch.randint(len(x_train), (batch_size,), generator=order)])
            step(model, optimizer, batch)
    except NotImplementedError:
        return Feedback(name, None, "write MyVAE and train_step above first.")
    except Exception as e:  # noqa: BLE001 (the learner's code failed: say how, briefly)
        return Feedback(name, False, f"training stopped: your code raised {type(e).__name__}: {e}")
    config = {"latent_dim": latent_dim, "hidden": hidden, "steps": steps, "batch_size": batch_size, "lr": lr,
              "data": data.source, "n_train": len(x_train)}
    course, _ = cached_fit("exercise01-own-vae", config, lambda: _course_vae(latent_dim, hidden),
                           lambda m: fit(m, x_train, steps=steps, batch_size=batch_size, lr=lr, seed=0,
                                         transform=dynamic_binarize, desc="the course's VAE"))
    yours, theirs = _test_elbo(model, x_test), _test_elbo(_Nets(course.cpu()), x_test)
    said = (f"test ELBO of your VAE {yours:.1f} nats, of the course's VAE of the same size and budget "
            f"{theirs:.1f} nats (on {len(x_test)} test images)")
    if not math.isfinite(yours) or yours < theirs - MARGIN:
        return Feedback(name, False, f"{said}: more than {MARGIN:g} nats apart. Check the checks above first.")
    return Feedback(name, True, said + f": within {MARGIN:g} nats.")


# -- the exact posterior of the linear-Gaussian model, by completing the square --------------------------

def _posterior(W, b, sigma2, x, prior=True, offset=True, scale=None, with_cov=True, precision_out=False):
    """[mean; covariance] of p(z | x) for z ~ N(0, I), x | z ~ N(W z + b, sigma2 I), as a (k + 1, k) tensor."""
    k = W.shape[1]
    s2 = sigma2 if scale is None else scale(sigma2)
    precision = W.T @ W / s2 + (torch.eye(k, dtype=W.dtype) if prior else 0)
    cov = torch.linalg.inv(precision)
    residual = x - b if offset else x
    mean = (cov @ W.T @ residual / s2) if with_cov else W.T @ residual / s2
    return torch.cat([mean[None], precision if precision_out else cov])


def _posterior_cases():
    g = torch.Generator().manual_seed(11)
    return [dict(W=torch.randn(3, 2, generator=g, dtype=torch.float64), b=torch.randn(3, generator=g, dtype=torch.float64),
                 sigma2=0.5, x=torch.randn(3, generator=g, dtype=torch.float64)),
            dict(W=torch.randn(4, 3, generator=g, dtype=torch.float64), b=torch.randn(4, generator=g, dtype=torch.float64),
                 sigma2=2.0, x=torch.randn(4, generator=g, dtype=torch.float64))]


@graded
def linear_gaussian_posterior(fn):
    """linear_gaussian_posterior(W, b, sigma2, x) -> (k + 1, k): the mean (first row) and the covariance (the other k
    rows) of p(z | x) for z ~ N(0, I_k), x | z ~ N(W z + b, sigma2 I_d): covariance (I + W^T W / sigma2)^-1,
    mean covariance W^T (x - b) / sigma2.  Equal to course_lib's LinearGaussianModel.posterior."""
    mistakes = [
        ("the prior's own precision is missing: p(z) = N(0, I) adds I to the precision, (I + WᵀW / σ²)⁻¹.",
         lambda W, b, sigma2, x: _posterior(W, b, sigma2, x, prior=False)),
        ("the offset b: the observation's mean is W z + b, so the evidence is about x − b, not x.",
         lambda W, b, sigma2, x: _posterior(W, b, sigma2, x, offset=False)),
        ("sigma2 is the noise *variance* σ²; you divided by its square root.",
         lambda W, b, sigma2, x: _posterior(W, b, sigma2, x, scale=math.sqrt)),
        ("the mean is the covariance times the precision-weighted evidence, Σ Wᵀ(x − b) / σ²; the factor Σ is missing.",
         lambda W, b, sigma2, x: _posterior(W, b, sigma2, x, with_cov=False)),
        ("the rows below the mean are the posterior's precision; return its inverse, the covariance.",
         lambda W, b, sigma2, x: _posterior(W, b, sigma2, x, precision_out=True)),
    ]
    return run_check("linear_gaussian_posterior", fn, _posterior_cases(), _posterior, mistakes)
