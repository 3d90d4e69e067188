"""Adversarial training: a generator against a discriminator (Goodfellow et al., 2014), and two
of its variants, BiGAN/ALI and InfoGAN.

The discriminator outputs a logit d(x); D(x) = sigmoid(d(x)) is its belief that x is real.
With log sigmoid(t) = -softplus(-t) and log(1 - sigmoid(t)) = -softplus(t):

    discriminator:  minimise  -E log D(x) - E log(1 - D(G(z)))  =  E softplus(-d(x)) + E softplus(d(G(z)))
    generator:      minimise  -E log D(G(z))                      =  E softplus(-d(G(z)))

The generator's loss is the "non-saturating" form: the minimax form E log(1 - D(G(z))) has
almost no gradient while the discriminator wins, which is early in training.

Every model here has ``generator_parameters()``, ``discriminator_parameters()`` and two losses,
``discriminator_loss(x)`` and ``generator_loss(x)`` (dicts with a ``loss`` entry);
:func:`train_adversarial` alternates one Adam step on each.  Data are vectors (batch, data_dim),
e.g. points in the plane; :mod:`course_lib.models.hybrids` has the image models.
"""
import math

import torch
from torch.nn.functional import cross_entropy, one_hot, softplus

from ..errors import CourseInputError, check_int, check_number, check_tensor
from ..metrics.information import variational_information_bound
from ..nets import MLP
from .base import CourseModel


def discriminator_loss(real_logits, fake_logits):
    """-E log D(real) - E log(1 - D(fake)) from the logits.  -> 0-dim tensor."""
    return softplus(-real_logits).mean() + softplus(fake_logits).mean()


def generator_loss(fake_logits):
    """-E log D(fake), the non-saturating generator loss.  -> 0-dim tensor."""
    return softplus(-fake_logits).mean()


class AdversarialModel(CourseModel):
    """The base of every model that :func:`train_adversarial` trains (GAN, BiGAN, InfoGAN, WAE-GAN,
    VAE-GAN, the unified VAE): the device, the data check, and the two parameter groups.

    A subclass sets ``latent_dim`` and ``discriminator_names`` (the attributes that hold the
    discriminator's networks; every other parameter belongs to the generator side), and either
    ``data_dim`` (flat data) or its own ``check_input`` (images).  It sets ``capturable = True`` when
    its two losses use only tensor operations (no ``.item()``, no ``if`` on a tensor): then
    :func:`~course_lib.training.adversarial.train_adversarial` records its step as a CUDA graph on a GPU.
    """

    discriminator_names = ("discriminator",)
    capturable = False      # True: both losses use only tensor operations, so a GPU may record the step


    def check_input(self, x):
        return check_tensor("x", x, shape=(None, self.data_dim)).to(self._device())

    def discriminator_parameters(self):
        return [p for name in self.discriminator_names for p in getattr(self, name).parameters()]

    def generator_parameters(self):
        ids = {id(p) for p in self.discriminator_parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    def prior_sample(self, n):
        """z ~ N(0, I): (n, latent_dim), on the model's device and in its dtype."""
        weight = next(self.parameters())
        return torch.randn(n, self.latent_dim, device=weight.device, dtype=weight.dtype)


class GAN(AdversarialModel):
    """x = G(z), z ~ N(0, I_latent_dim); a discriminator d(x).  x: (batch, data_dim)."""

    capturable = True

    def __init__(self, data_dim=2, latent_dim=2, hidden=(128, 128)):
        super().__init__()
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.generator = MLP(latent_dim, hidden, data_dim)
        self.discriminator = MLP(data_dim, hidden, 1)

    def discriminator_loss(self, x):
        x = self.check_input(x)
        with torch.no_grad():
            fake = self.generator(self.prior_sample(len(x)))
        loss = discriminator_loss(self.discriminator(x), self.discriminator(fake))
        return {"loss": loss, "discriminator": loss}

    def generator_loss(self, x):
        loss = generator_loss(self.discriminator(self.generator(self.prior_sample(len(x)))))
        return {"loss": loss, "generator": loss}

    @torch.no_grad()
    def sample(self, n):
        return self.generator(self.prior_sample(check_int("n", n, minimum=1)))


class BiGAN(AdversarialModel):
    """BiGAN / ALI (Donahue et al., 2017; Dumoulin et al., 2017): an encoder E(x), a generator G(z)
    and a discriminator d(x, z) on pairs.

        discriminator:    real pairs (x, E(x)), fake pairs (G(z), z)
        encoder and generator together: the same loss with the labels swapped,
                          E softplus(d(x, E(x))) + E softplus(-d(G(z), z))

    At the global optimum E and G invert each other (E(G(z)) = z, G(E(x)) = x); training
    only approaches it, which :meth:`cycle_errors` measures.
    """

    capturable = True

    def __init__(self, data_dim=2, latent_dim=2, hidden=(128, 128)):
        super().__init__()
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.encoder = MLP(data_dim, hidden, latent_dim)
        self.generator = MLP(latent_dim, hidden, data_dim)
        self.discriminator = MLP(data_dim + latent_dim, hidden, 1)

    def _pair_logits(self, x, z):
        return self.discriminator(torch.cat([x, z], -1))

    def discriminator_loss(self, x):
        x = self.check_input(x)
        z = self.prior_sample(len(x))
        with torch.no_grad():
            code, fake = self.encoder(x), self.generator(z)
        loss = discriminator_loss(self._pair_logits(x, code), self._pair_logits(fake, z))
        return {"loss": loss, "discriminator": loss}

    def generator_loss(self, x):
        x = self.check_input(x)
        z = self.prior_sample(len(x))
        loss = discriminator_loss(self._pair_logits(self.generator(z), z), self._pair_logits(x, self.encoder(x)))
        return {"loss": loss, "encoder and generator": loss}

    @torch.no_grad()
    def reconstruct(self, x):
        """G(E(x)) for points x (batch, data_dim), on the model's device."""
        return self.generator(self.encoder(self.check_input(x)))

    @torch.no_grad()
    def cycle_errors(self, x, n=None):
        """Mean squared distances, per coordinate: ``latent``  E||E(G(z)) - z||^2 / latent_dim over z ~ N(0, I),
        ``data``  E||G(E(x)) - x||^2 / data_dim over the given x.  -> dict of floats."""
        x = self.check_input(x)
        z = self.prior_sample(n or len(x))
        return {"latent": float((self.encoder(self.generator(z)) - z).pow(2).mean()),
                "data": float((self.reconstruct(x) - x).pow(2).mean())}

    @torch.no_grad()
    def sample(self, n):
        return self.generator(self.prior_sample(check_int("n", n, minimum=1)))


class InfoGAN(AdversarialModel):
    """InfoGAN (Chen et al., 2016): x = G(z, c, u) with noise z ~ N(0, I), a categorical code c uniform
    on K values and, optionally, continuous codes u uniform on [-1, 1]^m, and an auxiliary network Q that
    reads the codes back from x: logits over the K values of c, and for each u_j a Gaussian
    N(mean_j(x), std_j(x)^2).  For any Q,

        I(c; G(z, c, u)) >= E[log Q(c | x)] + H(c)                          (H(c) = log K)
        I(u; G(z, c, u)) >= E[sum_j log Q(u_j | x)] + H(u)                  (H(u) = m log 2)

    each with equality when Q is the true posterior.  The generator and Q minimise the generator loss
    minus ``lam`` times the first bound and ``lam_continuous`` (default: ``lam``) times the second; the
    discriminator is a GAN's.  With m = 0 (the default) there is no u, and Q has only the logits.
    """

    capturable = True

    def __init__(self, data_dim=2, noise_dim=2, n_codes=8, hidden=(128, 128), lam=1.0, n_continuous=0,
                 lam_continuous=None):
        super().__init__()
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.latent_dim = check_int("noise_dim", noise_dim, minimum=1)
        self.n_codes = check_int("n_codes", n_codes, minimum=2)
        self.n_continuous = check_int("n_continuous", n_continuous, minimum=0)
        self.lam = check_number("lam", lam, minimum=0.0)
        self.lam_continuous = self.lam if lam_continuous is None else check_number("lam_continuous", lam_continuous,
                                                                                    minimum=0.0)
        self.generator = MLP(noise_dim + n_codes + self.n_continuous, hidden, data_dim)
        self.q_net = MLP(data_dim, hidden, n_codes + 2 * self.n_continuous)
        self.discriminator = MLP(data_dim, hidden, 1)

    def generate(self, z, c, u=None):
        """G(z, c, u) for noise z (n, noise_dim), integer codes c (n,) and continuous codes u (n, m)
        (needed when the model has them)."""
        inputs = [z, one_hot(c, self.n_codes).to(z.dtype)]
        if self.n_continuous:
            if u is None or u.shape != (len(z), self.n_continuous):
                raise CourseInputError(f"u must hold {self.n_continuous} continuous codes per point, shape "
                                       f"({len(z)}, {self.n_continuous}), got {None if u is None else tuple(u.shape)}.")
            inputs.append(u.to(z.dtype))
        return self.generator(torch.cat(inputs, -1))

    def read_codes(self, x):
        """Q's reading of points x: (logits over c (n, K), means of u (n, m), standard deviations of u (n, m))."""
        out = self.q_net(x)
        logits, rest = out[:, :self.n_codes], out[:, self.n_codes:]
        mean, log_std = rest[:, :self.n_continuous], rest[:, self.n_continuous:]
        return logits, mean, log_std.clamp(-7.0, 2.0).exp()

    def continuous_bound(self, x, u):
        """E[sum_j log Q(u_j | x)] + m log 2, the bound on I(u; x) from pairs (u_n, x_n).  -> 0-dim tensor"""
        x = self.check_input(x)
        u = check_tensor("u", u, shape=(len(x), self.n_continuous)).to(x.device)
        _, mean, std = self.read_codes(x)
        log_q = (-0.5 * ((u - mean) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)   # log N(u; mean, std²)
        return variational_information_bound(log_q, self.n_continuous * math.log(2.0))

    def _codes(self, n):
        return torch.randint(self.n_codes, (n,), device=self._device())

    def _continuous(self, n):
        return 2 * torch.rand(n, self.n_continuous, device=self._device()) - 1 if self.n_continuous else None

    def discriminator_loss(self, x):
        x = self.check_input(x)
        with torch.no_grad():
            fake = self.generate(self.prior_sample(len(x)), self._codes(len(x)), self._continuous(len(x)))
        loss = discriminator_loss(self.discriminator(x), self.discriminator(fake))
        return {"loss": loss, "discriminator": loss}

    def generator_loss(self, x):
        n = len(x)
        c, u = self._codes(n), self._continuous(n)
        fake = self.generate(self.prior_sample(n), c, u)
        fool = generator_loss(self.discriminator(fake))
        logits = self.read_codes(fake)[0]
        bound = variational_information_bound(-cross_entropy(logits, c, reduction="none"), math.log(self.n_codes))
        terms = {"generator": fool, "MI bound": bound}
        loss = fool - self.lam * bound
        if self.n_continuous:
            terms["MI bound (continuous)"] = self.continuous_bound(fake, u)
            loss = loss - self.lam_continuous * terms["MI bound (continuous)"]
        return {"loss": loss, **terms}

    @torch.no_grad()
    def sample(self, n, code=None, u=None):
        """n points; with ``code`` all of them with that code, otherwise codes drawn uniformly; a model with
        continuous codes takes them from ``u`` ((n, m), values in [-1, 1]) or draws them uniformly.
        -> (points (n, data_dim), codes (n,))"""
        n = check_int("n", n, minimum=1)
        if code is None:
            c = self._codes(n)
        else:
            code = check_int("code", code, minimum=0)
            if code >= self.n_codes:
                raise CourseInputError(f"code must be one of 0 .. {self.n_codes - 1}, got {code}.")
            c = torch.full((n,), code, device=self._device())
        if u is None:
            u = self._continuous(n)
        elif not self.n_continuous:
            raise CourseInputError("u: this InfoGAN has no continuous codes (n_continuous = 0); give only code.")
        else:
            u = check_tensor("u", u, shape=(n, self.n_continuous)).to(self._device())
            if u.abs().max() > 1:
                raise CourseInputError("u must lie in [-1, 1], the range the codes were drawn from in training.")
        return self.generate(self.prior_sample(n), c, u), c
