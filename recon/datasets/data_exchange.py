r"""APS Data Exchange HDF5: raw parallel-beam projections with their flat and dark fields.

The layout as this reader understands it (De Carlo et al., J. Synchrotron Rad. 21, 2014)::

    /exchange/data         (angles, rows, cols)   raw counts, any integer or float dtype
    /exchange/data_white   (frames, rows, cols)   flat fields (open beam); required
    /exchange/data_dark    (frames, rows, cols)   dark fields (beam off); optional, see below
    /exchange/theta        (angles,)              projection angles, see below
    /measurement/instrument/detection_system/objective/resolution
                           scalar, attr units     effective pixel size at the sample; optional

The reader averages the flats and the darks, forms the transmission
:math:`T = (P - \bar D)/(\bar F - \bar D)` and the line integrals
:math:`-\log T` (:mod:`recon.datasets.ct_raw`), and returns one slice per
detector row, ``(rows, 1, angles, cols)``, in a
:class:`~recon.operators.ct_geometry.ParallelBeamGeometry`.

- **Darks.** Without ``data_dark`` the dark level is taken as 0 (the
  transmission is :math:`P/\bar F`), and ``metadata["darks"]`` says so; flats
  have no such fallback.
- **Angles.** ``theta`` in degrees or radians as its ``units`` attribute says;
  without one, radians if every value lies within one turn
  (:math:`|\theta| \le 2\pi`), else degrees (no real scan in degrees stays
  within 6.3°). A file without ``theta`` needs ``input.angles_deg``.
- **Units.** With a stated effective pixel size (a ``units`` attribute of m,
  mm, µm or nm), the detector spacing and the suggested image pixel are that
  size in mm and the reconstruction is attenuation per mm; otherwise both are
  1 (detector pixels) and it is attenuation per pixel.
- **Centre.** ``input.centre_offset = "auto"`` estimates the axis once, from
  the mean of the rows' sinograms (tooth.h5: -23.67 px; the two rows alone
  give -23.66 and -23.68), with
  :func:`~recon.datasets.ct_raw.estimate_rotation_centre`; with ``index``
  set, from that row alone.
- **Grid.** The suggested image is ``(cols, cols)``, the disc every view sees.

The steps it shares with the NXtomo and TIFF readers live in :mod:`recon.datasets.raw_scan`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.raw_scan import (
    angles_from_options,
    angles_in_radians,
    frames_shape,
    raw_scan_measurement,
    raw_scan_summary,
    read_frames,
)
from recon.datasets.validation import check_angles, read_dataset

log = logging.getLogger(__name__)

FORMAT = "data-exchange"
DESCRIPTION = "APS Data Exchange HDF5: raw projections, flats, darks and theta (exchange/...)"
AXES = ("exchange/data (angles, rows, cols) is one sinogram per detector row: (rows, 1, angles, cols); the "
        "reconstruction is written (rows, cols, cols), one cols x cols slice per detector row")

DATA, FLATS, DARKS, THETA = "exchange/data", "exchange/data_white", "exchange/data_dark", "exchange/theta"
RESOLUTION = "measurement/instrument/detection_system/objective/resolution"

_LENGTH_IN_MM = {"m": 1e3, "mm": 1.0, "um": 1e-3, "µm": 1e-3, "micron": 1e-3, "microns": 1e-3,
                 "micrometer": 1e-3, "micrometre": 1e-3, "nm": 1e-6}


def sniff(path: Path, h5) -> bool:
    """Whether the open HDF5 file has ``exchange/data`` (a dataset or a link to one)."""
    import h5py

    try:
        return h5 is not None and isinstance(h5.get("exchange"), h5py.Group) and "data" in h5["exchange"]
    except Exception:  # a foreign file must never break format detection
        return False


def read(path: Path, options: ReadOptions = ReadOptions()):
    """Read a Data Exchange file as line integrals, one slice per detector row.

    >>> import tempfile, pathlib, h5py, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.h5"
    >>> with h5py.File(path, "w") as f:
    ...     f["exchange/data"] = np.full((4, 2, 8), 50.0, np.float32)        # half the beam gets through
    ...     f["exchange/data_white"] = np.full((3, 2, 8), 100.0, np.float32)
    ...     f["exchange/theta"] = np.array([0.0, 45.0, 90.0, 135.0])
    >>> m = read(path, ReadOptions(centre_offset=0.0))
    >>> tuple(m.data.shape), round(float(m.data[0, 0, 0, 0]), 4), m.geometry.angles[1].round(4)
    ((2, 1, 4, 8), 0.6931, np.float64(0.7854))
    """
    from recon.datasets.validation import open_hdf5

    path = Path(path)
    with open_hdf5(path) as h5:
        projections, shape = read_frames(h5, DATA, path, options.index, what="raw projections (angles, rows, cols)")
        flats, _ = read_frames(h5, FLATS, path, options.index, what="flat-field frames (frames, rows, cols)",
                               detector=shape[1:])
        darks = None
        if DARKS in h5:
            darks, _ = read_frames(h5, DARKS, path, options.index, what="dark frames (frames, rows, cols)",
                                   detector=shape[1:])
        angles, angles_field = _theta(h5, path, shape[0], options)
        pixel_size, pixel_note = effective_pixel_size_mm(h5, RESOLUTION)
    metadata = {"angles_from": angles_field, "pixel_size_from": pixel_note}
    return raw_scan_measurement(path, projections, flats, darks, angles, options, format=FORMAT,
                                data_field=DATA, raw_shape=shape, pixel_size=pixel_size, metadata=metadata)


def describe(path: Path):
    """What :func:`read` would return, from the shapes, angles and pixel size (:mod:`recon.datasets.summary`)."""
    from recon.datasets.validation import open_hdf5

    path = Path(path)
    with open_hdf5(path) as h5:
        shape = frames_shape(h5, DATA, path, what="raw projections (angles, rows, cols)")
        frames_shape(h5, FLATS, path, what="flat-field frames (frames, rows, cols)", detector=shape[1:])
        if DARKS in h5:
            frames_shape(h5, DARKS, path, what="dark frames (frames, rows, cols)", detector=shape[1:])
        angles, _ = _theta(h5, path, shape[0], ReadOptions())
        pixel_size, _ = effective_pixel_size_mm(h5, RESOLUTION)
    return raw_scan_summary(path, shape, angles, pixel_size)


def _theta(h5, path, n_views: int, options: ReadOptions):
    if THETA not in h5:
        if options.angles_deg is None:
            raise InputError(path, THETA, "projection angles (or input.angles_deg = [first, last] in degrees)",
                             "no such dataset")
        return angles_from_options(options, n_views, path), "input.angles_deg"
    values = read_dataset(h5, THETA, path, rank=1, kind="real", what="projection angles")
    values = check_angles(values, n_views, path, THETA)
    return angles_in_radians(values, h5[THETA].attrs.get("units"), path, THETA), THETA


def effective_pixel_size_mm(h5, name: str) -> tuple[float | None, str]:
    """The pixel size stated at ``name`` in mm, or ``None``, and a note of where it came from (or why not).

    A stated size without a length unit is not used: guessing µm against mm would scale the image silently.
    """
    try:
        node = h5.get(name) if name in h5 else None
    except (KeyError, OSError):  # a broken link: no usable size
        node = None
    if node is None or not hasattr(node, "dtype"):
        return None, "not stated: detector pixels"
    try:
        value = float(np.asarray(node[()], dtype=np.float64).reshape(-1)[0])
    except (TypeError, ValueError, IndexError, OSError):
        return None, f"{name} is not a number: detector pixels"
    units = node.attrs.get("units")
    units = units.decode(errors="replace") if isinstance(units, bytes) else (None if units is None else str(units))
    scale = _LENGTH_IN_MM.get((units or "").strip().lower())
    if scale is None or not (math.isfinite(value) and value > 0):
        log.warning("%s = %r %s: not a positive length with a known unit; using detector pixels", name, value, units)
        return None, f"{name} = {value} {units}: no usable length unit, detector pixels"
    return value * scale, f"{name} = {value} {units}"

