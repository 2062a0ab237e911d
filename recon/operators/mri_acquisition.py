r"""What a Cartesian MRI scan needs besides its k-space: the sampling mask and the image matrix.

Conventions (shared by the MRI operators, the readers and the masks):

- k-space is ``complex64`` shaped ``(slices, coils, rows, cols)`` (2D) with the
  k-space centre at index ``n // 2`` of each axis (fastMRI's and BART's
  centred convention); the image of a fully sampled coil is
  :math:`x = \mathcal F^{-1} y` with the orthonormal centred FFT.
- The mask is real, 1 where k-space was measured and 0 elsewhere, shaped
  ``(rows, cols)`` (or ``(slices, rows, cols)`` when it changes per slice); a
  1D mask over phase-encode columns is broadcast along the rows.
- Rows are the read-out (frequency-encode) axis, columns the phase-encode axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class CartesianAcquisition:
    """The sampling of a Cartesian scan.

    :param mask: 0/1 tensor ``(rows, cols)`` or ``(slices, rows, cols)``.
    :param coil_maps: optional sensitivities ``(slices, coils, rows, cols)`` complex, when the file has them.

    >>> import torch
    >>> a = CartesianAcquisition(torch.ones(4, 6))
    >>> a.shape, round(a.acceleration, 2)
    ((4, 6), 1.0)
    """

    mask: torch.Tensor
    coil_maps: torch.Tensor | None = None

    def __post_init__(self):
        if self.mask.dim() not in (2, 3):
            raise ValueError(f"CartesianAcquisition: mask must be (rows, cols) or (slices, rows, cols), "
                             f"got {tuple(self.mask.shape)}")

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(s) for s in self.mask.shape[-2:])

    @property
    def acceleration(self) -> float:
        """Samples of a full grid over samples measured."""
        measured = float(self.mask.float().mean())
        return float("inf") if measured == 0 else 1.0 / measured
