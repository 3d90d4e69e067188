"""The exercise checks, tested like mutants.

For every exercise: plausible wrong answers (each rejected, most with a named
hint) and differently written correct answers (each accepted: renamed or
reordered parameters, another way to write the formula, float32 or float64,
another order of operations).  A new lesson's checks get a table here too;
``test_every_check_has_a_table`` fails until they do.
"""
import inspect
import math

import numpy as np
import pytest
import torch

from course_lib import mmd2 as cl_mmd2
from course_lib.exercises import (
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
)
from course_lib.models.rate_distortion import gaussian_rate_distortion, water_level

# -- lesson 1 ---------------------------------------------------------------


def _kl(mean, log_var):
    return 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)


def _kl_loop(m, lv):                                   # one latent coordinate at a time
    total = torch.zeros(m.shape[0], dtype=m.dtype)
    for j in range(m.shape[1]):
        total = total + 0.5 * (torch.exp(lv[:, j]) + m[:, j] ** 2 - 1 - lv[:, j])
    return total


def _kl_distributions(mu, logvar):                     # torch.distributions, in float32
    q = torch.distributions.Normal(mu.float(), torch.exp(0.5 * logvar.float()))
    p = torch.distributions.Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))
    return torch.distributions.kl_divergence(q, p).sum(dim=1)


def _reparam_sqrt(mu, logvar, noise):
    return noise * torch.sqrt(torch.exp(logvar)) + mu


def _reparam_own_noise(mean, log_var, eps):
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


def _reparam_seeded_noise(mean, log_var, eps):
    g = torch.Generator().manual_seed(0)
    return mean + torch.exp(0.5 * log_var) * torch.randn(mean.shape, generator=g, dtype=mean.dtype)


def _iwae_by_hand(lw):                                  # the max trick written out
    top = lw.max(dim=0, keepdim=True).values
    return (top + torch.log(torch.exp(lw - top).mean(dim=0, keepdim=True))).squeeze(0)


# -- lesson 2 ---------------------------------------------------------------

def _score_autograd(z, mean, log_std):                 # let autograd differentiate log N
    params = torch.stack([torch.as_tensor(mean, dtype=z.dtype), torch.as_tensor(log_std, dtype=z.dtype)])
    rows = []
    for zi in z:
        p = params.clone().requires_grad_()
        log_q = torch.distributions.Normal(p[0], p[1].exp()).log_prob(zi)
        rows.append(torch.autograd.grad(log_q, p)[0])
    return torch.stack(rows)


def _score_math(x, mu, s):
    sigma = math.exp(s)
    return torch.stack([(x - mu) / sigma ** 2, ((x - mu) / sigma) ** 2 - 1], dim=1)


def _pathwise_two_leaves(f, mean, log_std, eps):
    mu = torch.tensor(float(mean), dtype=torch.float64, requires_grad=True)
    s = torch.tensor(float(log_std), dtype=torch.float64, requires_grad=True)
    f(mu + s.exp() * eps).mean().backward()
    return torch.stack([mu.grad, s.grad])


def _pathwise_float32(fun, m, ls, e):
    params = torch.tensor([float(m), float(ls)], requires_grad=True)       # float32
    z = params[0] + torch.exp(params[1]) * e.float()
    return torch.autograd.grad(fun(z).sum() / len(e), params)[0]


def _pathwise_as_in_the_solution(f, mean, log_std, eps):
    params = torch.tensor([mean, log_std], dtype=torch.float64, requires_grad=True)
    return torch.autograd.grad(f(params[0] + torch.exp(params[1]) * eps).mean(), params)[0]


def _pathwise_chain_rule_by_hand(f, mean, log_std, eps):        # f'(z) from autograd, dz/d(mean, s) by hand
    z = (mean + log_std.exp() * eps).detach().requires_grad_()
    f_prime = torch.autograd.grad(f(z).sum(), z)[0]
    return torch.stack([f_prime.mean(), (f_prime * log_std.exp() * eps).mean()])


def _pathwise_own_noise(f, mean, log_std, eps):
    p = torch.stack([torch.as_tensor(mean), torch.as_tensor(log_std)]).double().requires_grad_()
    z = p[0] + p[1].exp() * torch.randn(len(eps), dtype=torch.float64)
    return torch.autograd.grad(f(z).mean(), p)[0]


def _pathwise_d_sigma(f, mean, log_std, eps):
    mu = torch.tensor(float(mean), dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(math.exp(float(log_std)), dtype=torch.float64, requires_grad=True)
    return torch.stack(torch.autograd.grad(f(mu + sigma * eps).mean(), (mu, sigma)))


# -- lesson 3 ---------------------------------------------------------------

def _rd_distributions(mu, logvar, loglik):                 # torch.distributions, in float32
    q = torch.distributions.Normal(mu.float(), (0.5 * logvar.float()).exp())
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    return torch.stack([kl.mean(), -loglik.float().mean()])


def _rd_loop(mean, log_var, log_px_given_z):
    n = len(mean)
    rate = sum(0.5 * (log_var[i].exp() + mean[i] ** 2 - 1 - log_var[i]).sum() for i in range(n)) / n
    return torch.stack([rate, -(log_px_given_z.sum() / n)])


def _select_by_loop(r, d, lam):
    costs = [float(d[k] + lam * r[k]) for k in range(len(r))]
    return min(range(len(costs)), key=costs.__getitem__)             # a plain int


# -- lesson 4 ---------------------------------------------------------------

def _capacity_by_cases(d, r, g, c):                         # the absolute value written as two cases
    return d + g * (r - c) if r >= c else d + g * (c - r)


def _mig_loop(mi, entropies):
    gaps = []
    for k in range(mi.shape[1]):
        column = sorted(mi[:, k].tolist(), reverse=True)
        gaps.append((column[0] - column[1]) / float(entropies[k]))
    return torch.tensor(sum(gaps) / len(gaps))


def _mig_topk(mi, h):
    top2 = torch.topk(mi.float(), 2, dim=0).values
    return torch.mean((top2[0] - top2[1]) / h.float())


def _pi_sigmoid(kl, set_point, error_sum, kp, ki, beta_min):          # 1 / (1 + e^x) = sigmoid(-x)
    e = set_point - kl
    return kp * torch.sigmoid(-e) - ki * error_sum - ki * e + beta_min



# -- lesson 1: a VAE of your own ---------------------------------------------

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402  (kept beside the answers that use it)


def _vae_class(encoder, decoder):
    """A learner's MyVAE whose networks are built by encoder(latent_dim, hidden) and decoder(latent_dim, hidden)."""
    class MyVAE(nn.Module):
        def __init__(self, latent_dim, hidden):
            super().__init__()
            self.encoder, self.decoder = encoder(latent_dim, hidden), decoder(latent_dim, hidden)
    return MyVAE


def _enc(latent_dim, hidden, act=nn.ReLU, out=2):
    return nn.Sequential(nn.Linear(784, hidden), act(), nn.Linear(hidden, out * latent_dim))


def _dec(latent_dim, hidden, act=nn.ReLU, tail=()):
    return nn.Sequential(nn.Linear(latent_dim, hidden), act(), nn.Linear(hidden, 784), *tail)


class _VAEByHand(nn.Module):                          # the layers as named attributes, put in Sequentials
    def __init__(self, latent_dim, hidden):
        super().__init__()
        first, second = nn.Linear(784, hidden), nn.Linear(hidden, 2 * latent_dim)
        self.encoder = nn.Sequential(first, nn.ReLU(), second)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 784))


class _Encoder(nn.Module):                            # a module of its own with a forward, not a Sequential
    def __init__(self, latent_dim, hidden):
        super().__init__()
        self.hidden, self.out = nn.Linear(784, hidden), nn.Linear(hidden, 2 * latent_dim)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


class _NoAttributes(nn.Module):
    def __init__(self, latent_dim, hidden):
        super().__init__()
        self.enc, self.dec = _enc(latent_dim, hidden), _dec(latent_dim, hidden)


def _neg_elbo(model, x, eps):
    mean, log_var = model.encoder(x).chunk(2, dim=-1)
    z = mean + torch.exp(0.5 * log_var) * eps
    recon = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum(-1)
    return (recon + 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)).mean()


def _neg_elbo_distributions(model, x, eps):           # torch.distributions for both terms
    h = model.encoder(x)
    mean, log_var = h[:, :h.shape[1] // 2], h[:, h.shape[1] // 2:]
    q = torch.distributions.Normal(mean, (0.5 * log_var).exp())
    z = q.rsample() * 0 + mean + q.scale * eps
    log_px = torch.distributions.Bernoulli(logits=model.decoder(z)).log_prob(x).sum(1)
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    return -(log_px - kl).mean()


def _neg_elbo_sigmoid(model, x, eps):                  # probabilities, clamped logs by hand
    mean, log_var = model.encoder(x).chunk(2, dim=1)
    p = torch.sigmoid(model.decoder(mean + (log_var / 2).exp() * eps))
    log_px = (x * torch.log(p) + (1 - x) * torch.log1p(-p)).sum(1)
    return torch.mean(-log_px - 0.5 * torch.sum(1 + log_var - mean ** 2 - log_var.exp(), 1))


def _neg_elbo_variant(kl=1.0, recon_scale=1.0, reduce=torch.mean, sign=1.0, sample=None):
    def answer(model, x, eps):
        mean, log_var = model.encoder(x).chunk(2, dim=-1)
        z = sample(mean, log_var, eps) if sample else mean + torch.exp(0.5 * log_var) * eps
        recon = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum(-1)
        return sign * reduce(recon_scale * recon + kl * 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1))
    return answer


def _neg_elbo_kl_mean(model, x, eps):
    mean, log_var = model.encoder(x).chunk(2, dim=-1)
    z = mean + torch.exp(0.5 * log_var) * eps
    recon = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum(-1)
    return (recon + 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).mean(-1)).mean()


def _neg_elbo_probabilities_as_logits(model, x, eps):   # the sigmoid taken, then handed on as logits
    mean, log_var = model.encoder(x).chunk(2, dim=-1)
    z = mean + torch.exp(0.5 * log_var) * eps
    p = torch.sigmoid(model.decoder(z))
    recon = F.binary_cross_entropy_with_logits(p, x, reduction="none").sum(-1)
    return (recon + 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)).mean()


def _step(loss_sign=1.0, zero_grad=True, step=True, detach=False, returns=lambda loss: loss.item(),
          noise=torch.randn_like):
    def train_step(model, optimizer, x):
        mean, log_var = model.encoder(x).chunk(2, dim=-1)
        if detach:
            mean, log_var = mean.detach(), log_var.detach()
        z = mean + torch.exp(0.5 * log_var) * noise(mean)
        recon = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum(-1)
        loss = (recon + 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(-1)).mean()
        if zero_grad:
            optimizer.zero_grad()
        (loss_sign * loss).backward()
        if step:
            optimizer.step()
        return returns(loss)
    return train_step


def _step_noise_first(model, optimizer, x):           # zero_grad first, noise drawn with randn and a shape
    optimizer.zero_grad(set_to_none=True)
    h = model.encoder(x)
    latent = h.shape[1] // 2
    eps = torch.randn(x.shape[0], latent)
    loss = _neg_elbo(model, x, eps)
    loss.backward()
    optimizer.step()
    return loss




# -- lesson 8b: the same-mode rate --------------------------------------------

def _mode_by_centres(q):                               # nearest centre by distance, not by angle
    centres = 2 * torch.stack([torch.cos(torch.arange(8) * math.pi / 4), torch.sin(torch.arange(8) * math.pi / 4)], 1)
    return torch.cdist(q.double(), centres.double()).argmin(1)


def _same_mode_answer(mode, shares=lambda m: torch.bincount(m, minlength=8).double() / len(m)):
    def same_mode_rate(x, x_back):
        a, b = mode(x), mode(x_back)
        return torch.stack([(a == b).double().mean(), (shares(a) * shares(b)).sum()])
    return same_mode_rate


def _angle_mode(q, rounding=torch.round, wrap=True, swap=False):
    angle = torch.atan2(q[:, 0], q[:, 1]) if swap else torch.atan2(q[:, 1], q[:, 0])
    k = rounding(angle / (2 * math.pi / 8)).long()
    return k % 8 if wrap else k


def _shares_loop(m):
    return torch.stack([(m == k).double().mean() for k in range(8)])



# -- lesson 1: the linear-Gaussian posterior ----------------------------------------------

def _posterior_by_solving(W, b, sigma2, x):        # Woodbury's other form: σ² (WᵀW + σ² I)⁻¹, and a solve
    k = W.shape[1]
    m = W.T @ W + sigma2 * torch.eye(k, dtype=W.dtype)
    mean = torch.linalg.solve(m, W.T @ (x - b))
    return torch.cat([mean[None], sigma2 * torch.linalg.inv(m)]).double()


# -- lesson 4: the order in which the factors enter ------------------------------------------

def _entry_sorted(shares, capacities):           # sort the models by C, rows and all, then take the first that reaches
    order = torch.argsort(capacities)
    shares, capacities = shares[order], capacities[order]
    out = torch.full((shares.shape[1],), float("inf"), dtype=shares.dtype)
    for k in range(shares.shape[1]):
        hits = torch.nonzero(shares[:, k] >= 0.5)
        if len(hits):
            out[k] = capacities[hits[0, 0]]
    return out


# -- lesson 5: a two-level Ladder pass -----------------------------------------------------

def _ladder(**slip):
    def ladder_kl(mean_1, log_var_1, mean_2, log_var_2, eps_1, eps_2, prior_1):
        return lesson05._ladder_kl(mean_1, log_var_1, mean_2, log_var_2, eps_1, eps_2, prior_1, **slip)
    return ladder_kl


def _ladder_with_distributions(mean_1, log_var_1, mean_2, log_var_2, eps_1, eps_2, prior_1):
    """torch.distributions for every KL, and the merge written with precisions."""
    normal = torch.distributions.Normal
    q_2 = normal(mean_2, (0.5 * log_var_2).exp())
    z_2 = mean_2 + q_2.scale * eps_2
    prior_mean, prior_log_var = prior_1(z_2)
    precision = (-log_var_1).exp() + (-prior_log_var).exp()
    q_mean = (mean_1 * (-log_var_1).exp() + prior_mean * (-prior_log_var).exp()) / precision
    q_1 = normal(q_mean, precision.rsqrt())
    kl_1 = torch.distributions.kl_divergence(q_1, normal(prior_mean, (0.5 * prior_log_var).exp())).sum(-1)
    kl_2 = torch.distributions.kl_divergence(q_2, normal(torch.zeros_like(mean_2), torch.ones_like(mean_2))).sum(-1)
    return kl_1 + kl_2


# -- lesson 2: the Gumbel-softmax sample ------------------------------------------------------

def _gumbel_answer(noise=lambda u: -torch.log(-torch.log(u)), divide_all=True, power=-1, probabilities=False, dim=-1):
    def relaxed_one_hot(logits, uniform, temperature):
        g = noise(uniform)
        base = torch.softmax(logits, -1) if probabilities else logits
        perturbed = (base + g) * temperature ** power if divide_all else base + g * temperature ** power
        return torch.softmax(perturbed, dim=dim)
    return relaxed_one_hot


def _gumbel_by_hand(lg, u, tau):                 # log_softmax first, the softmax written out, a loop over samples
    rows = []
    for row, noise in zip(torch.log_softmax(lg, -1), u):
        y = torch.exp((row - torch.log(-torch.log(noise))) / tau)
        rows.append(y / y.sum())
    return torch.stack(rows)


def _gumbel_numpy(logits, uniform, temperature):
    a = (logits.numpy() - np.log(-np.log(uniform.numpy()))) / temperature
    a = np.exp(a - a.max(-1, keepdims=True))
    return torch.from_numpy(a / a.sum(-1, keepdims=True))


# -- lesson 3: reverse water-filling ---------------------------------------------------------

def _water_by_sorting(variances, distortion):       # the level in closed form: sort, and find how many are uncoded
    v, _ = torch.sort(variances)
    if distortion >= v.sum():
        return torch.zeros((), dtype=v.dtype)
    for m in range(len(v)):                          # the m smallest take their own variance, the rest share
        level = (distortion - v[:m].sum()) / (len(v) - m)
        if level <= v[m] and (m == 0 or level >= v[m - 1]):
            return 0.5 * torch.log(v[m:] / level).sum()
    raise AssertionError("no level found")


def _water_by_bisection(sigma2, d, steps=100):
    lo, hi = torch.zeros((), dtype=sigma2.dtype), sigma2.max()
    for _ in range(steps):
        mid = (lo + hi) / 2
        if torch.minimum(sigma2, mid).sum() < d:
            lo = mid
        else:
            hi = mid
    return torch.relu(0.5 * torch.log(sigma2 / hi)).sum()


def _water_answer(level=water_level, half=0.5, log=torch.log, clamp=True, per_component=False):
    def water_filling_rate(variances, distortion):
        if distortion >= variances.sum():
            return torch.zeros((), dtype=variances.dtype) if not per_component else torch.zeros_like(variances)
        rates = half * log(variances / level(variances, float(distortion)))
        rates = rates.clamp(min=0) if clamp else rates
        return rates if per_component else rates.sum()
    return water_filling_rate


# -- lesson 8: the VR bound from log-weights --------------------------------------------

def _vr_answer(power=lambda a: 1 - a, scale=lambda a: 1 - a, minus_log_k=True, limit=True):
    def vr_estimate(log_weights, alpha):
        if alpha == 1 and limit:
            return log_weights.mean(0)
        k = log_weights.shape[0]
        return (torch.logsumexp(power(alpha) * log_weights, 0) - (math.log(k) if minus_log_k else 0.0)) / scale(alpha)
    return vr_estimate


def _vr_by_hand(log_w, a):                       # the largest weight factored out by hand, a loop over the examples
    if a == 1:
        return torch.stack([column.mean() for column in log_w.T])
    out = []
    for column in log_w.T:
        top = ((1 - a) * column).max()
        out.append((top + torch.log(torch.exp((1 - a) * column - top).mean())) / (1 - a))
    return torch.stack(out)


def _vr_numpy(log_weights, alpha):                # NumPy, the log-mean-exp written out with the largest term
    w = log_weights.numpy()
    if alpha == 1:
        return torch.from_numpy(w.mean(0))
    powered = (1 - alpha) * w
    top = powered.max(0)
    return torch.from_numpy((top + np.log(np.exp(powered - top).mean(0))) / (1 - alpha))


# -- lesson 6: the WAE-MMD loss -----------------------------------------------

def _imq_matrix(a, b, c):
    return c / (c + torch.cdist(a, b) ** 2)


def _wae_answer(unbiased=True, scale=lambda d: 2 * d, recon=lambda x, r: ((x - r) ** 2).flatten(1).sum(1).mean(),
                weight_mmd=True):
    def wae_mmd_loss(x, x_rec, z, z_prior, lam):
        c, n, m = scale(z.shape[1]), len(z), len(z_prior)
        kxx, kyy, kxy = _imq_matrix(z, z, c), _imq_matrix(z_prior, z_prior, c), _imq_matrix(z, z_prior, c)
        if unbiased:
            mmd = ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
                   + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())
        else:
            mmd = kxx.mean() + kyy.mean() - 2 * kxy.mean()
        cost = recon(x, x_rec)
        return cost + lam * mmd if weight_mmd else lam * cost + mmd
    return wae_mmd_loss


def _wae_with_course_mmd(x, x_rec, z, z_prior, lam):          # the course's own mmd2, and a loop for the cost
    cost = sum(((a - b) ** 2).sum() for a, b in zip(x, x_rec)) / len(x)
    return cost + lam * cl_mmd2(z, z_prior)



# -- lesson 3: the information estimate ---------------------------------------

def _info_pairs(mean, log_var, z):
    return torch.distributions.Normal(mean[None], (0.5 * log_var[None]).exp()).log_prob(z[:, None]).sum(-1)


def _info_answer(mean, log_var, z):
    pairs = _info_pairs(mean, log_var, z)
    return (pairs.diagonal() - torch.logsumexp(pairs, dim=1) + math.log(len(z))).mean()


def _info_loop(mean, log_var, z):                      # one sample at a time, the mean of densities by hand
    n, total = len(z), 0.0
    for i in range(n):
        log_q = torch.distributions.Normal(mean, (0.5 * log_var).exp()).log_prob(z[i]).sum(-1)     # (N,)
        top = log_q.max()
        total = total + log_q[i] - (top + torch.log(torch.exp(log_q - top).mean()))
    return total / n



# -- lesson 7: a flow's density -----------------------------------------------

def _flow_answer(x, inverses, base_log_prob):
    z, log_det = x, 0.0
    for inverse in reversed(inverses):
        z, step = inverse(z)
        log_det = log_det + step
    return base_log_prob(z) + log_det


def _flow_recursive(points, layers, base):             # the last layer first, by recursion
    if not layers:
        return base(points)
    previous, step = layers[-1](points)
    return _flow_recursive(previous, layers[:-1], base) + step


def _flow_indices(x, inverses, base_log_prob):         # index loop from K - 1 down, the log-dets stacked
    z, steps = x, []
    for k in range(len(inverses) - 1, -1, -1):
        z, step = inverses[k](z)
        steps.append(step)
    return base_log_prob(z) + torch.stack(steps).sum(0)

def lesson07_run_inverses(x, inverses):                # z from x, the log-dets dropped
    z = x
    for inverse in reversed(inverses):
        z, _ = inverse(z)
    return z



# -- lesson 4: the binned mutual information ---------------------------------

def _mi_answer(code, factor, bins, log=torch.log, edges=None, divide_by=None, marginals=True):
    bins = int(bins)
    lo, hi = (code.min(), code.max()) if edges is None else edges
    index = ((code - lo) / (hi - lo) * bins).floor().long().clamp(0, bins - 1)
    joint = torch.zeros(bins, int(factor.max()) + 1, dtype=torch.float64)
    joint.index_put_((index, factor.long()), torch.ones(len(code), dtype=torch.float64), accumulate=True)
    joint = joint / len(code)
    outer = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True) if marginals else torch.ones_like(joint)
    keep = joint > 0
    mi = (joint[keep] * log(joint[keep] / outer[keep])).sum()
    return mi if divide_by is None else mi / divide_by(joint.sum(0))


def _mi_numpy(code, factor, bins):                     # numpy's histograms, the entropies' difference
    import numpy as np
    edges = np.histogram_bin_edges(code.numpy(), int(bins))
    joint, _, _ = np.histogram2d(code.numpy(), factor.numpy(), bins=[edges, np.arange(int(factor.max()) + 2) - 0.5])
    p = joint / joint.sum()

    def h(q):
        q = q[q > 0]
        return -(q * np.log(q)).sum()
    return torch.tensor(h(p.sum(1)) + h(p.sum(0)) - h(p.ravel()))

# Each row: check -> (correct answers, wrong answers as (answer, words the hint must contain or None)).
TABLE = {
    lesson01.kl_standard_normal: (
        [_kl,
         lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1),
         _kl_loop,
         _kl_distributions],
        [(lambda mean, log_var: -_kl(mean, log_var), "sign"),
         (lambda mean, log_var: 2 * _kl(mean, log_var), "factor 1/2"),
         (lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).sum(0), "Check which axis"),
         (lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).mean(-1),
          "averaged over the latent dimensions"),
         (lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - log_var).sum(-1), "-1 inside the sum"),
         (lambda mean, log_var: 0.5 * ((0.5 * log_var).exp() + mean ** 2 - 1 - log_var).sum(-1), "standard deviation"),
         (lambda mean, log_var: 0.5 * (log_var.exp() + mean ** 2 - 1 + log_var).sum(-1), None),
         (lambda mean, log_var: _kl(mean, log_var).numpy(), "torch.Tensor")]),
    lesson01.reparameterize: (
        [lambda mean, log_var, eps: mean + torch.exp(0.5 * log_var) * eps,
         _reparam_sqrt,
         lambda mean, log_var, eps: torch.addcmul(mean, (log_var / 2).exp(), eps),
         lambda eps, mean, log_var: mean + (0.5 * log_var).exp() * eps],          # same names, another order
        [(lambda mean, log_var, eps: mean + log_var.exp() * eps, "variance"),
         (lambda mean, log_var, eps: mean + log_var * eps, "log_var itself"),
         (lambda mean, log_var, eps: (0.5 * log_var).exp() * eps, "mean is missing"),
         (lambda mean, log_var, eps: mean - (0.5 * log_var).exp() * eps, "subtracted"),
         (lambda mean, log_var, eps: mean.clone(), "does not depend on `eps`"),
         (lambda mean, log_var, eps: (mean + (0.5 * log_var).exp() * eps).detach(), "gradients cannot flow"),
         (_reparam_own_noise, "draw its own random numbers"),
         (_reparam_seeded_noise, "does not change when `eps` changes"),
         (lambda mean, log_var: mean, "3 inputs")]),
    lesson01.MyVAE: (
        [_vae_class(_enc, _dec), _VAEByHand,
         _vae_class(_Encoder, _dec)],
        [(_vae_class(lambda L, h: _enc(L, h, out=1), _dec), "2 * latent_dim"),
         (_vae_class(_enc, lambda L, h: _dec(L, h, tail=(nn.Sigmoid(),))), "sigmoid"),
         (_vae_class(lambda L, h: nn.Sequential(nn.Linear(784, h), nn.Linear(h, 2 * L)), _dec), "ReLU"),
         (_vae_class(lambda L, h: _enc(L, h, act=nn.Tanh), _dec), "ReLU"),
         (_vae_class(lambda L, h: _enc(L, 256), lambda L, h: _dec(L, 256)), "`hidden` argument"),
         (_NoAttributes, "self.encoder and self.decoder"),
         (_vae_class(_enc, lambda L, h: nn.Sequential(nn.Linear(L, h), nn.ReLU(), nn.Linear(h, 28))), "(5, 784)"),
         (_vae_class(_enc, _dec)(3, 24), "your class itself")]),
    lesson01.negative_elbo: (
        [_neg_elbo, _neg_elbo_distributions, _neg_elbo_sigmoid,
         lambda net, images, noise: _neg_elbo_variant(reduce=torch.sum)(net, images, noise) / len(images)],  # renamed
        [(_neg_elbo_variant(sign=-1.0), "the ELBO itself"),
         (_neg_elbo_variant(reduce=torch.sum), "summed over the batch"),
         (_neg_elbo_variant(kl=0.0), "KL term is missing"),
         (_neg_elbo_variant(sample=lambda m, lv, e: m), "mean alone"),
         (_neg_elbo_variant(sample=lambda m, lv, e: m + lv.exp() * e), "standard deviation"),
         (_neg_elbo_variant(recon_scale=1 / 784), "averaged over the 784 pixels"),
         (_neg_elbo_kl_mean, "averaged over the latent dimensions"),
         (_neg_elbo_probabilities_as_logits, "decoder gives logits"),
         (lambda model, x, eps: _neg_elbo_variant()(model, x, torch.randn_like(eps)), "draw its own random numbers"),
         (lambda model, x, eps: _neg_elbo(model, x, eps).reshape(1), "shape ()")]),
    lesson01.train_step: (
        [_step(), _step_noise_first, _step(returns=lambda loss: loss.detach())],
        [(_step(zero_grad=False), "zero_grad"),
         (_step(step=False), "optimizer.step()"),
         (_step(loss_sign=-1.0), "minimise the loss"),
         (_step(detach=True), "encoder did not"),
         (_step(returns=lambda loss: -loss.item()), "returns the ELBO"),
         (_step(noise=lambda m: torch.randn(m.shape[1]).expand_as(m)), "one number per example"),
         (_step(returns=lambda loss: "done"), "as a number")]),
    lesson08.vr_estimate: (
        [_vr_answer(), _vr_by_hand, _vr_numpy],
        [(lambda log_weights, alpha: log_weights.mean(0), "that is the ELBO, whatever α is"),
         (_vr_answer(scale=lambda a: 1.0), "still to be divided by 1 − α"),
         (_vr_answer(minus_log_k=False), "subtract log k"),
         (_vr_answer(power=lambda a: a), "not α"),
         (_vr_answer(scale=lambda a: a - 1), "the sign"),
         (lambda log_weights, alpha: torch.log(torch.exp((1 - alpha) * log_weights).mean(0)) / (1 - alpha)
          if alpha != 1 else log_weights.mean(0), "work in log space"),
         (_vr_answer(limit=False), "its limit, the mean of log w"),
         (lambda log_weights, alpha: _vr_answer(limit=False)(log_weights, float(alpha)) if alpha != 1
          else 1 / (1 - alpha), "ZeroDivisionError"),
         (lambda log_weights, alpha: _vr_answer()(log_weights.T, alpha), "shape (")]),
    lesson08.same_mode_rate: (
        [_same_mode_answer(_angle_mode), _same_mode_answer(_mode_by_centres),
         _same_mode_answer(_angle_mode, shares=_shares_loop),
         _same_mode_answer(lambda q: _angle_mode(q, swap=True))],     # mirrored labels: both shares permute alike
        [(_same_mode_answer(lambda q: _angle_mode(q, wrap=False), shares=_shares_loop), "modulo 8"),
         (_same_mode_answer(lambda q: _angle_mode(q, rounding=torch.floor)), "round"),
         (lambda x, x_back: _same_mode_answer(_angle_mode)(x, x_back) * torch.tensor([1.0, 0.0], dtype=torch.float64)
          + torch.tensor([0.0, 1 / 8], dtype=torch.float64), "1/8 only when"),
         (lambda x, x_back: _same_mode_answer(_angle_mode)(x, x) * torch.tensor([0.0, 1.0], dtype=torch.float64)
          + _same_mode_answer(_angle_mode)(x, x_back) * torch.tensor([1.0, 0.0], dtype=torch.float64),
          "not the x's with themselves"),
         (lambda x, x_back: torch.stack([((x - x_back).norm(dim=1) < 1).double().mean(),
                                         _same_mode_answer(_angle_mode)(x, x_back)[1]]), "near their own point"),
         (lambda x, x_back: _same_mode_answer(_angle_mode)(x, x_back) * torch.tensor([len(x), 1.0], dtype=torch.float64),
          "divide the count by n"),
         (lambda x, x_back: _same_mode_answer(_angle_mode)(x, x_back)[0], "shape (2,)")]),
    lesson06.wae_gan_losses: (
        [lambda prior_logits, code_logits, x, x_rec, lam: torch.stack([
            F.softplus(-prior_logits).mean() + F.softplus(code_logits).mean(),
            ((x - x_rec) ** 2).flatten(1).sum(1).mean() + lam * F.softplus(-code_logits).mean()]),
         lambda real, fake, images, rebuilt, weight: torch.stack([
            F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)),
            ((images - rebuilt) ** 2).sum((1, 2, 3)).mean() - weight * F.logsigmoid(fake).mean()]),
         lambda p, q, x, r, lam: torch.stack([-(torch.sigmoid(p).log().mean() + (1 - torch.sigmoid(q)).log().mean()),
                                              sum(((a - b) ** 2).sum() for a, b in zip(x, r)) / len(x)
                                              - lam * torch.sigmoid(q).log().mean()])],
        [(lambda p, q, x, r, lam: lesson06._wae_gan(p, q, x, r, lam, swap_labels=True), "labels are swapped"),
         (lambda p, q, x, r, lam: lesson06._wae_gan(p, q, x, r, lam, saturating=True), "saturating form"),
         (lambda p, q, x, r, lam: lesson06._wae_gan(p, q, x, r, lam, critic=True), "Wasserstein critic"),
         (lambda p, q, x, r, lam: lesson06._wae_gan(p, q, x, r, lam, lam_on="reconstruction"),
          "λ weighs the adversarial term"),
         (lambda p, q, x, r, lam: lesson06._wae_gan(p, q, x, r, lam, recon=lambda a, b: ((a - b) ** 2).mean()),
          "summed over an image's pixels"),
         (lambda p, q, x, r, lam: lesson06._wae_gan(p, q, x, r, lam, fool_on="prior"), "with its *codes*"),
         (lambda p, q, x, r, lam: lesson06._wae_gan(p, q, x, r, lam).flip(0), "discriminator's loss first"),
         (lambda p, q, x, r, lam: lesson06._wae_gan(p, q, x, r, lam).sum(), "shape (2,)")]),
    lesson06.wae_mmd_loss: (
        [_wae_answer(), _wae_with_course_mmd,
         lambda images, rebuilt, codes, prior, weight: _wae_answer()(images.float(), rebuilt.float(), codes, prior,
                                                                      weight)],
        [(_wae_answer(unbiased=False), "V-statistic"),
         (_wae_answer(scale=lambda d: d), "C = 2d"),
         (_wae_answer(recon=lambda x, r: ((x - r) ** 2).mean()), "averaged over the pixels"),
         (_wae_answer(weight_mmd=False), "λ weighs the reconstruction"),
         (_wae_answer(recon=lambda x, r: ((x - r) ** 2).sum()), "summed over the batch"),
         (_wae_answer(recon=lambda x, r: ((x - r) ** 2).flatten(1).sum(1).sqrt().mean()), "not its square"),
         (lambda x, x_rec, z, z_prior, lam: _wae_answer()(x, x_rec, z, z_prior, lam).reshape(1), "shape ()")]),
    lesson01.linear_gaussian_posterior: (
        [lambda W, b, sigma2, x: lesson01._posterior(W, b, sigma2, x),
         _posterior_by_solving,
         lambda loadings, offset, noise, obs: _posterior_by_solving(loadings.float(), offset.float(), noise, obs.float())],
        [(lambda W, b, s, x: lesson01._posterior(W, b, s, x, prior=False), "adds I to the precision"),
         (lambda W, b, s, x: lesson01._posterior(W, b, s, x, offset=False), "the offset b"),
         (lambda W, b, s, x: lesson01._posterior(W, b, s, x, scale=math.sqrt), "square root"),
         (lambda W, b, s, x: lesson01._posterior(W, b, s, x, with_cov=False), "the factor Σ is missing"),
         (lambda W, b, s, x: lesson01._posterior(W, b, s, x, precision_out=True), "its inverse, the covariance"),
         (lambda W, b, s, x: lesson01._posterior(W, b, s, x)[1:], "shape (")]),
    lesson04.entry_capacities: (
        [lambda shares, capacities: torch.where((shares >= 0.5).any(0), torch.where(
            shares >= 0.5, capacities[:, None], torch.full_like(shares, float("inf"))).min(0).values,
            torch.full_like(shares[0], float("inf"))),
         lambda s, c: torch.tensor([min([float(ci) for ci, si in zip(c, s[:, k]) if si >= 0.5], default=math.inf)
                                    for k in range(s.shape[1])], dtype=torch.float64),
         lambda shares, capacities: _entry_sorted(shares, capacities)],
        [(lambda s, c: lesson04._entry(s, c, strict=True), "counts (>= 0.5"),
         (lambda s, c: lesson04._entry(s, c, pick="index"), "not the position"),
         (lambda s, c: lesson04._entry(s, c, pick="first row"), "not in order"),
         (lambda s, c: lesson04._entry(s, c, pick="largest"), "*smallest*"),
         (lambda s, c: lesson04._entry(s, c, pick="first row", sort_first=True), "not the rows"),
         (lambda s, c: lesson04._entry(s, c).nan_to_num(posinf=-1.0), None),
         (lambda s, c: lesson04._entry(s, c).nan_to_num(posinf=float("nan")), "expected inf, got nan"),
         (lambda s, c: lesson04._entry(s, c) + torch.tensor([1.0, 0, 0, 0, 0], dtype=torch.float64),
          "at position 0 expected 2, got 3")]),
    lesson05.ladder_kl: (
        [_ladder(), _ladder_with_distributions,
         lambda m1, lv1, m2, lv2, e1, e2, prior: lesson05._ladder_kl(m1.float(), lv1.float(), m2.float(), lv2.float(),
                                                                    e1.float(), e2.float(), prior)],
        [(_ladder(merge=False), "bottom-up Gaussian alone"),
         (_ladder(precision=False), "precision"),
         (_ladder(level_1_against="standard"), "not to N(0, I)"),
         (_ladder(merge_top=True), "nothing above it"),
         (lambda m1, lv1, m2, lv2, e1, e2, prior: _ladder()(m1, lv1, m2, lv2, e1, e2, prior).sum(), "shape (")]),
    lesson05.free_bits_penalty: (
        [lambda kl_per_level, free_bits: torch.clamp(kl_per_level.mean(0), min=free_bits).sum(),
         lambda kl, lam: torch.maximum(kl.mean(dim=0), lam * torch.ones(kl.shape[1], dtype=kl.dtype)).sum(),
         lambda kl, lam: sum(max(float(kl[:, l].mean()), float(lam)) for l in range(kl.shape[1])) * torch.ones(()),
         lambda kl, lam: (kl.mean(0) + torch.relu(lam - kl.mean(0))).sum()],
        [(lambda kl, lam: torch.clamp(kl, min=lam).mean(0).sum(), "before averaging"),
         (lambda kl, lam: torch.clamp(kl.mean(0).sum(), min=lam), "per level"),
         (lambda kl, lam: torch.clamp(kl.mean(0), max=lam).sum(), "at least free_bits"),
         (lambda kl, lam: torch.clamp(kl.sum(0), min=lam).sum(), "summed over the examples"),
         (lambda kl, lam: torch.clamp(kl.mean(0), min=lam).mean(), "you averaged them"),
         (lambda kl, lam: torch.relu(kl.mean(0) - lam).sum(), "hinge form"),
         (lambda kl, lam: kl.mean(0).sum(), None)]),
    lesson02.relaxed_one_hot: (
        [_gumbel_answer(), _gumbel_by_hand, _gumbel_numpy,
         lambda z, u, t: torch.softmax((torch.log_softmax(z, 1) - torch.log(-torch.log(u))) / t, 1)],
        [(_gumbel_answer(noise=lambda u: u), "the uniform draws are not the noise"),
         (_gumbel_answer(noise=lambda u: -torch.log(u)), "exponential noise"),
         (_gumbel_answer(noise=lambda u: torch.log(-torch.log(u))), "the sign of the Gumbel noise"),
         (_gumbel_answer(divide_all=False), "not the noise alone"),
         (_gumbel_answer(power=1), "divide by τ"),
         (_gumbel_answer(probabilities=True), "not to the probabilities"),
         (_gumbel_answer(dim=0), "the last axis"),
         (lambda logits, uniform, temperature: torch.nn.functional.one_hot(
             (logits - torch.log(-torch.log(uniform))).argmax(-1), logits.shape[-1]).double(), "without a gradient"),
         (lambda logits, uniform, temperature: torch.nn.functional.one_hot(
             (logits - torch.log(-torch.log(uniform))).argmax(-1), logits.shape[-1]), "dtype"),
         (lambda logits, uniform, temperature: _gumbel_answer()(logits, torch.rand_like(uniform), temperature),
          "the `uniform` it is given"),
         (lambda logits, uniform, temperature: torch.softmax(logits / temperature, -1), "`uniform`")]),
    lesson03.water_filling_rate: (
        [_water_by_sorting, _water_by_bisection,
         lambda variances, distortion: torch.tensor(gaussian_rate_distortion(variances, distortion), dtype=torch.float64)],
        [(_water_answer(level=lambda v, d: d / len(v)), "shared the distortion equally"),
         (_water_answer(clamp=False), "costs no rate"),
         (_water_answer(log=torch.log2), "in bits"),
         (_water_answer(half=1.0), "the ½ is missing"),
         (_water_answer(level=lesson03._level_uncapped), "no room left"),
         (_water_answer(per_component=True), "shape ()")]),
    lesson03.information_estimate: (
        [_info_answer, _info_loop,
         lambda mu, logvar, samples: _info_answer(mu.float(), logvar.float(), samples.float())],
        [(lambda mean, log_var, z: _info_answer(mean, log_var, z) - math.log(len(z)), "subtract log N"),
         (lambda mean, log_var, z: (_info_pairs(mean, log_var, z).diagonal()
                                    - _info_pairs(mean, log_var, z).mean(1)).mean(), "averaged the log-densities"),
         (lambda mean, log_var, z: (_info_pairs(mean, log_var, z).diagonal() - torch.logsumexp(
             _info_pairs(mean, log_var, z).masked_fill(torch.eye(len(z), dtype=torch.bool), -math.inf), 1)
                                    + math.log(len(z) - 1)).mean(), "own included"),
         (lambda mean, log_var, z: (_info_pairs(mean, log_var, z).diagonal()
                                    - torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)).mean(), "not with the prior"),
         (lambda mean, log_var, z: _info_answer(mean, 0.5 * log_var, z), "standard deviation"),    # var = exp(log_var / 2)
         (lambda mean, log_var, z: (_info_pairs(mean, log_var, z).diagonal() - torch.logsumexp(
             _info_pairs(mean, log_var, z), 0) + math.log(len(z))).mean(), "second axis")]),
    lesson07.bits_per_dimension: (
        [lambda log_density, dims: (-log_density / dims + math.log(256)) / math.log(2),
         lambda lp, d: -(lp - d * math.log(256)) / d / math.log(2),
         lambda lp, d: torch.log2(torch.exp(-lp / d) * 256),
         lambda lp, d: torch.stack([(-v + d * math.log(256)) / (d * math.log(2)) for v in lp])],
        [(lambda lp, d: -lp / (d * math.log(2)), "cell of volume"),
         (lambda lp, d: (-lp + d * math.log(256)) / d, "divide by log 2"),
         (lambda lp, d: (-lp + d * math.log(256)) / math.log(2), "per pixel"),
         (lambda lp, d: (lp + d * math.log(256)) / (d * math.log(2)), "minus sign"),
         (lambda lp, d: (-lp + d * math.log(255)) / (d * math.log(2)), "1/255"),
         (lambda lp, d: ((-lp + d * math.log(256)) / (d * math.log(2))).mean(), "shape (")]),
    lesson07.flow_log_density: (
        [_flow_answer, _flow_recursive, _flow_indices],
        [(lambda x, inverses, base: _flow_answer(x, inverses[::-1], base), "wrong order"),
         (lambda x, inverses, base: 2 * base(lesson07_run_inverses(x, inverses)) - _flow_answer(x, inverses, base),
          "added, not subtracted"),
         (lambda x, inverses, base: base(x) + _flow_answer(x, inverses, lambda z: torch.zeros(len(z), dtype=z.dtype)),
          "evaluated at x"),
         (lambda x, inverses, base: base(lesson07_run_inverses(x, inverses)) + inverses[-1](x)[1], "only one layer"),
         (lambda x, inverses, base: _flow_answer(x, inverses, lambda z: torch.zeros(len(z), dtype=z.dtype)),
          "base log-density is missing"),
         (lambda x, inverses, base: _flow_answer(x, inverses, base).unsqueeze(1), "shape (")]),
    lesson04.binned_mutual_information: (
        [_mi_answer, _mi_numpy, lambda latent, labels, n_bins: _mi_answer(latent.float(), labels, n_bins)],
        [(lambda code, factor, bins: _mi_answer(code, factor, bins, log=torch.log2), "bits"),
         (lambda code, factor, bins: _mi_answer(code, factor, bins, divide_by=lambda p: -(p[p > 0] * p[p > 0].log()).sum()),
          "MIG's normalisation"),
         (lambda code, factor, bins: _mi_answer(code, factor, bins, edges=(-3.0, 3.0)), "fixed range"),
         (lambda code, factor, bins: _mi_answer(code, factor, bins, marginals=False), "marginals are missing"),
         (lambda code, factor, bins: -_mi_answer(code, factor, bins), "upside down"),
         (lambda code, factor, bins: _mi_numpy(code, factor, int(bins) * 2), None),
         (lambda code, factor, bins: _mi_answer(code, factor, bins).reshape(1), "shape ()")]),
    lesson02.score_function_surrogate: (
        [lambda log_q, f_values, baseline: ((f_values.detach() - baseline) * log_q).mean(),
         lambda lq, fv, b: torch.mean(lq * (fv - b).detach()),
         lambda log_q, f_values, baseline: (log_q * (f_values.detach() - baseline)).sum() / len(log_q)],
        [(lambda log_q, f_values, baseline: ((f_values - baseline) * log_q).mean(), "f_values.detach()"),
         (lambda log_q, f_values, baseline: (f_values.detach() * log_q).mean(), "baseline is missing"),
         (lambda log_q, f_values, baseline: -((f_values.detach() - baseline) * log_q).mean(), "other way"),
         (lambda log_q, f_values, baseline: ((f_values.detach() - baseline) * log_q).sum(), "summed over the samples"),
         (lambda log_q, f_values, baseline: ((f_values.detach() - baseline) * log_q.exp()).mean(), "not of q"),
         (lambda log_q, f_values, baseline: (f_values.detach() - baseline).mean(), "build the surrogate from log_q"),
         (lambda log_q, f_values, baseline: (f_values.detach() - baseline) * log_q, "one number")]),
    lesson01.iwae_bound: (
        [lambda log_weights: torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0]),
         _iwae_by_hand,
         lambda w: torch.logsumexp(w - math.log(len(w)), 0),
         lambda w: torch.logsumexp(w.float(), 0) - torch.log(torch.tensor(float(w.shape[0])))],
        [(lambda log_weights: log_weights.mean(0), "ELBO"),
         (lambda log_weights: torch.logsumexp(log_weights, 0), "-log k"),
         (lambda log_weights: torch.log(log_weights.exp().mean(0)), "log space"),
         (lambda log_weights: torch.logsumexp(log_weights, 1) - math.log(log_weights.shape[1]), "Check which axis"),
         (lambda log_weights: torch.logsumexp(log_weights, 0) / log_weights.shape[0], "divided"),
         (lambda log_weights: log_weights.max(0).values, "largest log-weight"),
         (lambda log_weights: torch.logsumexp(log_weights, 0) - log_weights.shape[0], "instead of log k")]),
    lesson02.gaussian_score: (
        [lambda z, mean, log_std: torch.stack([(z - mean) / torch.exp(2 * log_std),
                                               (z - mean) ** 2 / torch.exp(2 * log_std) - 1], dim=-1),
         _score_math,
         _score_autograd,
         lambda z, mean, log_std: torch.stack([(z - mean) * torch.exp(-2 * log_std),
                                               torch.square((z - mean) * torch.exp(-log_std)) - 1]).T.float()],
        [(lambda z, mean, log_std: torch.stack([(z - mean) / math.exp(log_std),
                                                (z - mean) ** 2 / math.exp(2 * log_std) - 1], -1), "variance"),
         (lambda z, mean, log_std: torch.stack([(mean - z) / math.exp(2 * log_std),
                                                1 - (z - mean) ** 2 / math.exp(2 * log_std)], -1), "signs"),
         (lambda z, mean, log_std: torch.stack([(z - mean) / math.exp(2 * log_std),
                                                (z - mean) ** 2 / math.exp(2 * log_std)], -1), "-1"),
         (lambda z, mean, log_std: torch.stack([(z - mean) ** 2 / math.exp(2 * log_std) - 1,
                                                (z - mean) / math.exp(2 * log_std)], -1), "swapped"),
         (lambda z, mean, log_std: torch.stack([(z - mean) / math.exp(2 * log_std),
                                                (z - mean) ** 2 / math.exp(3 * log_std) - math.exp(-log_std)], -1),
          "derivative in sigma"),
         (lambda z, mean, log_std: torch.stack([(z - mean) / math.exp(2 * log_std),
                                                (z - mean) ** 2 / math.exp(2 * log_std) - 1], 0), "shape")]),
    lesson02.reinforce_with_baseline: (
        [lambda f_values, scores, baseline: ((f_values - baseline).unsqueeze(-1) * scores).mean(dim=0),
         lambda f, s, b: (f - b) @ s / len(f),
         lambda f, s, b: torch.einsum("n,nk->k", f - b, s) / f.shape[0],
         lambda f, s, b: (f[:, None] * s).mean(0) - b * s.mean(0)],
        [(lambda f_values, scores, baseline: (f_values.unsqueeze(-1) * scores).mean(0), "not subtracted"),
         (lambda f_values, scores, baseline: ((f_values + baseline).unsqueeze(-1) * scores).mean(0), "added"),
         (lambda f_values, scores, baseline: ((f_values - baseline).unsqueeze(-1) * scores).sum(0), "summed"),
         (lambda f_values, scores, baseline: ((f_values - baseline).unsqueeze(-1) * scores).mean(1),
          "Check which axis"),
         (lambda f_values, scores, baseline: (f_values - baseline).mean() * scores.mean(0), "product of two averages"),
         (lambda f_values, scores, baseline: ((f_values - baseline).unsqueeze(-1) * scores).mean(0).tolist(),
          "torch.Tensor")]),
    lesson02.pathwise_gradient: (
        [_pathwise_as_in_the_solution,
         _pathwise_two_leaves,
         _pathwise_float32,
         _pathwise_chain_rule_by_hand],
        [(lambda f, mean, log_std, eps: torch.zeros(2, dtype=torch.float64), "zero"),
         (_pathwise_d_sigma, "d/dlog_sigma = sigma * d/dsigma"),
         (lambda f, mean, log_std, eps: _pathwise_two_leaves(f, mean, log_std, eps) * len(eps), "sum"),
         (lambda f, mean, log_std, eps: -_pathwise_two_leaves(f, mean, log_std, eps), "signs"),
         (_pathwise_own_noise, "draw its own random numbers"),
         (lambda f, mean, log_std, eps: _pathwise_two_leaves(f, mean, log_std, eps)[:1], "shape")]),
    lesson03.rate_and_distortion: (
        [lambda mean, log_var, log_px_given_z: torch.stack([
            (0.5 * (log_var.exp() + mean ** 2 - 1 - log_var)).sum(1).mean(), -log_px_given_z.mean()]),
         _rd_distributions,
         _rd_loop,
         lambda m, lv, lp: torch.cat([(-0.5 * (1 + lv - m ** 2 - lv.exp())).sum(-1).mean().reshape(1),
                                      (-lp).mean().reshape(1)])],
        [(lambda mean, log_var, log_px_given_z: torch.stack([_kl(mean, log_var).mean(), log_px_given_z.mean()]),
          "wrong sign"),
         (lambda mean, log_var, log_px_given_z: torch.stack([_kl(mean, log_var).sum(), -log_px_given_z.sum()]),
          "summed over the batch"),
         (lambda mean, log_var, log_px_given_z: torch.stack([_kl(mean, log_var).mean() / mean.shape[1],
                                                             -log_px_given_z.mean()]), "averaged over the latent"),
         (lambda mean, log_var, log_px_given_z: torch.stack([2 * _kl(mean, log_var).mean(), -log_px_given_z.mean()]),
          "factor 1/2"),
         (lambda mean, log_var, log_px_given_z: torch.stack([-log_px_given_z.mean(), _kl(mean, log_var).mean()]),
          "wrong order"),
         (lambda mean, log_var, log_px_given_z: torch.stack([_kl(mean, log_var), -log_px_given_z]), "shape"),
         (lambda mean, log_var, log_px_given_z: torch.stack([_kl(mean, log_var).mean(), -log_px_given_z.max()]),
          None)]),
    lesson03.active_units: (
        [lambda means, threshold: means.var(dim=0) > threshold,
         lambda m, t: torch.var(m, 0, correction=0) > t,
         lambda m, t: ((m - m.mean(0)) ** 2).mean(0) > t,
         lambda means, threshold: torch.tensor([bool(means[:, u].var() > threshold) for u in range(means.shape[1])])],
        [(lambda means, threshold: means.var(dim=1) > threshold, "shape"),
         (lambda means, threshold: means.std(dim=0) > threshold, "standard deviation"),
         (lambda means, threshold: means.mean(dim=0).abs() > threshold, "average posterior mean"),
         (lambda means, threshold: means.var(dim=0) < threshold, "wrong way round"),
         (lambda means, threshold: (means.var(dim=0) > threshold).sum(), "booleans"),
         (lambda means, threshold: means.var(dim=0), "booleans")]),
    lesson03.select_model: (
        [lambda rate, distortion, lam: torch.argmin(distortion + lam * rate),
         _select_by_loop,
         lambda r, d, lam: (d + lam * r).argmin(dim=0),
         lambda r, d, lam: torch.sort(d + lam * r).indices[0]],
        [(lambda rate, distortion, lam: torch.argmax(distortion + lam * rate), "LOWEST"),
         (lambda rate, distortion, lam: torch.argmin(lam * distortion + rate), "price of a nat"),
         (lambda rate, distortion, lam: torch.argmin(distortion - lam * rate), "subtracted"),
         (lambda rate, distortion, lam: torch.argmin(distortion), "rate term is missing"),
         (lambda rate, distortion, lam: (distortion + lam * rate).min(), "whole numbers")]),
    lesson04.capacity_objective: (
        [lambda distortion, rate, gamma, capacity: distortion + gamma * torch.abs(rate - capacity),
         _capacity_by_cases,
         lambda D, R, g, C: D + g * torch.sqrt((R - C) ** 2),
         lambda D, R, g, C: (D + g * (R - C).abs()).float()],
        [(lambda distortion, rate, gamma, capacity: distortion + gamma * (rate - capacity), "absolute value"),
         (lambda distortion, rate, gamma, capacity: gamma * distortion + (rate - capacity).abs(), "multiplies the distortion"),
         (lambda distortion, rate, gamma, capacity: distortion + gamma * rate, "target C is missing"),
         (lambda distortion, rate, gamma, capacity: distortion + gamma * (rate - capacity) ** 2, "squared"),
         (lambda distortion, rate, gamma, capacity: distortion - gamma * (rate - capacity).abs(), None),
         (lambda distortion, rate, gamma, capacity: torch.stack([distortion, gamma * (rate - capacity).abs()]),
          "shape")]),
    lesson04.mig: (
        [lambda mi, entropies: ((torch.sort(mi, 0, descending=True).values[0]
                                 - torch.sort(mi, 0, descending=True).values[1]) / entropies).mean(),
         _mig_loop,
         _mig_topk,
         lambda m, h: ((m.T.sort(1).values[:, -1] - m.T.sort(1).values[:, -2]) / h).sum() / len(h)],
        [(lambda mi, entropies: (torch.topk(mi, 2, 0).values[0] - torch.topk(mi, 2, 0).values[1]).mean(),
          "not divided"),
         (lambda mi, entropies: ((torch.topk(mi, 2, 1).values[:, 0] - torch.topk(mi, 2, 1).values[:, 1]).mean()
                                 / entropies.mean()), "dim=0"),
         (lambda mi, entropies: ((mi.max(0).values - mi.min(0).values) / entropies).mean(), "worst"),
         (lambda mi, entropies: (mi.max(0).values / entropies).mean(), "share only"),
         (lambda mi, entropies: ((torch.topk(mi, 2, 0).values[0] - torch.topk(mi, 2, 0).values[1])
                                 / entropies).sum(), "summed"),
         (lambda mi, entropies: (torch.topk(mi, 2, 0).values[0] - torch.topk(mi, 2, 0).values[1]) / entropies,
          "shape")]),
    lesson04.pi_beta: (
        [lambda kl, set_point, error_sum, kp, ki, beta_min: (
            kp / (1 + torch.exp(set_point - kl)) - ki * (error_sum + set_point - kl) + beta_min),
         _pi_sigmoid,
         lambda KL, target, s, p, i, b0: b0 + p / (1.0 + (target - KL).exp()) - i * (s + (target - KL)),
         lambda kl, set_point, error_sum, kp, ki, beta_min: (
             kp.float() / (1 + torch.exp(set_point.float() - kl.float())) - ki * (error_sum + set_point - kl)
             + beta_min)],
        [(lambda kl, set_point, error_sum, kp, ki, beta_min: (
            kp / (1 + torch.exp(kl - set_point)) - ki * (error_sum + kl - set_point) + beta_min), "wrong sign"),
         (lambda kl, set_point, error_sum, kp, ki, beta_min: (
             kp / (1 + torch.exp(set_point - kl)) - ki * error_sum + beta_min), "current error is missing"),
         (lambda kl, set_point, error_sum, kp, ki, beta_min: (
             kp / (1 + torch.exp(set_point - kl)) + ki * (error_sum + set_point - kl) + beta_min), "is added"),
         (lambda kl, set_point, error_sum, kp, ki, beta_min: (
             kp * (set_point - kl) - ki * (error_sum + set_point - kl) + beta_min), "sigmoid"),
         (lambda kl, set_point, error_sum, kp, ki, beta_min: (
             kp / (1 + torch.exp(set_point - kl)) - ki * (error_sum + set_point - kl)), "beta_min"),
         (lambda kl, set_point, error_sum, kp, ki, beta_min: kp / torch.exp(set_point - kl), None)]),
    lesson05.merge_mean: (
        [lambda mean_1, var_1, mean_2, var_2: (mean_1 / var_1 + mean_2 / var_2) / (1 / var_1 + 1 / var_2),
         lambda m1, v1, m2, v2: m1 * torch.sigmoid(torch.log(v2) - torch.log(v1))
         + m2 * torch.sigmoid(torch.log(v1) - torch.log(v2)),
         lambda m1, v1, m2, v2: (m1 * v2 + m2 * v1) / (v1 + v2),
         lambda m1, v1, m2, v2: m2 + (m1 - m2) * v2 / (v1 + v2)],
        [(lambda m1, v1, m2, v2: (m1 + m2) / 2, "plain average"),
         (lambda m1, v1, m2, v2: (m1 * v1 + m2 * v2) / (v1 + v2), "swapped"),
         (lambda m1, v1, m2, v2: m1 / v1 + m2 / v2, "normalization"),
         (lambda m1, v1, m2, v2: (m1 / v1.sqrt() + m2 / v2.sqrt()) / (1 / v1.sqrt() + 1 / v2.sqrt()), "std"),
         (lambda m1, v1, m2, v2: (m1 * v1 + m2 * v2) / (1 / v1 + 1 / v2), "merged variance"),
         (lambda m1, v1, m2, v2: ((m1 / v1 + m2 / v2) / (1 / v1 + 1 / v2)).sum(), "shape")]),
    lesson05.level_kl: (
        [lambda mean_q, var_q, mean_p, var_p: 0.5 * (torch.log(var_p / var_q)
                                                     + (var_q + (mean_q - mean_p) ** 2) / var_p - 1).sum(-1),
         lambda mq, vq, mp, vp: torch.distributions.kl_divergence(
             torch.distributions.Normal(mq, vq.sqrt()), torch.distributions.Normal(mp, vp.sqrt())).sum(1),
         lambda mq, vq, mp, vp: (torch.log(vp.sqrt()) - torch.log(vq.sqrt())
                                 + (vq + (mq - mp) ** 2) / (2 * vp) - 0.5).sum(dim=1),
         lambda mq, vq, mp, vp: 0.5 * ((vq / vp).sum(-1) + ((mq - mp) ** 2 / vp).sum(-1) - mq.shape[-1]
                                       + torch.log(vp).sum(-1) - torch.log(vq).sum(-1))],
        [(lambda mq, vq, mp, vp: 0.5 * (torch.log(vq / vp) + (vp + (mq - mp) ** 2) / vq - 1).sum(-1),
          "other direction"),
         (lambda mq, vq, mp, vp: 0.5 * (vq + mq ** 2 - 1 - torch.log(vq)).sum(-1), "standard normal"),
         (lambda mq, vq, mp, vp: (torch.log(vp / vq) + (vq + (mq - mp) ** 2) / vp - 1).sum(-1), "1/2"),
         (lambda mq, vq, mp, vp: 0.5 * (torch.log(vq / vp) + (vq + (mq - mp) ** 2) / vp - 1).sum(-1), "sign"),
         (lambda mq, vq, mp, vp: 0.5 * (torch.log(vp / vq) + (vq + (mq - mp) ** 2) / vp).sum(-1), "- 1"),
         (lambda mq, vq, mp, vp: 0.5 * (torch.log(vp / vq) + (vq + (mq - mp) ** 2) / vp - 1), "shape")]),
    lesson05.input_gradient: (
        [lambda upstream, jacobian: upstream @ (torch.eye(len(upstream), dtype=upstream.dtype) + jacobian),
         lambda g, J: g + g @ J,
         lambda g, J: (J.T @ g) + g,
         lambda g, J: torch.einsum("i,ij->j", g, J) + g],
        [(lambda g, J: g @ J, "identity is missing"),
         (lambda g, J: g @ (torch.eye(len(g), dtype=g.dtype) + J.T), "transpose"),
         (lambda g, J: g @ (1 + J), "not 1 added"),
         (lambda g, J: g * (1 + J.diagonal()), "elementwise"),
         (lambda g, J: g @ J - g, "minus sign"),
         (lambda g, J: (g @ (torch.eye(len(g), dtype=g.dtype) + J)).sum(), "shape")]),
    lesson06.imq_kernel: (
        [lambda x, y, scale: scale / (scale + ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)),
         lambda x, y, C: C / (C + torch.cdist(x, y) ** 2),
         lambda x, y, C: 1 / (1 + ((x.unsqueeze(1) - y.unsqueeze(0)) ** 2).sum(2) / C),
         lambda x, y, C: C / (C + (x ** 2).sum(1, keepdim=True) + (y ** 2).sum(1) - 2 * x @ y.T)],
        [(lambda x, y, C: C / (C + torch.cdist(x, y)), "not squared"),
         (lambda x, y, C: C / torch.cdist(x, y) ** 2, "finite"),
         (lambda x, y, C: torch.exp(-torch.cdist(x, y) ** 2 / C), "Gaussian"),
         (lambda x, y, C: C / (C + ((x - y) ** 2).sum(-1)), "shape (3, 3)"),
         (lambda x, y, C: C / (C + torch.cdist(x, y)) ** 2, "belongs to the distance"),
         (lambda x, y, C: C / (C + torch.cdist(x, y).T ** 2), "shape")]),
    lesson06.mmd2_unbiased: (
        [lambda k_xx, k_yy, k_xy: ((k_xx.sum() - k_xx.diagonal().sum()) / (len(k_xx) * (len(k_xx) - 1))
                                   + (k_yy.sum() - k_yy.diagonal().sum()) / (len(k_yy) * (len(k_yy) - 1))
                                   - 2 * k_xy.mean()),
         lambda a, b, c: ((a * (1 - torch.eye(len(a), dtype=a.dtype))).sum() / (len(a) ** 2 - len(a))
                          + (b * (1 - torch.eye(len(b), dtype=b.dtype))).sum() / (len(b) ** 2 - len(b))
                          - 2 * c.sum() / c.numel()),
         lambda a, b, c: (a.fill_diagonal_(0).sum() / (len(a) * (len(a) - 1))
                          + b.fill_diagonal_(0).sum() / (len(b) * (len(b) - 1)) - 2 * c.mean()),
         lambda a, b, c: (a.sum() - a.trace()) / (len(a) * (len(a) - 1)) + (b.sum() - b.trace()) / (len(b) * (len(b) - 1))
         - c.mean() * 2],
        [(lambda a, b, c: a.sum() / (len(a) * (len(a) - 1)) + b.sum() / (len(b) * (len(b) - 1)) - 2 * c.mean(),
          "diagonal"),
         (lambda a, b, c: a.mean() + b.mean() - 2 * c.mean(), "V-statistic"),
         (lambda a, b, c: (a.sum() - a.trace()) / len(a) ** 2 + (b.sum() - b.trace()) / len(b) ** 2 - 2 * c.mean(),
          "n(n - 1) pairs"),
         (lambda a, b, c: (a.sum() - a.trace()) / (len(a) * (len(a) - 1)) + (b.sum() - b.trace())
          / (len(b) * (len(b) - 1)) - c.mean(), "factor 2"),
         (lambda a, b, c: (a.sum() - a.trace()) / (len(a) * (len(a) - 1)) + (b.sum() - b.trace())
          / (len(b) * (len(b) - 1)) + 2 * c.mean(), "subtracted"),
         (lambda a, b, c: torch.stack([a.mean(), b.mean(), c.mean()]), "shape")]),
    lesson06.mmd2_biased: (
        [lambda k_xx, k_yy, k_xy: k_xx.mean() + k_yy.mean() - 2 * k_xy.mean(),
         lambda a, b, c: a.sum() / a.numel() + b.sum() / b.numel() - 2 * c.sum() / c.numel(),
         lambda a, b, c: torch.mean(a) - 2 * torch.mean(c) + torch.mean(b),
         lambda a, b, c: (a.mean() + b.mean() - 2 * c.mean()).float()],
        [(lambda a, b, c: (a.sum() - a.trace()) / (len(a) * (len(a) - 1)) + (b.sum() - b.trace())
          / (len(b) * (len(b) - 1)) - 2 * c.mean(), "U-statistic"),
         (lambda a, b, c: a.mean() + b.mean() - c.mean(), "factor 2"),
         (lambda a, b, c: a.mean() + b.mean() + 2 * c.mean(), "subtracted"),
         (lambda a, b, c: (a.mean() + b.mean() - 2 * c.mean()).clamp(min=0).sqrt(), "square root"),
         (lambda a, b, c: a.sum() + b.sum() - 2 * c.sum(), "averaging"),
         (lambda a, b, c: a.mean(0) + b.mean() - 2 * c.mean(), "shape")]),
    lesson07.planar_log_det: (
        [lambda z, u, w, b: torch.log((1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)).abs()),
         lambda z, u, w, b: torch.log(torch.abs(1 + ((1 - torch.tanh(z @ w + b) ** 2)[:, None] * w) @ u)),
         lambda z, u, w, b: torch.log(torch.abs(1 + (w * u).sum() / torch.cosh(z @ w + b) ** 2)),
         lambda x, u_hat, weight, bias: torch.log(torch.abs(
             1 + torch.autograd.functional.jacobian(torch.tanh, x @ weight + bias).diagonal() * torch.dot(weight, u_hat)))],
        [(lambda z, u, w, b: torch.log((1 + torch.tanh(z @ w + b) * (w @ u)).abs()), "derivative"),
         (lambda z, u, w, b: torch.log(((1 - torch.tanh(z @ w + b) ** 2) * (w @ u)).abs()), "the 1"),
         (lambda z, u, w, b: (1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)).abs(), "not the determinant"),
         (lambda z, u, w, b: torch.log((1 - (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)).abs()), "plus"),
         (lambda z, u, w, b: torch.log((1 + (1 - torch.tanh(z @ w) ** 2) * (w @ u)).abs()), "bias"),
         (lambda z, u, w, b: torch.log((1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)).abs()).sum(), "shape")]),
    lesson07.coupling_forward: (
        [lambda x, mask, log_scale, shift: mask * x + (1 - mask) * (x * torch.exp(log_scale) + shift),
         lambda x, b, s, t: torch.where(b.bool(), x, x * s.exp() + t),
         lambda x, b, s, t: b * x + (1 - b) * x * torch.exp(s) + (1 - b) * t,
         lambda x, b, s, t: (x * torch.exp((1 - b) * s) + (1 - b) * t).float()],
        [(lambda x, b, s, t: (1 - b) * x + b * (x * torch.exp(s) + t), "swapped"),
         (lambda x, b, s, t: b * x + (1 - b) * (x * s + t), "exp(log_scale)"),
         (lambda x, b, s, t: b * x + (1 - b) * ((x + t) * torch.exp(s)), "scale first"),
         (lambda x, b, s, t: x * torch.exp(s) + t, "pass through"),
         (lambda x, b, s, t: b * x + (1 - b) * ((x - t) * torch.exp(-s)), "inverse"),
         (lambda x, b, s, t: (b * x + (1 - b) * (x * torch.exp(s) + t)).sum(-1), "shape")]),
    lesson07.coupling_inverse: (
        [lambda y, mask, log_scale, shift: mask * y + (1 - mask) * (y - shift) * torch.exp(-log_scale),
         lambda y, b, s, t: torch.where(b == 1, y, (y - t) / torch.exp(s)),
         lambda y, b, s, t: y * b + (1 - b) * (y * torch.exp(-s) - t * torch.exp(-s)),
         lambda y, b, s, t: (b * y + (1 - b) * (y - t) * torch.exp(-s)).float()],
        [(lambda y, b, s, t: b * y + (1 - b) * (y * torch.exp(-s) - t), "shift first"),
         (lambda y, b, s, t: b * y + (1 - b) * ((y - t) * torch.exp(s)), "exp(-s)"),
         (lambda y, b, s, t: b * y + (1 - b) * (y * torch.exp(s) + t), "forward map"),
         (lambda y, b, s, t: (y - t) * torch.exp(-s), "unchanged"),
         (lambda y, b, s, t: (1 - b) * y + b * (y - t) * torch.exp(-s), "swapped"),
         (lambda y, b, s, t: (y - t) / s, None)]),
    lesson07.coupling_log_det: (
        [lambda log_scale, mask: ((1 - mask) * log_scale).sum(dim=1),
         lambda s, b: torch.log(torch.prod(torch.exp(s * (1 - b)), dim=-1)),
         lambda s, b: torch.where(b == 0, s, torch.zeros_like(s)).sum(-1),
         lambda s, b: s.sum(-1) - (s * b).sum(-1)],
        [(lambda s, b: s.sum(-1), "transformed entries"),
         (lambda s, b: ((1 - b) * torch.exp(s)).sum(-1), "not of exp"),
         (lambda s, b: (b * s).sum(-1), "passed-through"),
         (lambda s, b: ((1 - b) * s).mean(-1), "do not average"),
         (lambda s, b: -((1 - b) * s).sum(-1), "inverse"),
         (lambda s, b: ((1 - b) * s).sum(), "shape")]),
    lesson07.made_mask: (
        [lambda in_degrees, out_degrees, output_layer: (out_degrees[:, None] > in_degrees[None, :]) if output_layer
         else (out_degrees[:, None] >= in_degrees[None, :]),
         lambda i, o, last: (o.unsqueeze(1) - i.unsqueeze(0) >= (1 if last else 0)).float(),
         lambda i, o, last: torch.tensor([[float(a > b if last else a >= b) for b in i.tolist()] for a in o.tolist()]),
         lambda i, o, last: (o[:, None] >= i[None, :] + int(last)).to(torch.int64)],
        [(lambda i, o, last: (o[:, None] >= i[None, :]).float(), "strict"),
         (lambda i, o, last: (o[:, None] > i[None, :]).float(), "hidden layers use >="),
         (lambda i, o, last: ((o[:, None] > i[None, :]) if last else (o[:, None] >= i[None, :])).T.float(), "shape"),
         (lambda i, o, last: ((i[:, None] > o[None, :]) if last else (i[:, None] >= o[None, :])).T.float(), "reversed"),
         (lambda i, o, last: ((o[:, None] >= i[None, :]) if last else (o[:, None] > i[None, :])).float(), None),
         (lambda i, o, last: torch.ones(len(o), len(i)), "all ones"),
         (lambda i, o, last: (o[:, None] > i[None, :]).sum(), None)]),
    lesson07.actnorm_init: (
        [lambda x: torch.stack([-torch.log(x.std(dim=(0, 2, 3), unbiased=False)),
                                -x.mean(dim=(0, 2, 3)) / x.std(dim=(0, 2, 3), unbiased=False)]),
         lambda x: torch.stack([-0.5 * torch.log(x.var((0, 2, 3), unbiased=False)),
                                -x.mean((0, 2, 3)) * torch.rsqrt(x.var((0, 2, 3), unbiased=False))]),
         lambda x: (lambda flat: torch.stack([-torch.log(flat.std(1, correction=0)),
                                              -flat.mean(1) / flat.std(1, correction=0)]))(
             x.transpose(0, 1).reshape(x.shape[1], -1)),
         lambda x: torch.stack([-torch.log(((x - x.mean((0, 2, 3), keepdim=True)) ** 2).mean((0, 2, 3)).sqrt()),
                                -x.mean((0, 2, 3)) / ((x - x.mean((0, 2, 3), keepdim=True)) ** 2).mean((0, 2, 3)).sqrt()]).float()],
        [(lambda x: torch.stack([-torch.log(x.std(0, unbiased=False)), -x.mean(0) / x.std(0, unbiased=False)]),
          "which axis"),
         (lambda x: torch.stack([-torch.log(x.std((0, 2, 3), unbiased=False)), -x.mean((0, 2, 3))]), "-mean / std"),
         (lambda x: torch.stack([torch.log(x.std((0, 2, 3), unbiased=False)),
                                 -x.mean((0, 2, 3)) / x.std((0, 2, 3), unbiased=False)]), "+log std"),
         (lambda x: torch.stack([1 / x.std((0, 2, 3), unbiased=False),
                                 -x.mean((0, 2, 3)) / x.std((0, 2, 3), unbiased=False)]), "not the scale"),
         (lambda x: torch.stack([-torch.log(x.std((0, 2, 3))), -x.mean((0, 2, 3)) / x.std((0, 2, 3))]), "unbiased=False"),
         (lambda x: torch.stack([-torch.log(x.std((0, 2, 3), unbiased=False)), -x.mean((0, 2, 3))]).T, None)]),
    lesson08.alpha_divergence: (
        [lambda log_p, log_q, alpha, dx: (1 - torch.exp(alpha * log_p + (1 - alpha) * log_q).sum() * dx) / (alpha * (1 - alpha)),
         lambda lp, lq, a, h: (1 - torch.sum(lp.exp() ** a * lq.exp() ** (1 - a)) * h) / (a - a ** 2),
         lambda lp, lq, a, h: (torch.exp(torch.logsumexp(a * lp + (1 - a) * lq, 0)) * h - 1) / (a * (a - 1)),
         lambda lp, lq, a, h: ((1 - torch.trapezoid(torch.exp(a * lp + (1 - a) * lq), dx=float(h)))
                               / (a * (1 - a))).float()],
        [(lambda lp, lq, a, h: torch.exp(a * lp + (1 - a) * lq).sum() * h / (a * (a - 1)) - 1 / (a - 1), "text"),
         (lambda lp, lq, a, h: (1 - torch.exp(a * lq + (1 - a) * lp).sum() * h) / (a * (1 - a)), "swapped"),
         (lambda lp, lq, a, h: (1 - torch.exp(a * lp + (1 - a) * lq).sum()) / (a * (1 - a)), "spacing dx"),
         (lambda lp, lq, a, h: 1 - torch.exp(a * lp + (1 - a) * lq).sum() * h, "1 / (alpha (1 - alpha))"),
         (lambda lp, lq, a, h: (torch.exp(a * lp + (1 - a) * lq).sum() * h - 1) / (a * (1 - a)), "sign"),
         (lambda lp, lq, a, h: (1 - torch.exp(a * lp + (1 - a) * lq) * h) / (a * (1 - a)), "shape")]),
    lesson08.ais_weight_update: (
        [lambda log_w, beta_prev, beta_next, log_likelihood: log_w + (beta_next - beta_prev) * log_likelihood,
         lambda w, b0, b1, ll: w + b1 * ll - b0 * ll,
         lambda w, b0, b1, ll: torch.log(torch.exp(w) * torch.exp((b1 - b0) * ll + 60)) - 60,
         lambda w, b0, b1, ll: (w + (b1 - b0) * ll).float()],
        [(lambda w, b0, b1, ll: w + b1 * ll, "increment"),
         (lambda w, b0, b1, ll: w + (b0 - b1) * ll, "sign"),
         (lambda w, b0, b1, ll: w + (b1 - b0) * torch.exp(ll), "log space"),
         (lambda w, b0, b1, ll: (b1 - b0) * ll, "previous log-weight"),
         (lambda w, b0, b1, ll: w * (b1 - b0) * ll, "add"),
         (lambda w, b0, b1, ll: (w + (b1 - b0) * ll).sum(), "shape")]),
    lesson08.mws_total_correlation: (
        [lambda log_q_pairs, dataset_size: (torch.logsumexp(log_q_pairs.sum(-1), 1)
                                            - (torch.logsumexp(log_q_pairs, 1)).sum(-1)).mean()
         + (log_q_pairs.shape[2] - 1) * math.log(dataset_size * log_q_pairs.shape[0]),
         lambda L, N: torch.mean(torch.logsumexp(L.sum(2), dim=1) - math.log(N * len(L))
                                 - torch.sum(torch.logsumexp(L, dim=1) - math.log(N * len(L)), dim=1)),
         lambda L, N: sum(torch.logsumexp(L[i].sum(-1), 0) - math.log(N * len(L))
                          - sum(torch.logsumexp(L[i, :, d], 0) - math.log(N * len(L)) for d in range(L.shape[2]))
                          for i in range(len(L))) / len(L),
         lambda L, N: (torch.log(torch.exp(L.sum(-1)).sum(1) / (N * len(L)))
                       - torch.log(torch.exp(L).sum(1) / (N * len(L))).sum(-1)).mean().float()],
        [(lambda L, N: (torch.logsumexp(L.sum(-1), 1) - math.log(len(L))
                        - (torch.logsumexp(L, 1) - math.log(len(L))).sum(-1)).mean(), "N M"),
         (lambda L, N: (torch.logsumexp(L.sum(-1), 1) - math.log(N * len(L)) - torch.logsumexp(L, 1).sum(-1)).mean(),
          "its own"),
         (lambda L, N: -(torch.logsumexp(L.sum(-1), 1) - torch.logsumexp(L, 1).sum(-1)).mean()
          - (L.shape[2] - 1) * math.log(N * len(L)), "other way round"),
         (lambda L, N: (torch.logsumexp(L.transpose(0, 1).sum(-1), 1) - torch.logsumexp(L.transpose(0, 1), 1).sum(-1)).mean()
          + (L.shape[2] - 1) * math.log(N * len(L)), "swapped the two axes"),
         (lambda L, N: (torch.logsumexp(L.sum(-1), 1) - math.log(N * len(L))).mean(), "marginals are missing"),
         (lambda L, N: torch.logsumexp(L.sum(-1), 1) - torch.logsumexp(L, 1).sum(-1), "shape")]),
    lesson08.information_bound: (
        [lambda q_logits, codes: torch.log_softmax(q_logits, 1)[torch.arange(len(codes)), codes].mean()
         + math.log(q_logits.shape[1]),
         lambda q, c: (q.gather(1, c[:, None]).squeeze(1) - torch.logsumexp(q, 1)).mean() + math.log(q.shape[1]),
         lambda q, c: -torch.nn.functional.cross_entropy(q, c) + torch.log(torch.tensor(float(q.shape[1]))),
         lambda q, c: torch.stack([torch.log(torch.softmax(q[n], 0)[c[n]]) for n in range(len(c))]).mean()
         + math.log(q.shape[1])],
        [(lambda q, c: -torch.nn.functional.cross_entropy(q, c) - math.log(q.shape[1]), "text's sign"),
         (lambda q, c: q[torch.arange(len(c)), c].mean() + math.log(q.shape[1]), "normalised"),
         (lambda q, c: -torch.nn.functional.cross_entropy(q, c) + math.log2(q.shape[1]), "nats"),
         (lambda q, c: torch.log_softmax(q, 1).max(1).values.mean() + math.log(q.shape[1]), "most likely"),
         (lambda q, c: torch.log_softmax(q, 1).mean() + math.log(q.shape[1]), "column"),
         (lambda q, c: -torch.nn.functional.cross_entropy(q, c), "H(c) = log K is missing"),
         (lambda q, c: torch.softmax(q, 1)[torch.arange(len(c)), c].mean() + math.log(q.shape[1]), "log_softmax"),
         (lambda q, c: torch.log_softmax(q, 1)[torch.arange(len(c)), c] + math.log(q.shape[1]), "shape")]),
}

MODULES = (lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08)
CORRECT = [(check, answer) for check, (right, _) in TABLE.items() for answer in right]
WRONG = [(check, answer, words) for check, (_, wrong) in TABLE.items() for answer, words in wrong]


def _id(check, i):
    return f"{check.__name__}-{i}"


def test_every_check_has_a_table():
    checks = [f for module in MODULES for name, f in vars(module).items()      # the graded checks
              if inspect.isfunction(f) and hasattr(f, "__wrapped__") and f.__module__ == module.__name__]
    assert sorted(c.__name__ for c in checks) == sorted(c.__name__ for c in TABLE)
    for check, (right, wrong) in TABLE.items():
        assert len(right) >= 3 and len(wrong) >= 5, check.__name__
        assert sum(words is not None for _, words in wrong) > len(wrong) / 2, f"{check.__name__}: name most slips"


@pytest.mark.parametrize("check, answer", CORRECT, ids=[_id(c, i) for i, (c, _) in enumerate(CORRECT)])
def test_a_correct_answer_is_accepted_however_it_is_written(check, answer):
    feedback = check(answer)
    assert feedback.passed is True, str(feedback)


@pytest.mark.parametrize("check, answer, words", WRONG, ids=[_id(c, i) for i, (c, _, _) in enumerate(WRONG)])
def test_a_wrong_answer_is_rejected_with_its_hint(check, answer, words):
    feedback = check(answer)
    assert feedback.passed is False, f"accepted a wrong answer: {feedback}"
    assert "Traceback" not in feedback.message
    if words is not None:
        assert words in feedback.message, feedback.message


def test_the_renamed_kl_from_the_issue_report_is_accepted():
    def kl_standard_normal(mu, logvar):
        return 0.5 * torch.sum(torch.exp(logvar) + mu ** 2 - 1 - logvar, dim=-1)
    assert lesson01.kl_standard_normal(kl_standard_normal).passed is True


# Answers that are not functions returning a tensor (a class, a training step that returns a number), or whose
# result must keep its graph (a surrogate loss, differentiated by the check).
NOT_TENSORS = {lesson01.MyVAE, lesson01.train_step, lesson02.score_function_surrogate}


def _on_the_gpu(answer):
    """The same answer, its result handed back on the GPU (as a learner's on a GPU machine may be)."""
    return lambda *inputs: answer(*inputs).to("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (or tools/emulated_cuda, as in CI)")
@pytest.mark.parametrize("check", [c for c in TABLE if c not in NOT_TENSORS], ids=[c.__name__ for c in TABLE if c not in NOT_TENSORS])
def test_an_answer_on_the_gpu_is_judged_as_on_the_cpu(check):
    right, wrong = TABLE[check]
    assert check(_on_the_gpu(right[0])).passed is True
    answer, words = next((a, w) for a, w in wrong if w is not None)
    feedback = check(_on_the_gpu(answer))
    assert feedback.passed is False and words in feedback.message, str(feedback)
