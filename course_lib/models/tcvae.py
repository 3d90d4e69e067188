"""β-TCVAE (Chen et al., 2018): a VAE that penalises the total correlation of its codes.

Averaged over the data, the KL term splits into three parts (see
:func:`course_lib.metrics.information.total_correlation_decomposition`):

    E_x KL(q(z|x) || p(z)) = I_q(x; z) + TC(z) + sum_j KL(q(z_j) || p(z_j))

β-TCVAE weighs them alpha, beta, gamma.  With alpha = gamma = 1 (the setting Chen et al. recommend)
the loss is the negative ELBO plus (beta - 1) times the total correlation:

    loss = distortion + KL(q(z|x) || p(z)) + (beta - 1) * TC_hat

where TC_hat is estimated on each minibatch of M images from the M x M x d table
log q(z_i,d | x_j) (z_i ~ q(z|x_i)) with the importance-weighted estimator
(:func:`~course_lib.metrics.information.importance_weighted_total_correlation`), which needs the
data set's size N.  With beta = 1 this is the ordinary VAE.
"""

from ..capture import capturable
from ..distributions import DiagonalGaussian
from ..errors import check_int, check_number
from ..metrics.information import importance_weighted_total_correlation


def log_q_pairs(q, z):
    """log q(z_i,d | x_j) for every pair in a batch: q has means (M, d), z is (M, d).  -> (M, M, d)."""
    return DiagonalGaussian(q.mean[None], q.log_var[None]).log_prob_per_dim(z[:, None, :])


def tcvae_loss_terms(model, x, beta, dataset_size):
    """Batch-averaged terms for a :class:`course_lib.VAE`: ``loss`` as above, ``distortion``, ``rate`` (the
    closed-form KL), ``total correlation`` (the minibatch estimate) and ``elbo``.  ``beta`` may be a tensor
    (one value per model in a sweep)."""
    x = model.check_input(x)
    q = model.encoder(x)
    z = q.rsample()
    distortion = -model.decoder(z).log_prob(x).mean()
    rate = q.kl_standard_normal().mean()
    tc = importance_weighted_total_correlation(log_q_pairs(q, z), dataset_size)
    return {"loss": distortion + rate + (beta - 1) * tc, "distortion": distortion, "rate": rate,
            "total correlation": tc, "elbo": -(distortion + rate)}


def tcvae_objective(beta, dataset_size):
    """A loss for :func:`course_lib.fit`: β-TCVAE with a fixed beta >= 0 on a data set of ``dataset_size``
    images."""
    beta = check_number("beta", beta, minimum=0.0)
    dataset_size = check_int("dataset_size", dataset_size, minimum=2)

    @capturable
    def loss_fn(model, x, step):
        return tcvae_loss_terms(model, x, beta, dataset_size)

    return loss_fn


def tcvae_sweep_objective(dataset_size):
    """A loss for :func:`course_lib.fit_sweep` over beta."""
    dataset_size = check_int("dataset_size", dataset_size, minimum=2)

    @capturable
    def loss_fn(model, x, value, step):
        return tcvae_loss_terms(model, x, value, dataset_size)

    return loss_fn
