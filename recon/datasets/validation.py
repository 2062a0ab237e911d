"""Checks every reader shares, each failing with one :class:`InputError` that names the file and the field.

They cover the bad inputs a user meets: a missing file, a folder, a file that
is not HDF5 or is truncated, a missing dataset or one behind a broken link (an
external link to a missing file), a wrong dtype or rank, an empty array, NaN or
inf, and angles that do not match the data.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from recon.datasets.errors import InputError


def check_input_path(path) -> Path:
    """The path as a :class:`Path`, if it names an existing regular file."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "an existing input file", "no such file")
    if path.is_dir():
        raise InputError(path, None, "a file", "a directory")
    return path


@contextlib.contextmanager
def open_hdf5(path):
    """Open ``path`` read-only as HDF5, turning h5py's errors into :class:`InputError`."""
    import h5py

    path = check_input_path(path)
    if not h5py.is_hdf5(path):
        raise InputError(path, None, "an HDF5 file", "a file without the HDF5 signature")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise InputError(path, None, "a readable HDF5 file", f"an unreadable or truncated one ({_first_line(error)})")
    with handle:
        yield handle


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def open_dataset(h5, name: str, path, *, what: str = "a dataset"):
    """``h5[name]`` as an :class:`h5py.Dataset`; :class:`InputError` if it is missing, a group, or a broken link.

    A broken link is named with its target: an external link says which file
    it points to and that the file is missing (HDF5 looks for it at the stored
    path and beside ``path``).
    """
    import h5py

    if name not in h5:
        raise InputError(path, name, what, "no such dataset")
    try:
        node = h5[name]
    except (KeyError, OSError) as error:
        raise InputError(path, name, what, _broken_link(h5, name, path) or f"an object that cannot be opened "
                         f"({_first_line(error)})")
    if not isinstance(node, h5py.Dataset):
        raise InputError(path, name, what, "a group")
    return node


def _broken_link(h5, name: str, path) -> str | None:
    """What a link that does not resolve points to, or ``None`` if ``name`` is not such a link."""
    import h5py

    try:
        link = h5.get(name, getlink=True)
    except Exception:  # a parent group is itself unreachable: nothing more precise to say
        return None
    if isinstance(link, h5py.ExternalLink):
        stored = Path(link.filename)
        here = Path(path).parent
        candidates = (stored, here / stored, here / stored.name)
        state = ("that file exists but the dataset cannot be opened from it"
                 if any(c.is_file() for c in candidates) else "that linked file is missing")
        return f"an external link to '{link.path}' in '{link.filename}', and {state}"
    if isinstance(link, h5py.SoftLink):
        return f"a soft link to '{link.path}', which does not exist"
    return None


def read_dataset(h5, name: str, path, *, rank: int | tuple[int, ...] | None = None, kind: str = "real",
                 finite: bool = True, what: str = "a dataset", select=None) -> np.ndarray:
    """Read ``h5[name]`` as a numpy array after checking it exists, has a numeric dtype, the rank, and values.

    :param kind: ``"real"`` (integer or float), ``"float"``, or ``"complex"`` (real or complex accepted).
    :param rank: the number of axes expected (or a tuple of allowed ranks).
    :param finite: reject NaN and inf.
    :param select: an h5py index (e.g. ``(slice(None), 3)``) to read part of a large dataset, applied
        after the checks; the caller makes sure it is in range.
    """
    node = check_dataset(h5, name, path, rank=rank, kind=kind, what=what)
    try:
        values = node[()] if select is None else node[select]
    except OSError as error:
        raise InputError(path, name, "readable data", f"a read error ({_first_line(error)}); truncated file?")
    if finite:
        check_finite(values, path, name)
    return values


def check_dataset(h5, name: str, path, *, rank: int | tuple[int, ...] | None = None, kind: str = "real",
                  what: str = "a dataset"):
    """``h5[name]`` after the checks of :func:`read_dataset` that need no values (it exists, dtype, rank, not
    empty): a file's shapes without reading its data."""
    node = open_dataset(h5, name, path, what=what)
    check_dtype(node.dtype, path, name, kind)
    ranks = (rank,) if isinstance(rank, int) else rank
    if ranks is not None and node.ndim not in ranks:
        wanted = " or ".join(str(r) for r in ranks)
        raise InputError(path, name, f"{wanted} axes", f"shape {node.shape}")
    if node.size == 0:
        raise InputError(path, name, "a non-empty array", f"shape {node.shape}")
    return node


def check_dtype(dtype, path, name: str, kind: str = "real") -> None:
    """Reject strings, booleans, compound types (and complex unless ``kind == "complex"``)."""
    dtype = np.dtype(dtype)
    allowed = {"real": "iuf", "float": "f", "complex": "iufc"}[kind]
    if dtype.kind not in allowed:
        expected = {"real": "numbers (integer or float)", "float": "floating-point numbers",
                    "complex": "real or complex numbers"}[kind]
        raise InputError(path, name, expected, f"dtype {dtype}")


def check_finite(values, path, name: str) -> None:
    """Reject NaN and inf, saying how many there are."""
    values = np.asarray(values)
    if values.dtype.kind in "fc":
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(path, name, "finite values", f"{int(bad.sum())} NaN or inf")


def check_non_empty(values, path, name: str) -> None:
    if np.asarray(values).size == 0:
        raise InputError(path, name, "a non-empty array", f"shape {np.asarray(values).shape}")


def check_angles(angles, n_views: int, path, name: str) -> np.ndarray:
    """Angles as a 1D float array with one entry per view."""
    angles = np.asarray(angles, dtype=np.float64).reshape(-1) if np.ndim(angles) <= 1 else np.asarray(angles)
    if angles.ndim != 1:
        raise InputError(path, name, "a 1D list of angles", f"shape {angles.shape}")
    if angles.size != n_views:
        raise InputError(path, name, f"one angle per view ({n_views})", f"{angles.size} angles")
    check_finite(angles, path, name)
    return angles
