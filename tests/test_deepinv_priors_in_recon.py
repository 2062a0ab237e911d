"""deepinv's priors inside recon's fista and admm reach known optima (the other direction: test_deepinv_interop.py).

deepinv priors carry no strength of their own, so the solvers get it as
``prior_weight`` and call ``prior.prox(v, gamma=step * prior_weight)``.
"""

import math

import numpy as np
import pytest
import torch
from deepinv.optim import L1Prior, TVPrior

from recon.datasets.phantoms import shepp_logan
from recon.operators import ParallelBeamCT
from recon.priors import TV
from recon.solvers.admm import admm
from recon.solvers.common import Stopping
from recon.solvers.fista import fista
from recon.solvers.pdhg import pdhg

cp = pytest.importorskip("cvxpy", reason="cvxpy is a test dependency: pip install -e '.[test]'")

N, STRENGTH = 16, 0.5


@pytest.fixture(scope="module")
def ct_problem():
    """12 views of a 16² Shepp–Logan phantom, and recon's PDHG TV optimum (~1e-7 from its fixed point)."""
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 13)[:-1], 24, image_shape=(N, N))
    clean = operator.A(shepp_logan(N, dtype=torch.float64))
    y = clean + 0.05 * torch.randn(clean.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    reference = pdhg(y, operator, TV(STRENGTH), adaptive=True, stopping=Stopping(max_iter=1500))
    return operator, y, reference.history.objective[-1]


def _tv_objective(operator, y, x):
    return float(0.5 * ((operator.A(x) - y) ** 2).sum() + TV(STRENGTH)(x).sum())


def test_deepinv_tv_prior_in_fista_reaches_the_pdhg_tv_optimum(ct_problem):
    operator, y, optimum = ct_problem
    # deepinv's TV denoiser warm-starts itself between calls, so 100 inner steps per prox suffice; an inexact
    # prox wants a fixed step (fista's module text).
    result = fista(y, operator, TVPrior(n_it_max=100), prior_weight=STRENGTH, backtracking=False,
                   stopping=Stopping(max_iter=100))
    assert _tv_objective(operator, y, result.x) == pytest.approx(optimum, rel=1e-4)  # measured 2.6e-7 below it
    assert result.history.objective[-1] == pytest.approx(_tv_objective(operator, y, result.x), rel=1e-12)


def test_deepinv_tv_prior_in_admm_reaches_the_pdhg_tv_optimum(ct_problem):
    operator, y, optimum = ct_problem
    result = admm(y, operator, TVPrior(n_it_max=300), prior_weight=STRENGTH, split="prox", penalty=10.0,
                  stopping=Stopping(max_iter=30))
    assert _tv_objective(operator, y, result.x) == pytest.approx(optimum, rel=1e-4)  # measured 2.5e-7 below it


class _Matrix:
    """A dense matrix acting on signals shaped (batch, channel, n)."""

    def __init__(self, matrix):
        self.matrix = matrix

    def A(self, x):
        return x @ self.matrix.T

    def A_adjoint(self, y):
        return y @ self.matrix

    def norm(self):
        return float(torch.linalg.matrix_norm(self.matrix, 2))


@pytest.fixture(scope="module")
def lasso():
    """Compressed sensing: 40 Gaussian measurements of a 6-sparse vector in R^100, and CVXPY's lasso optimum."""
    generator = torch.Generator().manual_seed(0)
    m, n, strength = 40, 100, 0.05
    matrix = torch.randn(m, n, generator=generator, dtype=torch.float64) / math.sqrt(m)
    truth = torch.zeros(n, dtype=torch.float64)
    support = torch.randperm(n, generator=generator)[:6]
    truth[support] = 1 + torch.rand(6, generator=generator, dtype=torch.float64)
    y = matrix @ truth + 0.01 * torch.randn(m, generator=generator, dtype=torch.float64)
    x = cp.Variable(n)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(matrix.numpy() @ x - y.numpy()) + strength * cp.norm1(x)))
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL
    return _Matrix(matrix), y.reshape(1, 1, m), strength, problem.value, x.value, support


def _lasso_checks(result, lasso):
    operator, y, strength, optimum, solution, support = lasso
    objective = float(0.5 * ((operator.A(result.x) - y) ** 2).sum() + strength * result.x.abs().sum())
    assert objective == pytest.approx(optimum, rel=1e-6)  # measured 3e-11
    assert np.abs(result.x.reshape(-1).numpy() - solution).max() < 1e-4  # measured 1e-9
    found = torch.nonzero(result.x.reshape(-1).abs() > 1e-3).reshape(-1)
    assert sorted(found.tolist()) == sorted(support.tolist())  # the sparse support is recovered exactly


def test_deepinv_l1_prior_in_fista_reaches_the_cvxpy_lasso_optimum(lasso):
    operator, y, strength = lasso[:3]
    _lasso_checks(fista(y, operator, L1Prior(), prior_weight=strength, stopping=Stopping(max_iter=500)), lasso)


def test_deepinv_l1_prior_in_admm_reaches_the_cvxpy_lasso_optimum(lasso):
    operator, y, strength = lasso[:3]
    result = admm(y, operator, L1Prior(), prior_weight=strength, penalty=1.0, cg_tol=1e-12,
                  stopping=Stopping(max_iter=300))
    _lasso_checks(result, lasso)
