"""The plug-and-play solvers converge to known answers on every 2D operator of the registry.

With a "denoiser" that is the proximal operator of :math:`g = \\tfrac\\mu2\\|x\\|^2` (a linear
shrinkage), each PnP scheme is a classical splitting of a ridge problem whose minimiser is
:math:`(A^{H}A + \\mu I)^{-1}A^{H}y`, computed here from the dense matrix:

* PnP-ADMM with :math:`D(v) = \\alpha v/(\\alpha + \\mu)` solves :math:`f + g`;
* PnP-FISTA with :math:`D(v) = v/(1 + \\tau\\mu)` solves :math:`f + g`;
* RED with :math:`D(x) = c\\,x` has the gradient :math:`\\lambda(1 - c)x`: it solves
  :math:`f + \\tfrac{\\lambda(1-c)}2\\|x\\|^2`;
* HQS with a constant σ alternates two proxes: it solves :math:`f` plus the Moreau envelope
  of :math:`g`, a ridge of weight :math:`\\mu\\alpha/(\\mu+\\alpha)`.

So the data steps (FFT, DCT, Fourier mask, CG), the splitting and the scaling by
:math:`\\|A\\|^2` are all checked, on CT (parallel and fan), single- and multi-coil MRI
(complex), blur in every boundary mode and multiband.
"""

from __future__ import annotations

import pytest
import torch

from operator_registry import REGISTRY
from recon.solvers.common import DivergenceError, Stopping
from recon.solvers.data_consistency import QuadraticDataStep
from recon.solvers.hqs import hqs
from recon.solvers.pnp_admm import pnp_admm
from recon.solvers.pnp_common import operator_norm_squared
from recon.solvers.pnp_fista import pnp_fista
from recon.solvers.red import red

CASES = [case for case in REGISTRY if not case.name.startswith(("mimo", "mri-single-3d")) and "astra" not in case.name]
_built = {}


def _problem(case):
    """(operator, y, dense ridge solver) for a case, in float64 / complex128."""
    if case.name not in _built:
        op = case.build()
        dtype = torch.complex128 if case.complex_valued else torch.float64
        n = 1
        for s in op.domain_shape:
            n *= s
        basis = torch.eye(n, dtype=dtype).reshape(n, 1, *op.domain_shape)
        matrix = op.A(basis).reshape(n, -1).T
        generator = torch.Generator().manual_seed(0)
        x = torch.randn((1, 1, *op.domain_shape), generator=generator, dtype=dtype)
        y = op.A(x)
        y = y + 0.05 * float(y.abs().max()) * torch.randn(y.shape, generator=generator, dtype=dtype)
        norm2 = operator_norm_squared(op, y)      # the solvers' own ‖A‖² (power iteration), so α agrees
        assert norm2 == pytest.approx(float(torch.linalg.matrix_norm(matrix, ord=2)) ** 2, rel=1e-3)

        def ridge(mu: float) -> torch.Tensor:
            gram = matrix.conj().T @ matrix + mu * torch.eye(n, dtype=dtype)
            return torch.linalg.solve(gram, matrix.conj().T @ y.reshape(-1)).reshape(x.shape)

        _built[case.name] = (op, y, ridge, norm2)
    return _built[case.name]


def _relative_error(estimate, exact) -> float:
    return float((estimate - exact).norm() / exact.norm())


@pytest.mark.parametrize("case", CASES, ids=str)
def test_data_step_is_the_exact_proximal_step(case):
    op, y, ridge, norm2 = _problem(case)
    step = QuadraticDataStep(op, y, cg_steps=500, cg_tol=1e-14)
    alpha = 0.3 * norm2
    generator = torch.Generator().manual_seed(1)
    v = torch.randn(ridge(1.0).shape, generator=generator, dtype=y.dtype if y.is_complex() else torch.float64)
    x = step.prox(v, alpha)
    optimality = step.gradient(x) + alpha * (x - v)
    assert float(optimality.norm()) < 1e-8 * float((step.Aty + alpha * v).norm()), step.path
    expected = {"parallel": "cg", "fan": "cg", "scaled": "cg", "mri-single": "fourier-mask", "mri-multi": "cg",
                "multiband": "cg", "downsample": "cg"}
    for prefix, path in expected.items():
        if case.name.startswith(prefix):
            assert step.path == path


@pytest.mark.parametrize("case", CASES, ids=str)
def test_pnp_admm_with_a_ridge_prox_reaches_the_ridge_solution(case):
    op, y, ridge, norm2 = _problem(case)
    mu, penalty = 0.05 * norm2, 0.2
    alpha = penalty * norm2
    result = pnp_admm(y, op, lambda v, sigma: alpha * v / (alpha + mu), sigma=0.1, penalty=penalty, cg_steps=200,
                      stopping=Stopping(max_iter=400, tol=1e-12))
    assert _relative_error(result.x, ridge(mu)) < 1e-5
    assert result.history.residual[-1] < 1e-6          # x and z agree at the fixed point


@pytest.mark.parametrize("case", CASES, ids=str)
def test_pnp_fista_with_a_ridge_prox_reaches_the_ridge_solution(case):
    op, y, ridge, norm2 = _problem(case)
    mu, tau = 0.05 * norm2, 1.0 / norm2
    result = pnp_fista(y, op, lambda v, sigma: v / (1 + tau * mu), sigma=0.1, stopping=Stopping(max_iter=600, tol=1e-13))
    assert _relative_error(result.x, ridge(mu)) < 1e-5


@pytest.mark.parametrize("case", CASES, ids=str)
def test_red_with_a_linear_shrinkage_reaches_the_ridge_solution(case):
    op, y, ridge, norm2 = _problem(case)
    strength, c = 0.1, 0.5
    result = red(y, op, lambda v, sigma: c * v, sigma=0.1, strength=strength, stopping=Stopping(max_iter=600, tol=1e-13))
    assert _relative_error(result.x, ridge(strength * norm2 * (1 - c))) < 1e-6
    assert result.history.residual[-1] < 1e-6


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hqs_with_a_constant_sigma_reaches_the_moreau_envelope_solution(case):
    op, y, ridge, norm2 = _problem(case)
    mu, strength = 0.05 * norm2, 0.2
    alpha = strength * norm2
    result = hqs(y, op, lambda v, sigma: alpha * v / (alpha + mu), sigma_start=0.1, sigma_end=0.1, strength=strength,
                 cg_steps=200, stopping=Stopping(max_iter=400, tol=1e-12))
    # the estimate is z = D(x*), the denoised fixed point
    assert _relative_error(result.x, alpha / (alpha + mu) * ridge(mu * alpha / (mu + alpha))) < 1e-5


def test_hqs_follows_the_geometric_schedule_and_scales_alpha():
    from recon.operators.blur import Blur
    from recon.operators.psf import gaussian_psf

    blur = Blur(gaussian_psf(5, 1.0), (8, 8), "circular")
    y = blur.A(torch.rand(1, 1, 8, 8, dtype=torch.float64))
    seen = []
    hqs(y, blur, lambda v, sigma: seen.append(sigma) or v, sigma_start=0.2, sigma_end=0.02, stopping=Stopping(max_iter=5))
    assert seen == pytest.approx([0.2 * 0.1 ** (k / 4) for k in range(5)])


def test_nan_from_the_denoiser_stops_with_the_iteration_named():
    from recon.operators.blur import Blur
    from recon.operators.psf import gaussian_psf

    blur = Blur(gaussian_psf(5, 1.0), (8, 8), "circular")
    y = blur.A(torch.rand(1, 1, 8, 8))
    calls = []

    def breaks_on_third_call(v, sigma):
        calls.append(1)
        return v * float("nan") if len(calls) == 3 else v

    with pytest.raises(DivergenceError, match="pnp_admm: .* iteration 3"):
        pnp_admm(y, blur, breaks_on_third_call, sigma=0.1, stopping=Stopping(max_iter=10))


@pytest.mark.parametrize("solver, arguments", [(pnp_admm, {"sigma": 0.0}), (pnp_fista, {"sigma": -1.0}),
                                               (red, {"sigma": 0.1, "strength": 0.0}),
                                               (hqs, {"sigma_start": 0.1, "sigma_end": 0.0})])
def test_bad_parameters_are_one_line_errors(solver, arguments):
    from recon.operators.blur import Blur
    from recon.operators.psf import gaussian_psf

    blur = Blur(gaussian_psf(5, 1.0), (8, 8), "circular")
    with pytest.raises(ValueError, match=f"^{solver.__name__}: .* must be a positive number"):
        solver(torch.zeros(1, 1, 8, 8), blur, lambda v, s: v, **arguments)


def test_red_value_of_a_linear_shrinkage_is_the_ridge_it_implies():
    from recon.priors.pnp import DenoiserPrior

    x = torch.randn(2, 1, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    prior = DenoiserPrior(lambda v, sigma: 0.25 * v, sigma=0.1, strength=2.0)
    expected = 0.5 * 2.0 * 0.75 * (x ** 2).flatten(1).sum(1)          # λ/2 (1 - c) ‖x‖² per element
    torch.testing.assert_close(prior.fn(x), expected)
    torch.testing.assert_close(prior.grad(x), 2.0 * 0.75 * x)           # its gradient
    with pytest.raises(ValueError, match="DenoiserPrior.fn: give sigma"):
        DenoiserPrior(lambda v, sigma: v).fn(x)
