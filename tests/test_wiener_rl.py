"""Wiener/Tikhonov deconvolution against dense solves, and Richardson–Lucy's likelihood, limit and stopping rule."""

import itertools
import math

import pytest
import torch

from recon.operators import Blur, Downsample
from recon.operators.psf import gaussian_psf
from recon.solvers.common import Stopping
from recon.solvers.richardson_lucy import poisson_divergence, richardson_lucy
from recon.solvers.wiener import _regulariser_normal, wiener_deconvolution


def _random(*shape, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _dense(apply, shape):
    n = math.prod(shape)
    return apply(torch.eye(n, dtype=torch.float64).reshape(n, 1, *shape)).reshape(n, n).T


def _phantom(shape=(32, 32)):
    x = torch.full((1, 1, *shape), 10.0, dtype=torch.float64)
    x[..., 6:20, 8:14] = 200.0
    x[..., 22:28, 18:28] = 80.0
    x[..., 10:12, 20:30] = 400.0
    return x


# -- Wiener ---------------------------------------------------------------------------------------------------


def test_wiener_with_vanishing_strength_inverts_noiseless_circular_blur():
    """min |H| is 2.0e-4 for a sigma-1 Gaussian on 32^2; lambda = 1e-12 leaves a measured 1.3e-6 max error."""
    blur = Blur(gaussian_psf(7, 1.0), (32, 32))
    x = _random(2, 1, 32, 32, seed=1)
    estimate = wiener_deconvolution(blur.A(x), blur, 1e-12)
    assert estimate.dtype == torch.float64
    assert float((estimate - x).abs().max()) < 1e-5
    # a larger strength trades fidelity for stability: still close, but not exact
    error = float((wiener_deconvolution(blur.A(x), blur, 1e-3) - x).abs().max())
    assert 1e-3 < error < 1.0


@pytest.mark.parametrize("regulariser", ["identity", "gradient"])
def test_wiener_matches_the_dense_normal_equations(regulariser):
    shape, strength = (8, 7), 0.05
    blur = Blur(_random(5, 3, seed=2), shape)
    A = _dense(blur.A, shape)
    R = _dense(lambda v: _regulariser_normal(v, regulariser), shape)
    y = _random(1, 1, *shape, seed=3)
    expected = torch.linalg.solve(A.T @ A + strength * R, A.T @ y.reshape(-1))
    estimate = wiener_deconvolution(y, blur, strength, regulariser=regulariser)
    assert float((estimate.reshape(-1) - expected).abs().max()) < 1e-10


@pytest.mark.parametrize("boundary", ["zero", "reflect"])
def test_wiener_on_padded_boundaries_solves_the_same_equations_by_cg(boundary):
    shape, strength = (8, 7), 0.05
    blur = Blur(_random(5, 3, seed=4), shape, boundary)
    A = _dense(blur.A, shape)
    y = _random(1, 1, *shape, seed=5)
    expected = torch.linalg.solve(A.T @ A + strength * torch.eye(56, dtype=torch.float64), A.T @ y.reshape(-1))
    estimate = wiener_deconvolution(y, blur, strength, tol=1e-13)
    assert float((estimate.reshape(-1) - expected).abs().max()) < 1e-10
    with pytest.raises(ValueError, match="needs strength > 0"):
        wiener_deconvolution(y, blur, 0.0)


def test_wiener_refuses_a_zero_of_the_transfer_function_without_regularisation():
    blur = Blur(torch.tensor([[0.5, 0.5]]), (4, 6))             # H = 0 at the Nyquist column
    y = _random(1, 1, 4, 6, seed=6)
    with pytest.raises(ValueError, match="vanishes at some frequency"):
        wiener_deconvolution(y, blur, 0.0)
    assert torch.isfinite(wiener_deconvolution(y, blur, 1e-2)).all()
    with pytest.raises(ValueError, match="regulariser must be one of"):
        wiener_deconvolution(y, blur, 1e-2, regulariser="laplace")


def test_wiener_complex_input_and_float32():
    blur = Blur(gaussian_psf(5, 0.8), (16, 16))
    x = torch.complex(_random(1, 1, 16, 16, seed=7), _random(1, 1, 16, 16, seed=8))
    estimate = wiener_deconvolution(blur.A(x), blur, 1e-12)
    assert estimate.dtype == torch.complex128 and float((estimate - x).abs().max()) < 1e-8
    estimate32 = wiener_deconvolution(blur.A(x.real.float()), blur, 1e-6)
    assert estimate32.dtype == torch.float32 and float((estimate32 - x.real).abs().max()) < 1e-2


# -- Richardson–Lucy --------------------------------------------------------------------------------------------


def test_richardson_lucy_increases_the_likelihood_and_keeps_x_non_negative():
    blur = Blur(gaussian_psf(9, 1.5), (32, 32), "reflect")
    y = torch.poisson(blur.A(_phantom()), generator=torch.Generator().manual_seed(0))
    result = richardson_lucy(y, blur, stopping=Stopping(max_iter=60))
    objective = result.history.objective
    assert result.iterations == 60 and result.stop_reason == "max_iter"
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(objective))   # EM: never up
    assert objective[-1] < 0.5 * objective[0]
    assert float(result.x.min()) >= 0
    assert objective[-1] == pytest.approx(poisson_divergence(y, blur.A(result.x)), rel=1e-12)


def test_richardson_lucy_converges_toward_the_truth_on_noiseless_data():
    """Relative error: start 0.89 (the constant), 50 iterations 0.156, 400 iterations 0.079 (measured)."""
    blur = Blur(gaussian_psf(7, 1.0), (32, 32))
    truth = _phantom()
    y = blur.A(truth)
    error = lambda x: float((x - truth).norm() / truth.norm())
    start = torch.full_like(truth, float(y.sum()) / (32 * 32))
    short = richardson_lucy(y, blur, stopping=Stopping(max_iter=50)).x
    long = richardson_lucy(y, blur, stopping=Stopping(max_iter=400)).x
    assert error(start) > 0.85
    assert error(short) < 0.2
    assert error(long) < 0.6 * error(short)
    assert float((blur.A(long) - y).norm() / y.norm()) < 5e-3   # measured 3.1e-3


def test_richardson_lucy_discrepancy_stops_a_noisy_run_at_the_noise_level():
    """The truth's deviance is 0.98 N here (the rule's premise); the stop fires at iteration 11 of 300.

    Measured relative errors: 0.37 at the stop, 0.29 at the best iterate (72), 0.36 after 300;
    tau = 0.9 stops at 19 with 0.33. tau = 1 stops early, before the noise is fitted.
    """
    blur = Blur(gaussian_psf(9, 1.5), (32, 32), "reflect")
    truth = _phantom()
    y = torch.poisson(blur.A(truth), generator=torch.Generator().manual_seed(1))
    assert 2 * poisson_divergence(y, blur.A(truth)) / y.numel() == pytest.approx(1.0, abs=0.05)
    error = lambda x: float((x - truth).norm() / truth.norm())
    errors = []
    richardson_lucy(y, blur, stopping=Stopping(max_iter=300), callback=lambda k, x: errors.append(error(x)))
    run = richardson_lucy(y, blur, stopping=Stopping(max_iter=300), discrepancy="poisson")
    assert run.stop_reason == "discrepancy"
    assert 5 <= run.iterations <= 40
    residual = run.history.residual
    assert residual[-1] <= 1 < residual[-2]                      # the first iterate at the noise level
    assert error(run.x) == pytest.approx(errors[run.iterations - 1], rel=1e-12)
    assert error(run.x) < min(1.4 * min(errors), 0.7 * errors[0])   # 0.37 < min(0.41, 0.43)
    later = richardson_lucy(y, blur, stopping=Stopping(max_iter=300), discrepancy="poisson", tau=0.9)
    assert run.iterations < later.iterations and error(later.x) < error(run.x)


def test_richardson_lucy_gaussian_discrepancy_and_downsample():
    op = Downsample(2, (32, 32), psf=gaussian_psf(5, 1.0), boundary="reflect")
    truth = _phantom()
    noise = 2.0 * torch.randn(op.A(truth).shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y = (op.A(truth) + noise).clamp_min(0)
    run = richardson_lucy(y, op, stopping=Stopping(max_iter=500), discrepancy="gaussian", noise_sigma=2.0)
    assert run.stop_reason == "discrepancy" and run.iterations < 500
    assert float(((op.A(run.x) - y) ** 2).sum()) <= y.numel() * 4.0


def test_richardson_lucy_errors():
    blur = Blur(gaussian_psf(5, 1.0), (8, 8))
    good = torch.ones(1, 1, 8, 8, dtype=torch.float64)
    for call, message in [
        (lambda: richardson_lucy(good - 2, blur), "y must be non-negative"),
        (lambda: richardson_lucy(good.to(torch.complex128), blur), "must be real counts"),
        (lambda: richardson_lucy(good * math.nan, blur), "NaN or infinite"),
        (lambda: richardson_lucy(good, Blur(-torch.ones(1, 1), (8, 8))), r"A\^T 1 has zero or negative entries"),
        (lambda: richardson_lucy(good, blur, discrepancy="gaussian"), "needs noise_sigma"),
        (lambda: richardson_lucy(good, blur, discrepancy="chi2"), "discrepancy must be"),
        (lambda: richardson_lucy(good, blur, x0=-good), "x0 must be non-negative"),
    ]:
        with pytest.raises(ValueError, match=message) as error:
            call()
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("regulariser", ["identity", "gradient"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_wiener_with_reflection_solves_the_neumann_normal_equations(regulariser, symmetric):
    # A symmetric PSF takes the closed DCT form, an asymmetric one CG; both solve the same equations,
    # whose gradient regulariser is the Neumann one.
    from recon.operators.psf import gaussian_psf
    from recon.priors.finite_difference import FiniteDifference

    shape, strength = (8, 7), 0.05
    psf = gaussian_psf(5, 1.2) if symmetric else _random(5, 3, seed=7)
    blur = Blur(psf, shape, "reflect")
    A = _dense(blur.A, shape)
    R = _dense(lambda v: _regulariser_normal(v, regulariser, FiniteDifference(2)), shape)
    y = _random(1, 1, *shape, seed=8)
    expected = torch.linalg.solve(A.T @ A + strength * R, A.T @ y.reshape(-1))
    estimate = wiener_deconvolution(y, blur, strength, regulariser=regulariser, tol=1e-13)
    assert float((estimate.reshape(-1) - expected).abs().max()) < 1e-10
