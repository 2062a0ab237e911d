r"""MATLAB ``.mat`` files holding one complex Cartesian k-space array, as MRI groups keep their scans.

Layout (MATLAB's own axis order, the one the ESPIRiT demo, BART's MATLAB tools and most MRI code use)::

    <name>    complex double or single   (x, y)          one coil
                                         (x, y, coils)   several coils, e.g. DATA (320, 256, 8) of
                                                         the ESPIRiT demo's brain_alias_8ch.mat

``x`` is the read-out (fully sampled) and ``y`` the phase-encode axis; the k-space centre is at
index :math:`n/2` on each, as in recon's operators (:mod:`recon.operators.mri_fft`). Unmeasured
samples are stored as zeros, so the sampling mask is the zero pattern of k-space (1 where any coil
is non-zero), as for BART files. The reader returns recon's ``(slices, coils, rows, cols)`` =
``(1, coils, x, y)``, :math:`k[0, c, x, y] = \text{mat}[x, y, c]`, and the reconstruction is written
``(1, x, y)``.

The variable is the file's only complex 2D or 3D numeric array, or, among several, the one named
``kspace``, ``k_space``, ``ksp``, ``kdata``, ``data`` or ``raw`` (any case). A file of real arrays only
is not claimed (k-space is complex; a sinogram or an image is not k-space), and a 4D array is refused
(whether its third axis is k_z or slices is not written anywhere: convert it to BART's ``.cfl``, whose
dimensions say so, or to recon's own layout).

MATLAB v5 files are read with ``scipy.io`` after :mod:`recon.datasets.mat5_preflight` has walked their
element tags (a declared size the bytes cannot hold is refused before anything is allocated); v7.3
files are HDF5 (checked by :mod:`recon.datasets.hdf5_preflight`), their complex arrays stored as
``(real, imag)`` compounds in reversed axis order, and are read with h5py. ``ReadOptions.index`` may
only be 0 (one slice per file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.mat5_preflight import MAT5_SIGNATURE, complex_variables, load_variable
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import check_finite

if TYPE_CHECKING:
    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "matlab-kspace"
DESCRIPTION = "MATLAB .mat (v5 or v7.3) holding one complex Cartesian k-space array (x, y) or (x, y, coils)"
AXES = ("MATLAB (x, y, coils) is read as (1, coils, x, y) (a single-coil (x, y) as (1, 1, x, y)); the "
        "reconstruction is written (1, x, y)")

#: Names that mark the k-space variable of a file holding several arrays (compared in lower case).
KSPACE_NAMES = ("kspace", "k_space", "ksp", "kdata", "data", "raw")
NUMERIC_CLASSES = ("double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
MAT73_SIGNATURE = b"MATLAB 7.3 MAT-file"


def sniff(path: Path, h5) -> bool:
    """Whether ``path`` is a MATLAB file with a complex 2D to 4D numeric array (v5: its variable directory and
    array flags; v7.3: its HDF5 datasets' ``MATLAB_class`` and compound type); never raises. A 4D array is
    claimed, so that :func:`read` can say why it is not read."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(MAT5_SIGNATURE))
        if h5 is not None:
            return head == MAT73_SIGNATURE and bool(_candidates(_mat73_variables(h5)))
        return head == MAT5_SIGNATURE and bool(_candidates(_mat5_variables(path)))
    except Exception:  # a foreign or broken file is simply not ours
        return False


def _mat5_variables(path) -> list[tuple[str, tuple, str]]:
    """``(name, shape, class)`` of the complex top-level arrays of a v5 file, as ``whosmat`` lists them."""
    import scipy.io

    stored_complex = complex_variables(path)
    return [variable for variable in scipy.io.whosmat(str(path)) if variable[0] in stored_complex]


def _mat73_variables(h5) -> list[tuple[str, tuple, str]]:
    """``(name, MATLAB shape, class)`` of the complex top-level datasets of a v7.3 file (``(real, imag)``
    compounds with a ``MATLAB_class``)."""
    variables = []
    for name, node in h5.items():
        kind = node.attrs.get("MATLAB_class") if hasattr(node, "shape") else None
        if kind is not None and node.dtype.names is not None and set(node.dtype.names) == {"real", "imag"}:
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            variables.append((name, tuple(reversed(node.shape)), kind))
    return variables


def _image_shape(shape) -> tuple[int, ...]:
    """``shape`` without trailing singletons (MATLAB pads to 2D)."""
    shape = list(shape)
    while len(shape) > 2 and shape[-1] == 1:
        shape.pop()
    return tuple(shape)


def _candidates(variables) -> list[tuple[str, tuple, str]]:
    return [(name, _image_shape(shape), kind) for name, shape, kind in variables
            if kind in NUMERIC_CLASSES and 2 <= len(_image_shape(shape)) <= 4 and min(shape[:2]) >= 2]


def chosen_variable(path, variables) -> tuple[str, tuple, str]:
    """The k-space variable among ``(name, shape, class)`` (module text); :class:`InputError` if none or no
    single one is.

    >>> chosen_variable("a.mat", [("mask", (4, 6), "double"), ("kspace", (4, 6, 2), "double")])
    ('kspace', (4, 6, 2), 'double')
    """
    candidates = _candidates(variables)
    named = [c for c in candidates if c[0].lower() in KSPACE_NAMES]
    if len(candidates) == 1 or len(named) == 1:
        name, shape, kind = candidates[0] if len(candidates) == 1 else named[0]
        if len(shape) == 4:
            raise InputError(path, name, "k-space (x, y) or (x, y, coils)",
                             f"4 axes {shape} (k_z or slices? convert it to BART's .cfl, whose dims say which)")
        return name, shape, kind
    listed = ", ".join(f"{name} {shape}" for name, shape, _ in candidates) or "none"
    raise InputError(path, None, f"one k-space array (the only complex 2D/3D one, or one named "
                                 f"{'/'.join(KSPACE_NAMES)})", f"arrays {listed}")


def _load(path: Path, options: ReadOptions) -> tuple[np.ndarray, str, str]:
    """k-space ``(1, coils, x, y)`` complex64, the variable's name and the MATLAB version (``"v5"``, ``"v7.3"``)."""
    import h5py

    if options.index not in (None, 0):
        raise InputError(path, "input.index", "0 (one slice per MATLAB k-space file)", str(options.index))
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as h5:
            name, _, _ = chosen_variable(path, _mat73_variables(h5))
            raw = h5[name][()]
            values = (raw["real"] + 1j * raw["imag"]).T          # HDF5 keeps MATLAB's axes reversed
        version = "v7.3"
    else:
        name, _, _ = chosen_variable(path, _mat5_variables(path))
        values = np.asarray(load_variable(path, name))
        version = "v5"
    values = values.reshape(_image_shape(values.shape))
    kspace = np.ascontiguousarray(np.moveaxis(values, 2, 0) if values.ndim == 3 else values[None])[None]
    kspace = kspace.astype(np.complex64)
    check_finite(kspace, path, name)
    return kspace, name, version


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read the k-space of a MATLAB file as ``(1, coils, x, y)``, with the mask of its non-zero samples.

    >>> import tempfile, pathlib, scipy.io
    >>> k = np.zeros((6, 4, 2), complex); k[:, ::2] = 1 + 1j
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "k.mat"
    >>> scipy.io.savemat(path, {"kspace": k})
    >>> m = read(path)
    >>> tuple(m.data.shape), m.geometry.acceleration, m.metadata["variable"]
    ((1, 2, 6, 4), 2.0, 'kspace')
    """
    import torch

    from recon.datasets.fastmri import kspace_mask
    from recon.datasets.measurement import Measurement
    from recon.operators.mri_acquisition import CartesianAcquisition

    kspace, name, version = _load(path, options)
    metadata = {"variable": name, "matlab_version": version, "mask_source": "the zero pattern of k-space"}
    return Measurement("mri", torch.as_tensor(kspace), CartesianAcquisition(torch.as_tensor(kspace_mask(kspace))),
                       FORMAT, path, metadata=metadata)


def describe(path: Path) -> Summary:
    """What :func:`read` would return, without tensors: the k-space is loaded (numpy) for its mask."""
    from recon.datasets.fastmri import kspace_mask
    from recon.datasets.summary import Summary, cartesian_lines

    kspace, name, version = _load(path, ReadOptions())
    variable = (f"  k-space variable {name} (MATLAB {version}), (x, y, coils) = "
                f"({kspace.shape[2]}, {kspace.shape[3]}, {kspace.shape[1]})")
    return Summary("mri", tuple(kspace.shape), cartesian_lines(kspace_mask(kspace)) + [variable])
