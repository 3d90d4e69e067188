"""Estimators and divergences: how the course measures what it cannot compute exactly.

    gradients    score-function (REINFORCE) and pathwise gradient estimators, Gumbel-softmax
    divergences  Amari's alpha-divergence, the Renyi divergence and the VR bound
    ais          annealed importance sampling with HMC, for log p(x)

``from course_lib import estimators; estimators.pathwise_samples(...)`` reaches the gradient
estimators directly.
"""
from .ais import ais, geometric_betas, log_mean_standard_error
from .divergences import (
    alpha_divergence_gaussians,
    alpha_divergence_grid,
    renyi_gaussians,
    text_alpha_divergence_grid,
    vr_bound,
)
from .gradients import (
    gamma_implicit_samples,
    gaussian_score,
    gumbel_softmax_sample,
    lognormal_pathwise_mean,
    pathwise_samples,
    score_function_samples,
    score_function_vae_objective,
)

__all__ = ["ais", "alpha_divergence_gaussians", "alpha_divergence_grid", "gamma_implicit_samples",
           "gaussian_score", "geometric_betas", "gumbel_softmax_sample", "log_mean_standard_error",
           "lognormal_pathwise_mean", "pathwise_samples", "renyi_gaussians",
           "score_function_samples", "score_function_vae_objective", "text_alpha_divergence_grid",
           "vr_bound"]
