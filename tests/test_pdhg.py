"""PDHG: convergence to known answers in every step-size mode, the ramp preconditioner, stopping and errors."""

import math

import numpy as np
import pytest
import torch

from recon.priors import TV, Identity
from recon.solvers.common import DivergenceError, Stopping
from recon.solvers.data_terms import PoissonLikelihood
from recon.solvers.pdhg import pdhg
from recon.solvers.ramp_preconditioner import RampPreconditionedData, preconditioned_norm, _filter
from problems import overdetermined_ct

N = 16



@pytest.fixture(scope="module")
def overdetermined():
    """16² image, 40 views × 24 detectors: the least-squares solution is unique."""
    operator, y, matrix = overdetermined_ct(N)
    solution = np.linalg.lstsq(matrix, y.reshape(-1).numpy(), rcond=None)[0].reshape(1, 1, N, N)
    return operator, y, torch.from_numpy(solution), matrix


@pytest.mark.parametrize("options", [
    dict(preconditioning="ramp"), dict(preconditioning="diagonal"), dict(preconditioning="scalar"),
    dict(preconditioning="diagonal", relaxation=1.6), dict(preconditioning="ramp", adaptive=True),
], ids=["ramp", "diagonal", "scalar", "relaxed", "adaptive"])
def test_least_squares_without_prior_reaches_the_lstsq_solution(overdetermined, options):
    operator, y, solution, _ = overdetermined
    result = pdhg(y, operator, None, stopping=Stopping(max_iter=4000, tol=1e-10), **options)
    error = float((result.x - solution).norm() / solution.norm())
    assert error < 1e-3, error


def test_tv_denoising_equals_the_tv_prox_for_complex_images():
    generator = torch.Generator().manual_seed(1)
    truth = torch.zeros(1, 1, 24, 24, dtype=torch.complex128)
    truth[..., 6:18, 6:18] = 1 + 0.5j
    noisy = truth + 0.2 * torch.randn(truth.shape, generator=generator, dtype=torch.complex128)
    prior = TV(0.2, prox_max_iter=5000, prox_tol=1e-12)
    result = pdhg(noisy, Identity(), prior, stopping=Stopping(max_iter=3000))
    reference = prior.prox(noisy, gamma=1.0)

    def objective(p):
        return float(0.5 * ((p - noisy).abs() ** 2).sum() + prior(p).sum())

    assert objective(result.x) == pytest.approx(objective(reference), rel=1e-5)
    assert float((result.x - reference).abs().max()) < 1e-3  # noise level 0.2, jump 1.1
    assert result.x.dtype == torch.complex128


def test_ramp_dual_step_is_the_prox_in_the_filter_metric(overdetermined):
    operator, y, _, _ = overdetermined
    x = torch.zeros(1, 1, N, N, dtype=torch.float64)
    block = RampPreconditionedData(operator, y, x)
    generator = torch.Generator().manual_seed(2)
    u = torch.randn(block.y_padded.shape, generator=generator, dtype=torch.float64)
    forward_bar = block.forward(torch.rand(1, 1, N, N, generator=generator, dtype=torch.float64))
    u_new = block.dual_step(u, forward_bar, 1.0)
    # Dense check: u⁺ = (I + σH)⁻¹ (u + σH(Ax̄ - y)) with H the circulant filter on each padded row.
    length = block.length
    basis = torch.eye(length, dtype=torch.float64)
    filter_matrix = _filter(basis, block.response, length)  # row k = H e_k, H symmetric
    system = torch.eye(length, dtype=torch.float64) + block.sigma * filter_matrix
    rhs = u + block.sigma * (forward_bar - block.y_padded) @ filter_matrix
    expected = torch.linalg.solve(system, rhs.reshape(-1, length).T).T.reshape(u.shape)
    assert torch.allclose(u_new, expected, atol=1e-10)
    assert bool(torch.linalg.eigvalsh(filter_matrix).min() > 0)  # a valid (positive) metric


def test_preconditioned_norm_bounds_the_true_norm(overdetermined):
    operator, y, _, matrix = overdetermined
    x = torch.zeros(1, 1, N, N, dtype=torch.float64)
    estimate = preconditioned_norm(operator, "hann", x)
    block = RampPreconditionedData(operator, y, x, "hann")
    length, n_det = block.length, operator.range_shape[-1]
    filter_matrix = _filter(torch.eye(length, dtype=torch.float64), block.response, length)[:n_det, :n_det]
    views = operator.range_shape[0]
    h_full = torch.block_diag(*[filter_matrix] * views).numpy()
    true_norm = math.sqrt(np.linalg.eigvalsh(matrix.T @ h_full @ matrix).max())
    assert true_norm <= estimate <= 1.03 * true_norm


def test_diverging_steps_raise_an_error_naming_the_iteration():
    class UnderstatedNorm(Identity):
        """10·I that claims a norm of 1, so the default steps are 10 times too long."""

        def A(self, x):
            return 10 * x

        def A_adjoint(self, y):
            return 10 * y

    noisy = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(3))
    with pytest.raises(DivergenceError, match=r"pdhg: .* iteration \d+; the step sizes"):
        pdhg(noisy, UnderstatedNorm(), TV(0.1), stopping=Stopping(max_iter=2000))


def test_stopping_rules(overdetermined):
    operator, y, _, _ = overdetermined
    by_tol = pdhg(y, operator, TV(0.1), stopping=Stopping(max_iter=5000, tol=1e-4))
    assert by_tol.stop_reason == "tol" and by_tol.iterations < 5000
    assert by_tol.history.relative_change[-1] < 1e-4
    by_residual = pdhg(y, operator, TV(0.1), stopping=Stopping(max_iter=5000, residual_tol=1e-3))
    assert by_residual.stop_reason == "residual_tol" and by_residual.history.residual[-1] < 1e-3
    by_time = pdhg(y, operator, TV(0.1), stopping=Stopping(max_iter=10**6, time_limit=0.2))
    assert by_time.stop_reason == "time_limit" and 0.2 <= by_time.seconds < 1.0
    by_callback = pdhg(y, operator, TV(0.1), callback=lambda k, x: k < 7)
    assert by_callback.stop_reason == "callback" and by_callback.iterations == 7
    history = by_tol.history
    assert len(history.objective) == len(history.residual) == len(history.seconds) == by_tol.iterations
    assert all(b >= a for a, b in zip(history.seconds, history.seconds[1:]))


def test_bad_arguments_are_one_line_errors(overdetermined):
    operator, y, _, _ = overdetermined
    with pytest.raises(ValueError, match="has no split"):
        pdhg(y, operator, object())
    with pytest.raises(ValueError, match="'ramp' needs a CT operator and the LeastSquares"):
        pdhg(y, operator, TV(0.1), data=PoissonLikelihood(), preconditioning="ramp")
    with pytest.raises(ValueError, match="preconditioning must be one of"):
        pdhg(y, operator, TV(0.1), preconditioning="fancy")
    with pytest.raises(ValueError, match=r"relaxation must lie in \(0, 2\)"):
        pdhg(y, operator, TV(0.1), relaxation=2.0)
