"""Simulated galaxies: Sérsic flux and half-light radius, shear, seeding, SNR (recon.datasets.galaxies)."""

import math

import pytest
import torch

from recon.datasets.galaxies import (
    READ_NOISE,
    flux_for_snr,
    multiband_scene,
    sersic_b,
    sersic_image,
    shear_galaxy,
    star_image,
)
from recon.metrics_shear import adaptive_ellipticity
from recon.operators.blur import Blur


@pytest.mark.parametrize("n", [0.5, 1.0, 2.5])
def test_sersic_flux_and_half_light_radius(n):
    re = 6.0
    image = sersic_image((161, 161), half_light_radius=re, n=n, flux=100.0)
    rows, cols = torch.meshgrid(torch.arange(161.0), torch.arange(161.0), indexing="ij")
    r = ((rows - 80) ** 2 + (cols - 80) ** 2).sqrt()
    # measured: total 99.99 (n=0.5), 99.97 (1), 99.3 (2.5: the wings run past the stamp)
    assert float(image.sum()) == pytest.approx(100.0, rel=0.01)
    # half the (analytic) flux inside r_e; measured 49.6-50.1 with the pixel edges at r_e
    inside = float(image[r <= re].sum())
    assert inside == pytest.approx(50.0, abs=1.5)


def test_sersic_b_gives_half_the_flux_inside_re():
    # the incomplete gamma function: P(2n, b_n) = 1/2
    for n in (0.5, 1.0, 4.0):
        assert float(torch.special.gammainc(torch.tensor(2 * n, dtype=torch.float64), torch.tensor(sersic_b(n), dtype=torch.float64))) == pytest.approx(0.5, abs=1e-5)


def test_shear_elongates_along_g1_and_keeps_the_flux():
    round_ = sersic_image((96, 96), half_light_radius=5.0, n=1.0, flux=10.0)
    sheared = sersic_image((96, 96), half_light_radius=5.0, n=1.0, flux=10.0, shear=(0.1, 0.0))
    assert float(sheared.sum()) == pytest.approx(float(round_.sum()), rel=1e-4)   # area-preserving
    g1, g2 = adaptive_ellipticity(sheared)
    # measured: (0.0991, 0.0000)
    assert g1 == pytest.approx(0.1, abs=0.003) and abs(g2) < 1e-6
    # axis ratio q along 0: shear-type ellipticity (1 - q)/(1 + q) = 1/3; measured 0.3303
    assert adaptive_ellipticity(sersic_image((96, 96), half_light_radius=5.0, n=1.0, q=0.5))[0] == \
        pytest.approx(1 / 3, abs=0.006)


def test_scenes_and_stamps_are_seeded():
    torch.testing.assert_close(multiband_scene((32, 32), 2, seed=4), multiband_scene((32, 32), 2, seed=4))
    assert not torch.equal(multiband_scene((32, 32), 2, seed=4), multiband_scene((32, 32), 2, seed=5))
    a, b = shear_galaxy(11, 100.0), shear_galaxy(11, 100.0)
    torch.testing.assert_close(a.observation, b.observation)
    c = shear_galaxy(11, 20.0)
    assert c.shear == a.shear and c.sersic_n == a.sersic_n and not torch.equal(c.truth, a.truth)
    assert float(star_image((16, 16), (8.0, 8.0), 3.0).sum()) == pytest.approx(3.0, rel=1e-6)


def test_shear_stamps_follow_the_specification():
    stamps = [shear_galaxy(seed, 100.0) for seed in range(40)]
    moduli = [math.hypot(*s.shear) for s in stamps]
    assert 0.01 <= min(moduli) and max(moduli) <= 0.05
    assert all(0.45 <= s.fwhm_arcsec <= 0.95 for s in stamps)
    assert all(s.psf.shape == (31, 31) and abs(float(s.psf.sum()) - 1) < 1e-12 for s in stamps)


@pytest.mark.parametrize("snr", [20.0, 100.0, 200.0])
def test_snr_is_the_authors_definition_and_the_noise_is_as_stated(snr):
    stamp = shear_galaxy(3, snr)
    pixels = 48 * 48
    flux = flux_for_snr(snr, stamp.sky, pixels)
    assert flux / math.sqrt(flux + stamp.sky * pixels) == pytest.approx(snr, rel=1e-12)
    # the galaxy's flux inside the stamp is the flux asked for (to what the stamp truncates: < 1 %)
    assert float(stamp.truth.sum()) == pytest.approx(flux, rel=0.01)
    # the noise measured: the standard deviation of the stamp's summed noise is sqrt(F + sky + read noise²)
    # over the stamp (Poisson galaxy + sky, Gaussian read noise). The read noise is outside the authors'
    # SNR, so F / (that) is SNR sqrt((F + B N) / (F + B N + r² N)): 15.7 at a nominal 20.
    residuals = []
    for seed in range(60):
        s = shear_galaxy(seed, snr)
        blurred = Blur(s.psf, (48, 48)).A(s.truth[None, None])[0, 0]
        residuals.append(float((s.observation - blurred).sum()))
    noise_sd = float(torch.tensor(residuals).std())
    expected_sd = math.sqrt(flux + stamp.sky * pixels + READ_NOISE**2 * pixels)
    assert noise_sd == pytest.approx(expected_sd, rel=0.25)
