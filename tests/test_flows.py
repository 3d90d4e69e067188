"""Every transform through the same checks: inverse o forward = identity, log|det| against a
brute-force autograd Jacobian, forward and inverse log-determinants that cancel."""

import pytest
import torch
from torch import nn

from course_lib.errors import CourseInputError
from course_lib.flows import (
    ActNorm,
    AffineCoupling,
    Composite,
    FactorOut,
    Flow,
    Identity,
    Inverse,
    InvertibleConv1x1,
    LogitTransform,
    MaskedAffineAutoregressive,
    NoClosedFormInverse,
    Permutation,
    Planar,
    Radial,
    Squeeze,
    Transform,
    alternating_masks,
    autograd_logabsdet,
    checkerboard_mask,
    iaf,
    made_mask,
    maf,
)
from course_lib.flows.autoregressive import MADE
from course_lib.flows.coupling import coupling_cnn, coupling_mlp


def _perturb(t, scale=0.3):
    """Move every parameter away from its (often identity) initial value."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in t.parameters():
            p.add_(scale * torch.randn_like(p))
    return t


def _image_coupling():
    return AffineCoupling(checkerboard_mask(2, 4, 4), coupling_cnn(2, hidden=8))


def _actnorm_initialised():
    t = ActNorm(2)
    t(torch.randn(16, 2, 4, 4) * 3 + 1)
    return t


# name, factory, input shape, context dim (or None)
CASES = [
    ("planar", lambda: Planar(3), (5, 3), None),
    ("planar with context", lambda: Planar(3, context_dim=2), (5, 3), 2),
    ("radial", lambda: Radial(3), (5, 3), None),
    ("masked affine autoregressive (IAF step)", lambda: MaskedAffineAutoregressive(4, (16,)), (5, 4), None),
    ("IAF step with context", lambda: MaskedAffineAutoregressive(4, (16,), context_dim=3), (5, 4), 3),
    ("IAF, 3 layers", lambda: iaf(4, 3, (16,)), (5, 4), None),
    ("MAF, 3 layers", lambda: maf(4, 3, (16,)), (5, 4), None),
    ("affine coupling (vector)", lambda: AffineCoupling(alternating_masks(4, 1)[0], coupling_mlp(4, 16)), (5, 4), None),
    ("affine coupling (checkerboard image)", _image_coupling, (3, 2, 4, 4), None),
    ("squeeze", Squeeze, (3, 2, 4, 4), None),
    ("factor-out", lambda: FactorOut(_image_coupling()), (3, 4, 4, 4), None),
    ("ActNorm", _actnorm_initialised, (3, 2, 4, 4), None),
    ("ActNorm (vector)", lambda: ActNorm(3), (5, 3), None),
    ("1x1 convolution", lambda: InvertibleConv1x1(3), (3, 3, 2, 2), None),
    ("logit", lambda: LogitTransform(0.05), (4, 1, 2, 2), None),
    ("permutation", lambda: Permutation([2, 0, 1]), (5, 3), None),
    ("inverse of a coupling", lambda: Inverse(AffineCoupling(alternating_masks(4, 1)[0], coupling_mlp(4, 16))),
     (5, 4), None),
    ("composite", lambda: Composite([Planar(2), Radial(2), Planar(2)]), (5, 2), None),
    ("identity", Identity, (5, 2), None),
]
IDS = [c[0] for c in CASES]


def _build(factory, shape, context_dim):
    torch.manual_seed(0)
    t = _perturb(factory()).double()
    x = torch.randn(*shape, dtype=torch.float64)
    if isinstance(t, LogitTransform):
        x = torch.rand(*shape, dtype=torch.float64) * 0.9 + 0.05
    context = None if context_dim is None else torch.randn(shape[0], context_dim, dtype=torch.float64)
    return t, x, context


@pytest.mark.parametrize("name, factory, shape, context_dim", CASES, ids=IDS)
def test_inverse_undoes_forward_and_the_log_determinants_cancel(name, factory, shape, context_dim):
    t, x, context = _build(factory, shape, context_dim)
    y, ld_forward = t(x, context)
    assert y.numel() == x.numel() and ld_forward.shape == (shape[0],)
    x_back, ld_inverse = t.inverse(y, context)
    torch.testing.assert_close(x_back, x, atol=1e-7, rtol=1e-7)
    torch.testing.assert_close(ld_inverse, -ld_forward, atol=1e-7, rtol=1e-7)


@pytest.mark.parametrize("name, factory, shape, context_dim", CASES, ids=IDS)
def test_log_determinant_equals_a_brute_force_autograd_jacobian(name, factory, shape, context_dim):
    t, x, context = _build(factory, shape, context_dim)
    _, logabsdet = t(x, context)
    if context is None:
        brute = autograd_logabsdet(lambda v: t(v)[0], x)
    else:
        brute = autograd_logabsdet(lambda v, c: t(v, c)[0], x, context)
    torch.testing.assert_close(logabsdet, brute, atol=1e-8, rtol=1e-8)
    y, _ = t(x, context)
    _, ld_inverse = t.inverse(y, context)
    brute_inverse = autograd_logabsdet(lambda v: t.inverse(v)[0], y) if context is None else \
        autograd_logabsdet(lambda v, c: t.inverse(v, c)[0], y, context)
    torch.testing.assert_close(ld_inverse, brute_inverse, atol=1e-7, rtol=1e-7)


def test_a_broken_log_determinant_is_caught_by_the_brute_force_check():
    class HalfPlanar(Planar):                     # forgets the factor from tanh'
        def forward(self, z, context=None):
            y, _ = super().forward(z, context)
            u_hat, w, _b = self.parameters_for(context)
            return y, torch.log((1 + (w * u_hat).sum(-1)).abs()).expand(len(z))
    t, x, _ = _build(lambda: HalfPlanar(3), (5, 3), None)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(t(x)[1], autograd_logabsdet(lambda v: t(v)[0], x))


def test_the_1x1_convolution_determinant_is_det_w_to_the_power_h_times_w():
    torch.manual_seed(0)
    t = _perturb(InvertibleConv1x1(4)).double()
    x = torch.randn(2, 4, 3, 5, dtype=torch.float64)
    _, logabsdet = t(x)
    expected = 3 * 5 * torch.linalg.slogdet(t.weight()).logabsdet
    torch.testing.assert_close(logabsdet, expected.expand(2))
    torch.testing.assert_close(logabsdet, autograd_logabsdet(lambda v: t(v)[0], x))


def test_actnorm_initialises_to_zero_mean_unit_variance_per_channel():
    x = torch.randn(64, 3, 4, 4) * torch.tensor([0.5, 2.0, 7.0]).view(1, 3, 1, 1) + torch.tensor([1.0, -3.0, 0.0]).view(1, 3, 1, 1)
    t = ActNorm(3)
    y, _ = t(x)
    assert bool(t.initialized)
    torch.testing.assert_close(y.mean((0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    y2, _ = t(x * 2)                                     # not re-initialised by later batches
    assert not torch.allclose(y2.std((0, 2, 3)), torch.ones(3), atol=0.1)


def test_made_outputs_depend_only_on_earlier_inputs():
    torch.manual_seed(0)
    made = _perturb(MADE(5, (20, 20), n_outputs=2)).double()
    x = torch.randn(1, 5, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: made(v)[0, :, 0], x)[:, 0, :]     # (out i, in j)
    assert torch.all(jac.triu() == 0)                        # output i ignores inputs j >= i
    below = torch.ones(5, 5).tril(-1).bool()
    assert torch.all(jac[below] != 0)                        # ... and uses every earlier one
    assert made_mask(torch.tensor([1, 2]), torch.tensor([1, 2]), output_layer=True).tolist() == [[0, 0], [1, 0]]


def test_iaf_is_fast_to_sample_and_maf_fast_to_evaluate():
    calls = {"n": 0}
    step = MaskedAffineAutoregressive(6, (16,))
    original = step.made.forward

    def counted(*args):
        calls["n"] += 1
        return original(*args)
    step.made.forward = counted
    x = torch.randn(4, 6)
    step(x)
    assert calls["n"] == 1                        # IAF sampling / MAF density: one pass
    calls["n"] = 0
    step.inverse(x)
    assert calls["n"] == 6                        # the other direction: d passes


@pytest.mark.parametrize("factory", [lambda: Composite([Planar(2) for _ in range(4)]), lambda: iaf(2, 2, (16,)),
                                     lambda: maf(2, 2, (16,)),
                                     lambda: Composite([AffineCoupling(m, coupling_mlp(2, 16)) for m in alternating_masks(2, 4)])],
                         ids=["planar x4", "IAF", "MAF", "coupling x4"])
def test_a_flow_density_integrates_to_one_on_a_grid(factory):
    torch.manual_seed(0)                          # built here, so the draw does not depend on test order
    transform = factory()
    flow = Flow(_perturb(transform, 0.2).double(), 2)
    edge, n = 9.0, 601
    grid = torch.linspace(-edge, edge, n, dtype=torch.float64)
    zz = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        density = flow.log_prob(zz).exp()
    mass = float(density.sum() * (grid[1] - grid[0]) ** 2)
    assert abs(mass - 1) < 2e-3


def test_sampling_and_log_prob_agree():
    torch.manual_seed(0)
    flow = Flow(_perturb(Composite([Planar(2), Radial(2)])).double(), 2)
    x, log_q = flow.sample_and_log_prob(50)
    torch.testing.assert_close(log_q, flow.log_prob(x))


def test_planar_stays_invertible_whatever_its_raw_parameters():
    t = Planar(2)
    with torch.no_grad():
        t.u.copy_(torch.tensor([-5.0, 0.0]))
        t.w.copy_(torch.tensor([3.0, 0.0]))              # w.u = -15 < -1 before the correction
    with torch.no_grad():
        u_hat, w, _ = t.parameters_for()
        assert float((w * u_hat).sum()) >= -1 - 1e-6


def test_squeeze_moves_each_2x2_block_into_channels():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    y, _ = Squeeze()(x)
    assert y.shape == (1, 4, 2, 2)
    assert y[0, :, 0, 0].tolist() == [0.0, 1.0, 4.0, 5.0]


def test_bad_input_is_named():
    with pytest.raises(CourseInputError, match="mask"):
        AffineCoupling(torch.ones(4), coupling_mlp(4))
    with pytest.raises(CourseInputError, match="transforms\\[1\\]"):
        Composite([Planar(2), nn.Linear(2, 2)])
    with pytest.raises(CourseInputError, match="permutation"):
        Permutation([0, 0, 1])
    with pytest.raises(CourseInputError, match="even"):
        Squeeze()(torch.zeros(1, 1, 3, 3))
    with pytest.raises(CourseInputError, match="x must"):
        Flow(Planar(2), 2).log_prob(torch.zeros(3, 5))
    with pytest.raises(NoClosedFormInverse):
        Transform().inverse(torch.zeros(1, 2))
