"""Well-formed HDF5 files with ill-formed contents, drawn by hypothesis: the property-based half of fuzzing.

Byte damage (:mod:`recon.fuzzing.mutations`) mostly breaks HDF5's own
structures; these files are valid HDF5 in recon's measurement layout whose
arrays and attributes are wrong in every way a writer can get them wrong:
any rank, shape (empty, mismatched, declared in the trillions without the
bytes behind it), dtype (integers, complex, booleans, strings), non-finite
values, and geometry attributes that are zero, negative, NaN, huge or of the
wrong type.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import strategies as st

DTYPES = ("float32", "float64", "int16", "uint8", "complex64", "bool", "S4")
#: Sizes a hostile or broken writer may declare: none, few, and far more than any machine holds.
SIZES = st.one_of(st.integers(0, 12), st.sampled_from([10**6, 10**9, 10**12]))


@st.composite
def arrays(draw, *, max_rank: int = 4):
    """``(shape, dtype, fill)``: a declared shape (maybe enormous), a dtype, and how to fill it."""
    rank = draw(st.integers(0, max_rank))
    shape = tuple(draw(SIZES) for _ in range(rank))
    return shape, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(["random", "nan", "inf", "zero"]))


def _write_array(group, name: str, shape, dtype: str, fill: str, rng) -> None:
    if shape and max(shape) > 10**5:    # declared only: a chunked dataset stores no chunk until one is written
        group.create_dataset(name, shape=shape, dtype=dtype, chunks=tuple(1 for _ in shape),
                             maxshape=tuple(None for _ in shape))
        return
    values = rng.standard_normal(shape) if shape else np.float64(rng.standard_normal())
    if fill == "nan":
        values = np.full(shape, np.nan)
    elif fill == "inf":
        values = np.full(shape, np.inf)
    elif fill == "zero":
        values = np.zeros(shape)
    if dtype == "S4":
        group.create_dataset(name, data=np.full(shape, b"x", dtype="S4"))
    elif dtype == "bool":
        group.create_dataset(name, data=np.asarray(values) > 0)
    elif np.dtype(dtype).kind in "iu":
        group.create_dataset(name, data=np.nan_to_num(np.asarray(values), nan=0, posinf=0, neginf=0).astype(dtype))
    else:
        group.create_dataset(name, data=np.asarray(values).astype(dtype))


ATTRIBUTE_VALUES = st.one_of(st.integers(-3, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                             st.text(max_size=6), st.lists(st.integers(-2, 10**9), max_size=3))


@st.composite
def recon_layout_files(draw):
    """A function ``write(path)`` that writes one drawn file in recon's CT measurement layout."""
    data = draw(arrays())
    angles = draw(arrays(max_rank=2))
    truth = draw(st.none() | arrays())
    attributes = {key: draw(ATTRIBUTE_VALUES | st.none()) for key in
                  ("n_detectors", "detector_spacing", "pixel_size", "image_shape", "centre_offset", "beam")}
    seed = draw(st.integers(0, 2**16))

    def write(path: Path) -> Path:
        import h5py

        rng = np.random.default_rng(seed)
        with h5py.File(path, "w") as f:
            f.attrs.update({"recon_format": "measurement", "format_version": 1, "modality": "ct"})
            _write_array(f, "data", *data, rng)
            geometry = f.create_group("geometry")
            _write_array(geometry, "angles", *angles, rng)
            for key, value in attributes.items():
                if value is not None:
                    geometry.attrs[key] = value
            if truth is not None:
                _write_array(f, "ground_truth", *truth, rng)
        return path

    return write
