"""Information terms of a trained VAE, measured on a finite set of N images x_1 … x_N.

    rate        R = (1/N) Σ_n KL(q(z|x_n) ‖ p(z))                      (closed form per image)
    distortion  D = −(1/N) Σ_n E_q log p(x_n|z)                       (Monte Carlo over z)

The aggregate posterior of the set is the mixture q(z) = (1/N) Σ_j q(z|x_j).  With
z ~ q(z|x_n) for a uniformly chosen n,

    I_q(X; Z)       = E[ log q(z|x_n) − log q(z) ]
    KL(q(z) ‖ p(z)) = E[ log q(z) − log p(z) ]

and the two add up to R exactly: R = I_q(X; Z) + KL(q(z) ‖ p(z)).  Both are
estimated here from samples of z; log q(z) is an exact log-sum-exp over all N
images, so the estimate of I is unbiased for the N images themselves.  As an
estimate of the encoder's mutual information under the data *distribution* it
is the InfoNCE bound (van den Oord et al., 2018; Poole et al., 2019): biased
downwards, and never above log N.
"""
import math

import torch

from ..distributions import DiagonalGaussian, kl_standard_normal_per_dim
from ..errors import check_int, check_number, check_tensor


@torch.no_grad()
def latent_means(model, x, batch_size=500):
    """E_q[z|x] for every image: (N, C, H, W) -> (N, latent_dim), on the CPU."""
    check_tensor("x", x, min_dim=2)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return torch.cat([model.encoder(_on_model_device(model, x[i:i + batch_size])).mean.cpu()
                      for i in range(0, len(x), batch_size)])


@torch.no_grad()
def rate_distortion_terms(model, x, batch_size=500):
    """Rate, distortion and per-latent KL of ``model`` on the images ``x`` (averages over the set).

    Returns a dict: ``rate`` (float), ``distortion`` (float), ``kl_per_latent`` ((latent_dim,) tensor;
    it sums to the rate), ``elbo`` = −(rate + distortion).
    """
    check_tensor("x", x, min_dim=2)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    kl_sum, distortion_sum = 0.0, 0.0
    for i in range(0, len(x), batch_size):
        batch = _on_model_device(model, x[i:i + batch_size])
        q = model.encoder(batch)
        kl = kl_standard_normal_per_dim(q.mean, q.log_var)                      # (batch, latent_dim)
        kl_sum = kl_sum + kl.sum(0).cpu().double()
        distortion_sum += -model.decoder(q.rsample()).log_prob(batch).sum().item()
    kl_per_latent = kl_sum / len(x)
    rate, distortion = kl_per_latent.sum().item(), distortion_sum / len(x)
    return {"rate": rate, "distortion": distortion, "kl_per_latent": kl_per_latent, "elbo": -(rate + distortion)}


@torch.no_grad()
def marginal_kl_and_information(model, x, n_samples=4, generator=None):
    """Estimates of I_q(X; Z) and KL(q(z) ‖ p(z)) over the images ``x`` (see the module docstring).

    Returns a dict with ``information``, ``marginal_kl``, their sum ``rate_estimate`` (an
    estimate of the rate from the same samples) and ``log_n`` = log N, the ceiling of the estimate.
    Cost: N² · latent_dim per sample.
    """
    check_tensor("x", x, min_dim=2)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    means, log_vars = [], []
    for i in range(0, len(x), 500):
        q = model.encoder(_on_model_device(model, x[i:i + 500]))
        means.append(q.mean.double().cpu())
        log_vars.append(q.log_var.double().cpu())
    mean, log_var = torch.cat(means), torch.cat(log_vars)                     # (N, d)
    n, d = mean.shape
    encoders = DiagonalGaussian(mean[None], log_var[None])                      # q(·|x_j) for every j
    prior = DiagonalGaussian(torch.zeros(d, dtype=torch.float64), torch.zeros(d, dtype=torch.float64))
    info_sum, kl_sum = 0.0, 0.0
    for _ in range(n_samples):
        eps = torch.randn(mean.shape, generator=generator, dtype=torch.float64)
        z = mean + (0.5 * log_var).exp() * eps                                 # z_n ~ q(z|x_n)
        log_q_own = DiagonalGaussian(mean, log_var).log_prob(z)                 # log q(z_n|x_n)
        log_q_agg = torch.cat([torch.logsumexp(encoders.log_prob(z[i:i + 256, None, :]), dim=1)
                               for i in range(0, n, 256)]) - math.log(n)      # log (1/N) Σ_j q(z_n|x_j)
        log_prior = prior.log_prob(z)
        info_sum += (log_q_own - log_q_agg).mean().item()
        kl_sum += (log_q_agg - log_prior).mean().item()
    information, marginal_kl = info_sum / n_samples, kl_sum / n_samples
    return {"information": information, "marginal_kl": marginal_kl, "rate_estimate": information + marginal_kl,
            "log_n": math.log(n)}


def _on_model_device(model, x):
    return x.to(next(model.parameters()).device)


@torch.no_grad()
def active_units(model, x, threshold=0.01, batch_size=500):
    """Which latents are *active* (Burda et al., 2016): A_u = Cov_x(E_q[z_u|x]) > threshold.

    Returns ``(active, activity)``: a (latent_dim,) bool tensor and the (latent_dim,) variances.
    """
    threshold = check_number("threshold", threshold, minimum=0.0)
    means = latent_means(model, x, batch_size)
    activity = means.var(dim=0)
    return activity > threshold, activity


def _log_mean_exp(t, dim):
    return torch.logsumexp(t, dim) - math.log(t.shape[dim])


@torch.no_grad()
def total_correlation_decomposition(mean, log_var, n_samples=4, generator=None):
    """The data-averaged KL split three ways (Chen et al., 2018), for N diagonal Gaussian posteriors
    q(z|x_n) = N(mean_n, exp(log_var_n)) (mean, log_var: (N, d)) and p(z) = N(0, I):

        (1/N) sum_n KL(q(z|x_n) || p(z))
          = I_q(x; z)                                  index-code mutual information
          + KL(q(z) || prod_j q(z_j))                  total correlation
          + sum_j KL(q(z_j) || p(z_j))                 dimension-wise KL

    with q(z) = (1/N) sum_n q(z|x_n) and q(z_j) its marginals.  For each draw n ~ U{1..N}, z ~ q(z|x_n),
    the three log-ratios add up to log q(z|x_n) - log p(z) exactly, so the identity holds for the
    averages; the terms are Monte Carlo averages (log q(z) and log q(z_j) are exact sums over all N).
    It holds for the KL *averaged over the data*, not for the KL of one x (which varies with x).
    Returns a dict of floats: the three terms, their sum, the closed-form average KL, and the
    standard error of the sum."""
    check_tensor("mean", mean, min_dim=2)
    check_tensor("log_var", log_var, shape=tuple(mean.shape))
    mean, log_var = mean.double(), log_var.double()
    n, d = mean.shape
    components = DiagonalGaussian(mean[None], log_var[None])                   # q(.|x_j), broadcast over j
    terms = {"index-code MI": [], "total correlation": [], "dimension-wise KL": [], "sum": []}
    for _ in range(check_int("n_samples", n_samples, minimum=1)):
        eps = torch.randn(mean.shape, generator=generator, dtype=torch.float64)
        z = mean + (0.5 * log_var).exp() * eps                                # z_n ~ q(z|x_n)
        log_own = DiagonalGaussian(mean, log_var).log_prob(z)
        per_dim = torch.cat([components.log_prob_per_dim(z[i:i + 256, None, :]) for i in range(0, n, 256)])  # (N, N, d)
        log_joint = _log_mean_exp(per_dim.sum(-1), 1)                          # log q(z_n)
        log_marginals = _log_mean_exp(per_dim, 1).sum(-1)                      # sum_j log q(z_n,j)
        log_prior = DiagonalGaussian.standard(d).log_prob(z)
        terms["index-code MI"].append(log_own - log_joint)
        terms["total correlation"].append(log_joint - log_marginals)
        terms["dimension-wise KL"].append(log_marginals - log_prior)
        terms["sum"].append(log_own - log_prior)
    out = {k: float(torch.cat(v).mean()) for k, v in terms.items()}
    out["standard error of the sum"] = float(torch.cat(terms["sum"]).std() / math.sqrt(n * n_samples))
    out["average KL (closed form)"] = float(kl_standard_normal_per_dim(mean, log_var).sum(-1).mean())
    return out


def mws_total_correlation(log_q_pairs, dataset_size):
    """Minibatch weighted sampling estimate of the total correlation (Chen et al., 2018).

    log_q_pairs[i, j, d] = log q(z_i,d | x_j) for a batch of M images, z_i ~ q(z|x_i) (M, M, d);
    with N = dataset_size,
        log q(z_i)   ~ logsumexp_j sum_d log q(z_i,d | x_j) - log(N M)
        log q(z_i,d) ~ logsumexp_j log q(z_i,d | x_j) - log(N M)
        TC           ~ mean_i [log q(z_i) - sum_d log q(z_i,d)]
    Biased for a finite batch.  -> 0-dim tensor."""
    m = log_q_pairs.shape[0]
    log_nm = math.log(dataset_size * m)
    log_joint = torch.logsumexp(log_q_pairs.sum(-1), 1) - log_nm
    log_marginals = (torch.logsumexp(log_q_pairs, 1) - log_nm).sum(-1)
    return (log_joint - log_marginals).mean()


def importance_weighted_total_correlation(log_q_pairs, dataset_size):
    """The total correlation from a batch, with q(z_i) estimated by importance weights that are
    unbiased for q(z_i) when the other batch members are uniform draws from the rest of the data:

        q(z_i) ~ q(z_i|x_i) / N + (N - 1) / (N (M - 1)) sum_{j != i} q(z_i|x_j)

    and the same for each marginal q(z_i,d).  Its logarithm is still biased (Jensen), but far
    less than MWS's.  log_q_pairs: (M, M, d) as in :func:`mws_total_correlation`.  -> 0-dim tensor."""
    m, n = log_q_pairs.shape[0], dataset_size
    own = torch.eye(m, dtype=torch.bool, device=log_q_pairs.device)
    log_own, log_other = -math.log(n), math.log((n - 1) / (n * (m - 1)))
    log_weights = own.to(log_q_pairs.dtype) * (log_own - log_other) + log_other
    log_joint = torch.logsumexp(log_q_pairs.sum(-1) + log_weights, 1)
    log_marginals = torch.logsumexp(log_q_pairs + log_weights[..., None], 1).sum(-1)
    return (log_joint - log_marginals).mean()


def variational_information_bound(log_q_true_code, code_entropy):
    """The variational lower bound on a mutual information (Barber & Agakov, 2003; InfoGAN's L_I):

        I(c; x) = H(c) - H(c | x) >= E[log Q(c | x)] + H(c)

    for any distribution Q(c|x), with equality when Q(c|x) = p(c|x); the gap is E_x KL(p(c|x) || Q(c|x)).
    ``log_q_true_code``: log Q(c_n | x_n) for pairs (c_n, x_n) drawn from the joint (n,); ``code_entropy``: H(c)
    in nats (log K for a uniform code over K values).  -> 0-dim tensor (nats)."""
    check_tensor("log_q_true_code", log_q_true_code, shape=(None,))
    return log_q_true_code.mean() + code_entropy
