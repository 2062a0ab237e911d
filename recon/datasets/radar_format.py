r"""recon's own HDF5 layout for near-field MIMO radar measurements (read and write), version 1.

::

    /                       attrs  recon_format = "radar", format_version = 1, modality = "mimo"
    /data                   complex  (N_f, N_t, N_r) or (scans, N_f, N_t, N_r): the measured responses
    /geometry/transmitters  float  (N_t, 3) positions in metres
    /geometry/receivers     float  (N_r, 3) positions in metres
    /geometry/frequencies   float  (N_f,) in hertz
    /geometry               attrs  grid_x = [x_min, x_max], grid_y, grid_z (metres, voxel centres,
                                   both ends included), grid_counts = [nx, ny, nz]
    /ground_truth           complex  (nx, ny, nz) or (scans, nx, ny, nz) reflectivity, optional
    /metadata               attrs: free-form (snr_db, noise_sigma, seed, description), optional

``data[f, t, r]`` is the response at frequency ``f`` of receiver ``r`` to
transmitter ``t``, in the model of :class:`recon.operators.NearFieldMIMO`:
:math:`y = \sum_p x(p)\, e^{-jk(R_t + R_r)} / (4\pi R_t R_r)`. A measured data set
drops in with h5py alone: the responses, the antenna positions, the
frequencies and the grid to image on. ``metadata@noise_sigma`` (the standard
deviation of the complex noise per sample, :math:`E|n|^2 = \sigma^2`; one value, or one per
scan) sets C-SALSA's :math:`\varepsilon = \sigma\sqrt M` when present.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import read_dataset

if TYPE_CHECKING:
    import torch

    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "recon-radar"
DESCRIPTION = "recon's radar HDF5 layout: MIMO responses (N_f, N_t, N_r), antennas, frequencies, grid"
AXES = ("data (scans, N_f, N_t, N_r) is read as (scans, 1, N_f, N_t, N_r); the reconstruction's magnitude (and "
        "its phase) is written (scans, nx, ny, nz) along geometry@grid_x, grid_y, grid_z")
LAYOUT_ATTR = "recon_format"
LAYOUT = "radar"
VERSION = 1


def sniff(path: Path, h5) -> bool:
    return h5 is not None and h5.attrs.get(LAYOUT_ATTR) in (LAYOUT, LAYOUT.encode())


def _pair(group, name: str, path) -> tuple[float, float]:
    value = np.asarray(group.attrs.get(name, []), dtype=np.float64).reshape(-1)
    if value.size != 2 or not np.all(np.isfinite(value)) or value[1] < value[0]:
        raise InputError(path, f"geometry@{name}", "[min, max] in metres with min <= max", repr(value.tolist()))
    return float(value[0]), float(value[1])


def _geometry_arrays(h5, path) -> dict:
    """The transmitters and receivers ``(N, 3)``, the frequencies, the grid's counts and its x, y, z ranges, checked."""
    if "geometry" not in h5:
        raise InputError(path, "geometry", "a group with transmitters, receivers, frequencies and the grid", "none")
    group = h5["geometry"]
    arrays = {name: read_dataset(group, name, path, rank=2, kind="float", what=f"{name} positions (N, 3)")
              for name in ("transmitters", "receivers")}
    for name, value in arrays.items():
        if value.shape[1] != 3:
            raise InputError(path, f"geometry/{name}", "(N, 3) positions in metres", f"shape {value.shape}")
    frequencies = read_dataset(group, "frequencies", path, rank=1, kind="float", what="frequencies in hertz")
    if not np.all(frequencies > 0):
        raise InputError(path, "geometry/frequencies", "positive frequencies in hertz",
                         f"values down to {float(frequencies.min()):g}")
    counts = np.asarray(group.attrs.get("grid_counts", [])).reshape(-1)
    if counts.size != 3 or not np.all(counts >= 1) or not np.all(np.mod(counts, 1) == 0):
        raise InputError(path, "geometry@grid_counts", "three voxel counts [nx, ny, nz] >= 1", repr(counts.tolist()))
    return {**arrays, "frequencies": frequencies, "counts": tuple(int(c) for c in counts),
            **{axis: _pair(group, f"grid_{axis}", path) for axis in "xyz"}}


def _check_data_shape(shape, arrays: dict, path) -> None:
    expected = (arrays["frequencies"].size, arrays["transmitters"].shape[0], arrays["receivers"].shape[0])
    if tuple(shape) != expected:
        raise InputError(path, "data", f"(N_f, N_t, N_r) = {expected} from the geometry", f"shape {tuple(shape)}")


def _acquisition(arrays: dict, path):
    import torch

    from recon.operators.mimo_acquisition import MIMOAcquisition
    from recon.operators.mimo_geometry import VoxelGrid

    try:
        grid = VoxelGrid(arrays["x"], arrays["y"], arrays["z"], arrays["counts"])
        return MIMOAcquisition(torch.from_numpy(arrays["transmitters"]), torch.from_numpy(arrays["receivers"]),
                               torch.from_numpy(arrays["frequencies"]), grid)
    except ValueError as error:
        raise InputError(path, "geometry", "a valid radar geometry", str(error))


def describe(path: Path) -> Summary:
    """What :func:`read` would return, from the data's shape and the geometry's arrays (:mod:`recon.datasets.summary`).

    The grid's ranges are checked when the file is read.
    """
    from recon.datasets.summary import Summary, radar_lines
    from recon.datasets.validation import check_dataset, open_hdf5

    with open_hdf5(path) as h5:
        shape = check_dataset(h5, "data", path, rank=(3, 4), kind="complex",
                              what="radar responses (N_f, N_t, N_r)").shape
        shape = (1, *shape) if len(shape) == 3 else tuple(shape)
        arrays = _geometry_arrays(h5, path)
        _check_data_shape(shape[1:], arrays, path)
        truth = "ground_truth" in h5
    lines = radar_lines(arrays["transmitters"], arrays["receivers"].shape[0], arrays["frequencies"], arrays["counts"],
                        arrays["x"], arrays["y"], arrays["z"])
    return Summary("mimo", (shape[0], 1, *shape[1:]), lines, ground_truth=truth)


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read a radar measurement of recon's layout.

    >>> import tempfile, pathlib, torch
    >>> from recon.operators.mimo_acquisition import MIMOAcquisition
    >>> from recon.operators.mimo_geometry import VoxelGrid
    >>> grid = VoxelGrid((-0.1, 0.1), (-0.1, 0.1), (0.3, 0.5), (4, 4, 5))
    >>> setup = MIMOAcquisition(torch.rand(3, 3) * 0.1, torch.rand(2, 3) * 0.1, torch.tensor([4e9, 5e9]), grid)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "radar.h5"
    >>> _ = write_radar(path, torch.ones(1, 1, 2, 3, 2, dtype=torch.complex64), setup)
    >>> m = read(path)
    >>> m.modality, m.data.shape, m.geometry.grid.shape
    ('mimo', torch.Size([1, 1, 2, 3, 2]), (4, 4, 5))
    """
    import torch

    from recon.datasets.measurement import Measurement
    from recon.datasets.validation import open_hdf5

    with open_hdf5(path) as h5:
        data = read_dataset(h5, "data", path, rank=(3, 4), kind="complex", what="radar responses (N_f, N_t, N_r)")
        data = data[None] if data.ndim == 3 else data
        arrays = _geometry_arrays(h5, path)
        acquisition = _acquisition(arrays, path)
        _check_data_shape(data.shape[1:], arrays, path)
        truth = None
        if "ground_truth" in h5:
            truth = read_dataset(h5, "ground_truth", path, rank=(3, 4), kind="complex", what="a reflectivity")
            truth = truth[None] if truth.ndim == 3 else truth
            if truth.shape != (data.shape[0], *acquisition.grid.shape):
                raise InputError(path, "ground_truth", f"shape {(data.shape[0], *acquisition.grid.shape)} "
                                 "(scans, then geometry@grid_counts)", f"{truth.shape}")
        metadata = dict(h5["metadata"].attrs) if "metadata" in h5 else {}
    metadata = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in metadata.items()}
    measurement = Measurement(
        "mimo", torch.as_tensor(np.ascontiguousarray(data)).to(torch.complex64)[:, None], acquisition, FORMAT,
        Path(path), None if truth is None else torch.as_tensor(truth).to(torch.complex64)[:, None],
        metadata=metadata)
    if options.index is None:
        return measurement
    if not 0 <= options.index < measurement.n_slices:
        raise InputError(path, "input.index", f"a scan in 0..{measurement.n_slices - 1}", str(options.index))
    return measurement.select(options.index)


def write_radar(path, data: torch.Tensor, acquisition, *, ground_truth: torch.Tensor | None = None,
                metadata: dict | None = None, overwrite: bool = False) -> Path:
    """Write responses ``(scans, 1, N_f, N_t, N_r)`` with their geometry in recon's radar layout, atomically."""
    import h5py
    import torch

    from recon.datasets.atomic import atomic_output

    if data.dim() != 5 or tuple(data.shape[2:]) != acquisition.measurement_shape:
        raise ValueError(f"write_radar: data must be (scans, 1, {', '.join(map(str, acquisition.measurement_shape))})"
                         f", got {tuple(data.shape)}")
    grid = acquisition.grid
    with atomic_output(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update({LAYOUT_ATTR: LAYOUT, "format_version": VERSION, "modality": "mimo"})
            f.create_dataset("data", data=data[:, 0].detach().cpu().to(torch.complex64).numpy())
            group = f.create_group("geometry")
            group.create_dataset("transmitters", data=acquisition.transmitters.numpy())
            group.create_dataset("receivers", data=acquisition.receivers.numpy())
            group.create_dataset("frequencies", data=acquisition.frequencies.numpy())
            group.attrs.update({"grid_x": np.asarray(grid.x, dtype=np.float64),
                                "grid_y": np.asarray(grid.y, dtype=np.float64),
                                "grid_z": np.asarray(grid.z, dtype=np.float64), "grid_counts": np.asarray(grid.counts)})
            if ground_truth is not None:
                f.create_dataset("ground_truth", data=ground_truth[:, 0].detach().cpu().to(torch.complex64).numpy())
            meta = f.create_group("metadata")
            for key, value in (metadata or {}).items():
                if isinstance(value, (str, int, float, bool, np.number)):
                    meta.attrs[key] = value
                elif isinstance(value, (list, tuple, np.ndarray)):       # e.g. one noise_sigma per scan
                    meta.attrs[key] = np.asarray(value, dtype=np.float64)
    return Path(path)
