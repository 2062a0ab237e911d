"""The fastMRI HDF5 reader and writers: round trips, the layout's details, the real 8-coil brain, bad files.

The real file (../shared/testdata/mri/brain_alias_8ch.mat, see SOURCES.md) is
converted to fastMRI's layout with :func:`write_fastmri` and read back through
``read_measurement`` and ``recon info``.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
import torch
from conftest import require_file

from recon.cli import main
from recon.datasets import fastmri
from recon.datasets.errors import InputError
from recon.datasets.fastmri import (
    read_fastmri_reference,
    write_fastmri,
    write_fastmri_reconstruction,
)
from recon.datasets.formats import detect_format, read_measurement
from recon.datasets.read_options import ReadOptions
from recon.experiments.inspect_file import fitting_experiments

HEADER = ("<?xml version='1.0' encoding='utf-8'?><ismrmrdHeader xmlns='http://www.ismrm.org/ISMRMRD'><encoding>"
          "<encodedSpace><matrixSize><x>8</x><y>6</y><z>1</z></matrixSize></encodedSpace>"
          "<reconSpace><matrixSize><x>4</x><y>4</y><z>1</z></matrixSize></reconSpace>"
          "<trajectory>cartesian</trajectory><encodingLimits><kspace_encoding_step_1><minimum>0</minimum>"
          "<maximum>5</maximum><center>3</center></kspace_encoding_step_1></encodingLimits></encoding>"
          "</ismrmrdHeader>")
BRAIN = "mri/brain_alias_8ch.mat"
FILLED = slice(44, 212)  # the 168 measured phase-encode columns of the brain (SOURCES.md)


def _kspace(shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def _centred_ifft2(kspace: np.ndarray) -> np.ndarray:
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def test_multicoil_round_trip_keeps_arrays_mask_reference_header_and_attrs(tmp_path):
    kspace = _kspace((3, 4, 8, 6))
    mask = np.array([1, 0, 1, 1, 0, 1])
    rss = np.abs(_kspace((3, 8, 6), seed=1))
    path = write_fastmri(tmp_path / "file_brain.h5", kspace * mask, mask=mask, reconstruction_rss=rss,
                         ismrmrd_header=HEADER, attrs={"acquisition": "AXT2", "patient_id": "abc"})
    with h5py.File(path) as f:  # exactly fastMRI's names and dtypes
        assert sorted(f) == ["ismrmrd_header", "kspace", "mask", "reconstruction_rss"]
        assert (f["kspace"].dtype, f["mask"].dtype, f["reconstruction_rss"].dtype) == (np.complex64, bool, np.float32)
        assert f.attrs["max"] == pytest.approx(rss.max()) and f.attrs["norm"] == pytest.approx(np.linalg.norm(rss))
    assert detect_format(path) is fastmri
    m = read_measurement(path)
    assert (m.modality, m.format, m.data.dtype, tuple(m.data.shape)) == ("mri", "fastmri", torch.complex64,
                                                                         (3, 4, 8, 6))
    np.testing.assert_array_equal(m.data.numpy(), kspace * mask)
    assert m.geometry.mask.shape == (8, 6) and m.geometry.mask[5].tolist() == [1, 0, 1, 1, 0, 1]
    assert m.geometry.acceleration == pytest.approx(1.5)  # 6 columns, 4 measured
    assert m.metadata["mask_source"] == "the file's mask dataset"
    assert m.reference_name == "fastMRI reconstruction_rss" and tuple(m.reference.shape) == (3, 1, 8, 6)
    np.testing.assert_array_equal(m.reference[:, 0].numpy(), rss.astype(np.float32))
    assert m.metadata["encoded_matrix"] == (8, 6, 1) and m.metadata["recon_matrix"] == (4, 4, 1)
    assert m.metadata["step1_limits"] == (0, 5, 3)
    assert (m.metadata["acquisition"], m.metadata["patient_id"]) == ("AXT2", "abc")
    assert m.metadata["max"] == pytest.approx(rss.max())


def test_mask_dataset_is_honoured_over_the_zero_pattern(tmp_path):
    kspace = _kspace((1, 2, 4, 6))  # no zeros at all: the zero pattern would say fully sampled
    with_mask = write_fastmri(tmp_path / "masked.h5", kspace, mask=[0, 0, 1, 1, 0, 0])
    assert read_measurement(with_mask).geometry.acceleration == pytest.approx(3.0)
    assert read_measurement(write_fastmri(tmp_path / "unmasked.h5", kspace)).geometry.acceleration == 1.0


def test_mask_from_the_zero_pattern_per_point_and_per_slice(tmp_path):
    kspace = _kspace((2, 3, 4, 6))
    kspace[:, :, :, ::3] = 0          # columns 0 and 3 unmeasured in both slices
    kspace[1, :, 2, 1] = 0            # one more sample of slice 1 missing in every coil
    kspace[0, 0, 1, 1] = 0            # a zero in one coil only is still measured
    m = read_measurement(write_fastmri(tmp_path / "k.h5", kspace))
    assert m.metadata["mask_source"] == "the zero pattern of k-space"
    assert m.geometry.mask.shape == (2, 4, 6)  # the slices differ, so the mask is per slice
    assert m.geometry.mask[0].sum() == 16 and m.geometry.mask[1].sum() == 15
    assert m.geometry.mask[0, 1].tolist() == [0, 1, 1, 0, 1, 1]


def test_single_coil_is_one_coil_and_index_reads_one_slice(tmp_path):
    kspace = _kspace((3, 8, 6))
    esc = np.abs(_kspace((3, 8, 6), seed=2))
    path = write_fastmri(tmp_path / "file_knee_singlecoil.h5", kspace, reconstruction_rss=2 * esc)
    with h5py.File(path, "a") as f:
        f["reconstruction_esc"] = esc.astype(np.float32)   # single-coil files' own target, preferred
    m = read_measurement(path)
    assert tuple(m.data.shape) == (3, 1, 8, 6) and m.metadata["coils"] == "single-coil (stored as one coil)"
    np.testing.assert_array_equal(m.data[:, 0].numpy(), kspace)
    assert m.reference_name == "fastMRI reconstruction_esc"
    one = read_measurement(path, ReadOptions(index=2))
    assert tuple(one.data.shape) == (1, 1, 8, 6) and one.metadata["slice"] == 2
    np.testing.assert_array_equal(one.data[0, 0].numpy(), kspace[2])
    np.testing.assert_array_equal(one.reference[0, 0].numpy(), esc[2].astype(np.float32))
    with pytest.raises(InputError, match=r"input.index: expected a slice in 0..2, got 3"):
        read_measurement(path, ReadOptions(index=3))


def test_reference_off_the_image_grid_is_kept_aside_with_its_shape(tmp_path, capsys):
    # fastMRI's usual case: 640 x 368 k-space, a 320 x 320 target (here 8 x 6 and 4 x 4).
    rss = np.abs(_kspace((2, 4, 4)))
    path = write_fastmri(tmp_path / "f.h5", _kspace((2, 3, 8, 6)), reconstruction_rss=rss)
    m = read_measurement(path)
    assert m.reference is None and m.reference_name == ""
    assert m.metadata["reconstruction_rss_shape"] == (2, 4, 4)
    assert "centre-cropped" in m.metadata["reference_note"]
    np.testing.assert_array_equal(read_fastmri_reference(path)[:, 0].numpy(), rss.astype(np.float32))
    assert tuple(read_fastmri_reference(path, index=1).shape) == (1, 1, 4, 4)
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "reference: none" in text and "note: reconstruction_rss is 4 x 4, not the 8 x 6 image grid" in text


def test_sniff_leaves_other_layouts_alone(tmp_path):
    lodopab = tmp_path / "observation_test_000.hdf5"
    with h5py.File(lodopab, "w") as f:
        f["data"] = np.zeros((1, 1000, 513), np.float32)
    recon_layout = tmp_path / "recon.h5"
    with h5py.File(recon_layout, "w") as f:
        f.attrs["recon_format"] = "measurement"
        f["kspace"] = np.zeros((1, 4, 4), np.complex64)
    with h5py.File(lodopab) as h5:
        assert not fastmri.sniff(lodopab, h5)
    with h5py.File(recon_layout) as h5:
        assert not fastmri.sniff(recon_layout, h5)
    assert detect_format(lodopab).FORMAT == "lodopab"


def test_reconstruction_output_is_float32_magnitude(tmp_path):
    image = torch.polar(torch.rand(2, 1, 5, 4) + 0.5, torch.rand(2, 1, 5, 4) * 6)
    path = write_fastmri_reconstruction(tmp_path / "out" / "file_brain.h5", image)
    with h5py.File(path) as f:
        assert sorted(f) == ["reconstruction"] and f["reconstruction"].dtype == np.float32
        np.testing.assert_allclose(f["reconstruction"][()], image.abs()[:, 0].numpy(), rtol=1e-6)
    with pytest.raises(FileExistsError):
        write_fastmri_reconstruction(path, image)
    with pytest.raises(ValueError, match=r"write_fastmri_reconstruction: reconstruction must be \(slices, h, w\)"):
        write_fastmri_reconstruction(tmp_path / "bad.h5", torch.ones(5, 4))


@pytest.mark.parametrize("kspace, message", [
    (np.ones((1, 2, 4, 4), np.float32), r"kspace: expected complex k-space \(complex64\), got dtype float32"),
    (np.ones((4, 4), np.complex64), r"kspace: expected \(slices, coils, H, W\) or \(slices, H, W\), got shape \(4, 4\)"),
    (np.ones((1, 1, 2, 4, 4), np.complex64), r"kspace: expected .*, got shape \(1, 1, 2, 4, 4\)"),
    (np.full((1, 2, 4, 4), np.nan, np.complex64), r"kspace: expected finite values, got 32 NaN or inf"),
])
def test_bad_kspace_is_an_input_error_naming_kspace(tmp_path, kspace, message):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["kspace"] = kspace
    with pytest.raises(InputError, match=message):
        read_measurement(path)


def test_bad_mask_and_reference_are_input_errors(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["kspace"] = _kspace((2, 4, 6))
        f["mask"] = np.array([0, 1, 2, 1, 0, 1])
    with pytest.raises(InputError, match=r"mask: expected values 0 and 1, got 1 others"):
        read_measurement(path)
    with h5py.File(path, "a") as f:
        del f["mask"]
        f["mask"] = np.ones(5, bool)
        f["reconstruction_rss"] = np.ones((3, 4, 6), np.float32)
    with pytest.raises(InputError, match=r"mask: expected a 0/1 \(W,\) = \(6,\) array, got bool of shape \(5,\)"):
        read_measurement(path)
    with h5py.File(path, "a") as f:
        del f["mask"]
    with pytest.raises(InputError, match=r"reconstruction_rss: expected \(2, h, w\): one image per k-space slice"):
        read_measurement(path)
    with pytest.raises(ValueError, match=r"write_fastmri: kspace must be complex"):
        write_fastmri(tmp_path / "w.h5", np.ones((1, 4, 4)))


@pytest.fixture(scope="module")
def brain(testdata_dir) -> np.ndarray:
    """The real brain k-space as fastMRI holds it: (slices, coils, rows, cols) = (1, 8, 320, 256) complex64."""
    data = scipy.io.loadmat(str(require_file(testdata_dir, BRAIN)))["DATA"]
    assert data.shape == (320, 256, 8) and data.dtype == np.complex128
    return np.ascontiguousarray(np.transpose(data, (2, 0, 1))[None]).astype(np.complex64)


def test_real_brain_kspace_is_centred(brain):
    rss = np.sqrt((np.abs(_centred_ifft2(brain[0])) ** 2).sum(0))
    plain = np.sqrt((np.abs(np.fft.ifft2(brain[0], norm="ortho")) ** 2).sum(0))

    def centre_over_corners(image):
        corners = np.mean([image[:40, :32].mean(), image[:40, -32:].mean(), image[-40:, :32].mean(),
                           image[-40:, -32:].mean()])
        return image[120:200, 96:160].mean() / corners

    # The centred inverse FFT puts the head in the middle of the FOV (measured ratio 5.6); an
    # uncentred one puts its four quarters in the corners (measured 0.18).
    assert centre_over_corners(rss) > 5.0 and centre_over_corners(plain) < 0.25


def test_real_brain_through_fastmri_round_trip_and_recon_info(brain, tmp_path, capsys):
    rss = np.sqrt((np.abs(_centred_ifft2(brain[0])) ** 2).sum(0))[None]
    path = write_fastmri(tmp_path / "brain_alias_8ch.h5", brain, reconstruction_rss=rss,
                         attrs={"acquisition": "ESPIRiT demo"})
    m = read_measurement(path)
    assert tuple(m.data.shape) == (1, 8, 320, 256)
    assert float((m.data - torch.as_tensor(brain)).abs().max()) == 0.0
    # The zero pattern is exactly the filled band: 657 samples inside it are zero in some coil
    # (quantised data), none in all eight, so a per-point, any-coil mask has no holes.
    columns = torch.nonzero(m.geometry.mask.any(dim=0)).reshape(-1)
    assert (int(columns[0]), int(columns[-1]), len(columns)) == (44, 211, 168)
    assert m.geometry.mask.shape == (320, 256) and bool(m.geometry.mask[:, FILLED].all())
    assert m.geometry.acceleration == pytest.approx(256 / 168)  # 1.524
    assert m.reference_name == "fastMRI reconstruction_rss"

    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"{path}: fastmri — fastMRI HDF5" in text
    assert "kspace  (1, 8, 320, 256) complex64" in text
    assert "k-space (slices, coils, rows, cols) (1, 8, 320, 256)" in text
    assert "Cartesian mask (320, 256): acceleration 1.52x (53760 of 81920 samples measured)" in text
    assert "reference: fastMRI reconstruction_rss" in text
    shipped = ", ".join(fitting_experiments("mri")) or "none shipped yet for mri"  # the MRI configs, once shipped
    assert f"experiments that fit: {shipped}\n" in text
