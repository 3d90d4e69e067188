"""Checks for the lesson 6 exercises (the IMQ kernel, MMD^2 as a U- and a V-statistic, the WAE-MMD loss, the WAE-GAN's two losses)."""
import torch
from torch.nn.functional import softplus

from ..models.wae import mmd2
from .feedback import graded, run_check

_g = torch.Generator().manual_seed(606)


def _rand(*shape):
    return torch.randn(*shape, generator=_g, dtype=torch.float64)


def _sq(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def _imq(x, y, scale):
    return scale / (scale + _sq(x, y))


@graded
def imq_kernel(fn):
    """k(x_i, y_j) = C / (C + ||x_i - y_j||^2) for all pairs.  x (n, d), y (m, d) -> (n, m)."""
    cases = [dict(x=_rand(3, 2), y=_rand(3, 2) + 1, scale=torch.tensor(0.5, dtype=torch.float64)),
             dict(x=_rand(4, 3), y=_rand(5, 3), scale=torch.tensor(6.0, dtype=torch.float64))]
    mistakes = [
        ("the distance is not squared: use ||x - y||^2 = sum of squared differences.",
         lambda x, y, scale: scale / (scale + _sq(x, y).sqrt())),
        ("this is C / ||x - y||^2: the C in the denominator keeps k finite at x = y (k(x, x) = 1).",
         lambda x, y, scale: scale / _sq(x, y)),
        ("this is the Gaussian (RBF) kernel exp(-||x - y||^2 / C), not the inverse multiquadratic.",
         lambda x, y, scale: torch.exp(-_sq(x, y) / scale)),
        ("C / (C + ||x - y||)^2: the square belongs to the distance, not to the sum.",
         lambda x, y, scale: scale / (scale + _sq(x, y).sqrt()) ** 2),
    ]
    return run_check("imq_kernel", fn, cases, _imq, mistakes)


def _mmd_u(k_xx, k_yy, k_xy):
    n, m = len(k_xx), len(k_yy)
    return ((k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1)) + (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
            - 2 * k_xy.mean())


def _mmd_v(k_xx, k_yy, k_xy):
    return k_xx.mean() + k_yy.mean() - 2 * k_xy.mean()


def _kernel_cases():
    cases = []
    for n, m in ((5, 5), (4, 6)):
        x, y = _rand(n, 2), _rand(m, 2) + 0.5
        cases.append(dict(k_xx=_imq(x, x, 4.0), k_yy=_imq(y, y, 4.0), k_xy=_imq(x, y, 4.0)))
    return cases


@graded
def mmd2_unbiased(fn):
    """The U-statistic of MMD^2 from the three kernel matrices (n, n), (m, m), (n, m)."""
    mistakes = [
        ("the diagonal k(x_i, x_i) is still in: the U-statistic sums over i != j only.",
         lambda k_xx, k_yy, k_xy: k_xx.sum() / (len(k_xx) * (len(k_xx) - 1))
         + k_yy.sum() / (len(k_yy) * (len(k_yy) - 1)) - 2 * k_xy.mean()),
        ("this is the V-statistic (the course text's estimator): it keeps the diagonal and divides by n^2.",
         _mmd_v),
        ("you removed the diagonal but divided by n^2; there are n(n - 1) pairs with i != j.",
         lambda k_xx, k_yy, k_xy: (k_xx.sum() - k_xx.diagonal().sum()) / len(k_xx) ** 2
         + (k_yy.sum() - k_yy.diagonal().sum()) / len(k_yy) ** 2 - 2 * k_xy.mean()),
        ("the cross term needs the factor 2.",
         lambda k_xx, k_yy, k_xy: _mmd_u(k_xx, k_yy, k_xy) + k_xy.mean()),
        ("the cross term is subtracted, not added.",
         lambda k_xx, k_yy, k_xy: _mmd_u(k_xx, k_yy, k_xy) + 4 * k_xy.mean()),
    ]
    return run_check("mmd2_unbiased", fn, _kernel_cases(), _mmd_u, mistakes)


@graded
def mmd2_biased(fn):
    """The V-statistic of MMD^2: every pair, the diagonal included, averaged."""
    mistakes = [
        ("you removed the diagonal: that is the U-statistic. The V-statistic averages over all n^2 pairs.",
         _mmd_u),
        ("the cross term needs the factor 2.",
         lambda k_xx, k_yy, k_xy: k_xx.mean() + k_yy.mean() - k_xy.mean()),
        ("the cross term is subtracted, not added.",
         lambda k_xx, k_yy, k_xy: k_xx.mean() + k_yy.mean() + 2 * k_xy.mean()),
        ("this is the square root of MMD^2 (the MMD itself); return MMD^2.",
         lambda k_xx, k_yy, k_xy: _mmd_v(k_xx, k_yy, k_xy).clamp(min=0).sqrt()),
        ("you summed instead of averaging; divide each sum by its number of pairs.",
         lambda k_xx, k_yy, k_xy: k_xx.sum() + k_yy.sum() - 2 * k_xy.sum()),
    ]
    return run_check("mmd2_biased", fn, _kernel_cases(), _mmd_v, mistakes)


# -- the WAE-MMD loss of a batch ----------------------------------------------------------------------

def _wae_loss(x, x_rec, z, z_prior, lam, unbiased=True, scale=None, recon=None, lam_on="mmd"):
    d = z.shape[1]
    penalty = mmd2(z, z_prior, scale=2.0 * d if scale is None else scale, unbiased=unbiased)
    reconstruction = ((x - x_rec) ** 2).flatten(1).sum(-1).mean() if recon is None else recon(x, x_rec)
    return reconstruction + lam * penalty if lam_on == "mmd" else lam * reconstruction + penalty


def _wae_cases():
    g = torch.Generator().manual_seed(61)
    x = torch.rand(6, 1, 4, 4, generator=g, dtype=torch.float64)
    x_rec = (x + 0.2 * torch.randn(6, 1, 4, 4, generator=g, dtype=torch.float64)).clamp(0, 1)
    z = 1.5 * torch.randn(6, 3, generator=g, dtype=torch.float64) + 0.5
    z_prior = torch.randn(6, 3, generator=g, dtype=torch.float64)
    return [dict(x=x, x_rec=x_rec, z=z, z_prior=z_prior, lam=torch.tensor(10.0, dtype=torch.float64)),
            dict(x=x[:4], x_rec=x_rec[:4], z=z[:4, :2], z_prior=z_prior[:5, :2], lam=torch.tensor(2.5, dtype=torch.float64))]


@graded
def wae_mmd_loss(fn):
    """wae_mmd_loss(x, x_rec, z, z_prior, lam) -> the course WAE's loss for a batch: the squared error summed over
    pixels, averaged over the batch, plus lam times the unbiased MMD² (IMQ kernel, C = 2 d) between the codes
    and the prior draws.  Equal to course_lib.models.wae.WAE.loss_terms with the same draws."""
    mistakes = [
        ("the penalty here is the V-statistic (every pair, the diagonal included); the WAE's is the unbiased "
         "U-statistic of part 2.", lambda **c: _wae_loss(**c, unbiased=False)),
        ("the kernel's scale is C = 2d for codes in d dimensions (Tolstikhin et al.'s choice for a N(0, I) prior); "
         "yours looks like C = d.", lambda **c: _wae_loss(**c, scale=float(c["z"].shape[1]))),
        ("the reconstruction cost is averaged over the pixels; the course sums the squared error over an "
         "image's pixels, then averages over the batch.",
         lambda **c: _wae_loss(**c, recon=lambda x, r: ((x - r) ** 2).mean())),
        ("λ weighs the reconstruction here; it belongs to the MMD penalty: c(x, G(z)) + λ · MMD².",
         lambda **c: _wae_loss(**c, lam_on="reconstruction")),
        ("the reconstruction cost is summed over the batch; average it over the images.",
         lambda **c: _wae_loss(**c, recon=lambda x, r: ((x - r) ** 2).sum())),
        ("the cost uses the distance ‖x − x_rec‖, not its square.",
         lambda **c: _wae_loss(**c, recon=lambda x, r: ((x - r) ** 2).flatten(1).sum(-1).sqrt().mean())),
    ]

    def reference(**case):
        return _wae_loss(**case)
    return run_check("wae_mmd_loss", fn, _wae_cases(), reference, mistakes)


# -- WAE-GAN: the two players' losses ------------------------------------------------------------------

def _wae_gan(prior_logits, code_logits, x, x_rec, lam, swap_labels=False, saturating=False, critic=False,
             lam_on="fool", recon=None, fool_on="codes"):
    if critic:
        d_loss = code_logits.mean() - prior_logits.mean()
    elif swap_labels:
        d_loss = softplus(prior_logits).mean() + softplus(-code_logits).mean()
    else:
        d_loss = softplus(-prior_logits).mean() + softplus(code_logits).mean()
    fooled = code_logits if fool_on == "codes" else prior_logits
    if critic:                                          # the Wasserstein form throughout: the encoder raises d(E(x))
        fool = -fooled.mean()
    else:
        fool = -softplus(fooled).mean() if saturating else softplus(-fooled).mean()
    reconstruction = ((x - x_rec) ** 2).flatten(1).sum(-1).mean() if recon is None else recon(x, x_rec)
    ae_loss = reconstruction + lam * fool if lam_on == "fool" else lam * reconstruction + fool
    return torch.stack([d_loss, ae_loss])


def _wae_gan_cases():
    g = torch.Generator().manual_seed(62)
    x = torch.rand(6, 1, 4, 4, generator=g, dtype=torch.float64)
    x_rec = (x + 0.2 * torch.randn(6, 1, 4, 4, generator=g, dtype=torch.float64)).clamp(0, 1)
    prior_logits = 1.5 * torch.randn(6, generator=g, dtype=torch.float64) + 0.5
    code_logits = 1.5 * torch.randn(6, generator=g, dtype=torch.float64) - 0.5
    return [dict(prior_logits=prior_logits, code_logits=code_logits, x=x, x_rec=x_rec, lam=2.0),
            dict(prior_logits=prior_logits[:4], code_logits=code_logits[:4], x=x[:4], x_rec=x_rec[:4], lam=0.5)]


@graded
def wae_gan_losses(fn):
    """wae_gan_losses(prior_logits, code_logits, x, x_rec, lam) -> tensor([discriminator's loss, autoencoder's loss]):
    the discriminator d (a logit, D = sigmoid(d)) tells prior draws (real) from codes E(x) (fake) by
    -E log D(z_p) - E log(1 - D(z_q)); the autoencoder minimises the squared error (summed over pixels, averaged
    over the batch) plus lam times the non-saturating -E log D(z_q).  Equal to course_lib.models.wae.WAEGAN's
    two losses with the same prior draws."""
    mistakes = [
        ("the labels are swapped: the prior draws z ~ p(z) are the discriminator's *real* samples, and the codes "
         "E(x) the fakes it should reject.", lambda **c: _wae_gan(**c, swap_labels=True)),
        ("that is the saturating form, minimising log(1 − D(E(x))), whose gradient vanishes while D wins; train the "
         "encoder to maximise log D(E(x)): minimise −log D(E(x)).", lambda **c: _wae_gan(**c, saturating=True)),
        ("that is the Wasserstein critic's form; this discriminator outputs a logit d with D = sigmoid(d), and its "
         "loss is the cross-entropy, −log D = softplus(−d) and −log(1 − D) = softplus(d).",
         lambda **c: _wae_gan(**c, critic=True)),
        ("λ weighs the adversarial term, not the reconstruction: squared error + λ · (−log D(E(x))).",
         lambda **c: _wae_gan(**c, lam_on="reconstruction")),
        ("the squared error is summed over an image's pixels, then averaged over the batch (as the WAE-MMD's of "
         "part 4).", lambda **c: _wae_gan(**c, recon=lambda x, r: ((x - r) ** 2).mean())),
        ("the autoencoder fools the discriminator with its *codes*: −log D(E(x)), from code_logits.",
         lambda **c: _wae_gan(**c, fool_on="prior")),
        ("return the discriminator's loss first, then the autoencoder's.",
         lambda **c: _wae_gan(**c).flip(0)),
    ]
    return run_check("wae_gan_losses", fn, _wae_gan_cases(), _wae_gan, mistakes)
