r"""TIFF pages read one at a time, every page's declared layout checked before any pixel is read.

tifffile parses a TIFF's directories (IFDs: tags only) when the file is
opened; the pixels of a page are read when that page's ``asarray`` is called,
from the strips or tiles its ``StripOffsets``/``TileOffsets`` and
``…ByteCounts`` tags point to. A hostile or damaged directory can declare a
page of :math:`10^{12}` pixels in 40 bytes, or a strip past the end of the
file; tifffile would allocate the whole page first, then fail. So
:func:`check_pages` looks at every page's tags before anything is read, and
refuses, with one line naming the file, the page and the tag:

* a dimension above :data:`~recon.datasets.hdf5_preflight.MAX_DIMENSION` or more than
  :data:`~recon.datasets.hdf5_preflight.MAX_ELEMENTS` elements (the limits of the HDF5 preflight);
* a strip or tile whose offset plus byte count lies past the end of the file;
* an uncompressed page whose strips hold fewer bytes than its shape needs (width x length x
  samples x bits per sample / 8);
* a compressed page declaring more than its codec can expand its stored bytes to
  (:data:`MAX_EXPANSION`: deflate 1032 to 1, LZW 3641, PackBits 64; any other codec 2^20).

The reader (:mod:`recon.datasets.tiff_sinogram`) then reads its one page's
pixels and no other's.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.hdf5_preflight import size_problem

UNCOMPRESSED = 1
#: The most a codec can expand its stored bytes: deflate 258 bytes per 2 bits (1032), LZW at most 4096 bytes
#: per code of at least 9 bits (3641), PackBits 128 bytes per 2 (64).
MAX_EXPANSION = {8: 1032, 32946: 1032, 5: 3641, 32773: 64}
#: For other codecs (zstd, LZMA, JPEG, CCITT, ...): a bound no real image approaches, that still keeps a
#: 40-byte page from asking for terabytes.
OTHER_MAX_EXPANSION = 2**20


def check_pages(tif, path) -> int:
    """Check every page of the open ``tifffile.TiffFile`` ``tif`` (of ``path``); return the number of pages.

    >>> import tempfile, pathlib, numpy as np, tifffile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "stack.tif"
    >>> tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint16), photometric="minisblack")
    >>> with tifffile.TiffFile(path) as tif:
    ...     check_pages(tif, path)
    3
    """
    size = Path(path).stat().st_size
    count = 0
    for number, page in enumerate(tif.pages):
        check_page(page, number, path, size)
        count += 1
    return count


def check_page(page, number: int, path, size: int) -> None:
    """Refuse page ``number`` of ``path`` (a file of ``size`` bytes) if its tags declare what cannot be read.

    >>> import tempfile, pathlib, struct, numpy as np, tifffile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "page.tif"
    >>> tifffile.imwrite(path, np.zeros((4, 5), np.uint16))
    >>> with tifffile.TiffFile(path) as tif:
    ...     offset = tif.pages[0].tags["ImageLength"].valueoffset
    >>> data = bytearray(path.read_bytes())
    >>> struct.pack_into("<I", data, offset, 10**6)               # ImageLength: a million rows in 40 bytes
    >>> _ = path.write_bytes(data)
    >>> with tifffile.TiffFile(path) as tif:
    ...     check_page(tif.pages[0], 0, path, len(data))
    Traceback (most recent call last):
    recon.datasets.errors.InputError: ...page.tif: page 0 ImageWidth/ImageLength: expected 10000000 bytes ... got 40 bytes...
    """
    layout = getattr(page, "keyframe", None) or page      # a TiffFrame keeps its tags on its key page
    shape = tuple(int(n) for n in page.shape)
    field = f"page {number} ImageWidth/ImageLength"
    too_large = size_problem(shape)
    if too_large is not None:
        raise InputError(path, field, *too_large)
    elements = math.prod(shape)
    offsets = np.asarray(page.dataoffsets, dtype=np.uint64).reshape(-1)
    counts = np.asarray(page.databytecounts, dtype=np.uint64).reshape(-1)
    offsets, counts = offsets[:counts.size], counts[:offsets.size]
    ends = offsets + counts
    chunk = "tile" if layout.is_tiled else "strip"
    beyond = np.nonzero((ends > size) | (ends < offsets))[0]      # past the end, or so far that it wraps
    if beyond.size:
        first = int(beyond[0])
        raise InputError(path, f"page {number} {chunk.title()}Offsets/{chunk.title()}ByteCounts",
                         f"{chunk} {first} ({int(counts[first])} bytes from byte {int(offsets[first])}) within the "
                         "file", f"a file of {size} bytes (truncated, or an offset that does not match)")
    stored = int(counts.astype(object).sum()) if counts.size else 0
    declared = elements * int(layout.bitspersample) // 8
    compression = int(page.compression)
    if compression == UNCOMPRESSED and stored < declared:
        raise InputError(path, field, f"{declared} bytes of uncompressed {_pixels(page)} pixels for its shape "
                         f"{shape}", f"{stored} bytes in its {chunk}s")
    limit = MAX_EXPANSION.get(compression, OTHER_MAX_EXPANSION)
    if compression != UNCOMPRESSED and declared > limit * stored:
        raise InputError(path, field, f"at most {limit} times its {stored} compressed bytes once decompressed "
                         f"(Compression {compression}'s limit)", f"{declared} bytes declared for its shape {shape}")


def _pixels(page) -> str:
    layout = getattr(page, "keyframe", None) or page
    return str(page.dtype) if page.dtype is not None else f"{layout.bitspersample}-bit"
