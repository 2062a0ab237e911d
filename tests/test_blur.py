"""Blur against scipy's convolutions, the exact circular norm, the PSF generators and the PSF reader.

The adjoint, norm, batch and dtype checks of every boundary mode and of
Downsample are in the operator registry (tests/operator_registry.py).
"""

import math

import h5py
import numpy as np
import pytest
import torch
from scipy import ndimage, signal

from recon.datasets.errors import InputError
from recon.operators import Blur, Downsample
from recon.operators.psf import (
    airy_psf,
    defocus_psf,
    gaussian_psf,
    load_psf,
    moffat_psf,
    motion_psf,
)

_NDIMAGE_MODE = {"circular": "wrap", "zero": "constant", "reflect": "reflect"}  # ndimage "reflect" = symmetric
_CONVOLVE2D_BOUNDARY = {"circular": "wrap", "zero": "fill", "reflect": "symm"}


def _random(*shape, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("boundary", ["circular", "zero", "reflect"])
@pytest.mark.parametrize("kernel", [(5, 3), (3, 5), (4, 2), (1, 1), (19, 17)], ids=str)
def test_matches_scipy_ndimage(boundary, kernel):
    """Every kernel shape, even ones and ones larger than the 12 x 10 image, agrees with ndimage.convolve."""
    x, psf = _random(2, 1, 12, 10, seed=1), _random(*kernel, seed=2)
    y = Blur(psf, (12, 10), boundary).A(x)
    for b in range(2):
        expected = ndimage.convolve(x[b, 0].numpy(), psf.numpy(), mode=_NDIMAGE_MODE[boundary])
        assert np.abs(y[b, 0].numpy() - expected).max() < 1e-12


@pytest.mark.parametrize("boundary", ["circular", "zero", "reflect"])
def test_matches_scipy_convolve2d(boundary):
    x, psf = _random(1, 1, 16, 13, seed=3), _random(5, 3, seed=4)
    y = Blur(psf, (16, 13), boundary).A(x)[0, 0].numpy()
    expected = signal.convolve2d(x[0, 0].numpy(), psf.numpy(), mode="same", boundary=_CONVOLVE2D_BOUNDARY[boundary])
    assert np.abs(y - expected).max() < 1e-12


@pytest.mark.parametrize("boundary", ["circular", "zero", "reflect"])
def test_per_channel_psf_blurs_each_channel_with_its_own(boundary):
    x, psf = _random(2, 3, 12, 10, seed=5), _random(3, 5, 3, seed=6)
    y = Blur(psf, (12, 10), boundary).A(x)
    for b in range(2):
        for c in range(3):
            expected = ndimage.convolve(x[b, c].numpy(), psf[c].numpy(), mode=_NDIMAGE_MODE[boundary])
            assert np.abs(y[b, c].numpy() - expected).max() < 1e-12


@pytest.mark.parametrize("boundary", ["circular", "zero", "reflect"])
def test_complex_images_blur_real_and_imaginary_parts(boundary):
    op = Blur(_random(5, 3, seed=7), (12, 10), boundary)
    real, imaginary = _random(1, 1, 12, 10, seed=8), _random(1, 1, 12, 10, seed=9)
    y = op.A(torch.complex(real, imaginary))
    assert y.dtype == torch.complex128
    torch.testing.assert_close(y, torch.complex(op.A(real), op.A(imaginary)), rtol=0, atol=1e-14)
    adjoint = op.A_adjoint(torch.complex(real, imaginary))
    torch.testing.assert_close(adjoint, torch.complex(op.A_adjoint(real), op.A_adjoint(imaginary)), rtol=0, atol=1e-14)


def test_reflect_keeps_a_constant_image_and_zero_darkens_the_border():
    op_reflect, op_zero = Blur(gaussian_psf(7, 2.0), (20, 20), "reflect"), Blur(gaussian_psf(7, 2.0), (20, 20), "zero")
    ones = torch.ones(1, 1, 20, 20, dtype=torch.float64)
    assert float((op_reflect.A(ones) - 1).abs().max()) < 1e-14
    assert float(op_zero.A(ones)[0, 0, 0, 0]) < 0.6        # a corner sees about a quarter of the kernel
    assert float((op_zero.A(ones)[0, 0, 3:-3, 3:-3] - 1).abs().max()) < 1e-14


def test_circular_norm_is_exact_and_equals_the_transfer_function_peak():
    psf = _random(5, 3, seed=10) - 0.3                      # mixed signs: the peak is not at frequency 0
    op = Blur(psf, (8, 7), "circular")
    n = 8 * 7
    dense = op.A(torch.eye(n, dtype=torch.float64).reshape(n, 1, 8, 7)).reshape(n, n).T
    exact = float(torch.linalg.matrix_norm(dense, ord=2))
    assert float(op.norm()) == pytest.approx(exact, rel=1e-12)
    assert float(op.norm()) == pytest.approx(float(op.transfer_function().abs().max()), rel=1e-14)
    assert abs(float(op.transfer_function()[0, 0].real) - float(psf.sum())) < 1e-13


def test_transfer_function_diagonalises_the_circular_blur():
    op = Blur(_random(5, 3, seed=11), (12, 10))
    x = _random(1, 1, 12, 10, seed=12)
    torch.testing.assert_close(torch.fft.fft2(op.A(x)), op.transfer_function() * torch.fft.fft2(x), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="only for boundary='circular'"):
        Blur(_random(3, 3), (12, 10), "zero").transfer_function()


def test_float32_follows_the_input_and_errors_are_one_line():
    op = Blur(gaussian_psf(5, 1.0), (12, 10), "reflect")
    assert op.A(torch.rand(1, 1, 12, 10)).dtype == torch.float32
    for build, message in [
        (lambda: Blur(gaussian_psf(5, 1.0), (12, 10), "mirror"), "boundary must be one of"),
        (lambda: Blur(torch.ones(3, 3, dtype=torch.complex64), (12, 10)), "psf must be a real tensor"),
        (lambda: Blur(torch.ones(3), (12, 10)), "psf must be shaped"),
        (lambda: Blur(torch.full((3, 3), math.nan), (12, 10)), "NaN or infinite"),
        (lambda: Blur(torch.ones(2, 3, 3), (12, 10)).A(torch.ones(1, 3, 12, 10)), "one kernel per channel"),
        (lambda: Downsample(0, (12, 10)), "factor must be a positive integer"),
        (lambda: Downsample(2, (12, 10), offset=2), "offset must be in"),
    ]:
        with pytest.raises(ValueError, match=message) as error:
            build()
        assert "\n" not in str(error.value)


def test_downsample_samples_the_blurred_image_at_its_phase():
    x, psf = _random(1, 1, 12, 10, seed=13), _random(5, 3, seed=14)
    blurred = Blur(psf, (12, 10), "reflect").A(x)
    for factor, offset in [(2, 0), (2, 1), (3, 1), (3, 2)]:
        op = Downsample(factor, (12, 10), psf=psf, boundary="reflect", offset=offset)
        torch.testing.assert_close(op.A(x), blurred[..., offset::factor, offset::factor], rtol=0, atol=0)
    assert Downsample(3, (12, 10), offset=1).range_shape == (4, 3)


# -- PSF generators -------------------------------------------------------------------------------------------


def _fwhm(psf: torch.Tensor) -> float:
    """Full width at half maximum of the centre row, by linear interpolation of the half-maximum crossings."""
    row = psf[psf.shape[0] // 2].numpy()
    centre, half = len(row) // 2, row.max() / 2
    right = centre + int(np.argmax(row[centre:] < half))      # first sample below half, right of the centre
    crossing = right - 1 + (row[right - 1] - half) / (row[right - 1] - row[right])
    return 2 * (crossing - centre)


_SYMMETRIC = {
    "gaussian": lambda: gaussian_psf(21, 3.0),
    "moffat": lambda: moffat_psf(21, 6.0, 2.5),
    "airy": lambda: airy_psf(21, 4.0),
    "defocus": lambda: defocus_psf(15, 4.3),
}


@pytest.mark.parametrize("name", _SYMMETRIC)
def test_radial_psfs_have_sum_one_and_the_square_symmetries(name):
    psf = _SYMMETRIC[name]()
    assert psf.dtype == torch.float64 and psf.shape[0] == psf.shape[1]
    assert abs(float(psf.sum()) - 1) < 1e-12
    assert float(psf.min()) >= 0
    centre = psf.shape[0] // 2
    assert float(psf[centre, centre]) == float(psf.max())
    for image in (psf.flip(0), psf.flip(1), psf.T):
        assert float((image - psf).abs().max()) < 1e-15


@pytest.mark.parametrize("sigma", [1.5, 3.0])
def test_gaussian_fwhm(sigma):
    """FWHM 2 sqrt(2 ln 2) sigma: measured 0.6 % (sigma 1.5) and 0.2 % (sigma 3) off, by linear interpolation."""
    expected = 2 * math.sqrt(2 * math.log(2)) * sigma
    assert _fwhm(gaussian_psf(31, sigma)) == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("fwhm, beta", [(4.0, 2.5), (8.0, 4.765), (6.0, 1.5)])
def test_moffat_fwhm(fwhm, beta):
    assert _fwhm(moffat_psf(41, fwhm, beta)) == pytest.approx(fwhm, rel=0.02)


def test_moffat_has_heavier_wings_than_the_gaussian_of_the_same_fwhm():
    moffat, gaussian = moffat_psf(41, 6.0, 2.5), gaussian_psf(41, 6.0 / (2 * math.sqrt(2 * math.log(2))))
    assert float(moffat[20, 35] / moffat[20, 20]) > 100 * float(gaussian[20, 35] / gaussian[20, 20])


def test_airy_first_zero_is_at_the_radius():
    psf = airy_psf(31, 5.0)
    row = psf[15] / psf[15, 15]
    assert float(row[20]) < 1e-20                              # 5 pixels out: J1's first zero
    assert float(row[19]) > 1e-3 and float(row[21]) > 1e-3     # and a true minimum, with the first ring beyond
    assert float(row[22]) > float(row[21])
    # Non-integer radius: the minimum along the row sits at the pixel nearest to it.
    row = airy_psf(31, 6.4)[15]
    assert int(torch.argmin(row[15:23])) == 6


def test_defocus_disc_area_and_edge():
    """1 / max is the disc's area (interior pixels are fully inside): pi r^2 to 0.3 %, anti-aliased edge pixels."""
    for radius in (3.0, 4.3, 6.0):
        psf = defocus_psf(15, radius)
        assert 1 / float(psf.max()) == pytest.approx(math.pi * radius**2, rel=3e-3)
        edge = psf[7] / psf.max()                              # the centre row crosses the edge
        assert 0 < float(edge[7 + round(radius)]) < 1


def test_motion_psf_is_a_box_along_the_axes_and_follows_the_angle():
    horizontal = motion_psf(9, 5.0, 0.0)
    assert torch.allclose(horizontal[4, 2:7], torch.full((5,), 0.2, dtype=torch.float64), atol=1e-15)
    assert float(horizontal.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(horizontal[4].sum()) == pytest.approx(1.0, abs=1e-12)
    assert float((motion_psf(9, 5.0, 90.0) - horizontal.T).abs().max()) < 1e-15
    delta = torch.zeros(9, 9, dtype=torch.float64)
    delta[4, 4] = 1.0
    assert float((motion_psf(9, 0.0, 0.0) - delta).abs().max()) < 1e-15
    # At 30 degrees the principal axis of the second moments points along (-sin, cos), rows down.
    psf = motion_psf(21, 14.0, 30.0)
    axis = torch.arange(21, dtype=torch.float64) - 10
    rows, cols = axis[:, None].expand(21, 21), axis[None, :].expand(21, 21)
    assert abs(float((psf * rows).sum())) < 1e-12 and abs(float((psf * cols).sum())) < 1e-12
    moments = torch.tensor([[float((psf * rows * rows).sum()), float((psf * rows * cols).sum())],
                            [float((psf * rows * cols).sum()), float((psf * cols * cols).sum())]])
    direction = torch.linalg.eigh(moments).eigenvectors[:, -1]
    angle = math.degrees(math.atan2(-float(direction[0]), float(direction[1]))) % 180
    assert angle == pytest.approx(30.0, abs=0.5)
    # and its length: the variance along the line is L^2 / 12 (a uniform segment) within 3 %.
    assert float(torch.linalg.eigvalsh(moments)[-1]) == pytest.approx(14.0**2 / 12, rel=0.03)


def test_generator_errors():
    for build, message in [
        (lambda: gaussian_psf(8, 1.0), "positive odd integer"),
        (lambda: gaussian_psf(9, 0.0), "sigma must be positive"),
        (lambda: moffat_psf(9, 3.0, -1.0), "beta must be positive"),
        (lambda: airy_psf(9, -2.0), "radius must be positive"),
        (lambda: motion_psf(9, 12.0, 0.0), "does not fit"),
        (lambda: motion_psf(9, -1.0, 0.0), "length must be >= 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            build()


# -- load_psf ---------------------------------------------------------------------------------------------------


def test_load_psf_round_trips_npy_and_hdf5(tmp_path):
    psf = gaussian_psf(7, 1.3)
    np.save(tmp_path / "psf.npy", 5 * psf.numpy())
    torch.testing.assert_close(load_psf(tmp_path / "psf.npy"), psf, rtol=0, atol=1e-15)
    bands = np.stack([3 * psf.numpy(), motion_psf(7, 4.0, 20.0).numpy()]).astype(np.float32)
    with h5py.File(tmp_path / "psf.h5", "w") as f:
        f["optics/psf"] = bands
    loaded = load_psf(tmp_path / "psf.h5")                    # the only dataset
    assert loaded.shape == (2, 7, 7) and loaded.dtype == torch.float64
    torch.testing.assert_close(loaded.sum(dim=(-2, -1)), torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(loaded[0], psf, rtol=0, atol=1e-7)
    torch.testing.assert_close(load_psf(tmp_path / "psf.h5", "optics/psf"), loaded, rtol=0, atol=0)


def test_load_psf_errors_name_the_file_and_the_field(tmp_path):
    np.save(tmp_path / "negative.npy", np.array([[0.0, -1.0], [1.0, 2.0]]))
    np.save(tmp_path / "zero.npy", np.zeros((3, 3)))
    np.save(tmp_path / "vector.npy", np.ones(5))
    with h5py.File(tmp_path / "two.h5", "w") as f:
        f["a"], f["b"] = np.ones((3, 3)), np.ones((3, 3))
        f["group/inner"] = np.ones((3, 3))
    cases = [
        (tmp_path / "missing.npy", None, "missing.npy: expected an existing"),
        (tmp_path / "negative.npy", None, "negative.npy: expected non-negative values, got a minimum of -1"),
        (tmp_path / "zero.npy", None, "zero.npy: expected a PSF of positive sum"),
        (tmp_path / "vector.npy", None, r"vector.npy: expected a PSF shaped \(kh, kw\) or \(channels, kh, kw\), got shape \(5,\)"),
        (tmp_path / "two.h5", None, "two.h5: expected one dataset, or the PSF's dataset named by dataset=, got 3 datasets"),
        (tmp_path / "two.h5", "psf", "two.h5: psf: expected a dataset with the PSF, got nothing there"),
        (tmp_path / "two.h5", "group", "two.h5: group: expected a dataset with the PSF, got a group"),
    ]
    for path, dataset, message in cases:
        with pytest.raises(InputError, match=message) as error:
            load_psf(path, dataset)
        assert "\n" not in str(error.value)
