"""Checks for the lesson 8 exercises (the alpha-divergence on a grid, one AIS weight update, the MWS
estimate of the total correlation, InfoGAN's information bound)."""
import math

import torch

from ..estimators.divergences import vr_bound
from .feedback import graded, run_check

_g = torch.Generator().manual_seed(808)


def _rand(*shape):
    return torch.randn(*shape, generator=_g, dtype=torch.float64)


def _log_normal(x, m, s):
    return -0.5 * ((x - m) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))


def _alpha(log_p, log_q, alpha, dx):
    return (1 - torch.exp(alpha * log_p + (1 - alpha) * log_q).sum() * dx) / (alpha * (1 - alpha))


@graded
def alpha_divergence(fn):
    """D_alpha(p || q) = (1 - sum_x p^alpha q^(1 - alpha) dx) / (alpha (1 - alpha)) from log-densities on a grid."""
    x = torch.linspace(-10, 10, 2001, dtype=torch.float64)
    dx = torch.tensor(float(x[1] - x[0]), dtype=torch.float64)
    cases = [dict(log_p=_log_normal(x, 0.0, 1.0), log_q=_log_normal(x, 1.0, 1.5), alpha=torch.tensor(0.5, dtype=torch.float64), dx=dx),
             dict(log_p=_log_normal(x, -0.5, 0.7), log_q=_log_normal(x, 0.5, 1.0), alpha=torch.tensor(2.0, dtype=torch.float64), dx=dx),
             dict(log_p=_log_normal(x, 0.3, 1.2), log_q=_log_normal(x, 0.0, 1.0), alpha=torch.tensor(0.3, dtype=torch.float64), dx=dx)]
    mistakes = [
        ("this is the course text's formula, whose constant is -1/(alpha - 1): it gives -1/alpha, not 0, when p = q. "
         "Use (1 - integral) / (alpha (1 - alpha)).",
         lambda log_p, log_q, alpha, dx: torch.exp(alpha * log_p + (1 - alpha) * log_q).sum() * dx / (alpha * (alpha - 1))
         - 1 / (alpha - 1)),
        ("p carries the power alpha and q the power 1 - alpha; you swapped them (that is D_alpha(q || p)).",
         lambda log_p, log_q, alpha, dx: _alpha(log_q, log_p, alpha, dx)),
        ("the sum over the grid approximates an integral only when multiplied by the spacing dx.",
         lambda log_p, log_q, alpha, dx: (1 - torch.exp(alpha * log_p + (1 - alpha) * log_q).sum()) / (alpha * (1 - alpha))),
        ("the factor 1 / (alpha (1 - alpha)) is missing.",
         lambda log_p, log_q, alpha, dx: 1 - torch.exp(alpha * log_p + (1 - alpha) * log_q).sum() * dx),
        ("the sign is flipped: it is 1 minus the integral (the integral is at most 1 for 0 < alpha < 1).",
         lambda log_p, log_q, alpha, dx: -_alpha(log_p, log_q, alpha, dx)),
    ]
    return run_check("alpha_divergence", fn, cases, _alpha, mistakes, rtol=1e-6, atol=1e-8)


def _update(log_w, beta_prev, beta_next, log_likelihood):
    return log_w + (beta_next - beta_prev) * log_likelihood


@graded
def ais_weight_update(fn):
    """log w_t = log w_{t-1} + (beta_t - beta_{t-1}) log p(x | z_{t-1}), for every chain (chains,)."""
    cases = [dict(log_w=_rand(6), beta_prev=torch.tensor(0.2, dtype=torch.float64),
                  beta_next=torch.tensor(0.35, dtype=torch.float64), log_likelihood=-50 + _rand(6)),
             dict(log_w=_rand(5) - 3, beta_prev=torch.tensor(0.0, dtype=torch.float64),
                  beta_next=torch.tensor(0.1, dtype=torch.float64), log_likelihood=-80 + 2 * _rand(5))]
    mistakes = [
        ("the weight gains the *increment* (beta_t - beta_{t-1}) of the log-likelihood, not beta_t times it.",
         lambda log_w, beta_prev, beta_next, log_likelihood: log_w + beta_next * log_likelihood),
        ("the increment is beta_t - beta_{t-1} (the new temperature minus the old); yours has the sign flipped.",
         lambda log_w, beta_prev, beta_next, log_likelihood: log_w + (beta_prev - beta_next) * log_likelihood),
        ("work in log space: add the log-likelihood term, do not exponentiate it.",
         lambda log_w, beta_prev, beta_next, log_likelihood: log_w + (beta_next - beta_prev) * torch.exp(log_likelihood)),
        ("the update adds to the previous log-weight; you returned only the new term.",
         lambda log_w, beta_prev, beta_next, log_likelihood: (beta_next - beta_prev) * log_likelihood),
        ("log-weights add (weights multiply): log w + increment, not log w times it.",
         lambda log_w, beta_prev, beta_next, log_likelihood: log_w * (beta_next - beta_prev) * log_likelihood),
    ]
    return run_check("ais_weight_update", fn, cases, _update, mistakes)


def _mws(log_q_pairs, dataset_size):
    m = log_q_pairs.shape[0]
    log_nm = math.log(dataset_size * m)
    joint = torch.logsumexp(log_q_pairs.sum(-1), 1) - log_nm
    marginals = (torch.logsumexp(log_q_pairs, 1) - log_nm).sum(-1)
    return (joint - marginals).mean()


@graded
def mws_total_correlation(fn):
    """Minibatch weighted sampling: log q(z_i) ~ logsumexp_j sum_d L[i, j, d] - log(N M), each marginal
    log q(z_i,d) ~ logsumexp_j L[i, j, d] - log(N M); TC ~ mean_i [log q(z_i) - sum_d log q(z_i,d)]."""
    cases = [dict(log_q_pairs=_rand(5, 5, 3) - 2, dataset_size=1000),
             dict(log_q_pairs=2 * _rand(4, 4, 2) - 1, dataset_size=60)]
    mistakes = [
        ("MWS divides by N M, not by M: subtract log(N M) (dataset_size times the batch size).",
         lambda log_q_pairs, dataset_size: (torch.logsumexp(log_q_pairs.sum(-1), 1)
                                            - (torch.logsumexp(log_q_pairs, 1)).sum(-1)
                                            - math.log(log_q_pairs.shape[0])
                                            + log_q_pairs.shape[2] * math.log(log_q_pairs.shape[0])).mean()),
        ("each marginal log q(z_i,d) needs its own - log(N M); you subtracted it only from the joint.",
         lambda log_q_pairs, dataset_size: (torch.logsumexp(log_q_pairs.sum(-1), 1)
                                            - math.log(dataset_size * log_q_pairs.shape[0])
                                            - torch.logsumexp(log_q_pairs, 1).sum(-1)).mean()),
        ("TC is log q(z) minus the sum of the log-marginals, not the other way round.",
         lambda log_q_pairs, dataset_size: -_mws(log_q_pairs, dataset_size)),
        ("sum over the batch members j inside the logsumexp (axis 1), and average over the samples i (axis 0); "
         "you swapped the two axes.",
         lambda log_q_pairs, dataset_size: _mws(log_q_pairs.transpose(0, 1), dataset_size)),
        ("the marginals are missing: TC = log q(z_i) - sum_d log q(z_i,d), averaged over i.",
         lambda log_q_pairs, dataset_size: (torch.logsumexp(log_q_pairs.sum(-1), 1)
                                            - math.log(dataset_size * log_q_pairs.shape[0])).mean()),
    ]
    return run_check("mws_total_correlation", fn, cases, _mws, mistakes)


def _bound(q_logits, codes):
    n_codes = q_logits.shape[1]
    return q_logits.log_softmax(1)[torch.arange(len(codes)), codes].mean() + math.log(n_codes)


@graded
def information_bound(fn):
    """InfoGAN's bound I(c; x) >= E[log Q(c|x)] + H(c) with c uniform on K values (H(c) = log K):
    q_logits (n, K) are Q's unnormalised log-probabilities for x_n = G(z_n, c_n), codes (n,) the c_n."""
    cases = [dict(q_logits=3 * _rand(7, 4), codes=torch.tensor([0, 3, 1, 1, 2, 0, 3])),
             dict(q_logits=_rand(5, 8) + 2, codes=torch.tensor([7, 0, 4, 4, 1])),
             dict(q_logits=torch.zeros(3, 2, dtype=torch.float64), codes=torch.tensor([1, 0, 1]))]
    mistakes = [
        ("this is the course text's sign: the bound adds H(c) = log K, it does not subtract it "
         "(E[log Q] - H(c) is always negative, and no mutual information is).",
         lambda q_logits, codes: _bound(q_logits, codes) - 2 * math.log(q_logits.shape[1])),
        ("Q(c|x) must be a normalised distribution over the K codes: take log_softmax of the logits "
         "before picking the true code's entry.",
         lambda q_logits, codes: q_logits[torch.arange(len(codes)), codes].mean() + math.log(q_logits.shape[1])),
        ("H(c) is in nats here: log K with the natural logarithm, not log2 K.",
         lambda q_logits, codes: _bound(q_logits, codes) - math.log(q_logits.shape[1]) + math.log2(q_logits.shape[1])),
        ("use log Q of the code c_n that was fed to the generator, not of the code Q finds most likely.",
         lambda q_logits, codes: q_logits.log_softmax(1).max(1).values.mean() + math.log(q_logits.shape[1])),
        ("pick the true code's column of log Q for each sample; averaging over all K columns ignores which code was used.",
         lambda q_logits, codes: q_logits.log_softmax(1).mean() + math.log(q_logits.shape[1])),
        ("the entropy H(c) = log K is missing: E[log Q(c|x)] alone is -H(c|x) at best, never positive.",
         lambda q_logits, codes: _bound(q_logits, codes) - math.log(q_logits.shape[1])),
        ("take the log of Q(c|x): softmax gives probabilities, log_softmax their logarithms.",
         lambda q_logits, codes: q_logits.softmax(1)[torch.arange(len(codes)), codes].mean() + math.log(q_logits.shape[1])),
    ]
    return run_check("information_bound", fn, cases, _bound, mistakes)


# -- lesson 8: the VR bound from log-weights ------------------------------------------------------------------

def _vr(log_weights, alpha, power=None, scale=None, average=True):
    """The VR estimate with the parts a slip changes: the power of the weights, what the log is divided by,
    and whether the k weights are averaged (or summed).  With none changed it is ``vr_bound``, the check's
    reference (tests/test_exercises.py holds the two together); the slips are built from it."""
    if alpha == 1.0 and power is None and scale is None:
        return log_weights.mean(0)
    k = log_weights.shape[0]
    power = 1 - alpha if power is None else power
    scale = 1 - alpha if scale is None else scale
    return (torch.logsumexp(power * log_weights, 0) - (math.log(k) if average else 0.0)) / scale


def _vr_cases():
    g = torch.Generator().manual_seed(81)
    log_w = -800 + 3 * torch.randn(6, 3, generator=g, dtype=torch.float64)       # p(x, z) of an image: exp() underflows
    spread = 1.5 * torch.randn(5, 4, generator=g, dtype=torch.float64)
    return [dict(log_weights=log_w, alpha=0.5), dict(log_weights=log_w, alpha=0.0),
            dict(log_weights=spread, alpha=-0.5), dict(log_weights=spread, alpha=2.0),
            dict(log_weights=log_w, alpha=1.0)]


@graded
def vr_estimate(fn):
    """vr_estimate(log_weights, alpha) -> the Monte Carlo VR bound of each example, (batch,), from log_weights
    (k, batch) = log p(x, z_i) - log q(z_i | x) for k draws z_i ~ q: log of the mean of w^(1 - alpha), over
    1 - alpha, and at alpha = 1 its limit, the mean of log w (the ELBO).  alpha = 0 gives IWAE_k."""
    mistakes = [
        ("you averaged the log-weights: that is the ELBO, whatever α is. The VR bound averages the weights "
         "raised to the power 1 − α, then takes the log (and divides by 1 − α).",
         lambda log_weights, alpha: log_weights.mean(0)),
        ("the log of the mean of w^(1 − α) is still to be divided by 1 − α.",
         lambda log_weights, alpha: _vr(log_weights, alpha, scale=1.0)),
        ("that is the log of a *sum* of k weights: subtract log k to average them.",
         lambda log_weights, alpha: _vr(log_weights, alpha, average=False)),
        ("the weights are raised to the power 1 − α, not α.",
         lambda log_weights, alpha: _vr(log_weights, alpha, power=alpha)),
        ("the sign: divide by 1 − α, not by α − 1 (at α = 0 the bound must be IWAE_k, below log p(x)).",
         lambda log_weights, alpha: _vr(log_weights, alpha, scale=alpha - 1)),
    ]
    at_one = ("at α = 1 the formula divides by zero; the bound there is its limit, the mean of log w (the "
              "ELBO). Give α = 1 its own line.")
    return run_check("vr_estimate", fn, _vr_cases(), vr_bound, mistakes,
                     not_finite=lambda case: at_one if case["alpha"] == 1 else None)


# -- lesson 8b: is a BiGAN's G∘E an inverse? ------------------------------------------------------------

def _mode(points, n_modes=8):
    angle = torch.atan2(points[:, 1], points[:, 0])
    return torch.round(angle / (2 * math.pi / n_modes)).long() % n_modes


def _same_mode(x, x_back, mode=_mode, chance=None):
    a, b = mode(x), mode(x_back)
    p, r = (torch.stack([(m == k).double().mean() for k in range(8)]) for m in (a, b))
    return torch.stack([(a == b).double().mean(), (p * r).sum() if chance is None else chance(p, r)])


def _ring(n, generator, shift=0):
    """n points near the toy's eight centres (radius 2, angle k 2π/8), their modes uneven, and for each a
    point 'shift' modes further round; angles near ±π included."""
    k = torch.tensor([0, 0, 0, 1, 2, 4, 4, 4, 4, 5, 6, 7])[torch.randint(12, (n,), generator=generator)]
    angle = (k + shift) * (2 * math.pi / 8) + 0.3 * torch.rand(n, generator=generator, dtype=torch.float64) - 0.15
    return 2 * torch.stack([angle.cos(), angle.sin()], dim=1)


@graded
def same_mode_rate(fn):
    """same_mode_rate(x, x_back) -> (rate, chance): the share of points whose G(E(x)) lies in x's mode (the
    nearest of eight centres at angles k 2π/8), and the share two independent draws, one like x and one like
    the reconstructions, would have in common (ALI's mixture experiment).  (n, 2), (n, 2) -> (2,)"""
    g = torch.Generator().manual_seed(81)
    x = _ring(40, g)
    u = torch.rand(40, 1, generator=g)                     # near x; in x's mode but far out; in the next mode
    back = torch.where(u < 0.4, x + 0.05, torch.where(u < 0.7, 2.2 * x, _ring(40, g, shift=1)))
    cases = [dict(x=x, x_back=back), dict(x=_ring(30, g), x_back=_ring(30, g, shift=3))]
    mistakes = [
        ("points near angle ±π land on modes 4 and −4, which are one mode: take the index modulo 8.",
         lambda x, x_back: _same_mode(x, x_back, mode=lambda q: torch.round(
             torch.atan2(q[:, 1], q[:, 0]) / (math.pi / 4)).long())),
        ("the mode is the *nearest* centre: round the angle's position between centres, do not floor it.",
         lambda x, x_back: _same_mode(x, x_back, mode=lambda q: torch.floor(
             torch.atan2(q[:, 1], q[:, 0]) / (math.pi / 4)).long() % 8)),
        ("the chance rate is 1/8 only when every mode is equally frequent; here they are not: pair the share of "
         "each mode among the x with its share among the reconstructions.",
         lambda x, x_back: _same_mode(x, x_back, chance=lambda p, r: torch.tensor(1 / 8, dtype=torch.float64))),
        ("the chance rate pairs the shares of the x with those of the reconstructions, not the x's with themselves.",
         lambda x, x_back: _same_mode(x, x_back, chance=lambda p, r: (p * p).sum())),
        ("this counts reconstructions near their own point; the question is only whether they land in the same "
         "mode as it (a much weaker test than G(E(x)) = x).",
         lambda x, x_back: _same_mode(x, x_back) * torch.tensor([0.0, 1.0], dtype=torch.float64)
         + torch.stack([((x - x_back).norm(dim=1) < 1).double().mean(), torch.tensor(0.0, dtype=torch.float64)])),
        ("the rate is a share of the points: divide the count by n.",
         lambda x, x_back: _same_mode(x, x_back) * torch.tensor([len(x), 1.0], dtype=torch.float64)),
    ]
    return run_check("same_mode_rate", fn, cases, _same_mode, mistakes)
