"""Small problems with known answers that several solver tests share."""

from __future__ import annotations

import math

import numpy as np
import torch

from recon.datasets.phantoms import shepp_logan
from recon.operators import ParallelBeamCT


def dense_matrix(linear_map, n: int) -> np.ndarray:
    """The matrix of ``linear_map.A`` on row-major n × n images (float64)."""
    basis = torch.eye(n * n, dtype=torch.float64).reshape(n * n, 1, n, n)
    return linear_map.A(basis).reshape(n * n, -1).T.numpy()


def overdetermined_ct(n: int = 16):
    """n² Shepp–Logan, 40 views × 24 detectors, 1 % noise: the least-squares solution is unique.

    Returns the operator, the noisy sinogram and the dense matrix of the operator.
    """
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 41)[:-1], 24, image_shape=(n, n))
    truth = shepp_logan(n, dtype=torch.float64)
    clean = operator.A(truth)
    y = clean + 0.01 * clean.abs().mean() * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0),
                                                         dtype=torch.float64)
    return operator, y, dense_matrix(operator, n)


def relative_error(estimate, solution: np.ndarray) -> float:
    """‖x − x*‖ / ‖x*‖ of a tensor estimate against a flat numpy solution."""
    return float(np.linalg.norm(estimate.reshape(-1).numpy() - solution) / np.linalg.norm(solution))


def least_squares_solution(matrix: np.ndarray, y) -> np.ndarray:
    return np.linalg.lstsq(matrix, y.reshape(-1).numpy(), rcond=None)[0]


def nonnegative_least_squares_solution(matrix: np.ndarray, y) -> np.ndarray:
    import scipy.optimize

    return scipy.optimize.nnls(matrix, y.reshape(-1).numpy(), maxiter=10 * matrix.shape[1])[0]


def tv_optimum(operator, y, strength: float) -> float:
    """The TV objective at PDHG's fixed point (adaptive, 800 iterations): ~1e-8 relative from CVXPY's here."""
    from recon.priors import TV
    from recon.solvers.common import Stopping
    from recon.solvers.pdhg import pdhg

    return pdhg(y, operator, TV(strength), adaptive=True, stopping=Stopping(max_iter=800)).history.objective[-1]
