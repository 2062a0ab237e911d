r"""Geometry of near-field MIMO radar imaging: the voxel grid, the antenna positions, the frequencies.

Positions are in metres, frequencies in hertz, all ``float64``. A
:class:`VoxelGrid` is the Cartesian product of three evenly spaced axes, each
including both ends (``torch.linspace``), and its voxels are ordered with x
slowest and z fastest, so that ``points().reshape(*grid.shape, 3)`` is indexed
``[ix, iy, iz]``, the order of the images of
:class:`recon.operators.mimo.NearFieldMIMO`.

The paper set-up (Oral and Öktem, "Plug-and-Play Regularization on Magnitude
with Deep Priors for 3D Near-Field MIMO Imaging", IEEE TCI 2024; the values of
its code, ``src/config.py`` of METU-SPACE-Lab/PnP-Regularization-on-Magnitude):
an X-shaped array in the plane z = 0 with a 0.3 m aperture, 12 transmitters
evenly spaced from (-0.15, 0.15, 0) to (0.15, -0.15, 0) and 13 receivers from
(-0.15, -0.15, 0) to (0.15, 0.15, 0) (both ends included); N_f frequencies
evenly spaced over 4-16 GHz, both ends included (``linspace(4e9, 16e9, N_f)``);
a 25 x 25 x 49 grid over x, y in [-0.15, 0.15] m and z in [0.35, 0.65] m, ends
included (12.5 mm and 6.25 mm spacing).

>>> grid = paper_grid()
>>> grid.shape, grid.points().shape
((25, 25, 49), torch.Size([30625, 3]))
>>> tx, rx = paper_array()
>>> tx.shape, rx.shape, [round(float(v), 3) for v in tx[0]]
(torch.Size([12, 3]), torch.Size([13, 3]), [-0.15, 0.15, 0.0])
>>> [float(f) / 1e9 for f in paper_frequencies(3)]
[4.0, 10.0, 16.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class VoxelGrid:
    """A box of ``nx x ny x nz`` voxel centres, evenly spaced over the closed ranges ``x``, ``y``, ``z`` (metres).

    An axis with one voxel needs a degenerate range ``(a, a)`` and sits at ``a``.

    >>> grid = VoxelGrid(x=(-0.1, 0.1), y=(-0.1, 0.1), z=(0.3, 0.5), counts=(3, 2, 5))
    >>> grid.shape, grid.n_voxels
    ((3, 2, 5), 30)
    >>> [round(float(v), 3) for v in grid.points()[1]]   # x first, then y, z fastest
    [-0.1, -0.1, 0.35]
    """

    x: tuple[float, float]
    y: tuple[float, float]
    z: tuple[float, float]
    counts: tuple[int, int, int]

    def __post_init__(self):
        counts = tuple(self.counts)
        if len(counts) != 3 or any(not float(c).is_integer() or int(c) < 1 for c in counts):
            raise ValueError(f"VoxelGrid: counts must be three integers >= 1, got {self.counts}")
        object.__setattr__(self, "counts", tuple(int(c) for c in counts))
        for name, count in zip("xyz", self.counts):
            bounds = tuple(getattr(self, name))
            if len(bounds) != 2 or not all(math.isfinite(float(b)) for b in bounds):
                raise ValueError(f"VoxelGrid: {name} must be a finite (start, stop) pair in metres, "
                                 f"got {getattr(self, name)}")
            start, stop = float(bounds[0]), float(bounds[1])
            if count > 1 and not stop > start:
                raise ValueError(f"VoxelGrid: the {name} range must be increasing for {count} voxels, "
                                 f"got ({start:g}, {stop:g})")
            if count == 1 and stop != start:
                raise ValueError(f"VoxelGrid: one voxel along {name} needs a degenerate range (a, a), "
                                 f"got ({start:g}, {stop:g})")
            object.__setattr__(self, name, (start, stop))

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(nx, ny, nz)``: the spatial shape of an image."""
        return self.counts

    @property
    def n_voxels(self) -> int:
        return self.counts[0] * self.counts[1] * self.counts[2]

    def axes(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The x, y and z coordinates of the voxel centres, ``float64``."""
        return tuple(torch.linspace(*getattr(self, name), count, dtype=torch.float64)
                     for name, count in zip("xyz", self.counts))

    def points(self) -> torch.Tensor:
        """Voxel centres ``(n_voxels, 3)`` ``float64``, x slowest and z fastest."""
        grids = torch.meshgrid(*self.axes(), indexing="ij")
        return torch.stack(grids, dim=-1).reshape(-1, 3)


def checked_positions(positions, what: str, owner: str = "NearFieldMIMO") -> torch.Tensor:
    """``positions`` as a ``float64`` ``(N, 3)`` tensor with ``N >= 1``, or a one-line ``ValueError``."""
    positions = torch.as_tensor(positions)
    if positions.is_complex() or positions.dim() != 2 or positions.shape[1] != 3 or positions.shape[0] < 1:
        raise ValueError(f"{owner}: {what} must be a real (N, 3) array of positions in metres, "
                         f"got {positions.dtype} {tuple(positions.shape)}")
    positions = positions.to(torch.float64)
    if not bool(torch.isfinite(positions).all()):
        raise ValueError(f"{owner}: {what} must be finite, got a NaN or infinite coordinate")
    return positions


def checked_frequencies(frequencies, owner: str = "NearFieldMIMO") -> torch.Tensor:
    """``frequencies`` as a ``float64`` 1-D tensor of positive finite hertz, or a one-line ``ValueError``."""
    frequencies = torch.as_tensor(frequencies)
    if frequencies.is_complex() or frequencies.dim() != 1 or frequencies.numel() < 1:
        raise ValueError(f"{owner}: frequencies must be a real 1-D list of hertz, got "
                         f"{frequencies.dtype} {tuple(frequencies.shape)}")
    frequencies = frequencies.to(torch.float64)
    if not bool(torch.isfinite(frequencies).all()) or not bool((frequencies > 0).all()):
        raise ValueError(f"{owner}: frequencies must be positive and finite (hertz), got values in "
                         f"[{float(frequencies.min()):g}, {float(frequencies.max()):g}]")
    return frequencies


def paper_array(aperture: float = 0.3, n_transmitters: int = 12,
                n_receivers: int = 13) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's X-shaped array at z = 0: (transmitters ``(12, 3)``, receivers ``(13, 3)``), metres.

    Transmitters lie on the diagonal from (-a/2, a/2, 0) to (a/2, -a/2, 0),
    receivers on the one from (-a/2, -a/2, 0) to (a/2, a/2, 0), ends included.
    """
    half = aperture / 2
    s_tx = torch.linspace(-half, half, n_transmitters, dtype=torch.float64)
    s_rx = torch.linspace(-half, half, n_receivers, dtype=torch.float64)
    transmitters = torch.stack([s_tx, -s_tx, torch.zeros_like(s_tx)], dim=1)
    receivers = torch.stack([s_rx, s_rx, torch.zeros_like(s_rx)], dim=1)
    return transmitters, receivers


def paper_frequencies(n: int, low: float = 4e9, high: float = 16e9) -> torch.Tensor:
    """``n`` frequencies evenly spaced over [4, 16] GHz, both ends included (the paper code's ``linspace``)."""
    if int(n) < 1:
        raise ValueError(f"paper_frequencies: n must be >= 1, got {n}")
    return torch.linspace(low, high, int(n), dtype=torch.float64)


def paper_grid() -> VoxelGrid:
    """The paper's 25 x 25 x 49 grid over x, y in [-0.15, 0.15] m and z in [0.35, 0.65] m."""
    return VoxelGrid(x=(-0.15, 0.15), y=(-0.15, 0.15), z=(0.35, 0.65), counts=(25, 25, 49))
