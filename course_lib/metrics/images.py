"""Measures of images and codes that need no trained network.

    laplacian_variance   how sharp images are: the variance of their Laplacian (a focus measure)
    gaussian_fit_kl      how far a sample of codes is from N(0, I), kernel-free: KL(N(mean, cov) ‖ N(0, I))
"""
import torch

from ..errors import check_tensor


def laplacian_variance(images):
    """The variance of each image's Laplacian (the 3 x 3 stencil [[0, 1, 0], [1, -4, 1], [0, 1, 0]] on the
    pixels that have all four neighbours), averaged over the images: a common focus measure, large for
    sharp edges, small for blur.  (N, 1, H, W) -> float"""
    images = images.detach().float().cpu()
    lap = (images[..., 1:-1, :-2] + images[..., 1:-1, 2:] + images[..., :-2, 1:-1] + images[..., 2:, 1:-1]
           - 4 * images[..., 1:-1, 1:-1])
    return float(lap.flatten(1).var(dim=1, unbiased=False).mean())


def gaussian_fit_kl(z):
    """KL(N(m, S) ‖ N(0, I)) for the mean m and covariance S of the codes z (N, d):

        ½ [tr S + ‖m‖² − d − log det S].

    A lower bound on KL(Q ‖ N(0, I)) for the distribution Q the codes are drawn from: for a Gaussian
    target, E_Q log p depends only on Q's mean and covariance, and of all distributions with that
    covariance the Gaussian has the largest entropy.  Needs no kernel, so no model was trained on it.
    -> float (nats; a plug-in estimate, biased upwards by about d(d + 3)/(4N) for N codes)"""
    z = check_tensor("z", z, min_dim=2).detach().double().cpu()
    m, S = z.mean(0), torch.cov(z.T).reshape(z.shape[1], z.shape[1])
    d = z.shape[1]
    return float(0.5 * (torch.trace(S) + m @ m - d - torch.logdet(S)))


