"""Checks for the lesson 3 exercises (rate and distortion, and the information a code carries)."""
import math

import torch

from ..distributions import DiagonalGaussian
from ..distributions import kl_standard_normal as _kl
from ..models.rate_distortion import water_level
from .feedback import graded, run_check

_g = torch.Generator().manual_seed(303)
_MEAN = torch.randn(6, 4, generator=_g, dtype=torch.float64)
_LOG_VAR = torch.randn(6, 4, generator=_g, dtype=torch.float64) * 0.5
_LOG_PX = -200.0 + 20 * torch.randn(6, generator=_g, dtype=torch.float64)


def _rate_distortion(mean, log_var, log_px_given_z):
    return torch.stack([_kl(mean, log_var).mean(), -log_px_given_z.mean()])


@graded
def rate_and_distortion(fn):
    """(rate, distortion) of a batch: R = mean_n KL(q(z|x_n) || N(0, I)), D = -mean_n log p(x_n|z_n).  -> (2,)."""
    cases = [dict(mean=_MEAN, log_var=_LOG_VAR, log_px_given_z=_LOG_PX),
             dict(mean=_MEAN[:2, :1], log_var=_LOG_VAR[:2, :1], log_px_given_z=_LOG_PX[:2])]
    mistakes = [
        ("the distortion has the wrong sign: it is MINUS the average log-likelihood, a positive number here.",
         lambda mean, log_var, log_px_given_z: torch.stack([_kl(mean, log_var).mean(), log_px_given_z.mean()])),
        ("you summed over the batch; rate and distortion are averages over the images.",
         lambda mean, log_var, log_px_given_z: _rate_distortion(mean, log_var, log_px_given_z) * len(mean)),
        ("the rate looks averaged over the latent dimensions: the KL of independent latents is their sum.",
         lambda mean, log_var, log_px_given_z: torch.stack([_kl(mean, log_var).mean() / mean.shape[1],
                                                            -log_px_given_z.mean()])),
        ("the rate is twice too large: the factor 1/2 in the Gaussian KL is missing.",
         lambda mean, log_var, log_px_given_z: torch.stack([2 * _kl(mean, log_var).mean(), -log_px_given_z.mean()])),
        ("the two numbers are in the wrong order: return (rate, distortion).",
         lambda mean, log_var, log_px_given_z: _rate_distortion(mean, log_var, log_px_given_z).flip(0)),
        ("the rate uses exp(log_var / 2), the standard deviation, where the variance belongs.",
         lambda mean, log_var, log_px_given_z: torch.stack([_kl(mean, log_var).mean() + 0.5 * (
             (0.5 * log_var).exp() - log_var.exp()).sum(-1).mean(), -log_px_given_z.mean()])),
    ]
    return run_check("rate_and_distortion", fn, cases, _rate_distortion, mistakes)


_MEANS = torch.cat([torch.randn(40, 2, generator=_g, dtype=torch.float64) * 2.0,
                    torch.randn(40, 1, generator=_g, dtype=torch.float64) * 0.02,
                    torch.randn(40, 1, generator=_g, dtype=torch.float64) * 0.3 + 5.0], dim=1)


def _active(means, threshold):
    return means.var(dim=0) > threshold


@graded
def active_units(fn):
    """Latent u is active when Var_n(means[n, u]) > threshold.  means (N, d) -> (d,) booleans."""
    cases = [dict(means=_MEANS, threshold=0.01), dict(means=_MEANS, threshold=1.0),
             dict(means=_MEANS[:, 2:], threshold=0.01)]
    mistakes = [
        ("you took the variance across the latents (dim=1); the activity of a latent is its variance across "
         "the images (dim=0).", lambda means, threshold: means.var(dim=1) > threshold),
        ("you compared the standard deviation with the threshold; the definition uses the variance.",
         lambda means, threshold: means.std(dim=0) > threshold),
        ("you compared the average posterior mean with the threshold; activity is how much it *varies* over x.",
         lambda means, threshold: means.mean(dim=0).abs() > threshold),
        ("the comparison is the wrong way round: active latents are those whose variance EXCEEDS the threshold.",
         lambda means, threshold: means.var(dim=0) < threshold),
    ]
    return run_check("active_units", fn, cases, _active, mistakes)


_RATE = torch.tensor([40.0, 25.0, 16.0, 10.0, 6.0, 3.0, 1.0], dtype=torch.float64)
_DIST = torch.tensor([280.4, 283.1, 290.7, 300.2, 312.9, 330.3, 360.6], dtype=torch.float64)
_RATE_NOISY = torch.tensor([1.0, 2.0, 7.0, 6.0, 7.0], dtype=torch.float64)      # an imperfectly trained sweep
_DIST_NOISY = torch.tensor([6.5, 5.5, 5.5, 4.5, 14.5], dtype=torch.float64)


def _select(rate, distortion, lam):
    return torch.argmin(distortion + lam * rate)


@graded
def select_model(fn):
    """The index of the model that minimises D + lam * R over a measured sweep.  -> a 0-dim integer tensor."""
    cases = [dict(rate=_RATE_NOISY, distortion=_DIST_NOISY, lam=2.0),
             dict(rate=_RATE, distortion=_DIST, lam=1.0), dict(rate=_RATE, distortion=_DIST, lam=4.0),
             dict(rate=_RATE, distortion=_DIST, lam=0.1)]
    mistakes = [
        ("you maximised the cost; the best model has the LOWEST D + lam * R (argmin).",
         lambda rate, distortion, lam: torch.argmax(distortion + lam * rate)),
        ("lam multiplies the distortion in your cost; it is the price of a nat of RATE: D + lam * R.",
         lambda rate, distortion, lam: torch.argmin(lam * distortion + rate)),
        ("the rate is subtracted; rate is a cost: D + lam * R.",
         lambda rate, distortion, lam: torch.argmin(distortion - lam * rate)),
        ("this picks the lowest distortion whatever lam is: the rate term is missing.",
         lambda rate, distortion, lam: torch.argmin(distortion)),
    ]
    return run_check("select_model", fn, cases, _select, mistakes)


# -- the information estimate, with its -log N --------------------------------------------------------

def _pair_log_q(mean, log_var, z, var=None):
    """log q(z_n | x_j) for every sample n and encoder j: (N, N)."""
    if var is None:
        return DiagonalGaussian(mean[None], log_var[None]).log_prob(z[:, None, :])
    return (-0.5 * (math.log(2 * math.pi) + torch.log(var) + (z[:, None, :] - mean[None]) ** 2 / var)).sum(-1)


def _information(mean, log_var, z, log_n=True, combine=torch.logsumexp, own=True, var=None, dim=1):
    pairs = _pair_log_q(mean, log_var, z, var=var)       # a slip in the density shows in both terms
    n, own_term = len(z), torch.diagonal(pairs)
    if not own:
        pairs = pairs.masked_fill(torch.eye(n, dtype=torch.bool), -math.inf)
    aggregate = combine(pairs, dim) - (math.log(n if own else n - 1) if log_n else 0.0)
    return (own_term - aggregate).mean()


@graded
def information_estimate(fn):
    """information_estimate(mean, log_var, z) -> the estimate of I_q(X; Z) that lesson 3 reads:
    mean_n [log q(z_n|x_n) - log (1/N) sum_j q(z_n|x_j)], as course_lib.metrics.marginal_kl_and_information
    computes it for one sample per image.  mean, log_var, z: (N, d) -> a scalar."""
    g = torch.Generator().manual_seed(33)
    mean = torch.randn(7, 3, generator=g, dtype=torch.float64)
    log_var = 0.5 * torch.randn(7, 3, generator=g, dtype=torch.float64) - 1
    z = mean + (0.5 * log_var).exp() * torch.randn(7, 3, generator=g, dtype=torch.float64)
    wide = torch.randn(5, 2, generator=g, dtype=torch.float64) * 0.3
    cases = [dict(mean=mean, log_var=log_var, z=z),
             dict(mean=wide, log_var=torch.zeros(5, 2, dtype=torch.float64), z=wide + torch.randn(5, 2, generator=g,
                                                                                                 dtype=torch.float64))]
    mistakes = [
        ("the aggregate posterior is the *average* of the N encoders' densities: subtract log N after the "
         "logsumexp (without it the estimate comes out log N too low).",
         lambda mean, log_var, z: _information(mean, log_var, z, log_n=False)),
        ("you averaged the log-densities over the encoders; the aggregate posterior averages the densities "
         "themselves (log of a mean: logsumexp, then − log N).",
         lambda mean, log_var, z: _information(mean, log_var, z, combine=lambda t, d: t.mean(d), log_n=False)),
        ("the average runs over all N encoders, x_n's own included (leaving it out is another estimator, "
         "not the lesson's).",
         lambda mean, log_var, z: _information(mean, log_var, z, own=False)),
        ("log q(z_n|x_n) − log p(z_n) is the rate's estimate; the information compares with the aggregate "
         "posterior (1/N) Σ_j q(z_n|x_j), not with the prior.",
         lambda mean, log_var, z: (torch.diagonal(_pair_log_q(mean, log_var, z))
                                   + 0.5 * (math.log(2 * math.pi) + z ** 2).sum(-1)).mean()),
        ("the Gaussian's log-density uses the variance exp(log_var); yours used the standard deviation.",
         lambda mean, log_var, z: _information(mean, log_var, z, var=(0.5 * log_var).exp())),
        ("for each sample z_n, average over the encoders j (the second axis of log q(z_n|x_j)), not over the samples.",
         lambda mean, log_var, z: _information(mean, log_var, z, dim=0)),
    ]
    return run_check("information_estimate", fn, cases, _information, mistakes)


# -- the rate-distortion limit of a Gaussian source: find the water level ------------------------------
def _water_rate(variances, distortion, level=None, half=0.5, log=torch.log, clamp=True):
    if float(distortion) >= float(variances.sum()):
        return torch.zeros((), dtype=variances.dtype)
    level = (water_level if level is None else level)(variances, float(distortion))
    rates = half * log(variances / level)
    return (rates.clamp(min=0.0) if clamp else rates).sum()


def _water_cases():
    v = torch.tensor([4.0, 2.0, 1.0, 0.25], dtype=torch.float64)
    return [dict(variances=v, distortion=2.0), dict(variances=v, distortion=5.0), dict(variances=v, distortion=0.4),
            dict(variances=torch.tensor([3.0, 0.5, 0.5], dtype=torch.float64), distortion=1.2),
            dict(variances=v, distortion=8.0)]


@graded
def water_filling_rate(fn):
    """water_filling_rate(variances, distortion) -> R(D) in nats, shape (): the fewest nats any code of a
    Gaussian source with independent components of these variances can spend at squared error D, by reverse
    water-filling (the level λ solves sum_i min(λ, σ_i²) = D; R = sum_i max(0, ½ log(σ_i² / λ)); 0 once D
    reaches sum_i σ_i²).  Equal to course_lib.models.rate_distortion.gaussian_rate_distortion."""
    mistakes = [
        ("you shared the distortion equally, λ = D / n; but a component whose variance is below the level can only "
         "take its own variance, and the level must rise until sum_i min(λ, σ_i²) = D.",
         lambda variances, distortion: _water_rate(variances, distortion, level=lambda v, d: d / len(v))),
        ("a component below the water level is not coded and costs no rate: its ½ log(σ² / λ) is negative; "
         "count it as 0.", lambda variances, distortion: _water_rate(variances, distortion, clamp=False)),
        ("that is in bits (log₂); the course measures rate in nats (the natural log).",
         lambda variances, distortion: _water_rate(variances, distortion, log=torch.log2)),
        ("each coded component costs ½ log(σ² / λ): the ½ is missing.",
         lambda variances, distortion: _water_rate(variances, distortion, half=1.0)),
        ("the level must satisfy sum_i min(λ, σ_i²) = D; yours looks like sum_i λ = D over the coded components "
         "only, with no room left for the others' own variances.",
         lambda variances, distortion: _water_rate(
             variances, distortion, level=lambda v, d: _level_uncapped(v, d))),
    ]
    return run_check("water_filling_rate", fn, _water_cases(), _water_rate, mistakes)


def _level_uncapped(variances, distortion):
    """A wrong level: D shared among the components whose variance exceeds D / n, ignoring the others."""
    above = variances > distortion / len(variances)
    return distortion / max(int(above.sum()), 1)
