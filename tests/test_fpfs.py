"""FPFS shapes (recon.metrics_fpfs): conventions, invariances, exact PSF division, bad input."""

import math

import pytest
import torch

from recon.metrics_fpfs import fpfs_modes, fpfs_scale, fpfs_shear, fpfs_shear_error, psf_power
from recon.metrics_shear import adaptive_ellipticity
from recon.operators.blur import Blur
from recon.operators.psf import moffat_psf


def _gaussian(sigma_columns: float, sigma_rows: float, angle: float = 0.0, size: int = 48, centre=(24.0, 24.0)):
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                          indexing="ij")
    u = (x - centre[1]) * math.cos(angle) + (y - centre[0]) * math.sin(angle)
    v = -(x - centre[1]) * math.sin(angle) + (y - centre[0]) * math.cos(angle)
    return torch.exp(-(u ** 2 / sigma_columns ** 2 + v ** 2 / sigma_rows ** 2) / 2)


def test_the_sign_conventions_match_adaptive_moments():
    for angle in (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4, 0.3):
        image = _gaussian(3.0, 2.0, angle)
        fpfs, moments = fpfs_shear(image), adaptive_ellipticity(image)
        # the same direction; FPFS's e / R is close to the true g = 0.2 for a well-resolved Gaussian
        assert fpfs[0] * moments[0] + fpfs[1] * moments[1] > 0
        assert math.hypot(*fpfs) == pytest.approx(0.2, abs=0.01)      # measured 0.1978
    assert all(abs(g) < 1e-12 for g in fpfs_shear(_gaussian(2.5, 2.5)))


def test_the_power_function_ignores_where_the_galaxy_sits():
    image = _gaussian(3.0, 2.0, 0.4)
    shifted = torch.roll(image, shifts=(5, -7), dims=(0, 1))
    assert fpfs_shear(shifted) == pytest.approx(fpfs_shear(image), abs=1e-12)


def test_dividing_by_the_psf_power_undoes_a_circular_blur_exactly():
    image = _gaussian(3.0, 2.0, 0.4)
    psf = moffat_psf(31, 3.0, 3.5)
    blurred = Blur(psf, (48, 48)).A(image[None, None])[0, 0]
    denominator = psf_power(psf, 48)
    sigma, window = fpfs_scale(denominator)
    power = lambda t: torch.fft.fftshift(torch.fft.fft2(t).abs().square())    # noqa: E731
    through_the_psf = fpfs_modes(power(blurred) / denominator, sigma, window)
    direct = fpfs_modes(power(image), sigma, window)
    assert through_the_psf.shear() == pytest.approx(direct.shear(), rel=1e-8)
    # and the PSF-corrected shape of the blurred image is closer to the unblurred one than the raw shape
    truth = fpfs_shear(image)
    assert math.dist(fpfs_shear(blurred, psf), truth) < 0.5 * math.dist(fpfs_shear(blurred), truth)


def test_the_authors_settings_on_a_48_pixel_stamp():
    assert fpfs_scale(psf_power(None, 48)) == (4.0, 15)       # the cap on sigma; exp(-15²/32) < 1e-3
    assert fpfs_scale(psf_power(moffat_psf(31, 3.0, 3.5), 48))[0] < 4.0


def test_white_noise_costs_scatter_not_bias():
    image = 100 * _gaussian(3.0, 2.0)
    clean = fpfs_shear(image)[0]
    g = torch.Generator().manual_seed(0)
    noisy = torch.tensor([fpfs_shear(image + 5 * torch.randn(image.shape, generator=g, dtype=torch.float64))[0]
                          for _ in range(200)])
    # flat noise power enters M00 and M40 alike, and R sees only their difference
    assert float(noisy.mean()) == pytest.approx(clean, rel=0.01)      # measured 0.1980 against 0.1978
    assert float(noisy.std()) > 0.005                                  # measured 0.0118


def test_shear_error_and_bad_input():
    image = _gaussian(3.0, 2.0)
    assert fpfs_shear_error(image, image) == 0.0
    assert fpfs_shear_error(_gaussian(2.0, 3.0), image) == pytest.approx(2 * math.hypot(*fpfs_shear(image)))
    with pytest.raises(ValueError, match="square"):
        fpfs_shear(torch.zeros(48, 40))
    with pytest.raises(ValueError, match="beta"):
        fpfs_shear(image, beta=1.0)
    with pytest.raises(ValueError, match="larger than the stamp"):
        fpfs_shear(image, torch.ones(64, 64))
