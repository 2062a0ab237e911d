"""Total variation: the gradient and its adjoint, TV values, the prox, complex and 3D images, weights."""

import math

import pytest
import torch
from deepinv.optim import Prior

from recon.priors import TV, FiniteDifference, GradientNorm, WeightedTV, weights_from_pilot


def _dot(a, b):
    return torch.vdot(a.flatten(), b.flatten())


@pytest.mark.parametrize("ndim, shape", [(1, (2, 3, 17)), (2, (2, 3, 9, 14)), (3, (1, 2, 5, 6, 7))])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_gradient_adjoint(ndim, shape, dtype):
    generator = torch.Generator().manual_seed(ndim)
    grad = FiniteDifference(ndim)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    z = torch.randn((shape[0], shape[1], ndim, *shape[2:]), generator=generator, dtype=dtype)
    lhs, rhs = _dot(grad.A(x), z), _dot(x, grad.A_adjoint(z))
    assert abs(lhs - rhs) / (grad.A(x).norm() * z.norm()) < 1e-13


def test_gradient_norm_bound_is_tight():
    grad = FiniteDifference(2)
    x = torch.randn(1, 1, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for _ in range(300):
        x = grad.A_adjoint(grad.A(x))
        x = x / x.norm()
    largest = math.sqrt(float(_dot(x, grad.A_adjoint(grad.A(x))).real))
    assert largest <= grad.norm() + 1e-12
    assert largest > 0.99 * grad.norm()


def test_gradient_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"FiniteDifference\(ndim=3\): expected an image"):
        FiniteDifference(3).A(torch.zeros(1, 1, 8, 8))


def test_tv_values_of_a_square():
    x = torch.zeros(1, 1, 10, 10, dtype=torch.float64)
    x[..., 3:7, 3:7] = 2.0
    assert TV(1.0, isotropic=False)(x).item() == pytest.approx(2.0 * 16)
    # Isotropic forward differences: 6 edge pixels per side, one corner pixel sees both jumps.
    assert TV(1.0)(x).item() == pytest.approx(2.0 * (14 + math.sqrt(2)))
    assert TV(0.25)(x).item() == pytest.approx(0.25 * TV(1.0)(x).item())


def test_complex_tv_acts_on_real_and_imaginary_parts_jointly():
    generator = torch.Generator().manual_seed(1)
    real = torch.randn(1, 1, 12, 12, generator=generator, dtype=torch.float64)
    imag = torch.randn(1, 1, 12, 12, generator=generator, dtype=torch.float64)
    grad = FiniteDifference(2)
    joint = torch.sqrt((grad.A(real) ** 2 + grad.A(imag) ** 2).sum(dim=2)).sum()
    assert TV(1.0)(torch.complex(real, imag)).item() == pytest.approx(joint.item(), rel=1e-12)


def test_3d_tv_of_a_cube():
    x = torch.zeros(1, 1, 8, 8, 8, dtype=torch.float64)
    x[..., 2:5, 2:5, 2:5] = 1.0
    assert TV(1.0, isotropic=False, ndim=3)(x).item() == pytest.approx(6 * 9)


def _prox_objective(p, x, gamma, prior):
    return 0.5 * ((p - x).abs() ** 2).sum() + gamma * prior(p).sum()


@pytest.mark.parametrize("isotropic", [True, False])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_prox_minimises_its_objective(isotropic, dtype):
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(1, 1, 16, 16, generator=generator, dtype=dtype)
    prior = TV(0.3, isotropic=isotropic, prox_max_iter=3000, prox_tol=1e-10)
    p = prior.prox(x, gamma=1.0)
    best = _prox_objective(p, x, 1.0, prior)
    for scale in (1e-2, 1e-3):
        for _ in range(5):
            q = p + scale * torch.randn(p.shape, generator=generator, dtype=dtype)
            assert _prox_objective(q, x, 1.0, prior) >= best - 1e-9
    # The dual certificate: prox residual x - p lies in gamma * subdifferential, so ⟨x - p, p⟩ = γ TV(p).
    assert float(_dot(x - p, p).real) == pytest.approx(float(prior(p)), rel=1e-5)


def test_prox_of_zero_strength_is_identity_and_flat_image_is_fixed():
    x = torch.randn(1, 1, 8, 8)
    assert torch.equal(TV(0.0).prox(x, gamma=1.0), x)
    flat = torch.full((1, 1, 8, 8), 3.0)
    assert torch.allclose(TV(5.0).prox(flat, gamma=2.0), flat)


def test_split_matches_fn():
    x = torch.randn(2, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for prior in (TV(0.7), TV(0.7, isotropic=False),
                  WeightedTV(0.7, torch.rand(1, 1, 12, 12, dtype=torch.float64))):
        K, g = prior.split()
        assert torch.allclose(g.fn(K.A(x)), prior(x))
        assert prior(x).shape == (2,)


def test_gradient_norm_projection_and_shrinkage_are_moreau_pair():
    z = torch.randn(1, 2, 2, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    weights = torch.rand(1, 2, 6, 6, dtype=torch.float64) + 0.1
    for isotropic in (True, False):
        g = GradientNorm(0.8, weights, isotropic)
        for gamma in (0.3, 2.0):
            # Moreau: prox_{γg}(z) + γ prox_{g*/γ}(z/γ) = z; g* is an indicator so its prox is a projection.
            assert torch.allclose(g.prox(z, gamma) + gamma * g.prox_conjugate(z / gamma), z)


def test_tv_is_a_deepinv_prior():
    assert isinstance(TV(), Prior) and isinstance(WeightedTV(1.0, torch.ones(1, 1, 4, 4)), Prior)
    x = torch.randn(1, 1, 8, 8)
    # deepinv's optimisers pass extra positional arguments (g_param) to fn and prox.
    assert torch.allclose(TV(0.5).fn(x, 0.05), TV(0.5)(x))
    assert TV(0.5).prox(x, 0.05, gamma=0.1).shape == x.shape


def test_weights_from_pilot_follow_the_formula():
    pilot = torch.randn(1, 1, 10, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    eta, p = 0.05, 0.3
    magnitude = torch.sqrt((FiniteDifference(2).A(pilot) ** 2).sum(dim=2))
    expected = (eta / torch.sqrt(eta**2 + magnitude**2)) ** (1 - p)
    assert torch.allclose(weights_from_pilot(pilot, eta=eta, p=p), expected)
    assert torch.all(weights_from_pilot(pilot, eta=eta, p=1.0) == 1.0)


def test_weighted_tv_with_unit_weights_is_tv():
    x = torch.randn(1, 1, 12, 12, dtype=torch.float64)
    assert torch.allclose(WeightedTV(0.4, torch.ones(1, 1, 12, 12, dtype=torch.float64))(x), TV(0.4)(x))


@pytest.mark.parametrize("weights, message", [
    (-torch.ones(1, 1, 4, 4), "non-negative"),
    (torch.ones(4, 4), "shaped"),
])
def test_weighted_tv_rejects_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        WeightedTV(1.0, weights)
