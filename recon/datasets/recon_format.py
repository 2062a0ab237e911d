r"""recon's own HDF5 layout for measurements (read and write), version 1.

::

    /                     attrs  recon_format = "measurement", format_version = 1, modality = "ct"
    /data                 float  (slices, views, detectors) or (views, detectors): line integrals
    /geometry             group  attrs  beam = "parallel" | "fan", n_detectors, detector_spacing,
                                        pixel_size, image_shape = [rows, cols], centre_offset,
                                        source_origin, origin_detector (fan beam only)
    /geometry/angles      float  (views,) in radians
    /ground_truth         float  (slices, rows, cols) or (rows, cols), optional
    /metadata             group  attrs: free-form (units, description, noise level), optional

Lengths share one unit (say mm); ``centre_offset`` is in detector pixels; the
conventions are those of :mod:`recon.operators.ct_geometry`. Any tool can write
this layout with h5py alone; :func:`write_measurement` writes it from a
:class:`~recon.datasets.measurement.Measurement`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import check_angles, check_dataset, read_dataset

if TYPE_CHECKING:
    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "recon"
DESCRIPTION = "recon's own HDF5 layout: line integrals, geometry, optional ground truth"
AXES = ("data (slices, views, detectors) is read as (slices, 1, views, detectors); the reconstruction is "
        "written (slices, rows, cols), row 0 at the top (recon.operators.ct_geometry), like ground_truth")
LAYOUT_ATTR = "recon_format"
VERSION = 1


def sniff(path: Path, h5) -> bool:
    return h5 is not None and h5.attrs.get(LAYOUT_ATTR) in ("measurement", b"measurement")


def _attr(group, name: str, path, field: str, kind=float):
    if name not in group.attrs:
        raise InputError(path, f"{field}@{name}", "an attribute", "none")
    value = group.attrs[name]
    try:
        if kind is str:
            return value.decode() if isinstance(value, bytes) else str(value)
        if kind is tuple:
            return tuple(int(v) for v in np.asarray(value).reshape(-1))
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(path, f"{field}@{name}", f"a {kind.__name__}", repr(value))


def _geometry(h5, n_views: int, n_detectors: int, path):
    from recon.operators.ct_geometry import FanBeamGeometry, ParallelBeamGeometry

    if "geometry" not in h5:
        raise InputError(path, "geometry", "a group with the scan geometry", "none")
    group = h5["geometry"]
    angles = check_angles(read_dataset(group, "angles", path, rank=1, kind="float", what="angles in radians"),
                          n_views, path, "geometry/angles")
    beam = _attr(group, "beam", path, "geometry", str)
    stored_detectors = _attr(group, "n_detectors", path, "geometry", int)
    if stored_detectors != n_detectors:
        raise InputError(path, "data", f"{stored_detectors} detector columns (geometry@n_detectors)",
                         f"{n_detectors}")
    common = dict(angles=angles, n_detectors=n_detectors,
                  detector_spacing=_attr(group, "detector_spacing", path, "geometry"),
                  image_shape=_attr(group, "image_shape", path, "geometry", tuple),
                  pixel_size=_attr(group, "pixel_size", path, "geometry"),
                  centre_offset=float(group.attrs.get("centre_offset", 0.0)))
    try:
        if beam == "parallel":
            return ParallelBeamGeometry(**common)
        if beam == "fan":
            return FanBeamGeometry(source_origin=_attr(group, "source_origin", path, "geometry"),
                                   origin_detector=_attr(group, "origin_detector", path, "geometry"), **common)
    except ValueError as error:
        raise InputError(path, "geometry", "a valid scan geometry", str(error))
    raise InputError(path, "geometry@beam", "'parallel' or 'fan'", repr(beam))


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read a measurement file of recon's layout.

    >>> import tempfile, pathlib, numpy as np, torch
    >>> from recon.datasets.measurement import Measurement
    >>> from recon.operators.ct_geometry import ParallelBeamGeometry
    >>> g = ParallelBeamGeometry(np.linspace(0, np.pi, 5, endpoint=False), 7, image_shape=(4, 4))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.h5"
    >>> _ = write_measurement(path, Measurement("ct", torch.ones(1, 1, 5, 7), g, "recon", None))
    >>> m = read(path)
    >>> m.data.shape, m.geometry.n_angles
    (torch.Size([1, 1, 5, 7]), 5)
    """
    import torch

    from recon.datasets.measurement import Measurement
    from recon.datasets.validation import open_hdf5

    with open_hdf5(path) as h5:
        _check_modality(h5, path)
        node = check_dataset(h5, "data", path, rank=(2, 3), kind="real", what="line integrals")
        n_slices = node.shape[0] if node.ndim == 3 else 1
        pick = _slice_selection(options.index, n_slices, node.ndim, path)     # one slice read, not the stack
        data = read_dataset(h5, "data", path, rank=(2, 3), kind="real", what="line integrals", select=pick)
        data = data[None] if data.ndim == 2 else data
        geometry = _geometry(h5, data.shape[1], data.shape[2], path)
        truth = None
        if "ground_truth" in h5:
            stored = check_dataset(h5, "ground_truth", path, rank=(2, 3), kind="real", what="a ground-truth image")
            stored_slices = stored.shape[0] if stored.ndim == 3 else 1
            if stored_slices != n_slices or tuple(stored.shape[-2:]) != geometry.image_shape:
                raise InputError(path, "ground_truth", f"shape ({n_slices}, {geometry.image_shape[0]}, "
                                 f"{geometry.image_shape[1]}) to match data and geometry@image_shape",
                                 f"{stored.shape}")
            truth = read_dataset(h5, "ground_truth", path, rank=(2, 3), kind="real", what="a ground-truth image",
                                 select=_slice_selection(options.index, n_slices, stored.ndim, path))
            truth = truth[None] if truth.ndim == 2 else truth
        metadata = dict(h5["metadata"].attrs) if "metadata" in h5 else {}
    metadata = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in metadata.items()}
    if options.index is not None:
        metadata["slice"] = options.index
    return Measurement(
        "ct", torch.as_tensor(np.ascontiguousarray(data), dtype=torch.float32)[:, None], geometry, FORMAT,
        Path(path), None if truth is None else torch.as_tensor(truth, dtype=torch.float32)[:, None],
        metadata=metadata)


def _slice_selection(index: int | None, n_slices: int, ndim: int, path):
    """The h5py selection of slice ``index`` (``None``: all) of a ``(slices, ...)`` or single-slice dataset."""
    if index is None:
        return None
    if not 0 <= index < n_slices:
        raise InputError(path, "input.index", f"a slice in 0..{n_slices - 1}", str(index))
    return slice(index, index + 1) if ndim == 3 else None


def _check_modality(h5, path) -> None:
    modality = h5.attrs.get("modality", "ct")
    modality = modality.decode() if isinstance(modality, bytes) else str(modality)
    if modality != "ct":
        raise InputError(path, "@modality", "'ct' (the only modality this version reads)", repr(modality))


def describe(path: Path) -> Summary:
    """What :func:`read` would return, from the file's shapes and geometry alone (:mod:`recon.datasets.summary`)."""
    from recon.datasets.summary import Summary, tomography_lines
    from recon.datasets.validation import check_dataset, open_hdf5

    with open_hdf5(path) as h5:
        _check_modality(h5, path)
        shape = check_dataset(h5, "data", path, rank=(2, 3), kind="real", what="line integrals").shape
        slices, views, detectors = (1, *shape) if len(shape) == 2 else shape
        geometry = _geometry(h5, views, detectors, path)
        truth = "ground_truth" in h5
    return Summary("ct", (slices, 1, views, detectors), tomography_lines(geometry), ground_truth=truth,
                   geometry=geometry)


def write_measurement(path, measurement: Measurement, *, overwrite: bool = False) -> Path:
    """Write ``measurement`` in recon's layout, atomically (a failure leaves no file)."""
    import h5py

    from recon.datasets.atomic import atomic_output

    geometry = measurement.geometry
    with atomic_output(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update({LAYOUT_ATTR: "measurement", "format_version": VERSION, "modality": measurement.modality})
            f.create_dataset("data", data=measurement.data[:, 0].detach().cpu().numpy())
            group = f.create_group("geometry")
            group.create_dataset("angles", data=np.asarray(geometry.angles, dtype=np.float64))
            beam = "fan" if hasattr(geometry, "source_origin") else "parallel"
            group.attrs.update({"beam": beam, "n_detectors": geometry.n_detectors,
                                "detector_spacing": geometry.detector_spacing, "pixel_size": geometry.pixel_size,
                                "image_shape": np.asarray(geometry.image_shape), "centre_offset": geometry.centre_offset})
            if beam == "fan":
                group.attrs.update({"source_origin": geometry.source_origin,
                                    "origin_detector": geometry.origin_detector})
            if measurement.ground_truth is not None:
                f.create_dataset("ground_truth", data=measurement.ground_truth[:, 0].detach().cpu().numpy())
            meta = f.create_group("metadata")
            for key, value in measurement.metadata.items():
                if isinstance(value, (str, int, float, bool, np.number)):
                    meta.attrs[key] = value
    return Path(path)
