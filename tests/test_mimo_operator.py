"""The near-field MIMO operator against the sum it stands for, its chunking, its recursion, and its direct images.

The shared checks (adjoint, norm, batches, shapes, CPU/GPU) run in tests/test_operator_registry.py.
"""

import math

import pytest
import torch

from recon.operators import NearFieldMIMO, mimo
from recon.operators.mimo_geometry import (
    VoxelGrid,
    paper_array,
    paper_frequencies,
    paper_grid,
)
from recon.operators.mimo_migration import back_projection, kirchhoff_migration

_GRID = VoxelGrid(x=(-0.15, 0.15), y=(-0.15, 0.15), z=(0.35, 0.65), counts=(5, 4, 7))


def _paper_operator(n_frequencies=20, grid=_GRID, **kwargs):
    tx, rx = paper_array()
    return NearFieldMIMO(tx, rx, paper_frequencies(n_frequencies), grid, **kwargs)


def _random_image(grid, dtype, seed=0, batch=1):
    return torch.randn((batch, 1, *grid.shape), generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _direct(op, x, f, t, r):
    """y(f, t, r) = sum_p x(p) exp(-jk(R_t + R_r)) / (4 pi R_t R_r), one voxel at a time in Python floats."""
    tx, rx = op.transmitters[t].tolist(), op.receivers[r].tolist()
    k = 2 * math.pi * float(op.frequencies[f]) / 299_792_458.0
    total = 0j
    for value, p in zip(x.flatten().tolist(), op.grid.points().tolist()):
        r_t, r_r = math.dist(p, tx), math.dist(p, rx)
        total += value * complex(math.cos(k * (r_t + r_r)), -math.sin(k * (r_t + r_r))) / (4 * math.pi * r_t * r_r)
    return total


_MEASUREMENTS = [(0, 0, 0), (7, 3, 11), (13, 11, 6), (19, 5, 12)]  # (frequency, transmitter, receiver)


@pytest.mark.parametrize("dtype, tolerance", [(torch.complex128, 1e-12), (torch.complex64, 2e-6)])
def test_forward_matches_the_direct_sum(dtype, tolerance):
    """complex128 agrees with the sum to 1e-13 (after 19 recursion steps); complex64 to 6e-7 (of max |y|)."""
    op = _paper_operator()
    x = _random_image(op.grid, dtype)
    y = op.A(x)
    scale = float(y.abs().max())
    for f, t, r in _MEASUREMENTS:
        assert abs(complex(y[0, 0, f, t, r]) - _direct(op, x, f, t, r)) < tolerance * scale


def test_a_few_voxels_against_the_kernel():
    """A on a unit voxel is that voxel's column: the kernel itself at every measurement (complex128)."""
    op = _paper_operator()
    points = op.grid.points()
    k = 2 * math.pi * op.frequencies / mimo.SPEED_OF_LIGHT
    for index in [0, 37, op.grid.n_voxels - 1]:
        x = torch.zeros(op.grid.n_voxels, dtype=torch.complex128)
        x[index] = 1
        column = op.A(x.reshape(1, 1, *op.grid.shape))[0, 0]
        r_t = torch.linalg.vector_norm(points[index] - op.transmitters, dim=1)[None, :, None]
        r_r = torch.linalg.vector_norm(points[index] - op.receivers, dim=1)[None, None, :]
        kernel = torch.exp(-1j * k[:, None, None] * (r_t + r_r)) / (4 * math.pi * r_t * r_r)
        assert float((column - kernel).abs().max() / kernel.abs().max()) < 1e-12


@pytest.mark.parametrize("n_frequencies, tolerance", [(20, 1.5e-6), (70, 3e-6)])
def test_recursion_against_exact_factors(n_frequencies, tolerance):
    """The complex64 recursion drifts linearly with the step (measured: 6.7e-7 over 19 steps; 1.3e-6 with
    70 frequencies, reseeded every 32 steps); complex128 stays at 1e-13."""
    op, exact = _paper_operator(n_frequencies), _paper_operator(n_frequencies)
    exact.wavenumber_step = None  # every factor from its float64 phase
    assert op.wavenumber_step is not None
    for dtype, bound in [(torch.complex64, tolerance), (torch.complex128, 1e-12)]:
        x = _random_image(op.grid, dtype)
        reference = exact.A(x.to(torch.complex128))
        per_frequency = ((op.A(x) - reference).abs().amax(dim=(0, 1, 3, 4))
                         / reference.abs().amax(dim=(0, 1, 3, 4)))
        assert float(per_frequency.max()) < bound
        y = torch.randn_like(op.A(x))
        reference = exact.A_adjoint(y.to(torch.complex128))
        assert float((op.A_adjoint(y) - reference).abs().max() / reference.abs().max()) < bound


def test_recursion_without_reseeding_drifts_more(monkeypatch):
    """The reseeding matters: without it the complex64 drift over 69 steps is larger than with it."""
    op, exact = _paper_operator(70), _paper_operator(70)
    exact.wavenumber_step = None
    x = _random_image(op.grid, torch.complex64)
    reference = exact.A(x.to(torch.complex128))
    reseeded = float((op.A(x) - reference).abs().max() / reference.abs().max())
    monkeypatch.setattr(mimo, "RESEED", 10**6)
    drifted = float((op.A(x) - reference).abs().max() / reference.abs().max())
    assert drifted > 1.5 * reseeded


def test_uneven_frequencies_use_exact_factors():
    tx, rx = paper_array()
    frequencies = torch.tensor([4e9, 4.5e9, 7e9, 16e9], dtype=torch.float64)
    op = NearFieldMIMO(tx, rx, frequencies, _GRID)
    assert op.wavenumber_step is None
    x = _random_image(_GRID, torch.complex128)
    y = op.A(x)
    for f, t, r in [(0, 0, 0), (2, 7, 3), (3, 11, 12)]:
        assert abs(complex(y[0, 0, f, t, r]) - _direct(op, x, f, t, r)) < 1e-12 * float(y.abs().max())


@pytest.mark.parametrize("budget", [1, 5000])
def test_chunking_does_not_change_the_result(budget):
    """A budget of 1 byte (one voxel and one batch entry per block) or 5 kB gives the default's result."""
    op, small = _paper_operator(6), _paper_operator(6, memory_budget=budget)
    _, voxel_block = small._plan(3, 8, torch.device("cpu"))
    assert voxel_block < op.grid.n_voxels
    x = _random_image(op.grid, torch.complex64, batch=3)
    y = torch.randn_like(op.A(x))
    torch.testing.assert_close(small.A(x), op.A(x), rtol=1e-6, atol=1e-6 * float(op.A(x).abs().max()))
    torch.testing.assert_close(small.A_adjoint(y), op.A_adjoint(y), rtol=1e-6,
                               atol=1e-6 * float(op.A_adjoint(y).abs().max()))


@pytest.mark.parametrize("budget", [2**12, 2**16, 2**20, 256 * 2**20])
def test_plan_keeps_the_temporaries_within_the_budget(budget):
    op = _paper_operator(2, grid=paper_grid(), memory_budget=budget)
    n_t, n_r = op.n_transmitters, op.n_receivers
    for batch in (1, 8):
        batch_block, voxel_block = op._plan(batch, 8, torch.device("cpu"))
        per_voxel = 8 * (n_t + n_r + batch_block * (n_t + 1)) + 24 * max(n_t, n_r)
        assert per_voxel * voxel_block <= budget
        assert 1 <= batch_block <= batch and voxel_block <= mimo.CPU_BLOCK


def test_real_inputs_are_promoted():
    op = _paper_operator(3)
    x = torch.randn(1, 1, *op.grid.shape, dtype=torch.float64)
    assert op.A(x).dtype == torch.complex128
    assert op.A(x.float()).dtype == torch.complex64
    torch.testing.assert_close(op.A(x), op.A(x.to(torch.complex128)))


@pytest.mark.parametrize("method", [back_projection, kirchhoff_migration])
@pytest.mark.parametrize("voxel", [(2, 1, 3), (0, 3, 6), (4, 2, 0)])
def test_point_target_focuses_at_its_voxel(method, voxel):
    op = _paper_operator(20)
    x = torch.zeros(1, 1, *op.grid.shape, dtype=torch.complex64)
    x[(0, 0, *voxel)] = 1
    image = method(op.A(x), op)
    assert tuple(int(i) for i in torch.unravel_index(image.abs().argmax(), image.shape))[2:] == voxel
    assert float(image.abs().max()) == pytest.approx(1.0, abs=1e-6)


def test_kirchhoff_migration_is_the_weighted_sum():
    """Kirchhoff migration against its formula, summed densely in complex128 on a small grid."""
    op = _paper_operator(5)
    y = torch.randn((1, 1, *op.range_shape), generator=torch.Generator().manual_seed(3), dtype=torch.complex128)
    points = op.grid.points()
    k = op.wavenumbers[:, None, None, None]
    r_t, r_r = op.tx_distances[None, :, None, :], op.rx_distances[None, None, :, :]
    cos_t, cos_r = points[:, 2] / r_t, points[:, 2] / r_r
    kernel = (1j * k) ** 2 * cos_t * cos_r / (4 * math.pi**2 * r_t * r_r) * torch.exp(1j * k * (r_t + r_r))
    expected = torch.einsum("ftrp,ftr->p", kernel, y[0, 0])
    expected = expected / expected.abs().max()
    image = kirchhoff_migration(y, op).flatten()
    assert float((image - expected).abs().max()) < 1e-12


def test_zero_data_gives_a_zero_image():
    op = _paper_operator(3)
    assert float(back_projection(torch.zeros(1, 1, *op.range_shape), op).abs().max()) == 0.0


@pytest.mark.parametrize("build, message", [
    (lambda tx, rx, f: NearFieldMIMO(tx[:, :2], rx, f, _GRID), "transmitters must be a real \\(N, 3\\)"),
    (lambda tx, rx, f: NearFieldMIMO(tx, rx[:0], f, _GRID), "receivers must be a real \\(N, 3\\)"),
    (lambda tx, rx, f: NearFieldMIMO(tx, rx * float("nan"), f, _GRID), "receivers must be finite"),
    (lambda tx, rx, f: NearFieldMIMO(tx, rx, -f, _GRID), "frequencies must be positive"),
    (lambda tx, rx, f: NearFieldMIMO(tx, rx, f[None], _GRID), "frequencies must be a real 1-D"),
    (lambda tx, rx, f: NearFieldMIMO(tx, rx, f, (5, 4, 7)), "grid must be a VoxelGrid"),
    (lambda tx, rx, f: NearFieldMIMO(tx, rx, f, _GRID, memory_budget=0), "memory_budget must be a positive number"),
    (lambda tx, rx, f: NearFieldMIMO(tx, rx, f, _GRID, dtype=torch.float32), "dtype must be torch.complex64"),
    (lambda tx, rx, f: NearFieldMIMO(tx, rx, f, VoxelGrid((-0.15, 0.15), (0.0, 0.0), (0.0, 0.2), (3, 1, 2))),
     "coincides with an antenna"),
    (lambda tx, rx, f: VoxelGrid((0.1, -0.1), (0, 1), (0, 1), (2, 2, 2)), "the x range must be increasing"),
    (lambda tx, rx, f: VoxelGrid((0, 1), (0, 1), (0, 1), (2, 0, 2)), "counts must be three integers >= 1"),
    (lambda tx, rx, f: VoxelGrid((0, 1), (0, 1), (0, 1), (2, 1, 2)), "one voxel along y needs a degenerate"),
    (lambda tx, rx, f: paper_frequencies(0), "n must be >= 1"),
])
def test_bad_inputs_are_one_line_errors(build, message):
    tx, rx = paper_array()
    with pytest.raises((ValueError, TypeError), match=message) as error:
        build(tx, rx, paper_frequencies(3))
    assert "\n" not in str(error.value)


def test_migration_refuses_other_operators():
    with pytest.raises(TypeError, match="operator must be a NearFieldMIMO"):
        back_projection(torch.zeros(1, 1, 3, 12, 13), object())


def test_paper_geometry():
    tx, rx = paper_array()
    assert torch.allclose(tx[[0, -1]], torch.tensor([[-0.15, 0.15, 0.0], [0.15, -0.15, 0.0]], dtype=torch.float64))
    assert torch.allclose(rx[[0, -1]], torch.tensor([[-0.15, -0.15, 0.0], [0.15, 0.15, 0.0]], dtype=torch.float64))
    frequencies = paper_frequencies(20)
    assert float(frequencies[0]) == 4e9 and float(frequencies[-1]) == 16e9
    grid = paper_grid()
    points = grid.points().reshape(*grid.shape, 3)
    assert grid.shape == (25, 25, 49)
    assert points[0, 0, 0].tolist() == pytest.approx([-0.15, -0.15, 0.35])
    assert points[24, 0, 48].tolist() == pytest.approx([0.15, -0.15, 0.65])
    assert float(points[0, 0, 1, 2] - points[0, 0, 0, 2]) == pytest.approx(0.00625)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    op = _paper_operator(20)
    x = _random_image(op.grid, torch.complex64)
    y = torch.randn_like(op.A(x))
    torch.testing.assert_close(op.A(x.cuda()).cpu(), op.A(x), rtol=1e-5, atol=1e-5 * float(op.A(x).abs().max()))
    torch.testing.assert_close(op.A_adjoint(y.cuda()).cpu(), op.A_adjoint(y), rtol=1e-5,
                               atol=1e-5 * float(op.A_adjoint(y).abs().max()))
    image = kirchhoff_migration(y.cuda(), op)
    assert image.device.type == "cuda"
    torch.testing.assert_close(image.cpu(), kirchhoff_migration(y, op), rtol=1e-4, atol=1e-4)
