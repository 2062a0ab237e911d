"""recon's PDHG reaches CVXPY's optimum (within 1e-4 relative) on small TV and weighted-TV problems.

CVXPY solves the same problems from dense matrices with an interior-point
solver (Clarabel), independently of recon's code paths.
"""

import math

import numpy as np
import pytest
import torch

from recon.operators import ParallelBeamCT
from recon.priors import TV, WeightedTV, weights_from_pilot, Identity
from recon.datasets.phantoms import random_phantom
from recon.solvers.common import Stopping
from recon.solvers.pdhg import pdhg
from problems import dense_matrix

cp = pytest.importorskip("cvxpy", reason="cvxpy is a test dependency: pip install -e '.[test]'")

N = 32


def _difference_matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences with a Neumann boundary along rows and columns of an n×n image (row-major)."""
    d = np.zeros((n, n))
    d[np.arange(n - 1), np.arange(n - 1)] = -1
    d[np.arange(n - 1), np.arange(1, n)] = 1
    eye = np.eye(n)
    return np.kron(d, eye), np.kron(eye, d)




def _cvxpy_tv_optimum(matrix, y, strength, weights=None):
    rows, cols = _difference_matrices(N)
    x = cp.Variable(N * N)
    magnitude = cp.norm(cp.vstack([rows @ x, cols @ x]), 2, axis=0)
    w = np.ones(N * N) if weights is None else weights.reshape(-1)
    objective = 0.5 * cp.sum_squares(matrix @ x - y) + strength * cp.sum(cp.multiply(w, magnitude))
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL
    return problem.value



def _phantom(seed):
    return random_phantom(N, seed=seed).to(torch.float64)


def _recon_objective(result, operator, y, prior):
    residual = operator.A(result.x) - y
    return float(0.5 * (residual**2).sum() + prior(result.x).sum())


def test_tv_denoising_matches_cvxpy():
    truth = _phantom(0)
    noisy = truth + 0.1 * torch.randn(truth.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    prior = TV(0.08)
    result = pdhg(noisy, Identity(), prior, preconditioning="scalar", stopping=Stopping(max_iter=4000))
    reference = _cvxpy_tv_optimum(np.eye(N * N), noisy.reshape(-1).numpy(), 0.08)
    assert _recon_objective(result, Identity(), noisy, prior) == pytest.approx(reference, rel=1e-4)


@pytest.fixture(scope="module")
def ct_problem():
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 21)[:-1], 48, image_shape=(N, N))
    truth = _phantom(2)
    clean = operator.A(truth)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    y = clean + 0.02 * clean.norm() / noise.norm() * noise
    return operator, truth, y, dense_matrix(operator, N)


@pytest.mark.parametrize("preconditioning", ["ramp", "diagonal"])
def test_tv_ct_with_20_views_matches_cvxpy(ct_problem, preconditioning):
    operator, _, y, matrix = ct_problem
    prior = TV(0.5)
    result = pdhg(y, operator, prior, preconditioning=preconditioning, stopping=Stopping(max_iter=6000))
    reference = _cvxpy_tv_optimum(matrix, y.reshape(-1).numpy(), 0.5)
    assert _recon_objective(result, operator, y, prior) == pytest.approx(reference, rel=1e-4)


def test_weighted_tv_ct_matches_cvxpy(ct_problem):
    operator, truth, y, matrix = ct_problem
    weights = weights_from_pilot(truth, eta=0.05, p=0.2)
    prior = WeightedTV(0.5, weights)
    result = pdhg(y, operator, prior, preconditioning="diagonal", stopping=Stopping(max_iter=12000))
    reference = _cvxpy_tv_optimum(matrix, y.reshape(-1).numpy(), 0.5, weights.numpy())
    assert _recon_objective(result, operator, y, prior) == pytest.approx(reference, rel=1e-4)
