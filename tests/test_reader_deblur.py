"""recon's deblurring HDF5 layout: round trips (one PSF, one per channel, multiband) and one-line errors on bad files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from recon.datasets.deblur_format import read, write_deblur, write_multiband
from recon.datasets.errors import InputError
from recon.datasets.formats import read_measurement
from recon.operators.deblur_acquisition import BlurAcquisition, MultibandAcquisition
from recon.operators.psf import gaussian_psf, moffat_psf


def test_one_psf_round_trip_normalises_the_psf_and_keeps_truth_and_metadata(tmp_path):
    images = torch.rand(2, 1, 12, 16, generator=torch.Generator().manual_seed(0))
    psf = 3.0 * gaussian_psf(5, 1.0)              # stored unnormalised: read back with sum 1
    path = write_deblur(tmp_path / "b.h5", images, psf, boundary="zero", ground_truth=images + 1,
                        metadata={"noise": "gaussian", "noise_sigma": 0.02})
    m = read_measurement(path)
    assert m.modality == "deblur" and m.format == "recon-deblur" and m.n_slices == 2
    torch.testing.assert_close(m.data, images)
    torch.testing.assert_close(m.ground_truth, images + 1)
    assert isinstance(m.geometry, BlurAcquisition) and m.geometry.boundary == "zero"
    assert float(m.geometry.psf.sum()) == pytest.approx(1.0, abs=1e-12) and m.geometry.channels is None
    assert m.metadata == {"noise": "gaussian", "noise_sigma": 0.02}
    blur = m.geometry.operator()
    torch.testing.assert_close(blur.A(m.data.double()), blur.A(images.double()))
    assert read(path, options=_index(1)).data.shape == (1, 1, 12, 16)


def _index(i):
    from recon.datasets.read_options import ReadOptions

    return ReadOptions(index=i)


def test_a_psf_per_channel_makes_a_three_axis_stack_one_image_of_that_many_channels(tmp_path):
    psfs = torch.stack([gaussian_psf(5, s) for s in (0.8, 1.2, 1.6)])
    path = tmp_path / "rgb.h5"
    with h5py.File(path, "w") as f:
        f.attrs.update({"recon_format": "deblur", "format_version": 1})
        f["data"] = np.random.default_rng(0).random((3, 10, 10))
        f["psf"] = psfs.numpy()
    m = read(path)
    assert m.data.shape == (1, 3, 10, 10) and m.geometry.channels == 3 and m.geometry.boundary == "reflect"
    with h5py.File(path, "a") as f:            # four images with three PSFs: no channel count fits
        del f["data"]
        f["data"] = np.zeros((4, 10, 10))
    with pytest.raises(InputError, match=r"rgb.h5: psf: expected one PSF, or one per channel \(1\), got 3 PSFs"):
        read(path)


def test_multiband_round_trip_packs_the_bands_for_the_operator(tmp_path):
    setup = MultibandAcquisition(torch.stack([moffat_psf(9, f, 3.5) for f in (3.0, 2.5)]), 2, (16, 16),
                                 gaussian_psf(5, 0.8), [0.6, 0.4])
    scene = torch.rand(1, 1, 2, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    low, broad = setup.operator().unpack(setup.operator().A(scene))
    path = write_multiband(tmp_path / "bands.h5", low[:, 0], broad[:, 0], setup, ground_truth=scene)
    m = read(path)
    assert isinstance(m.geometry, MultibandAcquisition) and m.geometry.factor == 2 and m.geometry.bands == 2
    torch.testing.assert_close(m.geometry.weights, torch.tensor([0.6, 0.4], dtype=torch.float64))
    torch.testing.assert_close(m.data.double(), setup.operator().A(scene), atol=1e-6, rtol=1e-6)
    assert m.ground_truth.shape == (1, 1, 2, 16, 16)


def _file(tmp_path, **entries):
    path = tmp_path / "bad.h5"
    attrs = entries.pop("attrs", {})
    with h5py.File(path, "w") as f:
        f.attrs.update({"recon_format": "deblur", "format_version": 1, **attrs})
        for name, value in entries.items():
            if isinstance(value, dict):
                node = f.create_dataset(name, data=value.pop("data"))
                node.attrs.update(value)
            else:
                f[name] = value
    return path


GOOD_PSF = np.ones((3, 3)) / 9


@pytest.mark.parametrize("entries, expected", [
    ({"data": np.zeros((8, 8))}, "bad.h5: psf: expected a PSF (kh, kw) or (channels, kh, kw), got no such dataset"),
    ({"data": np.zeros((8, 8)), "psf": -GOOD_PSF}, "bad.h5: psf: expected a non-negative PSF, got a minimum of -0.111111"),
    ({"data": np.zeros((8, 8)), "psf": np.zeros((3, 3))}, "bad.h5: psf: expected a PSF of positive sum"),
    ({"data": np.zeros((8, 8)), "psf": GOOD_PSF, "attrs": {"boundary": "wrap"}},
     "bad.h5: @boundary: expected one of circular, zero, reflect, got 'wrap'"),
    ({"data": np.zeros((8, 8)), "psf": GOOD_PSF, "ground_truth": np.zeros((8, 9))},
     "bad.h5: ground_truth: expected the shape of data (8, 8), got (1, 1, 8, 9)"),
    ({"data": np.full((8, 8), np.nan), "psf": GOOD_PSF}, "bad.h5: data: "),
    ({"data": np.zeros((1, 2, 4, 4)), "psf": np.ones((2, 3, 3)), "broad": {"data": np.zeros((8, 8)), "factor": 2},
      "broad_psf": GOOD_PSF}, "bad.h5: broad@weights: expected 2 non-negative weights (one per band), got []"),
    ({"data": np.zeros((1, 2, 4, 4)), "psf": np.ones((2, 3, 3)),
      "broad": {"data": np.zeros((8, 8)), "factor": 1.5, "weights": [0.5, 0.5]}, "broad_psf": GOOD_PSF},
     "bad.h5: broad@factor: expected an integer >= 1"),
    ({"data": np.zeros((1, 2, 4, 4)), "psf": np.ones((2, 3, 3)),
      "broad": {"data": np.zeros((6, 8)), "factor": 2, "weights": [0.5, 0.5]}, "broad_psf": GOOD_PSF},
     "bad.h5: broad: expected shape (1, 8, 8) (images, then factor times the bands' size), got (1, 6, 8)"),
])
def test_bad_files_are_one_line_errors_naming_the_field(tmp_path, entries, expected):
    path = _file(tmp_path, **entries)
    with pytest.raises(InputError) as error:
        read(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path.parent)) and expected in message, message
