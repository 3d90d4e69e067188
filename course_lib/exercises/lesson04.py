"""Checks for the lesson 4 exercises (β-VAE, capacity control, MIG, ControlVAE, the binned information behind MIG, the order the factors enter)."""

import torch

from .feedback import graded, run_check

_g = torch.Generator().manual_seed(404)


def _number(x):
    return torch.tensor(x, dtype=torch.float64)


def _capacity(distortion, rate, gamma, capacity):
    return distortion + gamma * (rate - capacity).abs()


@graded
def capacity_objective(fn):
    """loss = D + gamma * |R - C| for a batch-averaged D and R (0-dim tensors).  -> 0-dim tensor."""
    cases = [dict(distortion=_number(250.0), rate=_number(12.0), gamma=_number(20.0), capacity=_number(5.0)),
             dict(distortion=_number(250.0), rate=_number(3.0), gamma=_number(20.0), capacity=_number(5.0)),
             dict(distortion=_number(80.0), rate=_number(7.5), gamma=_number(2.0), capacity=_number(0.0))]
    mistakes = [
        ("the absolute value is missing: below the target (R < C) the penalty must still be positive.",
         lambda distortion, rate, gamma, capacity: distortion + gamma * (rate - capacity)),
        ("gamma multiplies the distortion; it weighs the distance of the rate from C: D + gamma * |R - C|.",
         lambda distortion, rate, gamma, capacity: gamma * distortion + (rate - capacity).abs()),
        ("this is the beta-VAE loss D + gamma * R: the target C is missing.",
         lambda distortion, rate, gamma, capacity: distortion + gamma * rate),
        ("you squared the distance; the objective of Burgess et al. uses |R - C|.",
         lambda distortion, rate, gamma, capacity: distortion + gamma * (rate - capacity) ** 2),
    ]
    return run_check("capacity_objective", fn, cases, _capacity, mistakes)


_MI = torch.tensor([[1.2, 0.1, 0.0], [0.3, 1.5, 0.2], [0.9, 0.2, 0.1], [0.1, 1.4, 0.6]], dtype=torch.float64)
_H = torch.tensor([1.5, 2.0, 1.0], dtype=torch.float64)


def _mig(mi, entropies):
    top = mi.sort(dim=0, descending=True).values
    return ((top[0] - top[1]) / entropies).mean()


@graded
def mig(fn):
    """MIG = mean_k (I_(j1,k) - I_(j2,k)) / H_k from an MI matrix (latents, factors) and entropies (factors,)."""
    cases = [dict(mi=_MI, entropies=_H), dict(mi=_MI[:2, :2], entropies=_H[:2])]
    mistakes = [
        ("the gap is not divided by the factor's entropy H(v_k).",
         lambda mi, entropies: (mi.sort(0, descending=True).values[0] - mi.sort(0, descending=True).values[1]).mean()),
        ("you took the top two over the factors (dim=1); for each FACTOR compare the two best LATENTS (dim=0).",
         lambda mi, entropies: ((mi.sort(1, descending=True).values[:, 0] - mi.sort(1, descending=True).values[:, 1])
                                .mean() / entropies.mean())),
        ("you compared the best latent with the worst one; MIG uses the second best.",
         lambda mi, entropies: ((mi.max(0).values - mi.min(0).values) / entropies).mean()),
        ("this is the best latent's share only, without subtracting the second best.",
         lambda mi, entropies: (mi.max(0).values / entropies).mean()),
        ("you summed over the factors; MIG is their average.",
         lambda mi, entropies: _mig(mi, entropies) * mi.shape[1]),
    ]
    return run_check("mig", fn, cases, _mig, mistakes)


def _pi_beta(kl, set_point, error_sum, kp, ki, beta_min):
    error = set_point - kl
    return kp / (1 + torch.exp(error)) - ki * (error_sum + error) + beta_min


@graded
def pi_beta(fn):
    """One ControlVAE step: e = KL_set - KL; beta = kp / (1 + exp(e)) - ki * (error_sum + e) + beta_min."""
    cases = [dict(kl=_number(12.0), set_point=_number(8.0), error_sum=_number(-3.0), kp=_number(0.5),
                  ki=_number(0.01), beta_min=_number(0.0)),
             dict(kl=_number(5.0), set_point=_number(8.0), error_sum=_number(10.0), kp=_number(0.5),
                  ki=_number(0.01), beta_min=_number(0.1)),
             dict(kl=_number(8.5), set_point=_number(8.0), error_sum=_number(0.0), kp=_number(1.0),
                  ki=_number(0.2), beta_min=_number(0.0))]
    mistakes = [
        ("the error has the wrong sign: e = KL_set - KL (positive when the KL is below its set point).",
         lambda kl, set_point, error_sum, kp, ki, beta_min: _pi_beta(set_point, kl, error_sum, kp, ki, beta_min)),
        ("the current error is missing from the integral: add e to error_sum before multiplying by ki.",
         lambda kl, set_point, error_sum, kp, ki, beta_min:
         kp / (1 + torch.exp(set_point - kl)) - ki * error_sum + beta_min),
        ("the integral term is added; it is subtracted: a KL above the set point (e < 0) must RAISE beta.",
         lambda kl, set_point, error_sum, kp, ki, beta_min:
         kp / (1 + torch.exp(set_point - kl)) + ki * (error_sum + set_point - kl) + beta_min),
        ("the P term is kp * e, a linear controller; ControlVAE's P term is the sigmoid kp / (1 + exp(e)).",
         lambda kl, set_point, error_sum, kp, ki, beta_min:
         kp * (set_point - kl) - ki * (error_sum + set_point - kl) + beta_min),
        ("beta_min is missing.",
         lambda kl, set_point, error_sum, kp, ki, beta_min: _pi_beta(kl, set_point, error_sum, kp, ki, 0.0)),
    ]
    return run_check("pi_beta", fn, cases, _pi_beta, mistakes)




# -- the binned mutual information behind MIG --------------------------------------------------------

def _bin(code, bins, lo=None, hi=None):
    lo = code.min() if lo is None else torch.tensor(lo, dtype=code.dtype)
    hi = code.max() if hi is None else torch.tensor(hi, dtype=code.dtype)
    edges = torch.linspace(float(lo), float(hi), int(bins) + 1, dtype=code.dtype)
    return torch.bucketize(code, edges[1:-1], right=True)


def _binned_mi(code, factor, bins, log=torch.log, lo=None, hi=None, marginals=True, normalise=False):
    a, b = _bin(code, bins, lo, hi), factor.long()
    joint = torch.zeros(int(bins), int(b.max()) + 1, dtype=torch.float64)
    joint.index_put_((a, b), torch.ones(len(a), dtype=torch.float64), accumulate=True)
    joint = joint / joint.sum()
    pa, pb = joint.sum(1, keepdim=True), joint.sum(0, keepdim=True)
    nz = joint > 0
    inner = joint[nz] / (pa * pb)[nz] if marginals else joint[nz]
    mi = (joint[nz] * log(inner)).sum()
    if normalise:
        pb = pb[pb > 0]
        mi = mi / -(pb * torch.log(pb)).sum()
    return mi


@graded
def binned_mutual_information(fn):
    """binned_mutual_information(code, factor, bins) -> I(code; factor) in nats, the code cut into ``bins`` bins of
    equal width from its smallest to its largest value (as course_lib.metrics.mutual_information_matrix does).
    code (N,) float, factor (N,) integers 0..K-1 -> a scalar."""
    g = torch.Generator().manual_seed(44)
    factor = torch.randint(0, 4, (300,), generator=g)
    code = factor.double() * 0.8 + 0.9 * torch.randn(300, generator=g, dtype=torch.float64) + 2.0
    other = torch.randint(0, 3, (200,), generator=g)
    cases = [dict(code=code, factor=factor, bins=torch.tensor(10)),
             dict(code=torch.rand(200, generator=g, dtype=torch.float64) * 5 - 1 + (other == 2).double() * 1.5,
                  factor=other, bins=torch.tensor(6))]
    mistakes = [
        ("this is in bits (log base 2); the course measures information in nats (the natural log).",
         lambda code, factor, bins: _binned_mi(code, factor, bins, log=torch.log2)),
        ("you divided by the factor's entropy: that is MIG's normalisation, applied later; the information "
         "itself is in nats.", lambda code, factor, bins: _binned_mi(code, factor, bins, normalise=True)),
        ("the marginals are missing from the log: I = Σ p(a, b) log [p(a, b) / (p(a) p(b))]; Σ p log p alone is "
         "minus the joint entropy.", lambda code, factor, bins: _binned_mi(code, factor, bins, marginals=False)),
        ("the bins span a fixed range; they must span the code's own range, from its smallest value to its "
         "largest, in equal widths.", lambda code, factor, bins: _binned_mi(code, factor, bins, lo=-3.0, hi=3.0)),
        ("the ratio inside the log is upside down: information is never negative.",
         lambda code, factor, bins: -_binned_mi(code, factor, bins)),
    ]
    return run_check("binned_mutual_information", fn, cases, _binned_mi, mistakes, rtol=1e-6, atol=1e-9)


# -- the order in which the factors enter the code (Burgess et al.) ---------------------------------------

def _entry(shares, capacities, share=0.5, strict=False, pick="smallest", sort_first=False):
    out = []
    caps = capacities
    if sort_first:                                      # a slip: the first row taken as the smallest capacity
        caps = torch.sort(capacities).values
    for k in range(shares.shape[1]):
        reached = shares[:, k] > share if strict else shares[:, k] >= share
        if not reached.any():
            out.append(float("inf"))
        elif pick == "index":
            out.append(float(torch.nonzero(reached)[0, 0]))
        elif pick == "first row":
            out.append(float(caps[torch.nonzero(reached)[0, 0]]))
        else:
            out.append(float(capacities[reached].min() if pick == "smallest" else capacities[reached].max()))
    return torch.tensor(out, dtype=shares.dtype)


def _entry_cases():
    shares = torch.tensor([[0.62, 0.10, 0.05, 0.50, 0.02],       # C = 5
                           [0.58, 0.55, 0.20, 0.30, 0.03],       # C = 2
                           [0.66, 0.61, 0.51, 0.45, 0.02],       # C = 12
                           [0.40, 0.12, 0.02, 0.20, 0.01]], dtype=torch.float64)   # C = 1
    capacities = torch.tensor([5.0, 2.0, 12.0, 1.0], dtype=torch.float64)
    return [dict(shares=shares, capacities=capacities),
            dict(shares=shares[[3, 1, 0, 2]], capacities=capacities[[3, 1, 0, 2]])]


@graded
def entry_capacities(fn):
    """entry_capacities(shares, capacities) -> (K,): for each factor, the smallest final capacity C whose model has
    one latent carrying at least half the factor's entropy (shares[m, k] >= 0.5), inf where no model does.
    shares (models, K) are each model's largest one-latent share of each factor's entropy, capacities (models,)
    their final C, in any order."""
    mistakes = [
        ("at least half: a share of exactly 0.5 counts (>= 0.5, not > 0.5).",
         lambda shares, capacities: _entry(shares, capacities, strict=True)),
        ("return the capacity C itself, not the position of its model in the list.",
         lambda shares, capacities: _entry(shares, capacities, pick="index")),
        ("the capacities are not in order: take the smallest C among the models that reach half, not the first "
         "such model in the list.", lambda shares, capacities: _entry(shares, capacities, pick="first row")),
        ("the factor enters at the *smallest* capacity that carries it, not the largest.",
         lambda shares, capacities: _entry(shares, capacities, pick="largest")),
        ("you sorted the capacities but not the rows of shares with them: each share belongs to its own model's C.",
         lambda shares, capacities: _entry(shares, capacities, pick="first row", sort_first=True)),
    ]
    return run_check("entry_capacities", fn, _entry_cases(), _entry, mistakes)
