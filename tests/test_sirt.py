"""SIRT: the weighted least-squares and NNLS minimisers, astra's own SIRT, zero rows/columns, Landweber fallback."""

import logging
import math

import numpy as np
import pytest
import scipy.optimize
import torch

from recon.datasets.phantoms import shepp_logan
from recon.operators import ParallelBeamCT
from recon.priors import NonNegativity
from recon.solvers.common import Stopping
from recon.solvers.sirt import sirt

N = 16


class MatrixOperator:
    """A dense (m, n) matrix on (batch, channel, n) tensors, with its exact spectral norm."""

    def __init__(self, matrix: torch.Tensor, nonnegative: bool = False):
        self.matrix = matrix
        self.has_nonnegative_entries = nonnegative

    def A(self, x):
        return x @ self.matrix.T

    def A_adjoint(self, y):
        return y @ self.matrix.conj()

    def norm(self):
        return float(torch.linalg.matrix_norm(self.matrix, ord=2))


def inverse(sums: np.ndarray) -> np.ndarray:
    return np.where(sums > 0, 1.0 / np.where(sums > 0, sums, 1.0), 0.0)


def relative_error(x: torch.Tensor, reference: np.ndarray) -> float:
    return float(np.linalg.norm(x.reshape(-1).numpy() - reference) / np.linalg.norm(reference))


def ct_problem(offset: float):
    """16² image, 40 views × 48 half-pixel detectors, float64, noisy data of Shepp–Logan minus ``offset``.

    Half-pixel detectors: with unit spacing the linear (Joseph) kernel leaves near-null
    checkerboard modes that SIRT needs ~10⁵ iterations to resolve; at half spacing it
    converges in a few hundred.
    """
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 41)[:-1], 48, detector_spacing=0.5, image_shape=(N, N))
    clean = operator.A(shepp_logan(N, dtype=torch.float64) - offset)
    y = clean + 0.01 * clean.abs().mean() * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0),
                                                         dtype=torch.float64)
    basis = torch.eye(N * N, dtype=torch.float64).reshape(N * N, 1, N, N)
    matrix = operator.A(basis).reshape(N * N, -1).T.numpy()
    sqrt_r = np.sqrt(inverse(matrix.sum(axis=1)))
    return operator, y, matrix, sqrt_r[:, None] * matrix, sqrt_r * y.reshape(-1).numpy()


@pytest.fixture(scope="module")
def ct():
    return ct_problem(0.0)


@pytest.mark.parametrize("relaxation, iterations", [(1.0, 700), (1.9, 350)])
def test_converges_to_the_row_weighted_least_squares_solution(ct, relaxation, iterations):
    operator, y, matrix, weighted, weighted_y = ct
    assert (matrix.sum(axis=1) == 0).any()  # rays that miss the image: weight 0
    solution = np.linalg.lstsq(weighted, weighted_y, rcond=None)[0]
    unweighted = np.linalg.lstsq(matrix, y.reshape(-1).numpy(), rcond=None)[0]
    result = sirt(y, operator, relaxation=relaxation, stopping=Stopping(max_iter=iterations))
    assert relative_error(result.x, solution) < 1e-4
    assert relative_error(result.x, unweighted) > 2e-3  # the weights matter: SIRT is not plain lstsq


def test_records_its_weighted_objective_and_residual(ct):
    operator, y, matrix, weighted, weighted_y = ct
    result = sirt(y, operator, stopping=Stopping(max_iter=30))
    x = result.x.reshape(-1).numpy()
    objective = 0.5 * np.sum((weighted @ x - weighted_y) ** 2)
    residual = np.linalg.norm(matrix @ x - y.reshape(-1).numpy()) / np.linalg.norm(y.numpy())
    assert result.history.objective[-1] == pytest.approx(objective, rel=1e-10)
    assert result.history.residual[-1] == pytest.approx(residual, rel=1e-10)
    # Gradient descent with a step within 1/L in the metric C⁻¹: the objective never rises.
    assert np.all(np.diff(result.history.objective) <= 0)


def test_nonnegativity_matches_nnls_on_the_weighted_system():
    operator, y, _, weighted, weighted_y = ct_problem(0.1)  # a negative background: the constraint is active
    reference = scipy.optimize.nnls(weighted, weighted_y, maxiter=10_000)[0]
    unconstrained = np.linalg.lstsq(weighted, weighted_y, rcond=None)[0]
    assert (reference == 0).sum() > 100 and unconstrained.min() < -0.05
    result = sirt(y, operator, constraint=NonNegativity(), relaxation=1.9, stopping=Stopping(max_iter=400))
    assert float(result.x.min()) >= 0.0
    assert relative_error(result.x, reference) < 1e-4


def test_agrees_with_astras_cpu_sirt():
    astra = pytest.importorskip("astra")
    from recon.operators.astra_projector import astra_kernel

    operator, y, *_ = ct_problem(0.1)
    sinogram = y[0, 0].numpy().astype(np.float32)
    volume_geometry, projection_geometry = operator.geometry.astra_geometries()
    projector = astra.create_projector(astra_kernel("parallel", "linear"), projection_geometry, volume_geometry)
    sinogram_id = astra.data2d.create("-sino", projection_geometry, sinogram)
    volume_id = astra.data2d.create("-vol", volume_geometry, 0.0)
    config = astra.astra_dict("SIRT")
    config.update(ProjectorId=projector, ProjectionDataId=sinogram_id, ReconstructionDataId=volume_id,
                  option={"MinConstraint": 0.0, "Relaxation": 1.5})
    algorithm = astra.algorithm.create(config)
    try:
        astra.algorithm.run(algorithm, 50)
        expected = astra.data2d.get(volume_id)
    finally:
        astra.algorithm.delete(algorithm)
        astra.data2d.delete([sinogram_id, volume_id])
        astra.projector.delete(projector)
    result = sirt(torch.from_numpy(sinogram)[None, None], operator, constraint=NonNegativity(), relaxation=1.5,
                  stopping=Stopping(max_iter=50))
    assert result.x.dtype == torch.float32
    assert np.abs(result.x[0, 0].numpy() - expected).max() < 1e-5 * np.abs(expected).max()


def test_zero_rows_and_columns_get_weight_zero_and_unseen_pixels_keep_their_start():
    generator = torch.Generator().manual_seed(1)
    matrix = torch.rand(12, 5, generator=generator, dtype=torch.float64)
    matrix[:, 2] = 0.0  # a pixel no ray sees
    matrix[4] = 0.0     # a ray that misses the image
    y = torch.rand(1, 1, 12, generator=generator, dtype=torch.float64)
    x0 = torch.full((1, 1, 5), 3.0, dtype=torch.float64)
    result = sirt(y, MatrixOperator(matrix, nonnegative=True), x0=x0, relaxation=1.5,
                  stopping=Stopping(max_iter=2000, tol=1e-14))
    assert torch.isfinite(result.x).all() and float(result.x[0, 0, 2]) == 3.0
    seen = [0, 1, 3, 4]
    reduced = matrix[:, seen].numpy()
    sqrt_r = np.sqrt(inverse(reduced.sum(axis=1)))
    expected = np.linalg.lstsq(sqrt_r[:, None] * reduced, sqrt_r * y.reshape(-1).numpy(), rcond=None)[0]
    assert relative_error(result.x[..., seen], expected) < 1e-8


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_landweber_fallback_reaches_plain_lstsq(dtype, caplog):
    generator = torch.Generator().manual_seed(2)
    matrix = torch.randn(60, 20, generator=generator, dtype=dtype)  # entries of both signs
    y = torch.randn(1, 1, 60, generator=generator, dtype=dtype)
    with caplog.at_level(logging.INFO, logger="recon.solvers.sirt"):
        result = sirt(y, MatrixOperator(matrix), relaxation=1.9, stopping=Stopping(max_iter=300))
    assert "Landweber" in caplog.text
    expected = np.linalg.lstsq(matrix.numpy(), y.reshape(-1).numpy(), rcond=None)[0]
    assert relative_error(result.x, expected) < 1e-8
    assert result.x.dtype == dtype


def test_stops_on_residual_tol_for_consistent_data(ct):
    operator = ct[0]
    y = operator.A(shepp_logan(N, dtype=torch.float64))
    result = sirt(y, operator, relaxation=1.9, stopping=Stopping(max_iter=1000, residual_tol=1e-6))
    assert result.stop_reason == "residual_tol" and result.iterations < 1000
    assert result.history.residual[-1] < 1e-6 <= result.history.residual[-2]


@pytest.mark.parametrize("relaxation", [0.0, 2.0, -0.5])
def test_relaxation_outside_zero_two_is_an_error(ct, relaxation):
    with pytest.raises(ValueError, match="sirt: relaxation must lie in \\(0, 2\\)"):
        sirt(ct[1], ct[0], relaxation=relaxation)
