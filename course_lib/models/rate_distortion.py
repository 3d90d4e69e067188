"""Rate and distortion where everything is Gaussian, so every term has a closed form.

The source is x ~ N(0, Σ) in d dimensions.  A *linear Gaussian autoencoder* is a
VAE whose parts are all linear:

    encoder  q(z|x) = N(A x, diag s)          A: (k, d), s: (k,) variances
    prior    p(z)   = N(0, I_k)
    decoder  p(x|z) = N(W z, v I_d)           W: (d, k), v > 0

For it, with C = A Σ Aᵀ + diag s the covariance of the aggregate posterior
q(z) = E_x q(z|x) = N(0, C):

    rate        R = E_x KL(q(z|x) ‖ p(z)) = ½ [tr C − k − log det diag s]
    information I = I_q(X; Z)             = ½ [log det C − log det diag s]
    marginal KL     KL(q(z) ‖ p(z))       = ½ [tr C − k − log det C]         so R = I + KL(q(z) ‖ p(z))
    squared error   D = E ‖x − W z‖²      = tr[(I − W A) Σ (I − W A)ᵀ] + tr(W diag s Wᵀ)
    distortion  −E log p(x|z)             = ½ [d log(2π v) + D / v]

and H(X) = ½ log det(2πe Σ), so the bounds H(X) − (−E log p(x|z)) ≤ I ≤ R can be
checked exactly.  The rate–distortion function of the source under squared error
is given by reverse water-filling (Cover & Thomas, 2006, §10.3.3):

    R(D) = Σ_i max(0, ½ log(σ_i² / λ)),   with λ chosen so that Σ_i min(λ, σ_i²) = D,

where σ_i² are the eigenvalues of Σ.  No encoder reaches below it: R ≥ I ≥ R(D).
All quantities are in nats.
"""
import math

import torch
from torch import nn

from ..distributions import LOG_2PI
from ..errors import CourseInputError, check_int, check_number, check_tensor


def _variances(variances):
    v = torch.as_tensor(variances, dtype=torch.float64).flatten()
    if v.numel() == 0 or not torch.isfinite(v).all() or (v <= 0).any():
        raise CourseInputError(f"variances must be positive numbers, got {variances!r}.")
    return v


def water_level(variances, distortion):
    """The λ of reverse water-filling: Σ_i min(λ, σ_i²) = D (0 < D ≤ Σ σ_i²)."""
    v = _variances(variances)
    d = check_number("distortion", distortion, minimum=0.0, strict_minimum=True)
    if d >= v.sum().item():
        return v.max().item()
    lo, hi = 0.0, v.max().item()
    for _ in range(200):                       # bisection: the left side grows with λ
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if torch.clamp(v, max=mid).sum().item() < d else (lo, mid)
    return 0.5 * (lo + hi)


def gaussian_rate_distortion(variances, distortion):
    """R(D) in nats for a Gaussian source with these component variances, under squared error."""
    v = _variances(variances)
    level = water_level(v, distortion)
    return 0.5 * torch.log(v / level).clamp(min=0.0).sum().item()


def gaussian_rate_distortion_curve(variances, n=200):
    """(D, R(D)) at ``n`` distortions between a small value and Σ σ_i², as float64 tensors."""
    v = _variances(variances)
    n = check_int("n", n, minimum=2)
    d = torch.linspace(1e-3 * v.sum().item(), v.sum().item(), n, dtype=torch.float64)
    return d, torch.tensor([gaussian_rate_distortion(v, float(di)) for di in d], dtype=torch.float64)


def gaussian_entropy(cov):
    """Differential entropy ½ log det(2πe Σ) of N(·, Σ), in nats."""
    cov = torch.as_tensor(cov, dtype=torch.float64)
    d = cov.shape[-1]
    return 0.5 * (d * (LOG_2PI + 1.0) + torch.logdet(cov)).item()


class LinearGaussianAutoencoder(nn.Module):
    """A VAE with a linear encoder and decoder, on a Gaussian source N(0, Σ) (see the module docstring).

    d: data dimensions, k: latent dimensions.  Every method takes the source covariance
    ``cov`` (d, d) and returns an exact expectation over x ~ N(0, cov) and z ~ q(z|x).
    """

    def __init__(self, d, k, seed=0):
        super().__init__()
        d, k = check_int("d", d, minimum=1), check_int("k", k, minimum=1)
        g = torch.Generator().manual_seed(seed)
        self.A = nn.Parameter(0.1 * torch.randn(k, d, generator=g, dtype=torch.float64))
        self.log_s = nn.Parameter(torch.zeros(k, dtype=torch.float64))
        self.W = nn.Parameter(0.1 * torch.randn(d, k, generator=g, dtype=torch.float64))
        self.log_v = nn.Parameter(torch.zeros((), dtype=torch.float64))
        self.d, self.k = d, k

    def _cov(self, cov):
        cov = check_tensor("cov", torch.as_tensor(cov, dtype=torch.float64), shape=(self.d, self.d))
        return cov

    def aggregate_cov(self, cov):
        """C = A Σ Aᵀ + diag s, the covariance of q(z)."""
        return self.A @ self._cov(cov) @ self.A.T + torch.diag(self.log_s.exp())

    def rate(self, cov):
        """E_x KL(q(z|x) ‖ N(0, I))."""
        return 0.5 * (torch.trace(self.aggregate_cov(cov)) - self.k - self.log_s.sum())

    def mutual_information(self, cov):
        """I_q(X; Z) = H(Z) − H(Z|X)."""
        return 0.5 * (torch.logdet(self.aggregate_cov(cov)) - self.log_s.sum())

    def marginal_kl(self, cov):
        """KL(q(z) ‖ p(z)), the aggregate posterior against the prior."""
        c = self.aggregate_cov(cov)
        return 0.5 * (torch.trace(c) - self.k - torch.logdet(c))

    def squared_error(self, cov):
        """E ‖x − W z‖² with z ~ q(z|x)."""
        cov = self._cov(cov)
        residual = torch.eye(self.d, dtype=torch.float64) - self.W @ self.A
        return torch.trace(residual @ cov @ residual.T) + torch.trace(self.W @ torch.diag(self.log_s.exp()) @ self.W.T)

    def distortion(self, cov):
        """−E log p(x|z) for the Gaussian decoder N(W z, v I)."""
        return 0.5 * (self.d * (LOG_2PI + self.log_v) + self.squared_error(cov) / self.log_v.exp())

    def _draw(self, cov, n, generator):
        """n draws of x ~ N(0, Σ) and z ~ q(z|x) = N(A x, diag s).  -> (x, mean A x, variances s, z)"""
        n = check_int("n", n, minimum=2)
        x = torch.randn(n, self.d, generator=generator, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
        mean, s = x @ self.A.T, self.log_s.exp()
        return x, mean, s, mean + s.sqrt() * torch.randn(n, self.k, generator=generator, dtype=torch.float64)

    def sample_terms(self, cov, n, generator=None):
        """Monte Carlo estimates of (rate, squared error) from n draws of x and z (to check the closed forms)."""
        x, mean, s, z = self._draw(self._cov(cov), n, generator)
        kl = 0.5 * (s.sum() + (mean ** 2).sum(-1) - self.k - self.log_s.sum())
        return kl.mean(), ((x - z @ self.W.T) ** 2).sum(-1).mean()

    @torch.no_grad()
    def sample_split(self, cov, n, generator=None):
        """Monte Carlo estimates of the rate's two parts from n draws of (x, z), each with its standard error, without
        the closed forms of :meth:`mutual_information` and :meth:`marginal_kl` (only q(z) = N(0, C) is used):

            I  ~ mean of log q(z|x) − log q(z),        KL(q(z) ‖ p)  ~ mean of log q(z) − log p(z).

        -> {"information": (estimate, standard error), "marginal KL": (estimate, standard error)}"""
        cov = self._cov(cov)
        _, mean, s, z = self._draw(cov, n, generator)
        n = len(z)
        zeros = torch.zeros(self.k, dtype=torch.float64)
        log_q_given_x = torch.distributions.Normal(mean, s.sqrt()).log_prob(z).sum(-1)
        log_q = torch.distributions.MultivariateNormal(zeros, self.aggregate_cov(cov)).log_prob(z)
        log_p = torch.distributions.Normal(zeros, 1.0).log_prob(z).sum(-1)
        out = {}
        for name, values in (("information", log_q_given_x - log_q), ("marginal KL", log_q - log_p)):
            out[name] = (values.mean().item(), (values.std() / math.sqrt(n)).item())
        return out


def fit_linear_autoencoder(cov, k, beta, steps=1000, lr=0.05, seed=0):
    """Train a :class:`LinearGaussianAutoencoder` on the exact objective  D_sq + β·R.

    ``D_sq`` is the squared error, so β is in squared-error units per nat and the
    optimum sits where the R–D curve has slope dR/dD = −1/β (reverse water-filling
    at the level λ = β/2).  The decoder variance is then set to its best value,
    v = D_sq / d.  Returns the model.
    """
    beta = check_number("beta", beta, minimum=0.0, strict_minimum=True)
    cov = torch.as_tensor(cov, dtype=torch.float64)
    model = LinearGaussianAutoencoder(cov.shape[0], k, seed=seed)
    optimizer = torch.optim.Adam([model.A, model.log_s, model.W], lr=lr)
    for _ in range(check_int("steps", steps, minimum=1)):
        optimizer.zero_grad()
        loss = model.squared_error(cov) + beta * model.rate(cov)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        model.log_v.copy_(torch.log(model.squared_error(cov) / model.d))
    return model
