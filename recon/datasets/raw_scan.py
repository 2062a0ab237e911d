"""What raw-projection readers share: angles in any unit, frames by detector row, the rotation centre.

Data Exchange, NXtomo and TIFF sinograms all store intensities that become line
integrals by flat/dark correction and the negative log
(:mod:`recon.datasets.ct_raw`), one detector row per slice, on a parallel-beam
geometry whose rotation axis may be off the detector centre.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import check_angles, check_dataset, open_dataset, read_dataset

log = logging.getLogger(__name__)

_DEGREES = ("deg", "degree", "degrees")
_RADIANS = ("rad", "radian", "radians")


def angles_from_options(options: ReadOptions, n_views: int, path) -> np.ndarray:
    """``n_views`` angles in radians from ``options.angles_deg = (first, last)`` and ``options.angles_endpoint``.

    >>> angles_from_options(ReadOptions(angles_deg=(0, 180)), 4, "scan.tif").round(4).tolist()
    [0.0, 0.7854, 1.5708, 2.3562]
    """
    given = options.angles_deg
    try:
        first, last = (float(v) for v in given)
    except (TypeError, ValueError):
        raise InputError(path, "input.angles_deg", "[first, last] in degrees", repr(given))
    if not (math.isfinite(first) and math.isfinite(last)) or first == last:
        raise InputError(path, "input.angles_deg", "two different finite angles [first, last] in degrees",
                         repr(given))
    return np.deg2rad(np.linspace(first, last, n_views, endpoint=bool(options.angles_endpoint)))


def angles_in_radians(values, units, path, field: str, *, default: str | None = None) -> np.ndarray:
    r"""Angles in radians, from the ``units`` attribute, else ``default``, else by their range.

    Without units and default, values within one turn (:math:`|\theta| \le 2\pi`) are radians,
    larger ones degrees.

    >>> angles_in_radians([0.0, 90.0], b"degrees", "scan.h5", "theta").round(4).tolist()
    [0.0, 1.5708]
    >>> angles_in_radians([0.0, 1.5], None, "scan.h5", "theta").tolist()
    [0.0, 1.5]
    >>> angles_in_radians([0.0, 179.0], None, "scan.h5", "theta").round(4).tolist()
    [0.0, 3.1241]
    """
    values = np.asarray(values, dtype=np.float64)
    if isinstance(units, np.ndarray):
        units = units.reshape(-1)[0] if units.size else None
    text = (units.decode(errors="replace") if isinstance(units, bytes) else str(units)).strip().lower() \
        if units is not None else (default or "")
    if text in _DEGREES:
        return np.deg2rad(values)
    if text in _RADIANS:
        return values
    if text:
        raise InputError(path, f"{field}@units", "degrees or radians", repr(units))
    return values if float(np.max(np.abs(values))) <= 2 * math.pi * (1 + 1e-6) else np.deg2rad(values)


def read_frames(h5, name: str, path, row: int | None, *, what: str,
                detector: tuple[int, int] | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """A stack of frames ``(frames, rows, cols)`` as float32, only detector row ``row`` if given, and its full shape.

    Reading one row reads only that row from the file, so one slice of a large scan is cheap.
    ``detector`` is the ``(rows, cols)`` the frames must have (those of the projections they correct).
    """
    node = open_dataset(h5, name, path, what=what)
    shape = tuple(node.shape)
    _check_detector(shape, detector, path, name)
    if row is not None and len(shape) == 3:
        check_index(row, shape[1], path, "detector row")
    select = None if row is None else (slice(None), slice(row, row + 1))
    values = read_dataset(h5, name, path, rank=3, kind="real", what=what, select=select)
    return np.asarray(values, dtype=np.float32), shape


def frames_shape(h5, name: str, path, *, what: str, detector: tuple[int, int] | None = None) -> tuple[int, ...]:
    """The shape ``(frames, rows, cols)`` of the stack :func:`read_frames` would read, after the same checks."""
    shape = tuple(open_dataset(h5, name, path, what=what).shape)
    _check_detector(shape, detector, path, name)
    return tuple(check_dataset(h5, name, path, rank=3, kind="real", what=what).shape)


def _check_detector(shape, detector, path, name: str) -> None:
    if detector is not None and len(shape) == 3 and shape[1:] != tuple(detector):
        raise InputError(path, name, f"frames of the projections' detector shape {detector[0]} x {detector[1]}",
                         f"shape {shape}")


def raw_scan_summary(path, shape, angles, pixel_size: float | None):
    """The :class:`~recon.datasets.summary.Summary` of :func:`raw_scan_measurement` for projections of ``shape``
    ``(angles, rows, cols)``: its rotation axis is estimated when the file is read (``input.centre_offset: auto``).

    >>> raw_scan_summary("scan.h5", (4, 2, 6), np.arange(4) * np.pi / 4, None).data_shape
    (2, 1, 4, 6)
    """
    from recon.datasets.summary import Summary, tomography_lines
    from recon.operators.ct_geometry import ParallelBeamGeometry

    n_views, n_rows, n_cols = shape
    angles = check_angles(angles, n_views, path, "angles")
    spacing = 1.0 if pixel_size is None else float(pixel_size)
    geometry = ParallelBeamGeometry(angles, n_cols, spacing, (n_cols, n_cols), spacing, 0.0)
    centre = "estimated from the projections when read (input.centre_offset auto)"
    return Summary("ct", (n_rows, 1, n_views, n_cols), tomography_lines(geometry, centre), geometry=geometry)


def check_index(index, count: int, path, what: str) -> int:
    """``index`` as an int in ``0..count-1``, else :class:`InputError` on ``input.index``."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < count:
        raise InputError(path, "input.index", f"a {what} in 0..{count - 1}", repr(index))
    return int(index)


def rotation_centre_offset(sinogram, angles, option, path) -> tuple[float, str]:
    """The centre offset (detector pixels) ``option`` asks for: a number as given, or ``"auto"`` estimated.

    >>> rotation_centre_offset(None, None, -2.5, "scan.h5")
    (-2.5, 'input.centre_offset')
    """
    from recon.datasets.ct_raw import estimate_rotation_centre

    if isinstance(option, str):
        if option != "auto":
            raise InputError(path, "input.centre_offset", "'auto' or a number of detector pixels", repr(option))
        try:
            return float(estimate_rotation_centre(sinogram, angles)), "estimated (auto)"
        except ValueError as error:
            raise InputError(path, "input.centre_offset",
                             "a number of detector pixels: the centre cannot be estimated from this scan", str(error))
    try:
        value = float(option)
    except (TypeError, ValueError):
        raise InputError(path, "input.centre_offset", "'auto' or a number of detector pixels", repr(option))
    if isinstance(option, bool) or not math.isfinite(value):
        raise InputError(path, "input.centre_offset", "'auto' or a finite number of detector pixels", repr(option))
    return value, "input.centre_offset"


def raw_scan_measurement(path, projections, flats, darks, angles, options: ReadOptions, *, format: str,
                         data_field: str, raw_shape, pixel_size: float | None = None, metadata=None):
    """A parallel-beam :class:`~recon.datasets.measurement.Measurement` from raw frames.

    :param projections: raw counts ``(angles, rows, cols)`` (the rows read).
    :param flats: open-beam frames ``(frames, rows, cols)``.
    :param darks: beam-off frames ``(frames, rows, cols)``, or ``None`` for a dark level of 0.
    :param angles: radians, one per projection.
    :param raw_shape: the full shape of the projections in the file, for the metadata.
    :param pixel_size: the effective detector pixel in mm, or ``None`` for pixel units.

    >>> import numpy as np
    >>> counts = np.full((4, 1, 6), 25.0, np.float32); flats = np.full((2, 1, 6), 100.0, np.float32)
    >>> m = raw_scan_measurement("scan.h5", counts, flats, None, np.arange(4) * np.pi / 4, ReadOptions(centre_offset=0),
    ...                          format="data-exchange", data_field="exchange/data", raw_shape=(4, 1, 6))
    >>> round(float(m.data.max()), 4), m.metadata["darks"]
    (1.3863, 'none stored: dark level 0')
    """
    import torch

    from recon.datasets.ct_raw import flat_dark_correct, negative_log
    from recon.datasets.measurement import Measurement
    from recon.operators.ct_geometry import ParallelBeamGeometry

    n_views, n_rows, n_cols = projections.shape
    check_angles(angles, n_views, path, "angles")
    dark_note = f"mean of {darks.shape[0]} frames" if darks is not None else "none stored: dark level 0"
    if darks is None:
        darks = np.zeros((1, n_rows, n_cols), dtype=np.float32)
    # (angles, rows, cols) -> one sinogram per detector row: (rows, 1, angles, cols).
    line_integrals = negative_log(flat_dark_correct(projections, flats, darks)).to(torch.float32)
    data = line_integrals.permute(1, 0, 2).unsqueeze(1).contiguous()
    # One axis for all rows (the geometry is shared); the mean sinogram keeps the mirror symmetry.
    centre, centre_from = rotation_centre_offset(data.mean(dim=0)[0], angles, options.centre_offset, path)
    spacing = 1.0 if pixel_size is None else float(pixel_size)
    geometry = ParallelBeamGeometry(angles, n_cols, spacing, (n_cols, n_cols), spacing, centre)
    rows = f"{options.index}" if options.index is not None else f"0-{n_rows - 1}"
    metadata = {
        "units": "line integrals; image in attenuation per " + ("detector pixel" if pixel_size is None else "mm"),
        "preprocessing": f"flat/dark correction (flats: mean of {flats.shape[0]} frames), -log",
        "darks": dark_note, "raw_shape": "x".join(str(s) for s in raw_shape), "raw_field": data_field,
        "detector_rows": rows, "centre_offset_from": centre_from, **(metadata or {})}
    return Measurement("ct", data, geometry, format, Path(path), metadata=metadata)
