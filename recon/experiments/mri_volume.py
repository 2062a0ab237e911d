r"""True-3D k-space in ``recon run``: whether a scan's slice axis is k-space, and the 2D problems it splits into.

Readers give MRI data as ``(slices, coils, rows, cols)``. The slice axis is
either image space (a multi-slice 2D scan: fastMRI files, ISMRMRD slices,
BART's ``SLICE`` dimension) or the second phase-encode axis :math:`k_z` of a 3D
scan (BART's ``PHS2`` with :math:`z > 1`); :func:`depth_axis` tells which, as far
as the file says (a fastMRI file cannot say: its slices are image space unless
the config says ``operator.ndim: 3``).

``operator.ndim: 3`` reconstructs 3D k-space ``(1, coils, depth, rows, cols)`` as one
problem (:func:`volume`). ``operator.ndim: 2`` on 3D k-space splits it exactly. The
3D transform is separable, :math:`\mathcal F_3 = \mathcal F_z \mathcal F_x \mathcal F_y`,
and a mask :math:`M` that is the same along one axis commutes with the 1D
transform along it, so after that axis's inverse FFT (hybrid space)

.. math:: \tfrac12\|M\mathcal F_3 S x - y\|^2 = \sum_j \tfrac12\|M_j \mathcal F_2 S_j x_j - h_j\|^2,
          \qquad h = \mathcal F_{\text{axis}}^{-1} y,

one 2D problem per position :math:`j` along that axis (:func:`split`):

* the mask is the same on every :math:`k_z` plane: the depth slices ``(rows, cols)``;
* else, the mask is the same on every read-out row (a 3D Cartesian scan whose two
  phase encodes are undersampled): one ``(depth, cols)`` problem per read-out position;
* else the volume does not split, and ``operator.ndim: 2`` is refused.

(The depth slices of a volume whose mask changes along :math:`k_z` are no 2D problems:
reconstructed as if they were, with the columns measured on any plane as their mask, they
get little past zero-filling — 17.9 dB against 17.6 on ``tests/test_mri_3d_run.py``'s
volume, where the read-out slices reach 24.3 and true 3D 24.2.)

The split problems share one :math:`\lambda`, relative to the whole volume's
:math:`\max|A^{\mathsf H}y|`, so that their sum is one objective with a 2D regulariser
per slice.

The volume is reconstructed as ``(depth, 1, rows, cols)`` and written in its file's axis
order: a BART volume as BART's ``(READ, PHS1, PHS2)`` = ``(rows, cols, depth)``, what
``bart pics`` writes (:func:`bart_order`); so a k-space of dims ``(1, 180, 230, coils)``
gives one 180 x 230 image, not 230 images of 1 x 180.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from recon.datasets.errors import InputError

KSPACE, IMAGE, UNKNOWN = "kspace", "image", "unknown"


def depth_axis(measurement) -> str:
    """``"kspace"`` (BART ``PHS2`` with z > 1), ``"image"`` (BART ``SLICE``, ISMRMRD) or ``"unknown"`` (fastMRI).

    >>> import torch
    >>> from recon.datasets.measurement import Measurement
    >>> from recon.operators.mri_acquisition import CartesianAcquisition
    >>> m = Measurement("mri", torch.zeros(4, 2, 6, 8, dtype=torch.complex64), CartesianAcquisition(torch.ones(6, 8)),
    ...                 "bart-cfl", None, metadata={"bart_dims": [6, 8, 4, 2], "slice_axis": "PHS2"})
    >>> depth_axis(m)
    'kspace'
    """
    if measurement.format == "bart-cfl":
        dims = [*measurement.metadata.get("bart_dims", []), 1, 1, 1]
        return KSPACE if measurement.metadata.get("slice_axis") == "PHS2" and dims[2] > 1 else IMAGE
    if measurement.format == "ismrmrd":
        return IMAGE
    return UNKNOWN


def bart_order(volume: torch.Tensor) -> torch.Tensor:
    """A volume ``(depth, 1, rows, cols)`` of BART k-space (z along ``PHS2``) in BART's axis order
    ``(READ, PHS1, PHS2)``: ``(rows, 1, cols, depth)``, written ``(rows, cols, depth)`` as ``bart pics`` writes it.

    >>> import torch
    >>> bart_order(torch.zeros(230, 1, 1, 180)).shape
    torch.Size([1, 1, 180, 230])
    """
    return volume.permute(2, 1, 3, 0)


def check_request(config: dict, measurement) -> str:
    """The depth axis of ``measurement``, after refusing what ``operator.ndim`` cannot do with it."""
    ndim, axis = config["operator"]["ndim"], depth_axis(measurement)
    source = measurement.source
    if ndim == 3 and axis == IMAGE:
        raise InputError(source, "operator.ndim", "3D k-space for a true-3D reconstruction (BART: z along PHS2)",
                         f"{measurement.n_slices} separate 2D slices ({measurement.format}); use operator.ndim=2")
    if (ndim == 3 or axis == KSPACE) and "slice" in measurement.metadata:
        raise InputError(source, "input.index", "null: a 3D k-space is reconstructed from all its depth planes",
                         str(measurement.metadata["slice"]))
    return axis


def volume_mask(measurement) -> torch.Tensor:
    """The mask ``(depth, rows, cols)`` of 3D k-space ``(depth, coils, rows, cols)`` (a 2D mask is repeated)."""
    mask = measurement.geometry.mask.to(torch.float32)
    depth, _, rows, cols = measurement.data.shape
    return mask.expand(depth, rows, cols) if mask.dim() == 2 else mask


def volume(measurement) -> tuple[torch.Tensor, torch.Tensor]:
    """k-space ``(1, coils, depth, rows, cols)`` and mask ``(depth, rows, cols)`` of a measurement with kz slices."""
    return measurement.data.transpose(0, 1).unsqueeze(0), volume_mask(measurement)


@dataclass
class Split:
    """3D k-space as independent 2D problems along ``axis`` (``"depth"`` or ``"rows"``), and the way back.

    ``kspace`` is ``(n, coils, a, b)`` in hybrid space, ``mask`` ``(a, b)`` shared or ``(n, a, b)``.
    """

    axis: str
    kspace: torch.Tensor
    mask: torch.Tensor

    def join(self, images: torch.Tensor) -> torch.Tensor:
        """Slice images ``(n, 1, a, b)`` back to the volume layout ``(depth, 1, rows, cols)``."""
        return images if self.axis == "depth" else images.permute(2, 1, 0, 3)


def split(kspace: torch.Tensor, mask: torch.Tensor, source=None) -> Split:
    """Split 3D k-space ``(1, coils, depth, rows, cols)`` with mask ``(depth, rows, cols)`` (see the module text).

    >>> import torch
    >>> mask = torch.zeros(4, 6, 8); mask[:2, :, ::2] = 1; mask[2:, :, 1::2] = 1     # changes along depth
    >>> parts = split(torch.ones(1, 3, 4, 6, 8, dtype=torch.complex64), mask)
    >>> parts.axis, tuple(parts.kspace.shape), tuple(parts.mask.shape)
    ('rows', (6, 3, 4, 8), (4, 8))
    """
    from recon.operators.coil_maps_3d import centred_ifft_along

    if bool((mask == mask[:1]).all()):
        hybrid = centred_ifft_along(kspace, -3)
        return Split("depth", hybrid[0].transpose(0, 1), mask[0])
    if bool((mask == mask[:, :1]).all()):
        hybrid = centred_ifft_along(kspace, -2)
        return Split("rows", hybrid[0].permute(2, 0, 1, 3), mask[:, 0])
    raise InputError(source, "operator.ndim", "a mask that is the same on every kz plane or on every read-out row "
                     "(so that the 3D k-space splits into 2D slices)", "one that changes along every axis; "
                     "use operator.ndim=3")
