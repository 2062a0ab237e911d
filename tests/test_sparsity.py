"""L1Wavelet and Tikhonov: values, exact proxes, complex images, the split used by PDHG."""

import numpy as np
import pytest
import torch
from deepinv.optim import Prior

from recon.priors import (FiniteDifference, Identity, L1Wavelet, SquaredNorm, Tikhonov, WaveletL1Norm,
                          WaveletTransform)
from recon.solvers.common import Stopping
from recon.solvers.pdhg import pdhg


def _random(shape, seed, dtype=torch.float64):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _soft_threshold_numpy(c, threshold, free):
    """Complex-safe soft threshold of numpy coefficients; entries where ``free`` stay."""
    magnitude = np.abs(c)
    shrunk = np.where(magnitude > threshold, c * (1 - threshold / np.maximum(magnitude, 1e-300)), 0)
    return np.where(free, c, shrunk)


def _prox_objective(p, x, gamma, prior):
    return float(0.5 * ((p - x).abs() ** 2).sum() + gamma * prior(p).sum())


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("penalise_approximation", [False, True])
def test_l1_wavelet_prox_is_the_exact_minimiser(dtype, penalise_approximation):
    prior = L1Wavelet(1.0, "db2", levels=2, penalise_approximation=penalise_approximation)
    x = _random((2, 1, 16, 16), 0, dtype)
    gamma = 0.7
    p = prior.prox(x, gamma=gamma)
    # Closed form in coefficient space: soft-threshold Wx by γλ, leave the coarsest block when it is free.
    W = prior.transform
    free = np.zeros((16, 16), dtype=bool)
    if not penalise_approximation:
        free[:4, :4] = True
    expected = _soft_threshold_numpy(W.A(x).numpy(), gamma * 1.0, free)
    assert np.abs(W.A(p).numpy() - expected).max() < 1e-13
    assert 0.2 < float((expected == 0).mean()) < 0.8      # the threshold really zeroes some, not all
    best = _prox_objective(p, x, gamma, prior)
    generator = torch.Generator().manual_seed(1)
    for scale in (1e-2, 1e-4):
        for _ in range(5):
            perturbation = scale * torch.randn(x.shape, generator=generator, dtype=dtype)
            assert best <= _prox_objective(p + perturbation, x, gamma, prior)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_l1_wavelet_values_one_per_batch_element(dtype):
    prior = L1Wavelet(0.25, "db4", levels=3)
    x = _random((3, 2, 16, 16), 2, dtype)
    values = prior(x)
    assert values.shape == (3,) and values.dtype == torch.float64
    coefficients = np.abs(WaveletTransform("db4", 3).A(x).numpy())
    mask = np.ones((16, 16), dtype=bool)
    mask[:2, :2] = False
    expected = 0.25 * (coefficients * mask).reshape(3, -1).sum(axis=1)
    assert np.abs(values.numpy() - expected).max() < 1e-12
    full = L1Wavelet(0.25, "db4", levels=3, penalise_approximation=True)(x).numpy()
    assert np.abs(full - 0.25 * coefficients.reshape(3, -1).sum(axis=1)).max() < 1e-12


def test_l1_wavelet_vanishes_on_blockwise_constant_images_only_when_aligned():
    blocks = _random((1, 1, 8, 8), 3)
    image = blocks.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # constant on aligned 2×2 blocks
    prior = L1Wavelet(1.0, "haar", levels=1)
    assert prior(image).item() < 1e-13
    assert prior(torch.roll(image, 1, dims=3)).item() > 1.0


def test_l1_wavelet_3d_and_deepinv_interface():
    prior = L1Wavelet(0.1, "db2", levels=1, ndim=3)
    assert isinstance(prior, Prior) and prior.explicit_prior
    x = _random((1, 1, 8, 8, 8), 4)
    p = prior.prox(x, 0.5, gamma=2.0)    # deepinv passes its own parameter positionally
    free = prior.transform.detail_mask((8, 8, 8)).logical_not().numpy()
    expected = _soft_threshold_numpy(prior.transform.A(x).numpy(), 0.2, free)
    assert np.abs(prior.transform.A(p).numpy() - expected).max() < 1e-13


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_l1_wavelet_split_is_consistent(dtype):
    prior = L1Wavelet(0.4, "db3", levels=2)
    K, g = prior.split()
    assert isinstance(g, WaveletL1Norm) and K.norm() == 1.0
    x = _random((2, 1, 16, 16), 5, dtype)
    assert torch.allclose(g.fn(K.A(x)), prior.fn(x), rtol=1e-14, atol=0)
    assert float((K.A_adjoint(g.prox(K.A(x), 0.6)) - prior.prox(x, gamma=0.6)).abs().max()) < 1e-14
    # Moreau: z = prox_{σg*}(z) + σ prox_{g/σ}(z/σ).
    z, sigma = _random((2, 1, 16, 16), 6, dtype), 0.5
    moreau = g.prox_conjugate(z, sigma) + sigma * g.prox(z / sigma, 1 / sigma)
    assert float((moreau - z).abs().max()) < 1e-14
    projected = g.prox_conjugate(z, sigma)
    assert float(projected.abs().max()) <= 0.4 + 1e-15 and float(projected[..., :4, :4].abs().max()) == 0.0


def test_pdhg_with_l1_wavelet_reaches_the_closed_form_denoiser():
    noisy = _random((1, 1, 32, 32), 7)
    prior = L1Wavelet(0.5, "db2", levels=2)
    result = pdhg(noisy, Identity(), prior, stopping=Stopping(max_iter=150))
    # With A = I and W orthogonal the minimiser is the prox itself.
    assert float((result.x - prior.prox(noisy)).abs().max()) < 1e-8


@pytest.mark.parametrize("operator, ndim, shape", [("identity", 2, (2, 1, 16, 16)), ("gradient", 2, (2, 1, 16, 12)),
                                                   ("gradient", 3, (1, 1, 6, 8, 10)), ("gradient", 1, (1, 2, 20))])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_tikhonov_prox_solves_its_normal_equation(operator, ndim, shape, dtype):
    prior = Tikhonov(0.8, operator, ndim=ndim)
    L = FiniteDifference(ndim) if operator == "gradient" else Identity()
    x = _random(shape, 8, dtype)
    gamma = 1.5
    p = prior.prox(x, gamma=gamma)
    residual = p + gamma * 0.8 * L.A_adjoint(L.A(p)) - x
    assert float(residual.norm() / x.norm()) < 1e-10
    assert p.dtype == x.dtype and p.shape == x.shape


def test_tikhonov_gradient_prox_keeps_constants_and_values():
    constant = torch.full((1, 1, 8, 8), 3.0, dtype=torch.float64)
    assert float((Tikhonov(5.0, "gradient").prox(constant, gamma=2.0) - constant).abs().max()) < 1e-13
    x = _random((3, 1, 10, 10), 9)
    rows, cols = np.diff(x.numpy(), axis=2), np.diff(x.numpy(), axis=3)
    expected = 0.5 * 0.6 * ((rows**2).sum(axis=(1, 2, 3)) + (cols**2).sum(axis=(1, 2, 3)))
    assert np.abs(Tikhonov(0.6, "gradient")(x).numpy() - expected).max() < 1e-12
    assert np.abs(Tikhonov(0.6)(x).numpy() - 0.3 * (x.numpy() ** 2).sum(axis=(1, 2, 3))).max() < 1e-12


@pytest.mark.parametrize("operator", ["identity", "gradient"])
def test_tikhonov_split_is_consistent(operator):
    prior = Tikhonov(0.7, operator)
    K, g = prior.split()
    assert isinstance(g, SquaredNorm)
    x = _random((2, 1, 12, 12), 10, torch.complex128)
    assert torch.allclose(g.fn(K.A(x)), prior.fn(x), rtol=1e-14, atol=0)
    z, sigma = _random((2, 1, 12, 12), 11), 0.3
    moreau = g.prox_conjugate(z, sigma) + sigma * g.prox(z / sigma, 1 / sigma)
    assert float((moreau - z).abs().max()) < 1e-14
    if operator == "identity":
        assert torch.allclose(prior.prox(x, gamma=0.4), g.prox(x, 0.4), rtol=1e-15, atol=0)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="Tikhonov: operator must be one of identity, gradient"):
        Tikhonov(1.0, "laplacian")
    with pytest.raises(ValueError, match="Tikhonov: strength must be >= 0"):
        Tikhonov(-1.0)
    with pytest.raises(ValueError, match="L1Wavelet: strength must be >= 0"):
        L1Wavelet(-0.1)
    with pytest.raises(ValueError, match=r"WaveletTransform: spatial shape \(20, 16\) is not divisible"):
        L1Wavelet(0.1, "db2", levels=3)(torch.zeros(1, 1, 20, 16))
