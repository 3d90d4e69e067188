"""A VAE whose posterior is a normalizing flow (Rezende & Mohamed, 2015; Kingma et al., 2016).

    q_0(z_0|x) = N(mean(x), diag var(x)),      z_K = f_K o ... o f_1(z_0; h(x))
    log q_K(z_K|x) = log q_0(z_0|x) - sum_k log |det df_k/dz_{k-1}|

The encoder outputs (mean, log var, h): h is the context that each flow step reads (a planar
step shifts its u, w, b by linear functions of h; an IAF step adds h to its first hidden layer).
With K = 0 steps it is the ordinary Gaussian VAE.  The ELBO is estimated with samples:

    ELBO = E_q[log p(x|z_K) + log p(z_K) - log q_K(z_K|x)]

(no closed-form KL once q is a flow).  x: (batch, 1, 28, 28) in [0, 1]; z: (batch, latent_dim).
"""
import math

import torch

from ..capture import capturable
from ..errors import check_choice, check_int
from ..flows import Composite, MaskedAffineAutoregressive, Permutation, Planar, standard_normal_log_prob
from ..nets import MLP
from ..objectives import bits_per_dim, importance_weighted_bound
from .base import CourseModel, example_chunks
from .vae import BernoulliDecoder, GaussianDecoder, decode_log_prob


def posterior_flow(kind, latent_dim, steps, context_dim, hidden=(64,)):
    """K planar steps, or K IAF steps with the order reversed between them (K = 0: the identity)."""
    check_choice("flow", kind, ("planar", "iaf"))
    transforms = []
    for k in range(check_int("flow steps K", steps, minimum=0)):
        if kind == "planar":
            transforms.append(Planar(latent_dim, context_dim=context_dim))
        else:
            if k:
                transforms.append(Permutation.reverse(latent_dim))
            transforms.append(MaskedAffineAutoregressive(latent_dim, hidden, context_dim=context_dim))
    return Composite(transforms)


class FlowVAE(CourseModel):
    """A VAE with q_K(z|x) as above; MLP encoder and decoder, Bernoulli pixels (or, with
    ``likelihood="gaussian"``, Gaussian ones with a learned variance, e.g. for points with image_shape=(2,))."""

    def __init__(self, latent_dim=16, hidden=(256,), flow="planar", steps=0, context_dim=16, image_shape=(1, 28, 28),
                 likelihood="bernoulli"):
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.context_dim = check_int("context_dim", context_dim, minimum=1)
        self.image_shape = tuple(image_shape)
        d = math.prod(self.image_shape)
        self.encoder = MLP(d, hidden, 2 * latent_dim + context_dim)
        check_choice("likelihood", likelihood, ("bernoulli", "gaussian"))
        net = MLP(latent_dim, tuple(reversed(hidden)), d)
        self.decoder = BernoulliDecoder(net, self.image_shape) if likelihood == "bernoulli" \
            else GaussianDecoder(net, self.image_shape)
        self.flow = posterior_flow(flow, latent_dim, steps, context_dim)
        self.kind, self.steps, self.likelihood = flow, steps, likelihood



    def local_parameters(self, x):
        """The encoder's output for each image: (mean, log var, context) side by side, (batch, 2L + c)."""
        return self.encoder(self.check_input(x).flatten(1))

    def posterior_sample(self, params, k=1):
        """k draws z_K ~ q_K(z|x) and their log q_K, from the local parameters (batch, 2L + c).
        -> z (k, batch, L), log_q (k, batch)."""
        mean, log_var, context = params.split([self.latent_dim, self.latent_dim, self.context_dim], dim=-1)
        eps = torch.randn(k, *mean.shape, device=mean.device)
        z0 = mean + (0.5 * log_var).exp() * eps
        log_q0 = standard_normal_log_prob(eps.flatten(0, 1)) - 0.5 * log_var.sum(-1).repeat(k)
        rows, contexts = z0.flatten(0, 1), context.repeat(k, 1)
        parts = [self.flow(rows[part], contexts[part]) for part in example_chunks(len(rows), 64)]   # each row alone
        z, logabsdet = torch.cat([z for z, _ in parts]), torch.cat([d for _, d in parts])
        return z.reshape(k, *mean.shape), (log_q0 - logabsdet).reshape(k, -1)

    def log_weights_from(self, x, params, k):
        """log w = log p(x|z_K) + log p(z_K) - log q_K(z_K|x) for k draws.  -> (k, batch)."""
        z, log_q = self.posterior_sample(params, k)
        log_px_given_z = decode_log_prob(self.decoder, z, x)
        return log_px_given_z + standard_normal_log_prob(z.flatten(0, 1)).reshape(k, -1) - log_q

    def log_weights(self, x, k):
        x = self.check_input(x)
        return self.log_weights_from(x, self.local_parameters(x), check_int("k", k, minimum=1))

    def loss_terms(self, x):
        """One-sample estimates, batch-averaged: loss = -ELBO, distortion = -log p(x|z_K),
        rate = log q_K(z_K|x) - log p(z_K) (its mean is KL(q_K || p))."""
        x = self.check_input(x)
        z, log_q = self.posterior_sample(self.local_parameters(x), 1)
        distortion = -self.decoder(z).log_prob(x).mean()
        rate = (log_q - standard_normal_log_prob(z[0])).mean()
        return {"loss": distortion + rate, "distortion": distortion, "rate": rate, "elbo": -(distortion + rate)}

    @torch.no_grad()
    def elbo(self, x, k=64):
        """The ELBO of each image, averaged over k draws.  -> (batch,)."""
        return self.log_weights(x, k).mean(0)

    @torch.no_grad()
    def iwae_bound(self, x, k=64):
        return importance_weighted_bound(self.log_weights(x, k))

    @torch.no_grad()
    def nll(self, x, k=64):
        nll = -self.iwae_bound(x, k)
        return nll, bits_per_dim(nll, math.prod(self.image_shape))

    @torch.no_grad()
    def sample(self, n):
        z = torch.randn(check_int("n", n, minimum=1), self.latent_dim, device=self._device())
        return self.decoder(z).mean


def flow_vae_objective():
    """The negative ELBO as a loss for :func:`course_lib.fit`."""
    @capturable
    def loss_fn(model, x, step):
        return model.loss_terms(x)

    return loss_fn
