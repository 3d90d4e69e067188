"""Checks for the lesson 4 exercises (β-VAE, capacity control, MIG, ControlVAE)."""
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


