"""The checks every forward operator must pass (see tests/operator_registry.py).

``float32`` and ``float64`` name the precision: a complex operator (MRI) is
tested in ``complex64`` and ``complex128``, with complex random vectors.
"""

import pytest
import torch

from operator_registry import REGISTRY

_built = {}


def _operator(case):
    if case.name not in _built:
        _built[case.name] = case.build()
    return _built[case.name]


_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def _dtype(case, precision):
    return _COMPLEX[precision] if case.complex_valued else precision


def _random_pair(case, op, dtype, batch=2, channels=1, seed=0):
    """Random x (batch, channels, *domain) and y (batch, channels or the coils, *range); complex normal for complex dtypes."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, channels, *op.domain_shape), generator=generator, dtype=dtype)
    y = torch.randn((batch, case.coils or channels, *op.range_shape), generator=generator, dtype=dtype)
    return x, y


def _inner(a, b):
    """<a, b> = sum conj(a) b: complex for complex tensors, so the test checks the imaginary part too."""
    return torch.vdot(a.flatten(), b.flatten())


def _dense_matrix(op, dtype):
    n = 1
    for s in op.domain_shape:
        n *= s
    basis = torch.eye(n, dtype=dtype).reshape(n, 1, *op.domain_shape)
    return op.A(basis).reshape(n, -1).T  # (measurements, pixels)


@pytest.mark.parametrize("case", REGISTRY, ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_adjoint(case, dtype):
    """|<Ax, y> - <x, A^H y>| / (||Ax|| ||y||) is at rounding level (<a, b> = vdot(a, b), complex)."""
    tolerance = 1e-5 if dtype == torch.float32 or case.computes_in_float32 else 1e-12
    op = _operator(case)
    x, y = _random_pair(case, op, _dtype(case, dtype))
    ax, aty = op.A(x), op.A_adjoint(y)
    assert ax.dtype == x.dtype and aty.dtype == x.dtype
    mismatch = float(abs(_inner(ax, y) - _inner(x, aty))) / float(ax.norm() * y.norm())
    assert mismatch < tolerance


@pytest.mark.parametrize("case", REGISTRY, ids=str)
def test_norm_matches_largest_singular_value(case):
    op = _operator(case)
    exact = torch.linalg.matrix_norm(_dense_matrix(op, _dtype(case, torch.float64)), ord=2)
    assert float(op.norm()) == pytest.approx(float(exact), rel=1e-3)


@pytest.mark.parametrize("case", REGISTRY, ids=str)
def test_batches_and_channels_are_independent(case):
    op = _operator(case)
    if case.coils:  # one image channel, all coils together: only the batch splits
        x, y = _random_pair(case, op, _dtype(case, torch.float64), batch=3)
        together, together_adjoint = op.A(x), op.A_adjoint(y)
        for b in range(3):
            torch.testing.assert_close(together[b], op.A(x[b : b + 1])[0])
            torch.testing.assert_close(together_adjoint[b], op.A_adjoint(y[b : b + 1])[0])
        return
    x, y = _random_pair(case, op, _dtype(case, torch.float64), batch=3, channels=2)
    together, together_adjoint = op.A(x), op.A_adjoint(y)
    for b in range(3):
        for c in range(2):
            torch.testing.assert_close(together[b, c], op.A(x[b : b + 1, c : c + 1])[0, 0])
            torch.testing.assert_close(together_adjoint[b, c], op.A_adjoint(y[b : b + 1, c : c + 1])[0, 0])


@pytest.mark.parametrize("case", REGISTRY, ids=str)
def test_wrong_shapes_are_one_line_errors(case):
    op = _operator(case)
    bad = torch.zeros(1, 1, *(s + 1 for s in op.domain_shape))
    with pytest.raises(ValueError, match="expected an image shaped"):
        op.A(bad)
    with pytest.raises(ValueError, match="expected a measurement shaped"):
        op.A_adjoint(torch.zeros(1, 1, *(s + 1 for s in op.range_shape)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("case", REGISTRY, ids=str)
def test_gpu_matches_cpu(case):
    op = _operator(case)
    x, y = _random_pair(case, op, _dtype(case, torch.float32))
    torch.testing.assert_close(op.A(x.cuda()).cpu(), op.A(x), rtol=1e-5, atol=1e-5 * float(op.A(x).abs().max()))
    torch.testing.assert_close(op.A_adjoint(y.cuda()).cpu(), op.A_adjoint(y), rtol=1e-5,
                               atol=1e-5 * float(op.A_adjoint(y).abs().max()))


@pytest.mark.parametrize("case", REGISTRY, ids=str)
def test_gradients_flow_through_the_explicit_adjoint(case):
    """``torch.autograd.gradcheck`` of A, Aᴴ and AᴴA through recon.operators.differentiable (float64 / complex128)."""
    from recon.operators.differentiable import apply_A, apply_A_adjoint, apply_normal

    op = _operator(case)
    x, y = _random_pair(case, op, _dtype(case, torch.float64), batch=1)
    # astra computes in float32: a large step (exact for a linear map) keeps rounding out of the differences
    tolerance = dict(eps=0.1, atol=1e-4, rtol=1e-3) if case.computes_in_float32 else {}
    assert torch.autograd.gradcheck(lambda t: apply_A(op, t), (x.requires_grad_(),), fast_mode=True, **tolerance)
    assert torch.autograd.gradcheck(lambda t: apply_A_adjoint(op, t), (y.requires_grad_(),), fast_mode=True,
                                    **tolerance)
    assert torch.autograd.gradcheck(lambda t: apply_normal(op, t), (x,), fast_mode=True, **tolerance)
    assert torch.autograd.gradgradcheck(lambda t: apply_A(op, t), (x,), fast_mode=True, **tolerance)


@pytest.mark.parametrize("case", REGISTRY, ids=str)
def test_the_operators_own_methods_are_differentiable(case):
    """``op.A(x)`` itself, with x requiring a gradient, is differentiated by the adjoint (astra backends included)."""
    op = _operator(case)
    x, y = _random_pair(case, op, _dtype(case, torch.float64), batch=1)
    x.requires_grad_(True)
    out = op.A(x)
    assert out.grad_fn is not None
    (gradient,) = torch.autograd.grad(out, x, grad_outputs=y)
    torch.testing.assert_close(gradient, op.A_adjoint(y), rtol=1e-6, atol=1e-6 * float(op.A_adjoint(y).abs().max()))
