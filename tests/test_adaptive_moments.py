"""Adaptive moments and the shear-type ellipticity (recon.metrics_shear)."""

import math

import pytest
import torch

from recon.datasets.galaxies import sersic_image
from recon.metrics_shear import adaptive_ellipticity, adaptive_moments, shear_error


def _elliptical_gaussian(shape, sigma_major, q, angle, centre):
    """Point-sampled Gaussian, major axis at ``angle`` from the columns; its ellipticity is (1-q)/(1+q) e^{2i angle}."""
    rows = torch.arange(shape[0], dtype=torch.float64)[:, None] - centre[0]
    cols = torch.arange(shape[1], dtype=torch.float64)[None, :] - centre[1]
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * cols + s * rows, -s * cols + c * rows
    return torch.exp(-0.5 * ((u / sigma_major) ** 2 + (v / (q * sigma_major)) ** 2))


@pytest.mark.parametrize("q, angle", [(0.5, 0.0), (0.7, 0.4), (0.9, 2.0), (0.3, -0.9), (1.0, 0.0)])
def test_elliptical_gaussians_give_their_ellipticity(q, angle):
    image = _elliptical_gaussian((64, 64), 5.0, q, angle, (31.3, 32.6))
    modulus = (1 - q) / (1 + q)
    g1, g2 = adaptive_ellipticity(image)
    # measured: error < 1e-6 (the sampled Gaussian is well resolved)
    assert g1 == pytest.approx(modulus * math.cos(2 * angle), abs=1e-3)
    assert g2 == pytest.approx(modulus * math.sin(2 * angle), abs=1e-3)
    moments = adaptive_moments(image)
    assert moments.centroid == pytest.approx((31.3, 32.6), abs=1e-4)
    assert moments.sigma == pytest.approx(5.0 * math.sqrt(q), rel=1e-4)


@pytest.mark.parametrize("n", [0.5, 1.0, 2.0])
def test_sheared_round_sersic_profiles_give_the_shear(n):
    shear = (0.04, -0.02)
    image = sersic_image((96, 96), half_light_radius=5.0, n=n, shear=shear)
    g1, g2 = adaptive_ellipticity(image)
    # measured: (0.0398, -0.0199) n=0.5, (0.0396, -0.0198) n=1, (0.0390, -0.0193) n=2: the pixel's
    # own (round) size dilutes the shape by 0.5-3 %
    assert g1 == pytest.approx(shear[0], rel=0.04)
    assert g2 == pytest.approx(shear[1], rel=0.04)


def test_shear_error_is_rotation_covariant_and_nan_on_an_empty_image():
    a = _elliptical_gaussian((48, 48), 4.0, 0.6, 0.0, (24, 24))
    b = _elliptical_gaussian((48, 48), 4.0, 0.6, math.pi / 2, (24, 24))
    # g = +0.25 and -0.25: |Δg| = 0.5
    assert shear_error(a, b) == pytest.approx(0.5, abs=1e-6)
    assert math.isnan(shear_error(torch.zeros(48, 48), a))
    with pytest.raises(ValueError, match="shaped \\(H, W\\)"):
        adaptive_moments(torch.zeros(2, 8, 8))
