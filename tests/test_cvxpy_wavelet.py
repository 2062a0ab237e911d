"""recon's PDHG reaches CVXPY's optimum (within 1e-4 relative) on small L1-wavelet problems; Tikhonov a dense solve.

CVXPY (Clarabel, interior point) gets dense matrices: the wavelet transform
applied to the identity basis and the CT projector applied to it, so it shares
no code path with recon's solvers.
"""

import math

import numpy as np
import pytest
import torch

from recon.datasets.phantoms import random_phantom
from recon.operators import ParallelBeamCT
from recon.priors import FiniteDifference, Identity, L1Wavelet, Tikhonov
from recon.solvers.common import Stopping
from recon.solvers.pdhg import pdhg
from problems import dense_matrix

cp = pytest.importorskip("cvxpy", reason="cvxpy is a test dependency: pip install -e '.[test]'")

N = 32




def _cvxpy_l1_wavelet_optimum(matrix, y, prior):
    wavelet = dense_matrix(prior.transform, N)
    weights = prior.transform.detail_mask((N, N)).reshape(-1).double().numpy()
    x = cp.Variable(N * N)
    penalty = prior.strength * cp.sum(cp.multiply(weights, cp.abs(wavelet @ x)))
    objective = 0.5 * cp.sum_squares(matrix @ x - y) + penalty
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL
    return problem.value


def _recon_objective(x, operator, y, prior):
    residual = operator.A(x) - y
    return float(0.5 * (residual**2).sum() + prior(x).sum())


@pytest.fixture(scope="module")
def ct_problem():
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 21)[:-1], 48, image_shape=(N, N))
    clean = operator.A(random_phantom(N, seed=2).to(torch.float64))
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    y = clean + 0.02 * clean.norm() / noise.norm() * noise
    return operator, y, dense_matrix(operator, N)


def test_l1_wavelet_denoising_matches_cvxpy():
    truth = random_phantom(N, seed=0).to(torch.float64)
    noisy = truth + 0.1 * torch.randn(truth.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    prior = L1Wavelet(0.08, "db2", levels=2)
    result = pdhg(noisy, Identity(), prior, stopping=Stopping(max_iter=100))  # ~20 suffice
    reference = _cvxpy_l1_wavelet_optimum(np.eye(N * N), noisy.reshape(-1).numpy(), prior)
    assert _recon_objective(result.x, Identity(), noisy, prior) == pytest.approx(reference, rel=1e-4)
    # The exact prox is the minimiser here: the same optimum without iterating.
    assert _recon_objective(prior.prox(noisy), Identity(), noisy, prior) == pytest.approx(reference, rel=1e-9)


def test_l1_wavelet_ct_with_20_views_matches_cvxpy(ct_problem):
    operator, y, matrix = ct_problem
    prior = L1Wavelet(0.5, "db2", levels=2)
    # Diagonal steps reach 1e-4 after ~460 iterations here; the ramp preconditioner needs ~1700.
    result = pdhg(y, operator, prior, preconditioning="diagonal", stopping=Stopping(max_iter=800))
    reference = _cvxpy_l1_wavelet_optimum(matrix, y.reshape(-1).numpy(), prior)
    assert _recon_objective(result.x, operator, y, prior) == pytest.approx(reference, rel=1e-4)


def test_tikhonov_gradient_ct_matches_a_dense_solve(ct_problem):
    operator, y, matrix = ct_problem
    strength = 2.0
    prior = Tikhonov(strength, "gradient")
    result = pdhg(y, operator, prior, preconditioning="diagonal", stopping=Stopping(max_iter=200))  # ~80 suffice
    gradient = dense_matrix(FiniteDifference(2), N)
    normal = matrix.T @ matrix + strength * gradient.T @ gradient
    solution = np.linalg.solve(normal, matrix.T @ y.reshape(-1).numpy())
    reference = _recon_objective(torch.from_numpy(solution).reshape(1, 1, N, N), operator, y, prior)
    assert _recon_objective(result.x, operator, y, prior) == pytest.approx(reference, rel=1e-4)
