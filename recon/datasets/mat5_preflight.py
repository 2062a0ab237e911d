r"""Look over a MATLAB v5 ``.mat`` file's element tags before ``scipy.io.loadmat`` reads it: refuse declared
sizes that the bytes cannot hold, and absurd dimensions.

A v5 file is a 128-byte header, then one element per variable: an 8-byte tag
(type, byte count) and its data. A variable is a ``miMATRIX`` element (array
flags, dimensions, name, then the values, or the fields of a struct, or the
cells of a cell array, each a nested ``miMATRIX``), or a ``miCOMPRESSED``
element holding one zlib-compressed ``miMATRIX``. The walk reads the tags,
the dimensions and the names, and skips over the values: it seeks past them
in a plain element and inflates a compressed one in 64 KiB steps without
keeping the output, so it never holds more than a few hundred KiB however large
the file says it is.

Refused, each with one line naming the file and the variable (``CtDataFull.sinogram``):

* an element whose byte count runs past its parent (the file, a struct, a compressed stream);
* a dimension above :data:`~recon.datasets.hdf5_preflight.MAX_DIMENSION` or more than
  :data:`~recon.datasets.hdf5_preflight.MAX_ELEMENTS` elements (the limits of the HDF5 preflight);
* a numeric array whose stored values are not exactly as many as its dimensions declare
  (MATLAB may store doubles as smaller integers; the count of values must still match);
* a compressed variable declaring more than :data:`DEFLATE_MAX_RATIO` times its compressed bytes (zlib cannot
  expand further), or whose zlib data ends before its declared size or does not inflate;
* a variable that is neither ``miMATRIX`` nor ``miCOMPRESSED`` (``loadmat`` refuses them too).

Character, sparse, function-handle and MATLAB-object (opaque) variables are
checked for fit and dimensions only; their contents are skipped. MATLAB v7.3
files are HDF5 and go through :mod:`recon.datasets.hdf5_preflight` instead.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

from recon.datasets.errors import InputError
from recon.datasets.hdf5_preflight import size_problem

HEADER_BYTES = 128
#: How a v5 file's 116-byte text header starts (a v7.3 file's says "MATLAB 7.3 MAT-file").
MAT5_SIGNATURE = b"MATLAB 5.0 MAT-file"
MI_MATRIX, MI_COMPRESSED = 14, 15
#: Bytes per value of each v5 data type (miINT8 ... miUTF32).
MI_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
MI_NAMES = {1: "int8", 2: "uint8", 3: "int16", 4: "uint16", 5: "int32", 6: "uint32", 7: "single", 9: "double",
            12: "int64", 13: "uint64", 16: "utf8", 17: "utf16", 18: "utf32"}
CELL, STRUCT, OBJECT, CHAR, OPAQUE = 1, 2, 3, 4, 17
NUMERIC = frozenset(range(6, 16))       # mxDOUBLE_CLASS ... mxUINT64_CLASS (logical is uint8 with a flag)
COMPLEX_FLAG = 0x0800
#: deflate's most extreme expansion (runs of one byte): 258 bytes per 2 bits, about 1032 to 1.
DEFLATE_MAX_RATIO = 1032
#: Nesting deeper than this (structs in cells in structs ...) is refused rather than recursed into.
MAX_DEPTH = 64
_STEP = 1 << 16


class _Refusal(Exception):
    def __init__(self, field, expected, got):
        super().__init__(field, expected, got)
        self.field, self.expected, self.got = field, expected, got


class _Short(Exception):
    """The stream ended (or would run past its element) before the bytes asked for."""


def preflight(path) -> None:
    """Refuse ``path`` (a MATLAB v5 ``.mat``) with one-line :class:`InputError` if a declared size does not fit.

    >>> import tempfile, pathlib, struct, numpy as np, scipy.io
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.mat"
    >>> scipy.io.savemat(path, {"x": np.arange(12.0).reshape(3, 4)})
    >>> preflight(path)
    >>> data = bytearray(path.read_bytes())
    >>> at = data.index(struct.pack("<ii", 3, 4))                  # the dimensions of x
    >>> struct.pack_into("<ii", data, at, 100000, 100000)
    >>> _ = path.write_bytes(data)
    >>> preflight(path)
    Traceback (most recent call last):
    recon.datasets.errors.InputError: ...a.mat: x: expected 10000000000 values ... got 96 bytes of double data (12 values)
    """
    path = Path(path)
    problem = find_problem(path)
    if problem is not None:
        raise InputError(path, *problem)


def load_variable(path, name: str, **loadmat_options):
    """The variable ``name`` of the v5 file ``path``, read by ``scipy.io.loadmat`` after :func:`preflight`, with
    every scipy failure (``ValueError``, ``TypeError``, ``MatReadError``...) turned into one :class:`InputError`.

    >>> import tempfile, pathlib, numpy as np, scipy.io
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.mat"
    >>> scipy.io.savemat(path, {"x": np.arange(3.0)})
    >>> load_variable(path, "x").tolist(), load_variable(path, "x", squeeze_me=True).tolist()
    ([[0.0, 1.0, 2.0]], [0.0, 1.0, 2.0])
    """
    import scipy.io

    preflight(path)
    try:
        contents = scipy.io.loadmat(str(path), variable_names=[name], **loadmat_options)
    except Exception as error:  # scipy raises ValueError, TypeError, OSError, MatReadError... on bad files
        text = str(error).strip().splitlines()
        raise InputError(path, None, "a readable MATLAB v5 .mat file",
                         f"an unreadable one ({text[0] if text else type(error).__name__})")
    if name not in contents:
        raise InputError(path, name, "a MATLAB variable", "none")
    return contents[name]


def find_problem(path) -> tuple[str | None, str, str] | None:
    """The first problem in ``path``'s element tags as ``(field, expected, got)``, or ``None``."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES or header[126:128] not in (b"IM", b"MI"):
            return (None, "a MATLAB v5 .mat file with a 128-byte header ending in 'IM' or 'MI'",
                    f"a file of {size} bytes without one")
        order = "<" if header[126:128] == b"IM" else ">"
        try:
            _variables(handle, size, order)
        except _Refusal as refusal:
            return refusal.field, refusal.expected, refusal.got
    return None


def complex_variables(path) -> set[str]:
    """The names of ``path``'s top-level numeric variables stored as complex, read from their array flags alone
    (``scipy.io.whosmat`` does not say): a compressed variable has only its first bytes inflated. A file that is
    not v5, or breaks off, gives the names found before the break; :func:`preflight` is what refuses it.

    >>> import tempfile, pathlib, numpy as np, scipy.io
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.mat"
    >>> scipy.io.savemat(path, {"k": np.ones((3, 4), complex), "mask": np.ones((3, 4))}, do_compression=True)
    >>> complex_variables(path)
    {'k'}
    """
    path = Path(path)
    size, found = path.stat().st_size, set()
    with open(path, "rb") as handle:
        header = handle.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES or header[126:128] not in (b"IM", b"MI"):
            return found
        order = "<" if header[126:128] == b"IM" else ">"
        position = HEADER_BYTES
        try:
            while position + 8 <= size:
                handle.seek(position)
                kind, count = struct.unpack(order + "II", handle.read(8))
                if kind == MI_MATRIX:
                    stream, end = _Plain(handle, position + 8), count
                elif kind == MI_COMPRESSED:
                    stream = _Inflated(handle, position + 8, count)
                    inner_kind, inner = struct.unpack(order + "II", stream.read(8))
                    if inner_kind != MI_MATRIX:
                        break
                    end = stream.position + inner
                else:
                    break
                flags = _element(stream, end, order, "", "its array flags", keep=True)[1]
                word = struct.unpack(order + "I", flags[:4])[0]
                if word & 0xFF in NUMERIC and word & COMPLEX_FLAG:
                    _element(stream, end, order, "", "its dimensions")
                    found.add(_element(stream, end, order, "", "its name", keep=True)[1].decode("latin-1"))
                position += 8 + count
        except (_Refusal, _Short, struct.error, zlib.error):
            pass
    return found


def _variables(handle, size: int, order: str) -> None:
    position = HEADER_BYTES
    while position < size:
        where = f"the variable at byte {position}"
        if size - position < 8:
            raise _Refusal(where, "an 8-byte element tag", f"{size - position} bytes at the end of the file")
        handle.seek(position)
        kind, count = struct.unpack(order + "II", handle.read(8))
        if position + 8 + count > size:
            raise _Refusal(where, f"a MATLAB v5 .mat file holding the {count} bytes its tag declares from byte "
                           f"{position + 8}", f"a file of {size} bytes (truncated, or a declared size that does "
                           "not match)")
        if kind == MI_MATRIX:
            try:
                _matrix(_Plain(handle, position + 8), count, None, order, where, 0)
            except _Short:                  # the file shrank while it was walked
                raise _Refusal(where, f"the {count} bytes its tag declares", "a shorter file") from None
        elif kind == MI_COMPRESSED:
            _compressed(_Inflated(handle, position + 8, count), count, order, where)
        else:
            raise _Refusal(where, "a matrix or compressed element (miMATRIX 14 or miCOMPRESSED 15)", f"type {kind}")
        position += 8 + count


def _compressed(stream, count: int, order: str, where: str) -> None:
    try:
        kind, inner = struct.unpack(order + "II", stream.read(8))
        if kind != MI_MATRIX:
            raise _Refusal(where, "a compressed matrix (miMATRIX 14)", f"type {kind}")
        if inner > DEFLATE_MAX_RATIO * count:
            raise _Refusal(where, f"at most {DEFLATE_MAX_RATIO} times its {count} compressed bytes once inflated "
                           "(zlib's limit)", f"{inner} bytes declared")
        _matrix(stream, inner, None, order, where, 0)
    except _Short:
        raise _Refusal(where, f"the bytes its compressed element declares ({count} compressed)",
                       f"zlib data that ends after {stream.position} bytes (truncated or corrupt)") from None
    except zlib.error as error:
        raise _Refusal(where, "zlib-compressed data that inflates", f"corrupt zlib data ({error})") from None


def _matrix(stream, count: int, label, order: str, where: str, depth: int) -> None:
    """Check one ``miMATRIX`` whose ``count`` content bytes start at ``stream``'s position; leave it after them."""
    end = stream.position + count
    if count == 0:                          # an empty element: MATLAB's [] in a struct field or a cell
        return
    if depth > MAX_DEPTH:
        raise _Refusal(label or where, f"at most {MAX_DEPTH} levels of nested structs and cells", "deeper nesting")
    flags = _element(stream, end, order, label or where, "its array flags", keep=True)[1]
    if len(flags) < 4:
        raise _Refusal(label or where, "4 bytes of array flags", f"{len(flags)}")
    word = struct.unpack(order + "I", flags[:4])[0]
    kind, is_complex = word & 0xFF, bool(word & COMPLEX_FLAG)
    if kind == OPAQUE:                      # MATLAB objects (string, table, ...): no dimensions, no name
        stream.skip(end - stream.position)
        return
    dims = _element(stream, end, order, label or where, "its dimensions", keep=True)[1]
    shape = tuple(struct.unpack(f"{order}{len(dims) // 4}i", dims[:len(dims) // 4 * 4]))
    name = _element(stream, end, order, label or where, "its name", keep=True)[1].decode("latin-1")
    label = label or name or where
    too_large = size_problem(shape)
    if too_large is not None:
        raise _Refusal(label, *too_large)
    elements = math.prod(shape)
    if kind in NUMERIC:
        for part in ("real", "imaginary")[:1 + is_complex]:
            if elements == 0 and stream.position == end:
                break
            value_type, length = _element(stream, end, order, label, f"its {part} values")
            itemsize = MI_SIZES.get(value_type)
            if itemsize is None or length % itemsize or length // itemsize != elements:
                what = f"{MI_NAMES[value_type]} data ({length // itemsize} values)" if itemsize else \
                    f"data of unknown type {value_type}"
                raise _Refusal(label, f"{elements} values for its declared shape {shape}", f"{length} bytes of {what}")
    elif kind in (STRUCT, OBJECT, CELL):
        fields = [""]
        if kind == OBJECT:
            _element(stream, end, order, label, "its class name")
        if kind != CELL:
            width = _element(stream, end, order, label, "its field-name length", keep=True)[1]
            width = struct.unpack(order + "i", width[:4])[0] if len(width) >= 4 else 0
            names = _element(stream, end, order, label, "its field names", keep=True)[1]
            if width <= 0 or len(names) % width:
                raise _Refusal(label, "field names of one declared length", f"{len(names)} bytes of names of "
                               f"length {width}")
            fields = [names[i:i + width].split(b"\0")[0].decode("latin-1") for i in range(0, len(names), width)]
        children = elements * len(fields)
        if 8 * children > end - stream.position:
            raise _Refusal(label, f"{children} nested elements ({8 * children} bytes of tags at least) for its "
                           f"declared shape {shape}", f"{end - stream.position} bytes")
        for index in range(elements):
            for field in fields:
                child = (f"{label}{{{index}}}" if kind == CELL else
                         f"{label}.{field}" if elements == 1 else f"{label}({index}).{field}")
                value_type, length = _tag(stream, end, order, child)
                if value_type != MI_MATRIX:
                    raise _Refusal(child, "a nested matrix (miMATRIX 14)", f"type {value_type}")
                if stream.position + length > end:
                    raise _Refusal(child, f"its {length} bytes within its parent's {count}",
                                   "a declared size past the parent's end")
                _matrix(stream, length, child, order, where, depth + 1)
    stream.skip(end - stream.position)       # char, sparse, function handles, objects: fit only


def _tag(stream, end: int, order: str, field: str) -> tuple[int, int]:
    if end - stream.position < 8:
        raise _Refusal(field, "an 8-byte element tag", f"{end - stream.position} bytes left in its parent")
    kind, length = struct.unpack(order + "II", stream.read(8))
    return kind, length


def _element(stream, end: int, order: str, field: str, what: str, *, keep: bool = False) -> tuple[int, bytes]:
    """One sub-element: its type, and its data if ``keep`` (else skipped); the stream is left after its padding."""
    if end - stream.position < 8:
        raise _Refusal(field, f"{what} (an 8-byte tag)", f"{end - stream.position} bytes left in its element")
    raw = stream.read(8)
    first = struct.unpack(order + "I", raw[:4])[0]
    if first >> 16:                         # small element: type and length in one word, data in the next 4 bytes
        return first & 0xFFFF, raw[4:4 + (first >> 16)] if keep else first >> 16
    length = struct.unpack(order + "I", raw[4:])[0]
    if stream.position + length > end:
        raise _Refusal(field, f"{what} of {length} bytes within its element", f"{end - stream.position} bytes left")
    data = stream.read(length) if keep else stream.skip(length)
    stream.skip(min(-length % 8, end - stream.position))
    return first, (data if keep else length)


class _Plain:
    """A window of the file: reads and seeks."""

    def __init__(self, handle, start: int):
        self.handle, self.start, self.position = handle, start, 0

    def read(self, n: int) -> bytes:
        self.handle.seek(self.start + self.position)
        data = self.handle.read(n)
        if len(data) < n:
            raise _Short
        self.position += n
        return data

    def skip(self, n: int) -> int:
        self.position += n
        return n


class _Inflated:
    """A zlib stream of ``count`` bytes from ``start``, inflated in steps; skipped output is not kept."""

    def __init__(self, handle, start: int, count: int):
        self.handle, self.next, self.stop = handle, start, start + count
        self.inflater, self.pending, self.position = zlib.decompressobj(), b"", 0

    def _more(self, wanted: int) -> None:
        source = self.inflater.unconsumed_tail
        if not source and self.next < self.stop and not self.inflater.eof:
            self.handle.seek(self.next)
            source = self.handle.read(min(_STEP, self.stop - self.next))
            self.next += len(source)
        output = self.inflater.decompress(source, max(wanted, _STEP))   # b"" flushes output zlib still holds
        if not output and not source:
            raise _Short
        self.pending += output

    def read(self, n: int) -> bytes:
        while len(self.pending) < n:
            self._more(n - len(self.pending))
        data, self.pending = self.pending[:n], self.pending[n:]
        self.position += n
        return data

    def skip(self, n: int) -> int:
        left = n
        while left:
            if not self.pending:
                self._more(min(left, _STEP))
            taken = min(left, len(self.pending))
            self.pending, left = self.pending[taken:], left - taken
            self.position += taken
        return n
