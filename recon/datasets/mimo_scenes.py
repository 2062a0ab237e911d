r"""Seeded extended radar targets and their simulated measurements, as in the MIMO paper's experiments.

A scene holds 2 to 4 planar shapes, each a flat patch parallel to the array
(one voxel thick) at its own random depth: a rectangle, a disc, a ring, a cross
or a triangle, of random size and position within the grid. Magnitudes are 1
on a shape (a voxel in two shapes keeps 1); every voxel of a shape gets an
independent phase uniform on :math:`[0, 2\pi)`, since real targets have rough
surfaces ("real targets carry random phase"). Shapes are kept one voxel away
from the grid's faces.

Noise is complex Gaussian with :math:`E|n|^2 = \sigma^2` per sample (each of the real and
imaginary parts has variance :math:`\sigma^2/2`), at a given SNR

.. math:: \mathrm{SNR}_{\mathrm{dB}} = 10\log_{10}\frac{\|Ax\|^2}{M\sigma^2}, \qquad M = N_f N_t N_r,

so :math:`\|n\| \approx \sigma\sqrt M`, the radius :math:`\varepsilon` of the
constraint :math:`\|Ax - y\| \le \varepsilon` of C-SALSA.
"""

from __future__ import annotations

import math

import torch

SHAPES = ("rectangle", "disc", "ring", "cross", "triangle")


def _shape_mask(kind: str, nx: int, ny: int, generator: torch.Generator) -> torch.Tensor:
    """A boolean ``(nx, ny)`` patch of ``kind`` with random centre and size, one voxel off the edges."""
    def uniform(low, high):
        return float(low + (high - low) * torch.rand((), generator=generator, dtype=torch.float64))

    half = uniform(0.15, 0.3) * min(nx, ny)                      # half-size in voxels
    cx = uniform(1 + half, nx - 2 - half)
    cy = uniform(1 + half, ny - 2 - half)
    ix = torch.arange(nx, dtype=torch.float64)[:, None] - cx
    iy = torch.arange(ny, dtype=torch.float64)[None, :] - cy
    radius = torch.sqrt(ix * ix + iy * iy)
    if kind == "rectangle":
        aspect = uniform(0.5, 1.0)
        return (ix.abs() <= half) & (iy.abs() <= aspect * half)
    if kind == "disc":
        return radius <= half
    if kind == "ring":
        return (radius <= half) & (radius >= 0.55 * half)
    if kind == "cross":
        arm = max(0.3 * half, 0.8)
        return ((ix.abs() <= half) & (iy.abs() <= arm)) | ((iy.abs() <= half) & (ix.abs() <= arm))
    if kind == "triangle":
        # apex up in y: |x| <= (y + half) / 2 for y in [-half, half]
        return (iy >= -half) & (iy <= half) & (ix.abs() <= (iy + half) / 2)
    raise ValueError(f"extended_targets: unknown shape {kind!r}; known: {', '.join(SHAPES)}")


def extended_targets(grid_shape: tuple[int, int, int], seed: int, *, n_shapes: int | None = None,
                     dtype: torch.dtype = torch.complex64) -> torch.Tensor:
    """A scene ``(1, 1, nx, ny, nz)``: 2–4 planar shapes (``n_shapes`` fixes the count) at random depths, random phase.

    >>> scene = extended_targets((25, 25, 49), seed=0)
    >>> scene.shape, scene.dtype, float(scene.abs().max())
    (torch.Size([1, 1, 25, 25, 49]), torch.complex64, 1.0)
    >>> bool(torch.equal(scene, extended_targets((25, 25, 49), seed=0)))
    True
    """
    nx, ny, nz = (int(n) for n in grid_shape)
    if min(nx, ny) < 8 or nz < 3:
        raise ValueError(f"extended_targets: the grid must be at least 8 x 8 x 3 voxels, got {grid_shape}")
    generator = torch.Generator().manual_seed(int(seed))
    count = int(torch.randint(2, 5, (), generator=generator)) if n_shapes is None else int(n_shapes)
    if not 1 <= count <= nz - 2:
        raise ValueError(f"extended_targets: n_shapes must be in 1..{nz - 2}, got {count}")
    depths = 1 + torch.randperm(nz - 2, generator=generator)[:count]    # distinct depths, off the faces
    magnitude = torch.zeros(nx, ny, nz, dtype=torch.float64)
    for depth in depths.tolist():
        kind = SHAPES[int(torch.randint(len(SHAPES), (), generator=generator))]
        magnitude[:, :, depth] = torch.maximum(magnitude[:, :, depth],
                                               _shape_mask(kind, nx, ny, generator).to(torch.float64))
    phase = 2 * math.pi * torch.rand(nx, ny, nz, generator=generator, dtype=torch.float64)
    return torch.polar(magnitude, phase).to(dtype)[None, None]


def add_complex_noise(clean: torch.Tensor, snr_db: float, seed: int) -> tuple[torch.Tensor, float]:
    r"""``clean`` plus complex Gaussian noise at ``snr_db``; returns the noisy data and :math:`\sigma` (:math:`E|n|^2 = \sigma^2`).

    >>> import torch
    >>> clean = torch.ones(1, 1, 10, 20, 30, dtype=torch.complex64)
    >>> noisy, sigma = add_complex_noise(clean, 20.0, seed=0)
    >>> round(sigma, 3), round(float((noisy - clean).abs().pow(2).mean()) / sigma**2, 1)
    (0.1, 1.0)
    """
    if not math.isfinite(snr_db):
        raise ValueError(f"add_complex_noise: snr_db must be finite, got {snr_db}")
    power = float(clean.abs().pow(2).mean())
    sigma = math.sqrt(power * 10.0 ** (-snr_db / 10.0))
    generator = torch.Generator().manual_seed(int(seed))
    real_dtype = clean.real.dtype
    noise = torch.complex(torch.randn(clean.shape, generator=generator, dtype=real_dtype),
                          torch.randn(clean.shape, generator=generator, dtype=real_dtype)) * (sigma / math.sqrt(2))
    return clean + noise.to(clean.device), sigma


def simulated_scene(seed: int, counts=(25, 25, 49), n_frequencies: int = 10, snr_db: float = 30.0):
    """Scene ``seed`` measured by the paper's array over its extents: a :class:`~recon.datasets.measurement.Measurement`.

    The truth is :func:`extended_targets` on a ``counts`` grid over the paper's field of view, the
    data its responses at ``n_frequencies`` evenly spaced over 4–16 GHz with complex noise at
    ``snr_db`` (noise seed ``1000 + seed``); ``metadata`` holds ``snr_db`` and ``noise_sigma``.

    >>> m = simulated_scene(0, counts=(8, 8, 9), n_frequencies=3)
    >>> tuple(m.data.shape), tuple(m.ground_truth.shape), sorted(m.metadata)
    ((1, 1, 3, 12, 13), (1, 1, 8, 8, 9), ['noise_sigma', 'snr_db'])
    """
    from recon.datasets.measurement import Measurement
    from recon.operators.mimo_acquisition import MIMOAcquisition
    from recon.operators.mimo_geometry import VoxelGrid, paper_array, paper_frequencies, paper_grid

    full = paper_grid()
    transmitters, receivers = paper_array()
    acquisition = MIMOAcquisition(transmitters, receivers, paper_frequencies(n_frequencies),
                                  VoxelGrid(full.x, full.y, full.z, tuple(counts)))
    truth = extended_targets(tuple(counts), seed)
    y, sigma = add_complex_noise(acquisition.operator().A(truth), snr_db, seed=1000 + seed)
    return Measurement("mimo", y, acquisition, "recon-radar", None, ground_truth=truth,
                       metadata={"snr_db": snr_db, "noise_sigma": sigma})
