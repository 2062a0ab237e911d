"""Small problems with known answers that several solver tests share."""

from __future__ import annotations

import math

import numpy as np
import torch

from recon.datasets.phantoms import shepp_logan
from recon.operators import ParallelBeamCT


class Identity:
    """The identity as an operator: denoising problems."""

    def A(self, x):
        return x

    def A_adjoint(self, y):
        return y

    def norm(self):
        return 1.0


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
