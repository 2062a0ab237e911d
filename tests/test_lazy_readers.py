"""The non-HDF5 readers read lazily and refuse hostile sizes before allocating: BART's mapped .cfl, TIFF pages
one by one behind a check of every page's tags, MATLAB v5 element tags walked before scipy.io loads anything.

Measured on the 2-core test machine: one slice of a 200-slice, 52.4 MB .cfl raised a fresh process's peak RSS
by 2.1 MB (the whole-file read: 104.8 MB; before the .cfl was mapped, one slice cost 52.3 MB, the file).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zlib

import numpy as np
import pytest
import scipy.io

from recon.datasets import bart_cfl
from recon.datasets.bart_cfl import map_cfl, read_cfl, write_cfl
from recon.datasets.errors import InputError
from recon.datasets.formats import read_measurement
from recon.datasets.read_options import ReadOptions

tifffile = pytest.importorskip("tifffile")

FULL_TURN = ReadOptions(angles_deg=(0.0, 360.0), angles_endpoint=True)


def _refusal(path, options=None, **kwargs) -> str:
    """The one-line message of reading ``path``; it names the file."""
    with pytest.raises(InputError) as caught:
        read_measurement(path, options, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message
    return message


# --- BART .cfl: mapped, one slice copied -------------------------------------------------------------------

def _kspace(dims, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(dims) + 1j * rng.standard_normal(dims)).astype(np.complex64)


@pytest.mark.parametrize("dims", [(6, 5, 1, 3) + (1,) * 9 + (4,),     # 2D slices along SLICE
                                  (6, 5, 7, 3)])                       # a 3D k-space: slices along PHS2
def test_an_indexed_cfl_read_is_exactly_the_eager_reads_slice(tmp_path, dims):
    stem = write_cfl(tmp_path / "k", _kspace(dims))
    whole = read_measurement(stem, format="bart-cfl").data
    for index in (0, whole.shape[0] - 1):
        one = read_measurement(stem, ReadOptions(index=index), format="bart-cfl")
        assert one.data.shape == (1, *whole.shape[1:]) and one.metadata["slice"] == index
        assert bool((one.data[0] == whole[index]).all())        # bit for bit
    mapped = map_cfl(stem)
    assert isinstance(mapped.base, np.memmap) and not mapped.flags.writeable
    np.testing.assert_array_equal(read_cfl(stem), mapped)
    assert read_cfl(stem).flags.writeable                       # the eager read is an ordinary array


CHILD = textwrap.dedent("""
    import sys
    from recon.datasets.formats import read_measurement
    from recon.datasets.read_options import ReadOptions

    def status(key):
        with open("/proc/self/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith(key + ":"))

    def peak_rise(read):
        with open("/proc/self/clear_refs", "w") as handle:     # 5: reset VmHWM to the current RSS
            handle.write("5")
        before = status("VmRSS")
        kept = read()
        return (status("VmHWM") - before) * 1024

    stem = sys.argv[1]
    read_measurement(stem, ReadOptions(index=0), format="bart-cfl")     # imports and first-use allocations
    one = peak_rise(lambda: read_measurement(stem, ReadOptions(index=100), format="bart-cfl"))
    whole = peak_rise(lambda: read_measurement(stem, format="bart-cfl"))
    print(one, whole)
""")


def test_one_slice_of_a_large_cfl_costs_about_the_slice_not_the_file(tmp_path):
    """200 slices of 64 x 64 x 8 coils (52.4 MB): measured 2.1 MB of peak RSS for one slice, 104.8 MB whole."""
    dims = (64, 64, 1, 8) + (1,) * 9 + (200,)
    kspace = np.empty(dims, np.complex64)
    kspace.real = np.arange(64 * 64, dtype=np.float32).reshape(64, 64, *(1,) * 12)
    kspace.imag = (np.arange(8)[:, None] + 8 * np.arange(200)[None]).reshape(1, 1, 1, 8, *(1,) * 9, 200)
    stem = write_cfl(tmp_path / "big", kspace)
    size = (tmp_path / "big.cfl").stat().st_size
    assert size == 200 * 64 * 64 * 8 * 8 == 52_428_800
    one = read_measurement(stem, ReadOptions(index=100), format="bart-cfl").data
    assert one.shape == (1, 8, 64, 64) and float(one[0, 3, 2, 1].imag) == 3 + 8 * 100
    assert float(one[0, 3, 2, 1].real) == 2 * 64 + 1      # BART's column-major (x, y): value x + 64 y
    del kspace, one
    try:
        open("/proc/self/clear_refs", "w").close()
    except OSError:
        pytest.skip("no /proc/self/clear_refs to reset a process's peak RSS (not Linux)")
    result = subprocess.run([sys.executable, "-c", CHILD, str(stem)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    one_slice, whole = (int(v) for v in result.stdout.split())
    assert whole > size                    # the measurement sees a whole read (measured 104.8 MB)
    assert one_slice < size / 10           # measured 2.1 MB for a 0.26 MB slice (before mapping: 52.3 MB)


def test_absurd_bart_dimensions_are_refused_from_the_header(tmp_path):
    stem = write_cfl(tmp_path / "k", np.ones((2, 2), np.complex64))
    header = tmp_path / "k.hdr"
    header.write_text("# Dimensions\n4294967296 1\n")
    assert _refusal(stem, format="bart-cfl") == (f"{header}: # Dimensions: expected dimensions of at most "
                                                 f"2147483648, got dims [4294967296, 1]")
    header.write_text("# Dimensions\n65536 65536 65536 2\n")
    assert _refusal(stem, format="bart-cfl") == (f"{header}: # Dimensions: expected at most 4398046511104 "
                                                 f"elements, got dims [65536, 65536, 65536, 2] (5.63e+14 elements)")


def test_a_memory_error_inside_a_reader_is_one_line(tmp_path, monkeypatch):
    stem = write_cfl(tmp_path / "k", np.ones((4, 4, 1, 2), np.complex64))

    def too_big(path, options):
        raise MemoryError("Unable to allocate 1.82 TiB for an array with shape (1000000000000,) and data type uint16")

    monkeypatch.setattr(bart_cfl, "_kspace", too_big)
    message = _refusal(stem, format="bart-cfl")
    assert message == (f"{stem}: expected data that fits in memory (bart-cfl data), got more than memory holds "
                       f"(MemoryError: Unable to allocate 1.82 TiB for an array with shape (1000000000000,) and "
                       f"data type uint16)")


# --- TIFF: pages one by one, every page's tags checked first -----------------------------------------------

def _tiff(path, values, **kwargs):
    tifffile.imwrite(path, values, **kwargs)
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        return {name: tags[name].valueoffset for name in ("ImageWidth", "ImageLength", "RowsPerStrip",
                                                           "StripOffsets")}


def _patch(path, edits):
    data = bytearray(path.read_bytes())
    for offset, value in edits:
        struct.pack_into("<I", data, offset, value)
    path.write_bytes(data)
    return len(data)


def test_a_strip_past_the_end_of_the_file_is_refused(tmp_path):
    path = tmp_path / "past.tif"
    at = _tiff(path, np.ones((4, 5), np.uint16))
    size = _patch(path, [(at["StripOffsets"], 10**6)])
    assert _refusal(path, FULL_TURN) == (f"{path}: page 0 StripOffsets/StripByteCounts: expected strip 0 (40 bytes "
                                         f"from byte 1000000) within the file, got a file of {size} bytes "
                                         "(truncated, or an offset that does not match)")


def test_a_page_of_ten_to_the_twelve_pixels_is_refused_before_any_allocation(tmp_path):
    path = tmp_path / "huge.tif"
    at = _tiff(path, np.ones((4, 5), np.uint16))
    _patch(path, [(at["ImageWidth"], 10**6), (at["ImageLength"], 10**6), (at["RowsPerStrip"], 10**6)])
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].shape == (10**6, 10**6)        # what tifffile would allocate: 2 TB
    message = _refusal(path, FULL_TURN)                     # once untraced: the imports' allocations are not its
    assert message == (f"{path}: page 0 ImageWidth/ImageLength: expected 2000000000000 bytes of uncompressed uint16 "
                       f"pixels for its shape (1000000, 1000000), got 40 bytes in its strips")
    tracemalloc.start()                                    # numpy's arrays are traced too
    try:
        assert _refusal(path, FULL_TURN) == message
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20                                    # measured 13.7 kB of Python and numpy allocations
    # compressed, the page may not declare more than its codec can inflate: deflate 1032 to 1
    deflated = tmp_path / "deflated.tif"
    at = _tiff(deflated, np.ones((64, 64), np.uint16), compression="zlib")
    _patch(deflated, [(at["ImageWidth"], 10**6), (at["ImageLength"], 10**6), (at["RowsPerStrip"], 10**6)])
    with tifffile.TiffFile(deflated) as tif:
        stored = int(sum(tif.pages[0].databytecounts))
    assert _refusal(deflated, FULL_TURN) == (f"{deflated}: page 0 ImageWidth/ImageLength: expected at most 1032 "
                                             f"times its {stored} compressed bytes once decompressed (Compression 8's "
                                             f"limit), got 2000000000000 bytes declared for its shape (1000000, "
                                             f"1000000)")


def test_every_page_is_checked_not_only_the_first(tmp_path):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.ones((3, 4, 5), np.uint16), photometric="minisblack")
    with tifffile.TiffFile(path) as tif:
        last = tif.pages[2].tags["StripOffsets"].valueoffset
    size = _patch(path, [(last, 10**7)])
    assert _refusal(path, FULL_TURN) == (f"{path}: page 2 StripOffsets/StripByteCounts: expected strip 0 (40 bytes "
                                         f"from byte 10000000) within the file, got a file of {size} bytes "
                                         "(truncated, or an offset that does not match)")


# --- MATLAB v5: element tags walked before scipy.io -----------------------------------------------------------

PARAMETERS = dict(angles=np.arange(0.0, 360.0, 10.0), distanceSourceOrigin=410.66, distanceSourceDetector=553.74,
                  effectivePixelSizePost=0.14832, numDetectorsPost=56.0, geometricMagnification=1.3484)


def _htc(path, compressed=False):
    scipy.io.savemat(path, {"CtDataFull": {"sinogram": np.ones((36, 56)), "parameters": PARAMETERS}},
                     do_compression=compressed)
    return bytearray(path.read_bytes())


def test_a_mat_array_declaring_more_than_its_bytes_is_refused(tmp_path):
    path = tmp_path / "scan.mat"
    data = _htc(path)
    assert read_measurement(path).data.shape == (1, 1, 36, 56)
    at = data.index(struct.pack("<ii", 36, 56))                 # the sinogram's dimensions
    struct.pack_into("<ii", data, at, 36000, 56000)
    path.write_bytes(data)
    assert _refusal(path) == (f"{path}: CtDataFull.sinogram: expected 2016000000 values for its declared shape "
                              f"(36000, 56000), got 16128 bytes of double data (2016 values)")
    struct.pack_into("<ii", data, at, 2**31 - 1, 2**31 - 1)
    path.write_bytes(data)
    assert _refusal(path) == (f"{path}: CtDataFull.sinogram: expected at most 4398046511104 elements, got shape "
                              f"(2147483647, 2147483647) (4.61e+18 elements)")


def test_a_truncated_mat_and_a_compressed_bomb_are_refused(tmp_path):
    path = tmp_path / "cut.mat"
    whole = _htc(path)
    path.write_bytes(whole[:len(whole) // 2])
    count = struct.unpack("<I", whole[132:136])[0]
    assert _refusal(path) == (f"{path}: the variable at byte 128: expected a MATLAB v5 .mat file holding the "
                              f"{count} bytes its tag declares from byte 136, got a file of {len(whole) // 2} bytes "
                              "(truncated, or a declared size that does not match)")
    bomb = tmp_path / "bomb.mat"
    data = _htc(bomb, compressed=True)
    inflated = bytearray(zlib.decompress(bytes(data[136:])))
    struct.pack_into("<I", inflated, 4, 2**32 - 8)             # the inner matrix now claims 4 GB
    squeezed = zlib.compress(bytes(inflated))
    bomb.write_bytes(bytes(data[:128]) + struct.pack("<II", 15, len(squeezed)) + squeezed)
    assert _refusal(bomb) == (f"{bomb}: the variable at byte 128: expected at most 1032 times its {len(squeezed)} "
                              f"compressed bytes once inflated (zlib's limit), got {2**32 - 8} bytes declared")
