"""The exact sandbox, checked against independent formulas and Monte Carlo."""
import math

import pytest
import torch
from torch import distributions as D

from course_lib import CourseInputError, LinearGaussianModel

F64 = torch.float64


@pytest.fixture
def model():
    return LinearGaussianModel.random(d=4, k=2, sigma2=0.3, seed=3)


@pytest.fixture
def x(model):
    return model.sample(6, generator=torch.Generator().manual_seed(0))[0]


def a_poor_q(model, x):
    """A diagonal q that is deliberately off the true posterior."""
    mean, cov = model.posterior(x)
    return mean + 0.4, torch.log(torch.diagonal(cov)).expand_as(mean) + 0.5


def test_log_marginal_matches_multivariate_normal(model, x):
    expected = D.MultivariateNormal(model.b, model.marginal_cov()).log_prob(x)
    torch.testing.assert_close(model.log_marginal(x), expected)


def test_posterior_matches_gaussian_conditioning(model, x):
    # joint of (z, x): cov [[I, W^T], [W, C]]; condition on x with the textbook formula
    C = model.marginal_cov()
    gain = model.W.T @ torch.linalg.inv(C)
    mean, cov = model.posterior(x)
    torch.testing.assert_close(mean, (gain @ (x - model.b).T).T)
    torch.testing.assert_close(cov, torch.eye(model.k, dtype=F64) - gain @ model.W)


def test_log_px_equals_elbo_plus_kl_for_any_q(model, x):
    g = torch.Generator().manual_seed(5)
    for _ in range(5):
        q_mean = torch.randn(6, 2, generator=g, dtype=F64)
        q_log_var = torch.randn(6, 2, generator=g, dtype=F64)
        total = model.elbo(x, q_mean, q_log_var) + model.kl_to_posterior(x, q_mean, q_log_var)
        torch.testing.assert_close(total, model.log_marginal(x))
        assert (model.kl_to_posterior(x, q_mean, q_log_var) > 0).all()


def test_gap_closes_at_true_posterior_when_it_is_diagonal():
    model = LinearGaussianModel.random(d=3, k=1, sigma2=0.5, seed=1)   # k = 1: the posterior is diagonal
    x, _ = model.sample(5)
    mean, cov = model.posterior(x)
    log_var = torch.log(cov).reshape(1, 1).expand(5, 1)
    torch.testing.assert_close(model.elbo(x, mean, log_var), model.log_marginal(x))
    torch.testing.assert_close(model.kl_to_posterior(x, mean, log_var), torch.zeros(5, dtype=F64),
                               atol=1e-10, rtol=0)


def test_closed_form_elbo_matches_monte_carlo(model, x):
    q_mean, q_log_var = a_poor_q(model, x)
    torch.manual_seed(0)
    w = model.log_weights(x, q_mean, q_log_var, 100_000)          # (n, batch): single-sample ELBO draws
    se = w.std(0) / math.sqrt(w.shape[0])
    assert ((w.mean(0) - model.elbo(x, q_mean, q_log_var)).abs() < 5 * se).all()


def test_iwae_bounds_are_ordered_and_approach_log_px(model, x):
    """E[ELBO] <= E[IWAE_1] = ELBO <= E[IWAE_5] <= E[IWAE_50] <= log p(x), within 4 standard errors."""
    q_mean, q_log_var = a_poor_q(model, x)
    torch.manual_seed(1)

    def estimate(k, reps):
        draws = torch.stack([model.iwae_bound(x, q_mean, q_log_var, k) for _ in range(reps)])
        return draws.mean(0), draws.std(0) / math.sqrt(reps)

    elbo, log_px = model.elbo(x, q_mean, q_log_var), model.log_marginal(x)
    (m1, s1), (m5, s5), (m50, s50) = estimate(1, 4000), estimate(5, 2000), estimate(50, 1000)
    assert ((m1 - elbo).abs() < 4 * s1).all()
    assert (log_px - elbo > 0.1).all()                 # q is poor: the gap is visible
    assert (m5 - m1 > -4 * (s1 + s5)).all() and (m5 > elbo).all()
    assert (m50 - m5 > -4 * (s5 + s50)).all()
    assert (m50 < log_px + 4 * s50).all()
    # with many samples the bound is close to the truth
    big = model.iwae_bound(x, q_mean, q_log_var, 20_000)
    assert ((log_px - big).abs() < 0.02).all()
    assert ((log_px - big).abs() < (log_px - elbo) / 10).all()


def test_ml_closed_form_matches_numerical_maximisation():
    truth = LinearGaussianModel.random(d=5, k=2, sigma2=0.2, seed=7)
    x, _ = truth.sample(3000, generator=torch.Generator().manual_seed(2))
    fitted = LinearGaussianModel.fit_ml(x, k=2)
    best = fitted.log_marginal(x).mean()

    # maximise the exact log-likelihood directly over W, b, log sigma^2
    torch.manual_seed(0)
    W = torch.randn(5, 2, dtype=F64, requires_grad=True)
    b = torch.zeros(5, dtype=F64, requires_grad=True)
    log_s2 = torch.zeros((), dtype=F64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b, log_s2], max_iter=500, line_search_fn="strong_wolfe", tolerance_grad=1e-10)

    def closure():
        opt.zero_grad()
        C = W @ W.T + log_s2.exp() * torch.eye(5, dtype=F64)
        loss = -D.MultivariateNormal(b, C).log_prob(x).mean()
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    numeric = -closure().item()
    assert numeric <= best.item() + 1e-6          # the closed form is the maximum
    assert abs(numeric - best.item()) < 1e-5
    assert abs(log_s2.exp().item() - fitted.sigma2) < 1e-4
    torch.testing.assert_close(W.detach() @ W.detach().T, fitted.W @ fitted.W.T, atol=1e-4, rtol=0)


def test_bad_inputs_are_explained(model):
    with pytest.raises(CourseInputError, match="x must have shape"):
        model.log_marginal(torch.zeros(3, 5))
    with pytest.raises(CourseInputError, match="sigma2"):
        LinearGaussianModel(torch.ones(2, 1), torch.zeros(2), -1.0)
    with pytest.raises(CourseInputError, match="k must be smaller"):
        LinearGaussianModel.fit_ml(torch.randn(10, 3), k=3)
