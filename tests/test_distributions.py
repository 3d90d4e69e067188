"""Every distribution against torch.distributions."""
import pytest
import torch
from torch import distributions as D

from course_lib import Bernoulli, DiagonalGaussian, Gaussian, kl_diagonal_gaussians, kl_standard_normal


def reference(mean, log_var):
    return D.Independent(D.Normal(mean, (0.5 * log_var).exp()), 1)


@pytest.fixture
def params():
    g = torch.Generator().manual_seed(1)
    return (torch.randn(7, 5, generator=g, dtype=torch.float64),
            torch.randn(7, 5, generator=g, dtype=torch.float64))


def test_log_prob_and_entropy_match_torch(params):
    mean, log_var = params
    q, ref = DiagonalGaussian(mean, log_var), reference(mean, log_var)
    z = torch.randn(3, 7, 5, dtype=torch.float64)
    torch.testing.assert_close(q.log_prob(z), ref.log_prob(z))
    torch.testing.assert_close(q.entropy(), ref.entropy())


def test_kl_to_standard_normal_matches_torch(params):
    mean, log_var = params
    expected = D.kl_divergence(reference(mean, log_var), reference(torch.zeros_like(mean), torch.zeros_like(mean)))
    torch.testing.assert_close(kl_standard_normal(mean, log_var), expected)
    torch.testing.assert_close(DiagonalGaussian(mean, log_var).kl_standard_normal(), expected)


def test_kl_between_diagonal_gaussians_matches_torch(params):
    mean, log_var = params
    mean_p, log_var_p = mean.flip(0) + 0.3, log_var.flip(1) - 0.2
    expected = D.kl_divergence(reference(mean, log_var), reference(mean_p, log_var_p))
    torch.testing.assert_close(kl_diagonal_gaussians(mean, log_var, mean_p, log_var_p), expected)
    q, p = DiagonalGaussian(mean, log_var), DiagonalGaussian(mean_p, log_var_p)
    torch.testing.assert_close(q.kl(p), expected)
    torch.testing.assert_close(q.kl(q), torch.zeros(7, dtype=torch.float64))


def test_rsample_has_right_moments_and_gradients():
    mean = torch.tensor([1.0, -2.0], requires_grad=True)
    log_var = torch.tensor([0.0, 1.0], requires_grad=True)
    z = DiagonalGaussian(mean, log_var).rsample(200_000)
    assert z.shape == (200_000, 2)
    # sample mean within 5 standard errors, sample variance within 2 %
    se = log_var.detach().exp().sqrt() / 200_000 ** 0.5
    assert ((z.mean(0) - mean).abs() < 5 * se).all()
    torch.testing.assert_close(z.var(0), log_var.detach().exp(), rtol=0.02, atol=0)
    z.sum().backward()       # d/dmean of sum z = n, so gradients reach both parameters
    assert mean.grad is not None and log_var.grad is not None
    torch.testing.assert_close(mean.grad, torch.full((2,), 200_000.0))


def test_bernoulli_log_prob_matches_torch_on_binary_images():
    logits = torch.randn(4, 1, 28, 28, dtype=torch.float64)
    x = torch.bernoulli(torch.full_like(logits, 0.3))
    expected = D.Independent(D.Bernoulli(logits=logits), 3).log_prob(x)
    torch.testing.assert_close(Bernoulli(logits).log_prob(x), expected)
    # broadcasting over a leading sample dimension (k, batch, C, H, W)
    stacked = Bernoulli(logits.expand(3, *logits.shape)).log_prob(x)
    torch.testing.assert_close(stacked, expected.expand(3, 4))


def test_bernoulli_on_grey_levels_is_minus_bce():
    logits, x = torch.randn(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    bce = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum((1, 2, 3))
    torch.testing.assert_close(Bernoulli(logits).log_prob(x), -bce, rtol=1e-5, atol=1e-4)


def test_gaussian_likelihood_matches_torch():
    mean, x = torch.randn(3, 1, 5, 5, dtype=torch.float64), torch.randn(3, 1, 5, 5, dtype=torch.float64)
    for log_var in (torch.tensor(-1.3, dtype=torch.float64), torch.randn(3, 1, 5, 5, dtype=torch.float64)):
        expected = D.Independent(D.Normal(mean, (0.5 * log_var).exp().expand_as(mean)), 3).log_prob(x)
        torch.testing.assert_close(Gaussian(mean, log_var).log_prob(x), expected)


def test_the_kl_per_dimension_is_each_coordinates_kl_and_sums_to_the_total():
    from course_lib.distributions import kl_standard_normal_per_dim
    g = torch.Generator().manual_seed(3)
    mean, log_var = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    q = torch.distributions.Normal(mean, (0.5 * log_var).exp())
    expected = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0))
    torch.testing.assert_close(kl_standard_normal_per_dim(mean, log_var), expected)
    torch.testing.assert_close(kl_standard_normal_per_dim(mean, log_var).sum(-1), kl_standard_normal(mean, log_var))
