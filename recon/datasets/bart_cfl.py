r"""BART's ``.cfl``/``.hdr`` pair (Uecker et al., the Berkeley Advanced Reconstruction Toolbox), read and write.

A BART array is two files with one stem::

    name.hdr    text: a line "# Dimensions", then the sizes of up to 16 dimensions on one line
                (missing trailing ones are 1); later sections ("# Command", ...) are ignored
    name.cfl    raw complex64, little-endian (re, im) float32 pairs, in column-major (Fortran)
                order: the first dimension varies fastest

For k-space BART's dimensions are ``[READ, PHS1, PHS2, COIL, MAPS, TE, COEFF,
COEFF2, ITER, CSHIFT, TIME, TIME2, LEVEL, SLICE, AVG, BATCH]``, i.e.
:math:`(x, y, z, \text{coils}, \dots)`, centred like recon's (k-space centre at
index :math:`n/2`). So a 2D multi-coil k-space is ``(rows, cols, 1, coils)``
in BART order, and the reader returns it as recon's ``(slices, coils, rows,
cols)`` with :math:`k[s, c, x, y] = \text{cfl}[x, y, s, c]`. The slice axis is
``PHS2`` (as stored: a 3D k-space is returned with its z axis as the batch, to
be Fourier transformed along it by a 3D operator) or BART's ``SLICE`` (13),
not both; every other dimension must be 1. The mask is the zero pattern of
k-space (1 where any coil is non-zero). ``ReadOptions.index`` picks one slice.

The ``.cfl`` is memory-mapped (:func:`map_cfl`), not read: with
``input.index`` only that slice's bytes are read and copied into memory (one
slice of a 200-slice file raises the reader's peak memory by about the slice,
not the file). Before it is mapped, the ``.hdr`` must declare at most
:data:`~recon.datasets.hdf5_preflight.MAX_DIMENSION` per dimension and
:data:`~recon.datasets.hdf5_preflight.MAX_ELEMENTS` in all, and the ``.cfl``
must be exactly 8 bytes per declared value: a file shorter or longer is
refused in one line (``expected N complex64 values (8N bytes) for dims [...],
got M bytes (truncated?)``).

The reconstruction keeps BART's axis order, as ``bart pics`` writes it: a 2D
k-space's images are written ``(slices, x, y)``; a 3D k-space's volume
``(x, y, z)`` (:func:`recon.experiments.mri_volume.bart_order`), so dims
``(1, 180, 230, coils)`` give one 180 x 230 image, not 230 images of 1 x 180.

:func:`read_cfl` (or :func:`map_cfl`) and :func:`write_cfl` read and write any array; the path may
be the ``.cfl``, the ``.hdr`` or the stem. Format detection
(:func:`recon.datasets.formats.detect_format`) needs an existing file, so give
it the ``.cfl`` or the ``.hdr``; ``read_measurement(stem, format="bart-cfl")``
takes the stem.
"""

from __future__ import annotations

import math
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.hdf5_preflight import size_problem
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import check_finite

if TYPE_CHECKING:
    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "bart-cfl"
DESCRIPTION = "BART .cfl/.hdr pair: complex64, column-major; k-space dims (x, y, z, coils, ...)"
AXES = ("(READ, PHS1, PHS2, COIL, ..., SLICE) = (x, y, z, coils, ..., s): a 2D k-space is read as (s, coils, x, "
        "y) and written (s, x, y); a 3D one (PHS2 > 1) is read as (z, coils, x, y) and its volume written "
        "(x, y, z), BART's order, as bart pics writes it: dims (1, 180, 230, coils) give one 180 x 230 image")

N_DIMS = 16
DIM_NAMES = ("READ", "PHS1", "PHS2", "COIL", "MAPS", "TE", "COEFF", "COEFF2", "ITER", "CSHIFT", "TIME", "TIME2",
             "LEVEL", "SLICE", "AVG", "BATCH")
PHS2_DIM, COIL_DIM, SLICE_DIM = 2, 3, 13
HEADER_LINE = "# Dimensions"
HEADER_READ_LIMIT = 1 << 16     # bytes of a .hdr read: "# Dimensions" and its line come first


def stem_of(path) -> Path:
    """The stem shared by the pair: ``path`` without a ``.cfl`` or ``.hdr`` suffix.

    >>> stem_of("data/kspace.cfl").as_posix(), stem_of("data/kspace.hdr").as_posix(), stem_of("kspace").as_posix()
    ('data/kspace', 'data/kspace', 'kspace')
    """
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".cfl", ".hdr") else path


def _pair(stem: Path) -> tuple[Path, Path]:
    return stem.with_name(stem.name + ".hdr"), stem.with_name(stem.name + ".cfl")


def sniff(path: Path, h5) -> bool:
    """Whether ``path`` is a ``.cfl`` or ``.hdr`` whose sibling exists and whose ``.hdr`` starts with
    "# Dimensions"; never raises."""
    try:
        path = Path(path)
        if h5 is not None or path.suffix not in (".cfl", ".hdr"):
            return False
        header, data = _pair(stem_of(path))
        if not (header.is_file() and data.is_file()):
            return False
        with open(header, "rb") as handle:
            return handle.read(64).lstrip().startswith(HEADER_LINE.encode())
    except Exception:  # a foreign or broken file is simply not ours
        return False


def read_header(path) -> tuple[int, ...]:
    """The 16 dimensions of the ``.hdr`` of ``path`` (a ``.cfl``, ``.hdr`` or stem), padded with 1s.

    >>> import tempfile, pathlib
    >>> stem = pathlib.Path(tempfile.mkdtemp()) / "a"
    >>> _ = (stem.parent / "a.hdr").write_text("# Dimensions\\n3 2 1 4\\n")
    >>> read_header(stem)[:5]
    (3, 2, 1, 4, 1)
    """
    header, _ = _pair(stem_of(path))
    if not header.is_file():
        raise InputError(header, None, "an existing BART header (.hdr)", "no such file")
    try:
        with open(header, "rb") as handle:       # the dimensions come first: a huge .hdr is not read whole
            text = handle.read(HEADER_READ_LIMIT).decode("ascii")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
    except (UnicodeDecodeError, OSError) as error:
        raise InputError(header, None, "a text BART header", f"an unreadable file ({type(error).__name__})")
    if not lines or lines[0] != HEADER_LINE or len(lines) < 2:
        raise InputError(header, None, f"a BART header: '{HEADER_LINE}' then the dimensions",
                         repr(lines[0][:40]) if lines else "an empty file")
    try:
        dims = [int(token) for token in lines[1].split()]
    except ValueError:
        raise InputError(header, HEADER_LINE, "whole numbers", repr(lines[1][:60]))
    if not 1 <= len(dims) <= N_DIMS or min(dims) < 1:
        raise InputError(header, HEADER_LINE, f"1 to {N_DIMS} positive sizes", repr(lines[1][:60]))
    too_large = size_problem(dims, shown=f"dims {dims}")
    if too_large is not None:
        raise InputError(header, HEADER_LINE, *too_large)
    return tuple(dims) + (1,) * (N_DIMS - len(dims))


def map_cfl(path) -> np.ndarray:
    """The array of a ``.cfl``/``.hdr`` pair, memory-mapped read-only: no value is read until it is used.

    Trailing singleton dimensions are dropped; the view is column-major (``order="F"``) over the file, so
    slicing it and copying the slice reads only that slice's bytes. The ``.cfl`` must hold exactly the
    values its ``.hdr`` declares.

    >>> import tempfile, pathlib
    >>> stem = write_cfl(pathlib.Path(tempfile.mkdtemp()) / "a", np.arange(6).reshape(2, 3) * 1j)
    >>> mapped = map_cfl(stem)
    >>> isinstance(mapped.base, np.memmap), mapped.flags.writeable, mapped[1].tolist()
    (True, False, [3j, 4j, 5j])
    """
    dims = read_header(path)
    _, data = _pair(stem_of(path))
    if not data.is_file():
        raise InputError(data, None, "an existing BART data file (.cfl) beside its .hdr", "no such file")
    count = math.prod(dims)
    size = data.stat().st_size
    if size != 8 * count:
        raise InputError(data, None, f"{count} complex64 values ({8 * count} bytes) for dims "
                         f"{list(_trimmed(dims))}", f"{size} bytes (truncated?)" if size < 8 * count
                         else f"{size} bytes")
    values = np.memmap(data, dtype="<c8", mode="r", shape=(count,))
    return values.reshape(_trimmed(dims), order="F")


def read_cfl(path) -> np.ndarray:
    """The array of a ``.cfl``/``.hdr`` pair in memory, complex64, with its trailing singleton dimensions dropped.

    >>> import tempfile, pathlib
    >>> stem = write_cfl(pathlib.Path(tempfile.mkdtemp()) / "a", np.arange(6).reshape(2, 3) * 1j)
    >>> read_cfl(stem)[1].tolist()
    [3j, 4j, 5j]
    """
    return np.array(map_cfl(path), dtype=np.complex64, order="F")


def _trimmed(dims) -> tuple[int, ...]:
    dims = list(dims)
    while len(dims) > 1 and dims[-1] == 1:
        dims.pop()
    return tuple(dims)


def write_cfl(path, array, *, overwrite: bool = False) -> Path:
    """Write ``array`` (any numeric, up to 16 axes) as a ``.cfl``/``.hdr`` pair; return the stem.

    Both files are written to temporaries and moved into place, the ``.cfl`` first, so a
    reader that finds the ``.hdr`` finds the data complete.

    >>> import tempfile, pathlib
    >>> stem = write_cfl(pathlib.Path(tempfile.mkdtemp()) / "a.cfl", np.ones((4, 3, 1, 2)))
    >>> (stem.parent / "a.hdr").read_text().splitlines()[1]
    '4 3 1 2 1 1 1 1 1 1 1 1 1 1 1 1'
    """
    from recon.datasets.atomic import atomic_output

    values = array.detach().cpu().numpy() if hasattr(array, "detach") else np.asarray(array)
    if values.dtype.kind not in "biufc" or not 0 < values.ndim <= N_DIMS:
        raise ValueError(f"write_cfl: array must be numeric with 1 to {N_DIMS} axes, got {values.dtype} of shape "
                         f"{values.shape}")
    stem = stem_of(path)
    header, data = _pair(stem)
    dims = tuple(values.shape) + (1,) * (N_DIMS - values.ndim)
    with atomic_output(header, overwrite=overwrite) as header_tmp, \
            atomic_output(data, overwrite=overwrite) as data_tmp:
        data_tmp.write_bytes(values.astype("<c8").tobytes(order="F"))
        header_tmp.write_text(f"{HEADER_LINE}\n{' '.join(str(d) for d in dims)}\n")
    return stem


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read a BART k-space ``(x, y, z | slices, coils)`` as ``(slices, coils, x, y)`` with its zero-pattern mask.

    >>> import tempfile, pathlib
    >>> k = np.zeros((4, 6, 1, 2), np.complex64); k[:, 1::2] = 1
    >>> stem = write_cfl(pathlib.Path(tempfile.mkdtemp()) / "k", k)
    >>> m = read(stem)
    >>> tuple(m.data.shape), m.geometry.acceleration
    ((1, 2, 4, 6), 2.0)
    """
    import torch

    from recon.datasets.fastmri import kspace_mask
    from recon.datasets.measurement import Measurement
    from recon.operators.mri_acquisition import CartesianAcquisition

    kspace, data, metadata = _kspace(path, options)
    return Measurement("mri", torch.as_tensor(kspace), CartesianAcquisition(torch.as_tensor(kspace_mask(kspace))),
                       FORMAT, data, metadata=metadata)


def describe(path: Path) -> Summary:
    """What :func:`read` would return, without tensors (:mod:`recon.datasets.summary`); the mapped k-space is
    read one slice at a time for its mask, so a file larger than memory is described too.

    >>> import tempfile, pathlib
    >>> k = np.zeros((4, 6, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3), np.complex64); k[:, 1::2] = 1
    >>> summary = describe(write_cfl(pathlib.Path(tempfile.mkdtemp()) / "k", k))
    >>> summary.data_shape, summary.setup
    ((3, 2, 4, 6), ['  Cartesian mask (4, 6): acceleration 2x (12 of 24 samples measured)'])
    """
    from recon.datasets.summary import Summary, cartesian_lines

    kspace, data, dims, slice_dim = _mapped_kspace(path)
    lines = cartesian_lines(_mask_slice_by_slice(kspace, data))
    if slice_dim == PHS2_DIM and kspace.shape[0] > 1:
        depth, _, rows, cols = kspace.shape
        lines.append(f"  3D k-space, k_z along PHS2: the volume is written (READ, PHS1, PHS2) = "
                     f"({rows}, {cols}, {depth}), as bart pics writes it")
    return Summary("mri", tuple(kspace.shape), lines)


def _mask_slice_by_slice(kspace, data) -> np.ndarray:
    """:func:`recon.datasets.fastmri.kspace_mask` of the mapped ``(slices, coils, x, y)`` k-space, with one slice
    in memory at a time (each checked for NaN and inf): the coils are reduced slice by slice, then the mask."""
    from recon.datasets.fastmri import kspace_mask

    measured = np.empty((kspace.shape[0], 1, *kspace.shape[2:]), dtype=bool)
    for index in range(kspace.shape[0]):
        values = np.array(kspace[index], dtype=np.complex64)
        check_finite(values, data, "data")
        measured[index, 0] = (values != 0).any(axis=0)
    return kspace_mask(measured)


def _mapped_kspace(path):
    """k-space ``(slices, coils, x, y)`` as a view of the mapped ``.cfl`` (nothing read yet), the ``.cfl``, the
    16 BART dims and the slice dimension (``PHS2_DIM`` or ``SLICE_DIM``)."""
    stem = stem_of(path)
    header, data = _pair(stem)
    dims = read_header(stem)
    extra = [f"{DIM_NAMES[i]} = {n}" for i, n in enumerate(dims) if n > 1 and i not in (0, 1, PHS2_DIM, COIL_DIM,
                                                                                        SLICE_DIM)]
    if dims[PHS2_DIM] > 1 and dims[SLICE_DIM] > 1:
        extra.append(f"PHS2 = {dims[PHS2_DIM]} and SLICE = {dims[SLICE_DIM]}")
    if extra:
        raise InputError(header, HEADER_LINE, "k-space dims (READ, PHS1, PHS2 or SLICE, COIL) with the others 1",
                         ", ".join(extra))
    # (x, y, z, coils, slices): every other dimension is 1, and z or slices is too.
    array = map_cfl(stem).reshape(dims, order="F")[(slice(None),) * 4 + (0,) * 9 + (slice(None), 0, 0)]
    slice_dim = SLICE_DIM if dims[SLICE_DIM] > 1 else PHS2_DIM
    kspace = array[:, :, 0].transpose(3, 2, 0, 1) if slice_dim == SLICE_DIM else array[..., 0].transpose(2, 3, 0, 1)
    return kspace, data, dims, slice_dim


def _kspace(path, options: ReadOptions):
    """k-space ``(slices, coils, x, y)`` complex64, the ``.cfl`` it came from, and the metadata of :func:`read`.
    Only the slice ``options.index`` picks (or every slice) is read from the mapped file and copied."""
    kspace, data, dims, slice_dim = _mapped_kspace(path)
    n_slices = kspace.shape[0]
    if options.index is not None:
        if not 0 <= options.index < n_slices:
            raise InputError(data, "input.index", f"a slice in 0..{n_slices - 1}", str(options.index))
        kspace = kspace[options.index:options.index + 1]
    kspace = np.array(kspace, dtype=np.complex64, order="C")     # a copy: nothing keeps the file mapped
    check_finite(kspace, data, "data")
    metadata = {"bart_dims": list(_trimmed(dims)), "slice_axis": DIM_NAMES[slice_dim],
                "mask_source": "the zero pattern of k-space"}
    if options.index is not None:
        metadata["slice"] = options.index
    return kspace, data, metadata
