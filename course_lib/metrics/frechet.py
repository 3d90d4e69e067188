"""The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian.

For N(mu_1, S_1) and N(mu_2, S_2) the squared 2-Wasserstein distance has the closed form

    d^2 = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}).

Computed on the features of an Inception network it is the FID of Heusel et al. (2017); the
course computes it on the features of its own small Fashion-MNIST classifier
(:class:`course_lib.models.classifier.FashionClassifier`), which is *not* FID and whose values
cannot be compared with published FIDs.  Everything is done in float64.
"""
import torch

from ..errors import CourseInputError


def feature_statistics(features):
    """Mean and covariance (unbiased) of features (N, d), N >= 2.  -> (mu (d,), S (d, d)) float64"""
    if not isinstance(features, torch.Tensor) or features.dim() != 2 or len(features) < 2:
        raise CourseInputError("features must be a tensor of shape (N, d) with N >= 2, "
                               f"got {tuple(getattr(features, 'shape', ()))}.")
    f = features.detach().to("cpu", torch.float64)
    return f.mean(0), torch.cov(f.T).reshape(f.shape[1], f.shape[1])


def _psd_sqrt(s):
    """The symmetric square root of a positive semi-definite matrix (eigenvalues below 0 set to 0)."""
    values, vectors = torch.linalg.eigh((s + s.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1, s1, mu2, s2):
    """d^2 between N(mu1, s1) and N(mu2, s2) (see the module docstring).  -> float"""
    mu1, s1, mu2, s2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mu1, s1, mu2, s2))
    d = mu1.shape[-1]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise CourseInputError(f"means must be (d,) and covariances (d, d) with one d; got {tuple(mu1.shape)}, "
                               f"{tuple(s1.shape)}, {tuple(mu2.shape)}, {tuple(s2.shape)}.")
    root = _psd_sqrt(s1)
    cross = torch.linalg.eigvalsh(root @ s2 @ root).clamp(min=0).sqrt().sum()   # tr((S1^1/2 S2 S1^1/2)^1/2)
    return float((mu1 - mu2).pow(2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * cross)


def frechet_feature_distance(features_a, features_b):
    """The Fréchet distance between the Gaussians fitted to two sets of features (N, d) and (M, d)."""
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))
