r"""What a near-field MIMO radar measurement needs besides its samples: antennas, frequencies, the image grid.

Conventions (shared by :class:`recon.operators.NearFieldMIMO`, the radar reader
and the scene generator): positions in metres, ``(N, 3)`` ``float64``;
frequencies in hertz; measurements ``complex64`` shaped
``(scans, 1, N_f, N_t, N_r)``; images ``(scans, 1, nx, ny, nz)`` on a
:class:`recon.operators.mimo_geometry.VoxelGrid`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from recon.operators.mimo_geometry import VoxelGrid, checked_frequencies, checked_positions


@dataclass(frozen=True)
class MIMOAcquisition:
    """Transmitter and receiver positions, frequencies and the reconstruction grid of one radar set-up.

    >>> from recon.operators.mimo_geometry import paper_array, paper_frequencies, paper_grid
    >>> tx, rx = paper_array()
    >>> acquisition = MIMOAcquisition(tx, rx, paper_frequencies(10), paper_grid())
    >>> acquisition.measurement_shape, acquisition.grid.shape
    ((10, 12, 13), (25, 25, 49))
    """

    transmitters: torch.Tensor
    receivers: torch.Tensor
    frequencies: torch.Tensor
    grid: VoxelGrid

    def __post_init__(self):
        object.__setattr__(self, "transmitters", checked_positions(self.transmitters, "transmitters",
                                                                   "MIMOAcquisition"))
        object.__setattr__(self, "receivers", checked_positions(self.receivers, "receivers", "MIMOAcquisition"))
        object.__setattr__(self, "frequencies", checked_frequencies(self.frequencies, "MIMOAcquisition"))
        if not isinstance(self.grid, VoxelGrid):
            raise TypeError(f"MIMOAcquisition: grid must be a VoxelGrid, got {type(self.grid).__name__}")

    @property
    def measurement_shape(self) -> tuple[int, int, int]:
        """``(N_f, N_t, N_r)``."""
        return (self.frequencies.numel(), self.transmitters.shape[0], self.receivers.shape[0])

    def operator(self, **kwargs):
        """The :class:`recon.operators.NearFieldMIMO` of this set-up (``kwargs``: ``memory_budget``, ``dtype``)."""
        from recon.operators.mimo import NearFieldMIMO

        return NearFieldMIMO(self.transmitters, self.receivers, self.frequencies, self.grid, **kwargs)
