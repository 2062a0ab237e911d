r"""What an input file holds, from its metadata and numpy alone: the :class:`Summary` ``recon info`` prints.

Each reader module offers ``describe(path) -> Summary`` beside ``read``. It
checks the same structure (datasets, shapes, dtypes, the geometry's
attributes) but builds no tensors and estimates nothing, so that ``recon info``
answers without importing torch. What only a full read can tell (a rotation
axis estimated from the projections, NaNs deep in the data) is left to
``recon run``; the summary says so where it matters. ``tests/test_fast_start.py``
checks every reader's summary against its measurement.

The helpers below write the indented lines of each modality's set-up.

>>> import numpy as np
>>> mask = np.zeros((4, 6), np.float32); mask[:, ::2] = 1
>>> cartesian_lines(mask)
['  Cartesian mask (4, 6): acceleration 2x (12 of 24 samples measured)']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Summary:
    """An input file as a reader would return it, without its data.

    :param modality: ``"ct"``, ``"mri"``, ``"mimo"`` or ``"deblur"``.
    :param data_shape: the shape of :attr:`Measurement.data <recon.datasets.measurement.Measurement.data>`
        that ``read`` gives, ``(batch, channel, *shape)``.
    :param setup: the indented lines about the geometry (scan, sampling, array, PSF).
    :param ground_truth: whether the file (or its companion) holds the true image.
    :param reference_name: what the reference image is (``""``: none).
    :param metadata: facts ``recon info`` shows (``noise`` of a deblurring file, ``reference_note``).
    :param geometry: a CT geometry (:mod:`recon.operators.ct_geometry`), for the experiments that fit.
    :param multiband: a deblurring file of bands imaged jointly.
    :param boundary: a deblurring file's boundary condition.
    """

    modality: str
    data_shape: tuple[int, ...]
    setup: list[str]
    ground_truth: bool = False
    reference_name: str = ""
    metadata: dict = field(default_factory=dict)
    geometry: object = None
    multiband: bool = False
    boundary: str | None = None

    @property
    def n_slices(self) -> int:
        return int(self.data_shape[0])


def tomography_lines(geometry, centre: str | None = None) -> list[str]:
    """The scan and the suggested grid of a CT geometry; ``centre`` replaces the stated rotation-axis offset.

    >>> from recon.operators.ct_geometry import ParallelBeamGeometry
    >>> tomography_lines(ParallelBeamGeometry(np.linspace(0, np.pi, 4, endpoint=False), 8, image_shape=(6, 6)))[0]
    '  parallel beam: 4 views from 0° to 135°, 8 detectors of 1, rotation-axis offset 0 px'
    """
    angles = np.rad2deg(np.asarray(geometry.angles))
    beam = "fan beam" if hasattr(geometry, "source_origin") else "parallel beam"
    offset = centre if centre is not None else f"{geometry.centre_offset:.3g} px"
    lines = [f"  {beam}: {geometry.n_angles} views from {angles[0]:.4g}° to {angles[-1]:.4g}°, "
             f"{geometry.n_detectors} detectors of {geometry.detector_spacing:.5g}, rotation-axis offset {offset}",
             f"  suggested grid: {geometry.image_shape[0]} x {geometry.image_shape[1]} pixels of "
             f"{geometry.pixel_size:.5g}"]
    if hasattr(geometry, "source_origin"):
        lines.append(f"  source-origin {geometry.source_origin:.5g}, origin-detector {geometry.origin_detector:.5g}")
    return lines


def cartesian_lines(mask: np.ndarray, coil_maps_shape=None) -> list[str]:
    """The sampling of a Cartesian mask ``(rows, cols)`` or ``(slices, rows, cols)`` (and the coil maps' shape)."""
    mask = np.asarray(mask)
    measured = int(np.count_nonzero(mask))
    acceleration = float("inf") if measured == 0 else mask.size / measured
    per_slice = " per slice" if mask.ndim == 3 else ""
    lines = [f"  Cartesian mask {tuple(mask.shape)}{per_slice}: acceleration {acceleration:.3g}x "
             f"({measured} of {mask.size} samples measured)"]
    if coil_maps_shape is not None:
        lines.append(f"  coil sensitivities: {tuple(coil_maps_shape)}")
    return lines


def radar_lines(transmitters: np.ndarray, n_receivers: int, frequencies: np.ndarray, counts, x, y, z) -> list[str]:
    """The MIMO array, its frequencies and the voxel grid (``x``, ``y``, ``z``: [min, max] in metres)."""
    transmitters = np.asarray(transmitters, dtype=np.float64)
    aperture = float((transmitters.max(axis=0) - transmitters.min(axis=0)).max())
    f = np.asarray(frequencies, dtype=np.float64)
    return [f"  MIMO array: {transmitters.shape[0]} transmitters, {n_receivers} receivers (transmitter span "
            f"{aperture:.3g} m)",
            f"  {f.size} frequencies from {f.min() / 1e9:.4g} to {f.max() / 1e9:.4g} GHz",
            f"  grid: {counts[0]} x {counts[1]} x {counts[2]} voxels over x {list(x)}, y {list(y)}, z {list(z)} m"]


def psf_width(psf: np.ndarray) -> str:
    r"""The PSF's second-moment width per channel: σ in pixels of the Gaussian with the same spread,
    :math:`\sigma^2 = \tfrac12\sum_{ij} h_{ij}\,(i^2 + j^2)` about the centre ``(kh // 2, kw // 2)``.

    >>> psf_width(np.pad(np.ones((1, 1)), 1))
    '0'
    """
    psf = np.asarray(psf, dtype=np.float64)
    kh, kw = psf.shape[-2:]
    rows = np.arange(kh)[:, None] - kh // 2
    cols = np.arange(kw)[None, :] - kw // 2
    spread = (psf * (rows ** 2 + cols ** 2)).sum(axis=(-2, -1)) / 2
    return ", ".join(f"{float(s) ** 0.5:.3g}" for s in np.reshape(spread, -1)[:6])
