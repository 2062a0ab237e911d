"""A MATLAB v7.3 ``.mat`` file as MATLAB writes one, for the readers' tests (scipy writes v5 only).

v7.3 is HDF5 with a 512-byte user block that starts with MATLAB's text header; each variable is a dataset
with a ``MATLAB_class`` attribute, its axes in reverse (HDF5 is row-major, MATLAB column-major), and complex
values as a ``(real, imag)`` compound.
"""

from __future__ import annotations

import h5py
import numpy as np

HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Dec  8 00:00:00 2026 HDF5 schema 1.00 ."


def write_matlab73_kspace(path, name: str, array) -> None:
    """Write ``array`` (MATLAB's axis order) as the variable ``name`` of a v7.3 file at ``path``."""
    values = np.asarray(array)
    complex_valued = np.iscomplexobj(values)
    dtype = np.dtype([("real", "<f8"), ("imag", "<f8")]) if complex_valued else np.dtype("<f8")
    stored = np.empty(values.T.shape, dtype)
    if complex_valued:
        stored["real"], stored["imag"] = values.T.real, values.T.imag
    else:
        stored[...] = values.T
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset(name, data=stored).attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as handle:
        handle.write(HEADER.ljust(116, b" "))
