"""Measurements of trained models: information terms, active units, linear probes, disentanglement.

    information      rate, distortion, per-latent KL, I_q(X; Z) and KL(q(z) ‖ p(z)) on a finite data set;
                     the total-correlation split of the average KL and its minibatch estimators;
                     the variational lower bound on a mutual information (InfoGAN)
    probe            how much a linear classifier, or a vote of near neighbours, can read off the codes
    disentanglement  latent-factor mutual information (and its binning bias) and the Mutual Information Gap (MIG)
    frechet          the Fréchet distance between two feature sets, each summarised by a Gaussian
    images           sharpness of images (variance of the Laplacian); a kernel-free distance of codes to N(0, I)
"""
from .disentanglement import binning_bias, factor_entropies, mig, mutual_information_matrix
from .frechet import feature_statistics, frechet_distance, frechet_feature_distance
from .images import gaussian_fit_kl, laplacian_variance
from .information import (
    active_units,
    importance_weighted_total_correlation,
    latent_means,
    marginal_kl_and_information,
    mws_total_correlation,
    rate_distortion_terms,
    total_correlation_decomposition,
    variational_information_bound,
)
from .probe import linear_probe_accuracy, linear_probe_correct, neighbour_vote_accuracy

__all__ = ["active_units", "binning_bias", "factor_entropies", "feature_statistics", "frechet_distance",
           "frechet_feature_distance", "gaussian_fit_kl", "importance_weighted_total_correlation",
           "laplacian_variance", "latent_means", "linear_probe_accuracy", "linear_probe_correct",
           "marginal_kl_and_information", "mig", "mutual_information_matrix",
           "mws_total_correlation", "neighbour_vote_accuracy", "rate_distortion_terms", "total_correlation_decomposition",
           "variational_information_bound"]
