"""The TIFF sinogram reader on the real 360° neutron sinogram and on small synthetic TIFFs.

``ct/sino360_neutron.tif`` (see ../shared/testdata/SOURCES.md): 459 views x 503
detector pixels of uint16 intensities over 0-360° inclusive, with two dead
columns in some views. tests/test_tooth.py turns it into line integrals by
hand and measured its rotation centre at -6.08 pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import require_file
from recon.datasets import tiff_sinogram
from recon.datasets.ct_raw import estimate_rotation_centre, negative_log
from recon.datasets.errors import InputError
from recon.datasets.formats import detect_format, read_measurement
from recon.datasets.read_options import ReadOptions

tifffile = pytest.importorskip("tifffile")

FULL_TURN = ReadOptions(angles_deg=(0.0, 360.0), angles_endpoint=True)


@pytest.fixture(scope="module")
def neutron_path(testdata_dir):
    return require_file(testdata_dir, "ct/sino360_neutron.tif")


def _by_hand(path):
    """The neutron fixture of tests/test_tooth.py: dead pixels interpolated, 95th-percentile open beam, -log."""
    counts = tifffile.imread(path).astype(np.float64)
    columns = np.arange(counts.shape[1])
    for view in np.nonzero((counts <= 0).any(axis=1))[0]:
        dead = counts[view] <= 0
        counts[view, dead] = np.interp(columns[dead], columns[~dead], counts[view, ~dead])
    transmission = counts / np.percentile(counts, 95, axis=1, keepdims=True)
    return negative_log(transmission), np.linspace(0.0, 2 * np.pi, counts.shape[0])


def test_neutron_sinogram_reads_as_the_hand_made_line_integrals(neutron_path):
    assert detect_format(neutron_path) is tiff_sinogram
    m = read_measurement(neutron_path, FULL_TURN)
    assert m.format == "tiff-sinogram" and tuple(m.data.shape) == (1, 1, 459, 503)
    sinogram, angles = _by_hand(neutron_path)
    assert torch.equal(m.data[0, 0], sinogram.float())  # measured: bit for bit
    np.testing.assert_allclose(m.geometry.angles, angles, rtol=0, atol=1e-12)
    assert m.geometry.n_detectors == 503 and m.geometry.image_shape == (503, 503)
    assert m.metadata["stored_as"] == "intensity" and m.metadata["stored_dtype"] == "uint16"
    # test_tooth.py measured -6.08 on the float64 sinogram; on the float32 data the estimate moves by 4e-9.
    assert -8.0 < m.geometry.centre_offset < -4.0
    assert abs(m.geometry.centre_offset - estimate_rotation_centre(sinogram, angles)) < 1e-4
    assert abs(m.geometry.centre_offset - (-6.08)) < 0.01  # measured -6.0760


def test_neutron_options_for_values_index_and_centre(neutron_path):
    raw = read_measurement(neutron_path, ReadOptions(angles_deg=(0, 360), angles_endpoint=True,
                                                     intensities="line-integral", centre_offset=-6.0))
    assert torch.equal(raw.data[0, 0], torch.as_tensor(tifffile.imread(neutron_path).astype(np.float32)))
    assert raw.geometry.centre_offset == -6.0 and raw.metadata["stored_as"] == "line-integral"
    one = read_measurement(neutron_path, ReadOptions(angles_deg=(0, 360), angles_endpoint=True, index=0))
    assert one.n_slices == 1
    with pytest.raises(InputError) as caught:
        read_measurement(neutron_path, ReadOptions(angles_deg=(0, 360), index=1))
    assert caught.value.field == "input.index"


def test_without_angles_the_error_says_how_to_give_them(neutron_path):
    with pytest.raises(InputError) as caught:
        read_measurement(neutron_path)
    error = caught.value
    assert error.field == "input.angles_deg" and error.got == "none"
    assert str(neutron_path) in str(error) and "--set input.angles_deg=[0,360]" in str(error)


# --- synthetic files -------------------------------------------------------------------------------------

def test_float_tiff_is_line_integrals_and_angles_follow_the_endpoint_option(tmp_path):
    from recon.operators import ParallelBeamCT

    angles = np.deg2rad(np.arange(90) * 2.0)  # [0°, 180°)
    x = torch.zeros(1, 1, 32, 32)
    x[..., 8:20, 12:26] = 0.05
    sinogram = ParallelBeamCT(angles, 48, image_shape=(32, 32), centre_offset=2.5)(x)[0, 0].numpy()
    path = tmp_path / "sino.data"  # the suffix is not how the format is found
    tifffile.imwrite(path, sinogram.astype(np.float32))
    assert detect_format(path) is tiff_sinogram
    m = read_measurement(path, ReadOptions(angles_deg=(0, 180), angles_endpoint=False))
    assert torch.equal(m.data[0, 0], torch.as_tensor(sinogram))
    np.testing.assert_allclose(m.geometry.angles, angles, atol=1e-12)
    assert abs(m.geometry.centre_offset - 2.5) < 0.05  # measured 2.500
    closed = read_measurement(path, ReadOptions(angles_deg=(0, 178), angles_endpoint=True, centre_offset=0.0))
    np.testing.assert_allclose(closed.geometry.angles, angles, atol=1e-12)


def test_integer_counts_with_a_dead_pixel_become_line_integrals(tmp_path):
    transmission = np.exp(-np.linspace(0.0, 1.0, 20))[None].repeat(6, axis=0)
    counts = np.round(4000 * np.concatenate([np.ones((6, 4)), transmission, np.ones((6, 4))], axis=1))
    counts[2, 10] = 0  # dead
    path = tmp_path / "counts.tif"
    tifffile.imwrite(path, counts.astype(np.uint16))
    m = read_measurement(path, ReadOptions(angles_deg=(0, 180), centre_offset=0.0))
    repaired = counts.copy()
    repaired[2, 10] = (counts[2, 9] + counts[2, 11]) / 2
    expected = -np.log(repaired / 4000)  # the 95th percentile of each view is the open beam, 4000
    np.testing.assert_allclose(m.data[0, 0].numpy(), expected, atol=1e-6)


def _error(path, options) -> InputError:
    with pytest.raises(InputError) as caught:
        read_measurement(path, options)
    assert str(path) in str(caught.value)
    return caught.value


def test_a_stack_of_pages_is_refused(tmp_path):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.ones((3, 10, 12), np.float32), photometric="minisblack")
    error = _error(path, FULL_TURN)
    assert error.field == "image" and "one 2D sinogram" in error.expected
    assert error.got == "3 page(s) of shape (3, 10, 12)"
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.ones((10, 12, 3), np.uint8), photometric="rgb")
    assert _error(rgb, FULL_TURN).got == "1 page(s) of shape (10, 12, 3)"


def test_nan_bad_option_values_and_an_unestimable_centre_are_clear_errors(tmp_path):
    path = tmp_path / "nan.tif"
    values = np.ones((8, 10), np.float32)
    values[3, 4] = np.nan
    tifffile.imwrite(path, values)
    assert _error(path, FULL_TURN).got == "1 NaN or inf"
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, np.ones((8, 10), np.float32))
    assert _error(good, ReadOptions(angles_deg=(0, 360), intensities="counts")).field == "input.intensities"
    assert _error(good, ReadOptions(angles_deg=(5, 5))).field == "input.angles_deg"
    error = _error(good, ReadOptions(angles_deg=(0, 90)))  # 90°: neither a half nor a full turn
    assert error.field == "input.centre_offset" and "cannot be estimated" in error.expected


def test_non_tiff_files_are_not_sniffed(tmp_path):
    import h5py

    text = tmp_path / "looks_like.tif"
    text.write_text("II but not a TIFF")
    png = tmp_path / "image.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    h5 = tmp_path / "scan.h5"
    with h5py.File(h5, "w") as f:
        f["x"] = np.zeros(3)
    for path in (text, png, h5, tmp_path / "missing.tif", tmp_path):
        assert tiff_sinogram.sniff(path, None) is False
    with h5py.File(h5, "r") as f:
        assert tiff_sinogram.sniff(h5, f) is False
    with pytest.raises(InputError, match="expected a supported file"):
        read_measurement(text, FULL_TURN)
    big = tmp_path / "big.tif"
    tifffile.imwrite(big, np.ones((4, 5), np.float32), bigtiff=True)
    assert tiff_sinogram.sniff(big, None) is True
