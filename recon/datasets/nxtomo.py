r"""NeXus NXtomo: raw projections, flats and darks in one frame stack, told apart by ``image_key``.

The layout as this reader understands it (the NXtomo application definition)::

    /<entry>                           NXentry, or an NXsubentry one level down (Diamond: entry1/tomo_entry)
        definition                     "NXtomo": how the entry is found, whatever its name
        instrument/detector/data       (frames, rows, cols) raw counts; else data/data
        instrument/detector/image_key  (frames,) 0 projection, 1 flat field, 2 dark field, 3 invalid (skipped);
                                       else data/image_key
        sample/rotation_angle          (frames,) or (projections,), degrees unless its units
                                       attribute says radians; else data/rotation_angle

Frames are split by ``image_key`` and then treated as in
:mod:`recon.datasets.data_exchange`: flat/dark correction, −log, one slice
per detector row, a parallel-beam geometry in detector pixels (NXtomo's
``x_pixel_size`` is the camera's, not the effective one, so it is not
used), the centre estimated (``input.centre_offset = "auto"``) or given.
A scan without dark frames is read with a dark level of 0
(``metadata["darks"]`` says so); one without flat frames is an error.

Detector frames are often an external link to the detector's own file; when
that file is missing (the real ``nxtomo_skeleton_24888.nxs`` keeps only the
layout), the error names the dataset and the linked file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recon.datasets.raw_scan import (
    angles_in_radians,
    frames_shape,
    raw_scan_measurement,
    raw_scan_summary,
    read_frames,
)
from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import read_dataset

FORMAT = "nxtomo"
DESCRIPTION = "NeXus NXtomo: frames split by image_key, rotation_angle in degrees"
AXES = ("the projection frames (frames, rows, cols) are one sinogram per detector row: (rows, 1, projections, "
        "cols); the reconstruction is written (rows, cols, cols), one slice per detector row")

PROJECTION, FLAT, DARK, INVALID = 0, 1, 2, 3
_FRAMES = ("instrument/detector/data", "data/data")
_IMAGE_KEY = ("instrument/detector/image_key", "data/image_key")
_ANGLES = ("sample/rotation_angle", "data/rotation_angle")


def _text(value) -> str:
    value = np.asarray(value).reshape(-1)
    if value.size != 1:
        return ""
    item = value[0]
    return (item.decode(errors="replace") if isinstance(item, bytes) else str(item)).strip()


def find_entry(h5) -> str | None:
    """The path of the first group (top level or one below) whose ``definition`` is ``NXtomo``, or ``None``.

    >>> import tempfile, pathlib, h5py
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.nxs"
    >>> with h5py.File(path, "w") as f:
    ...     f["scan_12/tomo/definition"] = "NXtomo"
    ...     find_entry(f)
    'scan_12/tomo'
    """
    import h5py

    def is_tomo(group) -> bool:
        link = group.get("definition", getlink=True)
        if not isinstance(link, h5py.HardLink):
            return False
        node = group["definition"]
        return isinstance(node, h5py.Dataset) and node.dtype.kind in "SUO" and _text(node[()]).lower() == "nxtomo"

    def groups(parent):
        for name in parent:
            if isinstance(parent.get(name, getlink=True), h5py.HardLink) and isinstance(parent[name], h5py.Group):
                yield parent[name]

    for entry in groups(h5):
        if is_tomo(entry):
            return entry.name.lstrip("/")
        for sub in groups(entry):
            if is_tomo(sub):
                return sub.name.lstrip("/")
    return None


def sniff(path: Path, h5) -> bool:
    """Whether the open HDF5 file has an NXtomo entry."""
    try:
        return h5 is not None and find_entry(h5) is not None
    except Exception:  # a foreign file must never break format detection
        return False


def _first_present(h5, entry: str, candidates) -> str | None:
    for relative in candidates:
        name = f"{entry}/{relative}"
        try:
            if h5.get(name, getlink=True) is not None:
                return name
        except Exception:  # a broken parent: treat as absent, the next candidate may exist
            continue
    return None


def _required(h5, entry: str, candidates, path, what: str) -> str:
    name = _first_present(h5, entry, candidates)
    if name is None:
        also = " or ".join(f"{entry}/{c}" for c in candidates[1:])
        raise InputError(path, f"{entry}/{candidates[0]}", what, f"no such dataset (nor {also})")
    return name


def _image_keys(h5, name: str, path, n_frames: int) -> np.ndarray:
    keys = read_dataset(h5, name, path, rank=1, kind="real", what="one image_key per frame (0, 1, 2 or 3)")
    if keys.size != n_frames:
        raise InputError(path, name, f"one image_key per frame ({n_frames})", f"{keys.size} keys")
    as_int = np.rint(keys).astype(np.int64)
    bad = (as_int != keys) | ~np.isin(as_int, (PROJECTION, FLAT, DARK, INVALID))
    if bad.any():
        raise InputError(path, name, "image keys 0 (projection), 1 (flat), 2 (dark) or 3 (invalid)",
                         f"{np.unique(keys[bad])[:5].tolist()}")
    return as_int


def read(path: Path, options: ReadOptions = ReadOptions()):
    """Read an NXtomo file as line integrals, one slice per detector row.

    >>> import tempfile, pathlib, h5py, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.nxs"
    >>> with h5py.File(path, "w") as f:
    ...     f["entry/definition"] = "NXtomo"
    ...     counts = [10.0] + [100.0] * 2 + [40.0] * 4          # a dark, two flats, four projections
    ...     f["entry/instrument/detector/data"] = np.multiply.outer(counts, np.ones((1, 8)))
    ...     f["entry/instrument/detector/image_key"] = [2, 1, 1, 0, 0, 0, 0]
    ...     f["entry/sample/rotation_angle"] = [0.0, 0.0, 0.0, 0.0, 45.0, 90.0, 135.0]
    >>> m = read(path, ReadOptions(centre_offset=0.0))
    >>> tuple(m.data.shape), round(float(m.data[0, 0, 0, 0]), 4), np.rad2deg(m.geometry.angles).tolist()
    ((1, 1, 4, 8), 1.0986, [0.0, 45.0, 90.0, 135.0])
    >>> m.metadata["image_keys"]
    '4 projections, 2 flats, 1 darks'
    """
    from recon.datasets.validation import open_hdf5

    path = Path(path)
    with open_hdf5(path) as h5:
        entry, frames_name, keys_name, angles_name = _names(h5, path)
        frames, shape = read_frames(h5, frames_name, path, options.index, what="detector frames (frames, rows, cols)")
        keys, angles, tally = _keys_and_angles(h5, path, keys_name, angles_name, shape[0])
    darks = frames[keys == DARK] if (keys == DARK).any() else None
    metadata = {"entry": entry, "image_keys": tally, "angles_from": angles_name}
    return raw_scan_measurement(path, frames[keys == PROJECTION], frames[keys == FLAT], darks, angles, options,
                                format=FORMAT, data_field=frames_name, raw_shape=shape, metadata=metadata)


def describe(path: Path):
    """What :func:`read` would return, from the frames' shape, the image keys and the angles
    (:mod:`recon.datasets.summary`)."""
    from recon.datasets.validation import open_hdf5

    path = Path(path)
    with open_hdf5(path) as h5:
        _, frames_name, keys_name, angles_name = _names(h5, path)
        shape = frames_shape(h5, frames_name, path, what="detector frames (frames, rows, cols)")
        keys, angles, _ = _keys_and_angles(h5, path, keys_name, angles_name, shape[0])
    return raw_scan_summary(path, (int((keys == PROJECTION).sum()), *shape[1:]), angles, None)


def _names(h5, path) -> tuple[str, str, str, str]:
    """The NXtomo entry and its frames, image keys and rotation angles."""
    entry = find_entry(h5)
    if entry is None:
        raise InputError(path, None, "an NXentry whose definition is NXtomo", "none")
    return (entry, _required(h5, entry, _FRAMES, path, "detector frames (frames, rows, cols)"),
            _required(h5, entry, _IMAGE_KEY, path, "one image_key per frame"),
            _required(h5, entry, _ANGLES, path, "one rotation angle per frame"))


def _keys_and_angles(h5, path, keys_name: str, angles_name: str, n_frames: int):
    """Each frame's image key, the projections' angles in radians, and the tally of frames by kind."""
    keys = _image_keys(h5, keys_name, path, n_frames)
    angles = read_dataset(h5, angles_name, path, rank=1, kind="real", what="rotation angles")
    units = h5[angles_name].attrs.get("units")
    counts = {key: int((keys == key).sum()) for key in (PROJECTION, FLAT, DARK)}
    tally = f"{counts[PROJECTION]} projections, {counts[FLAT]} flats, {counts[DARK]} darks"
    if counts[PROJECTION] == 0:
        raise InputError(path, keys_name, "projection frames (image_key 0)", tally)
    if counts[FLAT] == 0:
        raise InputError(path, keys_name, "flat-field frames (image_key 1) to normalise the projections", tally)
    if angles.size == n_frames:
        angles = angles[keys == PROJECTION]
    elif angles.size != counts[PROJECTION]:
        raise InputError(path, angles_name, f"one angle per frame ({n_frames}) or per projection "
                         f"({counts[PROJECTION]})", f"{angles.size} angles")
    return keys, angles_in_radians(angles, units, path, angles_name, default="degrees"), tally
