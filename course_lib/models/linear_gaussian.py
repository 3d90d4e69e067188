"""An exact sandbox: the linear-Gaussian latent model (probabilistic PCA).

    z ~ N(0, I_k),    x | z ~ N(W z + b, sigma^2 I_d)

Everything a VAE can only estimate is exact here (Tipping & Bishop, 1999):

    marginal    p(x)   = N(b, C),           C = W W^T + sigma^2 I_d
    posterior   p(z|x) = N(M^-1 W^T (x - b), sigma^2 M^-1),   M = W^T W + sigma^2 I_k

so lessons can compare ELBO, IWAE and other estimates with the true log p(x).
All computations run in float64.  Shapes: x (batch, d), z (..., batch, k);
a variational q(z|x) is a diagonal Gaussian given by q_mean, q_log_var (batch, k).
"""
import math

import torch

from ..distributions import LOG_2PI, DiagonalGaussian
from ..errors import CourseInputError, check_int, check_number, check_tensor
from ..objectives import importance_weighted_bound

DTYPE = torch.float64


class LinearGaussianModel:
    """pPCA with loading matrix W (d, k), offset b (d,) and noise variance sigma2."""

    def __init__(self, W, b, sigma2):
        W = torch.as_tensor(W, dtype=DTYPE)
        if W.dim() != 2:
            raise CourseInputError(f"W must be a (d, k) matrix, got shape {tuple(W.shape)}.")
        self.W = W
        self.d, self.k = W.shape
        self.b = torch.as_tensor(b, dtype=DTYPE).reshape(self.d)
        self.sigma2 = check_number("sigma2", sigma2, minimum=0.0, strict_minimum=True)

    @classmethod
    def random(cls, d=2, k=1, sigma2=0.25, seed=0):
        """A model with W and b drawn from N(0, 1) with a fixed seed."""
        d, k = check_int("d", d, minimum=1), check_int("k", k, minimum=1)
        g = torch.Generator().manual_seed(seed)
        return cls(torch.randn(d, k, generator=g, dtype=DTYPE), torch.randn(d, generator=g, dtype=DTYPE), sigma2)

    # -- exact quantities ------------------------------------------------------------
    def marginal_cov(self):
        """C = W W^T + sigma^2 I_d.  -> (d, d)."""
        return self.W @ self.W.T + self.sigma2 * torch.eye(self.d, dtype=DTYPE)

    def log_marginal(self, x):
        """log p(x) = -1/2 [d log 2pi + log det C + (x - b)^T C^-1 (x - b)].  (batch, d) -> (batch,)."""
        x = self._x(x)
        L = torch.linalg.cholesky(self.marginal_cov())
        r = torch.linalg.solve_triangular(L, (x - self.b).T, upper=False)   # (d, batch)
        log_det = 2 * torch.log(torch.diagonal(L)).sum()
        return -0.5 * (self.d * LOG_2PI + log_det + (r ** 2).sum(0))

    def posterior(self, x):
        """Exact p(z|x) = N(mean, cov).  Returns mean (batch, k) and cov (k, k), shared by all x."""
        x = self._x(x)
        M = self.W.T @ self.W + self.sigma2 * torch.eye(self.k, dtype=DTYPE)
        mean = torch.linalg.solve(M, self.W.T @ (x - self.b).T).T
        cov = self.sigma2 * torch.linalg.inv(M)
        return mean, cov

    def log_likelihood(self, x, z):
        """log p(x|z) = log N(x; W z + b, sigma^2 I).  x (batch, d), z (..., batch, k) -> (..., batch)."""
        x = self._x(x)
        mean = z.to(DTYPE) @ self.W.T + self.b
        return -0.5 * (self.d * (LOG_2PI + math.log(self.sigma2)) + ((x - mean) ** 2).sum(-1) / self.sigma2)

    def log_joint(self, x, z):
        """log p(x, z) = log p(x|z) + log N(z; 0, I)."""
        prior = -0.5 * (self.k * LOG_2PI + (z.to(DTYPE) ** 2).sum(-1))
        return self.log_likelihood(x, z) + prior

    # -- variational quantities for a diagonal Gaussian q(z|x) ---------------------------
    def expected_log_likelihood(self, x, q_mean, q_log_var):
        """E_q[log p(x|z)] in closed form:
        -d/2 log(2 pi sigma^2) - (|x - b - W m|^2 + tr(W S W^T)) / (2 sigma^2),  S = diag(var_q)."""
        x, m, v = self._q(x, q_mean, q_log_var)
        residual = ((x - self.b - m @ self.W.T) ** 2).sum(-1)
        trace = (v * (self.W ** 2).sum(0)).sum(-1)       # tr(W S W^T) = sum_j S_jj |W_:j|^2
        return -0.5 * self.d * (LOG_2PI + math.log(self.sigma2)) - (residual + trace) / (2 * self.sigma2)

    def elbo(self, x, q_mean, q_log_var):
        """ELBO(q) = E_q[log p(x|z)] - KL(q || N(0, I)), exactly.  -> (batch,)."""
        x, m, v = self._q(x, q_mean, q_log_var)
        kl = DiagonalGaussian(m, v.log()).kl_standard_normal()
        return self.expected_log_likelihood(x, m, v.log()) - kl

    def kl_to_posterior(self, x, q_mean, q_log_var):
        """KL(q(z|x) || p(z|x)) for Gaussians N(m, S) and N(mu, Sigma):
        1/2 [tr(Sigma^-1 S) + (mu - m)^T Sigma^-1 (mu - m) - k + log det Sigma - log det S].  -> (batch,)."""
        x, m, v = self._q(x, q_mean, q_log_var)
        mu, Sigma = self.posterior(x)
        Sigma_inv = torch.linalg.inv(Sigma)
        diff = mu - m
        return 0.5 * (
            (torch.diagonal(Sigma_inv) * v).sum(-1)
            + ((diff @ Sigma_inv) * diff).sum(-1)
            - self.k
            + torch.logdet(Sigma)
            - v.log().sum(-1)
        )

    def log_weights(self, x, q_mean, q_log_var, n_samples):
        """log w_i = log p(x, z_i) - log q(z_i|x), z_i ~ q.  -> (n_samples, batch)."""
        x, m, v = self._q(x, q_mean, q_log_var)
        n_samples = check_int("n_samples", n_samples, minimum=1)
        q = DiagonalGaussian(m, v.log())
        z = q.rsample(n_samples)
        return self.log_joint(x, z) - q.log_prob(z)

    def iwae_bound(self, x, q_mean, q_log_var, k):
        """One Monte Carlo draw of IWAE_k with proposal q.  -> (batch,)."""
        k = check_int("k", k, minimum=1)
        return importance_weighted_bound(self.log_weights(x, q_mean, q_log_var, k))

    # -- sampling and fitting ----------------------------------------------------------------
    def sample(self, n, generator=None):
        """Draw (x, z) from the model.  -> x (n, d), z (n, k)."""
        n = check_int("n", n, minimum=1)
        z = torch.randn(n, self.k, generator=generator, dtype=DTYPE)
        noise = torch.randn(n, self.d, generator=generator, dtype=DTYPE)
        return z @ self.W.T + self.b + math.sqrt(self.sigma2) * noise, z

    @classmethod
    def fit_ml(cls, x, k):
        """The closed-form maximum-likelihood fit (Tipping & Bishop, 1999).

        With the sample covariance S = U diag(lambda) U^T (lambda descending):
            b = mean(x),  sigma^2 = mean(lambda_{k+1..d}),
            W = U_k (diag(lambda_1..k) - sigma^2 I)^{1/2}    (up to a rotation).
        x: (n, d) with k < d.
        """
        x = torch.as_tensor(x, dtype=DTYPE)
        if x.dim() != 2:
            raise CourseInputError(f"x must have shape (n, d), got {tuple(x.shape)}.")
        n, d = x.shape
        k = check_int("k", k, minimum=1)
        if k >= d:
            raise CourseInputError(f"k must be smaller than the data dimension d = {d}, got k = {k}.")
        b = x.mean(0)
        S = (x - b).T @ (x - b) / n
        lam, U = torch.linalg.eigh(S)
        lam, U = lam.flip(0), U.flip(1)
        sigma2 = lam[k:].mean().item()
        W = U[:, :k] * (lam[:k] - sigma2).clamp_min(0).sqrt()
        return cls(W, b, sigma2)

    # -- argument checks -----------------------------------------------------------------------
    def _x(self, x):
        x = check_tensor("x", torch.as_tensor(x, dtype=DTYPE), shape=(None, self.d))
        return x.to(DTYPE)

    def _q(self, x, q_mean, q_log_var):
        x = self._x(x)
        m = check_tensor("q_mean", q_mean, shape=(None, self.k)).to(DTYPE)
        lv = check_tensor("q_log_var", q_log_var, shape=(None, self.k)).to(DTYPE)
        m, lv = torch.broadcast_tensors(m, lv)
        return x, m, lv.exp()
