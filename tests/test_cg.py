"""CGLS and CG on the normal equations reach the lstsq / ridge solutions, real and complex; the CG helper."""

import functools
import math

import numpy as np
import pytest
import torch

from recon.datasets.phantoms import shepp_logan
from recon.operators import ParallelBeamCT
from recon.solvers.cg import cg_normal, cgls
from recon.solvers.common import Stopping
from recon.solvers.conjugate_gradient import conjugate_gradient

N = 16
SOLVERS = [cgls, cg_normal]
TIGHT = Stopping(max_iter=1000, residual_tol=1e-13)


class MatrixOperator:
    """A dense (m, n) matrix acting on (batch, channel, n) tensors; A_adjoint is the conjugate transpose."""

    def __init__(self, matrix: torch.Tensor):
        self.matrix = matrix

    def A(self, x):
        return x @ self.matrix.T

    def A_adjoint(self, y):
        return y @ self.matrix.conj()


class SubsampledFourier:
    """Multi-coil Cartesian MRI: y_c = mask · F(S_c x) with the orthonormal 2D FFT F (one coil: S = 1)."""

    def __init__(self, mask: torch.Tensor, coil_maps: torch.Tensor):
        self.mask, self.coil_maps = mask, coil_maps  # coil_maps: (1, coils, N, N)

    def A(self, x):
        return self.mask * torch.fft.fft2(self.coil_maps * x, norm="ortho")

    def A_adjoint(self, y):
        return (self.coil_maps.conj() * torch.fft.ifft2(self.mask * y, norm="ortho")).sum(dim=1, keepdim=True)


def dense(operator, shape, dtype) -> np.ndarray:
    """The operator's matrix, one column per basis image."""
    size = math.prod(shape)
    basis = torch.eye(size, dtype=dtype).reshape(size, 1, *shape)
    return operator.A(basis).reshape(size, -1).T.numpy()


class Problem:
    """An operator, its data and its dense matrix; ``solution(λ)`` is computed once per λ."""

    def __init__(self, operator, y: torch.Tensor, matrix: np.ndarray):
        self.operator, self.y, self.matrix = operator, y, matrix

    @functools.cache
    def solution(self, damping: float) -> np.ndarray:
        return ridge(self.matrix, self.y.reshape(-1).numpy(), damping)


def ridge(matrix: np.ndarray, y: np.ndarray, damping: float) -> np.ndarray:
    """argmin ½‖Mx − y‖² + ½λ‖x‖²: the min-norm lstsq solution when λ = 0."""
    # Zero rows change nothing but can make LAPACK's lstsq very slow; drop them.
    measured = np.abs(matrix).sum(axis=1) > 0
    matrix, y = matrix[measured], y[measured]
    if damping == 0:
        return np.linalg.lstsq(matrix, y, rcond=None)[0]
    gram = matrix.conj().T @ matrix + damping * np.eye(matrix.shape[1])
    return np.linalg.solve(gram, matrix.conj().T @ y)


def relative_error(x: torch.Tensor, reference: np.ndarray) -> float:
    return float(np.linalg.norm(x.reshape(-1).numpy() - reference) / np.linalg.norm(reference))


@pytest.fixture(scope="module")
def ct():
    """16² image, 40 views × 24 detectors (overdetermined, cond(A) ≈ 270), noisy Shepp–Logan data."""
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 41)[:-1], 24, image_shape=(N, N))
    clean = operator.A(shepp_logan(N, dtype=torch.float64))
    y = clean + 0.01 * clean.abs().mean() * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0),
                                                         dtype=torch.float64)
    return Problem(operator, y, dense(operator, (N, N), torch.float64))


@pytest.fixture(scope="module")
def complex_matrix():
    """A 48 × 20 complex Gaussian matrix and complex data."""
    generator = torch.Generator().manual_seed(3)
    matrix = torch.randn(48, 20, generator=generator, dtype=torch.complex128)
    y = torch.randn(1, 1, 48, generator=generator, dtype=torch.complex128)
    return Problem(MatrixOperator(matrix), y, matrix.numpy())


@pytest.fixture(scope="module", params=[1, 2], ids=["single-coil", "two-coil"])
def fourier(request):
    """Half of k-space (random lines) of a 16² image; one coil (rank-deficient: min-norm answer) or two."""
    generator = torch.Generator().manual_seed(4)
    mask = torch.zeros(1, 1, N, N, dtype=torch.float64)
    mask[..., torch.randperm(N, generator=generator)[: N // 2], :] = 1.0
    if request.param == 1:
        maps = torch.ones(1, 1, N, N, dtype=torch.complex128)
    else:
        maps = torch.randn(1, request.param, N, N, generator=generator, dtype=torch.complex128)
    operator = SubsampledFourier(mask, maps)
    y = operator.A(torch.randn(1, 1, N, N, generator=generator, dtype=torch.complex128))
    y = y + 0.1 * mask * torch.randn(y.shape, generator=generator, dtype=torch.complex128)
    return Problem(operator, y, dense(operator, (N, N), torch.complex128))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("damping", [0.0, 5.0])
def test_real_ct_reaches_the_lstsq_and_ridge_solutions(ct, solver, damping):
    operator, y = ct.operator, ct.y
    result = solver(y, operator, damping=damping, stopping=TIGHT)
    assert result.stop_reason == "residual_tol"
    assert relative_error(result.x, ct.solution(damping)) < 1e-8
    assert result.x.dtype == torch.float64


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("damping", [0.0, 2.0])
def test_complex_matrix_reaches_the_lstsq_and_ridge_solutions(complex_matrix, solver, damping):
    operator, y = complex_matrix.operator, complex_matrix.y
    result = solver(y, operator, damping=damping, stopping=TIGHT)
    assert relative_error(result.x, complex_matrix.solution(damping)) < 1e-8
    assert result.x.dtype == torch.complex128


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("damping", [0.0, 0.3])
def test_subsampled_fourier_reaches_the_min_norm_and_ridge_solutions(fourier, solver, damping):
    operator, y = fourier.operator, fourier.y
    result = solver(y, operator, damping=damping, stopping=TIGHT)
    assert relative_error(result.x, fourier.solution(damping)) < 1e-8


@pytest.mark.parametrize("solver", SOLVERS)
def test_complex64_stays_complex64_and_is_accurate_to_single_precision(fourier, solver):
    operator, y = fourier.operator, fourier.y
    single = SubsampledFourier(operator.mask.float(), operator.coil_maps.to(torch.complex64))
    result = solver(y.to(torch.complex64), single, damping=0.3, stopping=Stopping(max_iter=100, residual_tol=1e-6))
    assert result.x.dtype == torch.complex64
    assert relative_error(result.x.to(torch.complex128), fourier.solution(0.3)) < 1e-5


@pytest.mark.parametrize("solver", SOLVERS)
def test_recorded_residual_and_objective_are_the_true_ones(ct, solver):
    operator, y = ct.operator, ct.y
    damping, tol = 0.5, 1e-4
    result = solver(y, operator, damping=damping, stopping=Stopping(max_iter=500, residual_tol=tol))
    x = result.x
    normal_rhs = operator.A_adjoint(y)
    residual = float((operator.A_adjoint(y - operator.A(x)) - damping * x).norm() / normal_rhs.norm())
    objective = float(0.5 * ((operator.A(x) - y) ** 2).sum() + 0.5 * damping * (x**2).sum())
    assert result.stop_reason == "residual_tol"
    assert result.history.residual[-1] < tol <= result.history.residual[-2]
    assert result.history.residual[-1] == pytest.approx(residual, rel=1e-6)
    assert result.history.objective[-1] == pytest.approx(objective, rel=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
def test_objective_decreases_monotonically_and_residual_falls_by_orders(ct, solver):
    # CG minimises the objective over growing Krylov spaces, so it never rises; the
    # normal-equation residual need not fall at every step, only overall.
    operator, y = ct.operator, ct.y
    history = solver(y, operator, stopping=TIGHT).history
    objective = np.array(history.objective)
    assert np.all(np.diff(objective) <= 1e-12 * objective[0])
    assert history.residual[-1] < 1e-12 * history.residual[0]
    assert np.all(np.array(history.relative_change[1:]) < 10.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_stops_at_max_iter(ct, solver):
    operator, y = ct.operator, ct.y
    result = solver(y, operator, stopping=Stopping(max_iter=7))
    assert (result.stop_reason, result.iterations, len(result.history)) == ("max_iter", 7, 7)


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_from_the_solution(complex_matrix, solver):
    operator, y = complex_matrix.operator, complex_matrix.y
    solution = torch.from_numpy(complex_matrix.solution(0.0)).reshape(1, 1, -1)
    start = solution.clone()
    result = solver(y, operator, x0=start, stopping=Stopping(max_iter=50, residual_tol=1e-10))
    assert result.iterations <= 1 and relative_error(result.x, solution.reshape(-1).numpy()) < 1e-12
    assert torch.equal(start, solution)  # x0 is not modified


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_nearby_needs_fewer_iterations(ct, solver):
    operator, y = ct.operator, ct.y
    solution = ct.solution(0.0)
    nearby = torch.from_numpy(solution).reshape(1, 1, N, N) + 1e-3 * torch.randn(
        1, 1, N, N, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    stopping = Stopping(max_iter=1000, residual_tol=1e-12)
    cold, warm = solver(y, operator, stopping=stopping), solver(y, operator, x0=nearby, stopping=stopping)
    assert relative_error(warm.x, solution) < 1e-8
    # A random perturbation excites every singular direction, so the saving in steps is modest.
    assert warm.iterations < cold.iterations
    assert warm.history.residual[0] < 1e-2 * cold.history.residual[0]


@pytest.mark.parametrize("solver", SOLVERS)
def test_zero_normal_rhs_converges_at_once_to_zero(complex_matrix, solver):
    operator, y = complex_matrix.operator, complex_matrix.y
    result = solver(torch.zeros_like(y), operator)
    assert (result.stop_reason, result.iterations) == ("converged", 0)
    assert torch.count_nonzero(result.x) == 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_callback_sees_each_iterate_unchanged_and_can_stop(ct, solver):
    operator, y = ct.operator, ct.y
    seen = []

    def keep(k, x):
        seen.append((x, x.clone()))
        return k < 4

    result = solver(y, operator, stopping=Stopping(max_iter=50), callback=keep)
    assert (result.stop_reason, result.iterations, len(seen)) == ("callback", 4, 4)
    assert all(torch.equal(x, copy) for x, copy in seen)
    assert torch.equal(seen[-1][0], result.x)


def test_cg_normal_uses_the_operators_own_normal_map(complex_matrix):
    operator, y = complex_matrix.operator, complex_matrix.y
    calls = []

    class WithGram(MatrixOperator):
        def A_adjoint_A(self, x):
            calls.append(1)
            return self.A_adjoint(self.A(x))

    result = cg_normal(y, WithGram(operator.matrix), stopping=Stopping(max_iter=5))
    assert len(calls) == 5
    cgls_result = cgls(y, operator, stopping=Stopping(max_iter=5))
    assert relative_error(result.x, cgls_result.x.reshape(-1).numpy()) < 1e-10  # same Krylov iterates


@pytest.mark.parametrize("solver", SOLVERS)
def test_negative_damping_is_an_error(ct, solver):
    operator, y = ct.operator, ct.y
    with pytest.raises(ValueError, match=f"{solver.__name__}: damping"):
        solver(y, operator, damping=-1.0)


def _spd(n: int, seed: int) -> torch.Tensor:
    factor = torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return factor @ factor.T + n * torch.eye(n, dtype=torch.float64)


def test_conjugate_gradient_solves_an_spd_system():
    matrix = _spd(20, 6)
    rhs = torch.randn(20, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    out = conjugate_gradient(lambda x: matrix @ x, rhs, max_iter=100, tol=1e-12)
    expected = np.linalg.solve(matrix.numpy(), rhs.numpy())
    assert np.linalg.norm(out.x.numpy() - expected) / np.linalg.norm(expected) < 1e-10
    assert out.relative_residual <= 1e-12 and out.iterations <= 20
    assert out.relative_residual == pytest.approx(float((rhs - matrix @ out.x).norm() / rhs.norm()), rel=1e-3)


def test_conjugate_gradient_solves_a_hermitian_complex_system():
    factor = torch.randn(12, 12, generator=torch.Generator().manual_seed(8), dtype=torch.complex128)
    matrix = factor @ factor.conj().T + 12 * torch.eye(12, dtype=torch.complex128)
    rhs = torch.randn(12, generator=torch.Generator().manual_seed(9), dtype=torch.complex128)
    out = conjugate_gradient(lambda x: matrix @ x, rhs, max_iter=100, tol=1e-12)
    expected = np.linalg.solve(matrix.numpy(), rhs.numpy())
    assert np.linalg.norm(out.x.numpy() - expected) / np.linalg.norm(expected) < 1e-10


def test_conjugate_gradient_zero_rhs_gives_zero_whatever_the_start():
    matrix = _spd(5, 10)
    out = conjugate_gradient(lambda x: matrix @ x, torch.zeros(5, dtype=torch.float64), x0=torch.ones(5))
    assert (out.iterations, out.relative_residual) == (0, 0.0)
    assert torch.count_nonzero(out.x) == 0


def test_conjugate_gradient_warm_start_and_step_cap():
    matrix = _spd(20, 11)
    rhs = torch.randn(20, generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    solution = torch.from_numpy(np.linalg.solve(matrix.numpy(), rhs.numpy()))
    at_solution = conjugate_gradient(lambda x: matrix @ x, rhs, x0=solution, max_iter=50, tol=1e-10)
    assert at_solution.iterations == 0 and torch.allclose(at_solution.x, solution, rtol=0, atol=1e-12)
    nearby = solution + 1e-4 * torch.randn(20, generator=torch.Generator().manual_seed(13), dtype=torch.float64)
    warm = conjugate_gradient(lambda x: matrix @ x, rhs, x0=nearby, max_iter=50, tol=1e-10)
    cold = conjugate_gradient(lambda x: matrix @ x, rhs, max_iter=50, tol=1e-10)
    assert warm.iterations < cold.iterations and warm.relative_residual <= 1e-10
    capped = conjugate_gradient(lambda x: matrix @ x, rhs, max_iter=3, tol=1e-10)
    assert capped.iterations == 3 and capped.relative_residual > 1e-10
    with pytest.raises(ValueError, match="conjugate_gradient: max_iter"):
        conjugate_gradient(lambda x: matrix @ x, rhs, max_iter=-1)
