"""Checks for the lesson 5 exercises (Ladder VAE merge, per-level KL, gradients through residual stacks, free bits, a two-level Ladder pass)."""
import torch

from .feedback import graded, run_check

_g = torch.Generator().manual_seed(505)


def _rand(*shape):
    return torch.randn(*shape, generator=_g, dtype=torch.float64)


def _var(*shape):
    return torch.rand(*shape, generator=_g, dtype=torch.float64) * 2.0 + 0.1


def _merge_mean(mean_1, var_1, mean_2, var_2):
    return (mean_1 / var_1 + mean_2 / var_2) / (1 / var_1 + 1 / var_2)


@graded
def merge_mean(fn):
    """The mean of the normalized product N(mean_1, var_1) N(mean_2, var_2), elementwise."""
    cases = [dict(mean_1=_rand(4, 3), var_1=_var(4, 3), mean_2=_rand(4, 3), var_2=_var(4, 3)),
             dict(mean_1=_rand(5), var_1=_var(5) * 0.01, mean_2=_rand(5), var_2=_var(5) * 10)]
    mistakes = [
        ("this is the plain average of the two means; each mean must be weighted by its PRECISION 1 / var.",
         lambda mean_1, var_1, mean_2, var_2: (mean_1 + mean_2) / 2),
        ("the weights are swapped: the mean with the SMALLER variance (higher precision) must pull harder.",
         lambda mean_1, var_1, mean_2, var_2: (mean_1 * var_1 + mean_2 * var_2) / (var_1 + var_2)),
        ("the normalization is missing: divide by the total precision 1 / var_1 + 1 / var_2.",
         lambda mean_1, var_1, mean_2, var_2: mean_1 / var_1 + mean_2 / var_2),
        ("you weighted by 1 / std instead of 1 / var (the precision is one over the VARIANCE).",
         lambda mean_1, var_1, mean_2, var_2: _merge_mean(mean_1, var_1.sqrt(), mean_2, var_2.sqrt())),
        ("you multiplied by the merged variance 1 / (1/var_1 + 1/var_2) but weighted the means by their variances.",
         lambda mean_1, var_1, mean_2, var_2: (mean_1 * var_1 + mean_2 * var_2) / (1 / var_1 + 1 / var_2)),
    ]
    return run_check("merge_mean", fn, cases, _merge_mean, mistakes)


def _level_kl(mean_q, var_q, mean_p, var_p):
    return 0.5 * (torch.log(var_p / var_q) + (var_q + (mean_q - mean_p) ** 2) / var_p - 1).sum(-1)


@graded
def level_kl(fn):
    """KL(q || p) of one level, q and p diagonal Gaussians with (batch, d) parameters.  -> (batch,)."""
    cases = [dict(mean_q=_rand(6, 4), var_q=_var(6, 4), mean_p=_rand(6, 4), var_p=_var(6, 4)),
             dict(mean_q=_rand(3, 2), var_q=_var(3, 2), mean_p=_rand(3, 2), var_p=_var(3, 2))]
    mistakes = [
        ("this is KL(p || q), the other direction: the expectation is under q, so q's variance goes on top.",
         lambda mean_q, var_q, mean_p, var_p: _level_kl(mean_p, var_p, mean_q, var_q)),
        ("this is the KL to the standard normal N(0, I); level l's prior is p(z_l | z_{l+1}) = N(mean_p, var_p).",
         lambda mean_q, var_q, mean_p, var_p: _level_kl(mean_q, var_q, torch.zeros_like(mean_p),
                                                        torch.ones_like(var_p))),
        ("the factor 1/2 is missing.",
         lambda mean_q, var_q, mean_p, var_p: 2 * _level_kl(mean_q, var_q, mean_p, var_p)),
        ("the log-variance ratio has the wrong sign: it is log(var_p / var_q).",
         lambda mean_q, var_q, mean_p, var_p: 0.5 * (torch.log(var_q / var_p) + (var_q + (mean_q - mean_p) ** 2)
                                                     / var_p - 1).sum(-1)),
        ("the '- 1' inside the bracket is missing (it makes KL(q || q) = 0).",
         lambda mean_q, var_q, mean_p, var_p: _level_kl(mean_q, var_q, mean_p, var_p) + 0.5 * mean_q.shape[-1]),
    ]
    return run_check("level_kl", fn, cases, _level_kl, mistakes)


def _input_gradient(upstream, jacobian):
    return upstream @ (torch.eye(len(upstream), dtype=upstream.dtype) + jacobian)


@graded
def input_gradient(fn):
    """dL/dh_l = dL/dh_{l+1} (I + J) for h_{l+1} = h_l + f_l(h_l), J = df_l/dh_l.  upstream (d,), J (d, d)."""
    cases = [dict(upstream=_rand(4), jacobian=_rand(4, 4)), dict(upstream=_rand(3), jacobian=_rand(3, 3) * 0.1)]
    mistakes = [
        ("the identity is missing: the skip connection h_l itself passes the gradient on unchanged (I + J).",
         lambda upstream, jacobian: upstream @ jacobian),
        ("you multiplied by the transpose of J: for a row vector of gradients it is upstream @ (I + J).",
         lambda upstream, jacobian: upstream @ (torch.eye(len(upstream), dtype=upstream.dtype) + jacobian.T)),
        ("'1 + J' is a matrix I + J, not 1 added to every entry of J.",
         lambda upstream, jacobian: upstream @ (1 + jacobian)),
        ("you multiplied elementwise by the diagonal of I + J; the Jacobian mixes coordinates, use a matrix product.",
         lambda upstream, jacobian: upstream * (1 + jacobian.diagonal())),
        ("the identity enters with a minus sign; the skip ADDS h_l, so the gradient is upstream @ (I + J).",
         lambda upstream, jacobian: upstream @ jacobian - upstream),
    ]
    return run_check("input_gradient", fn, cases, _input_gradient, mistakes)


# -- free bits per level ---------------------------------------------------------------------------------

def _free_bits(kl_per_level, free_bits):
    return torch.clamp(kl_per_level.mean(0), min=free_bits).sum()


@graded
def free_bits_penalty(fn):
    """free_bits_penalty(kl_per_level, free_bits) -> the rate term of the course's free-bits loss
    (HierarchicalVAE.loss_terms): each level's KL averaged over the batch, raised to at least free_bits, summed
    over the levels.  kl_per_level: (batch, L) -> a scalar."""
    g = torch.Generator().manual_seed(55)
    kl = torch.rand(8, 3, generator=g, dtype=torch.float64) * torch.tensor([0.2, 3.0, 1.2], dtype=torch.float64)
    kl[0, 0] = 2.5                                   # one example far above: its level's mean stays below 1
    cases = [dict(kl_per_level=kl, free_bits=torch.tensor(1.0, dtype=torch.float64)),
             dict(kl_per_level=kl[:5, 1:], free_bits=torch.tensor(0.5, dtype=torch.float64))]
    mistakes = [
        ("you clamped each example's KL before averaging; free bits apply to a level's KL averaged over the batch "
         "(Kingma et al.), so one example's large KL does not buy the others free nats.",
         lambda kl_per_level, free_bits: torch.clamp(kl_per_level, min=free_bits).mean(0).sum()),
        ("free bits are given per level: clamp each level's average, not the total over levels.",
         lambda kl_per_level, free_bits: torch.clamp(kl_per_level.mean(0).sum(), min=free_bits)),
        ("a level below the free bits costs the free bits: raise it to at least free_bits (a max), not at most.",
         lambda kl_per_level, free_bits: torch.clamp(kl_per_level.mean(0), max=free_bits).sum()),
        ("the batch enters as an average; you summed over the examples.",
         lambda kl_per_level, free_bits: torch.clamp(kl_per_level.sum(0), min=free_bits).sum()),
        ("the levels' terms add up (the KL of the hierarchy is the sum of its levels'); you averaged them.",
         lambda kl_per_level, free_bits: torch.clamp(kl_per_level.mean(0), min=free_bits).mean()),
        ("this is max(KL − λ, 0), the hinge form: same gradients, but the course's term keeps the KL itself "
         "above λ (max(KL, λ)), so its value is the rate the loss charges.",
         lambda kl_per_level, free_bits: torch.clamp(kl_per_level.mean(0) - free_bits, min=0).sum()),
    ]
    return run_check("free_bits_penalty", fn, cases, _free_bits, mistakes)


# -- a two-level Ladder pass: its KL term -----------------------------------------------------------------

def _prior_1(z_2):
    """The cases' p(z_1 | z_2): a fixed small map from z_2 (n, 2) to the mean and log-variance of z_1 (n, 3)."""
    w = torch.tensor([[0.8, -0.5, 0.3], [0.2, 0.9, -0.7]], dtype=z_2.dtype, device=z_2.device)
    return torch.tanh(z_2 @ w), 0.3 * torch.sin(z_2 @ w) - 0.2


def _ladder_kl(mean_1, log_var_1, mean_2, log_var_2, eps_1, eps_2, prior_1, merge=True, precision=True,
               level_1_against="prior", merge_top=False):
    var_1, var_2 = log_var_1.exp(), log_var_2.exp()
    if merge_top:                                       # a slip: the top level merged with N(0, I)
        var_2, mean_2 = 1 / (1 / var_2 + 1), mean_2 / var_2 / (1 / var_2 + 1)
    z_2 = mean_2 + var_2.sqrt() * eps_2
    prior_mean, prior_log_var = prior_1(z_2)
    prior_var = prior_log_var.exp()
    if not merge:
        q_mean, q_var = mean_1, var_1
    elif precision:
        q_var = 1 / (1 / var_1 + 1 / prior_var)
        q_mean = q_var * (mean_1 / var_1 + prior_mean / prior_var)
    else:                                               # a slip: the means weighted by the variances
        q_var = 1 / (1 / var_1 + 1 / prior_var)
        q_mean = (mean_1 * var_1 + prior_mean * prior_var) / (var_1 + prior_var)
    if level_1_against == "prior":
        kl_1 = _level_kl(q_mean, q_var, prior_mean, prior_var)
    else:
        kl_1 = _level_kl(q_mean, q_var, torch.zeros_like(q_mean), torch.ones_like(q_var))
    return kl_1 + _level_kl(mean_2, var_2, torch.zeros_like(mean_2), torch.ones_like(var_2))


def _ladder_cases():
    g = torch.Generator().manual_seed(55)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    return [dict(mean_1=r(4, 3), log_var_1=0.5 * r(4, 3), mean_2=r(4, 2), log_var_2=0.5 * r(4, 2),
                 eps_1=r(4, 3), eps_2=r(4, 2), prior_1=_prior_1),
            dict(mean_1=2 * r(2, 3), log_var_1=r(2, 3) - 1, mean_2=r(2, 2), log_var_2=r(2, 2),
                 eps_1=r(2, 3), eps_2=r(2, 2), prior_1=_prior_1)]


@graded
def ladder_kl(fn):
    """ladder_kl(mean_1, log_var_1, mean_2, log_var_2, eps_1, eps_2, prior_1) -> (n,): for one top-down pass of a
    two-level Ladder VAE (z_2 = mean_2 + std_2 eps_2 from the top's bottom-up Gaussian, then q(z_1 | z_2, x) the
    precision-weighted merge of the bottom-up N(mean_1, var_1) with p(z_1 | z_2) = N(prior_1(z_2))), the ELBO's KL
    term: KL(q(z_2 | x) || N(0, I)) + KL(q(z_1 | z_2, x) || p(z_1 | z_2)), each summed over its latents."""
    mistakes = [
        ("level 1's posterior is the bottom-up Gaussian alone here; the Ladder merges it with the prior p(z_1 | z_2) "
         "(lesson 5's precision-weighted product) before its KL is taken.",
         lambda **c: _ladder_kl(**c, merge=False)),
        ("the merged mean weighs each mean by its *precision* (1 / variance), not by its variance.",
         lambda **c: _ladder_kl(**c, precision=False)),
        ("level 1's KL is to its prior given the level above, p(z_1 | z_2) = N(prior_1(z_2)), not to N(0, I).",
         lambda **c: _ladder_kl(**c, level_1_against="standard")),
        ("the top level has nothing above it: q(z_2 | x) is its bottom-up Gaussian itself, with no merge.",
         lambda **c: _ladder_kl(**c, merge_top=True)),
    ]
    return run_check("ladder_kl", fn, _ladder_cases(), _ladder_kl, mistakes)
