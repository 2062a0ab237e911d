"""Cartesian sampling masks (recon.operators.mri_masks), and the mask of the real 8-coil brain k-space."""

import math

import pytest
import torch
from conftest import require_file

from recon.operators.mri_masks import (
    equispaced_mask,
    mask_from_kspace,
    poisson_disc_mask,
    poisson_disc_radius,
    random_mask,
    variable_density_mask,
)


def _acceleration(mask):
    return mask.numel() / float(mask.sum())


@pytest.mark.parametrize("cols, acceleration, fraction", [(256, 4, 0.08), (168, 4, 0.08), (368, 8, 0.04)])
def test_random_mask_meets_acceleration_and_keeps_the_centre(cols, acceleration, fraction):
    mask = random_mask((20, cols), acceleration, fraction, seed=3)
    assert mask.dtype == torch.float32 and mask.shape == (20, cols)
    assert bool((mask == mask[0]).all())  # whole columns
    assert abs(_acceleration(mask) / acceleration - 1) < 0.02  # measured: 0, 0, 0 (an exact count of columns)
    n_centre = round(cols * fraction)
    start = (cols - n_centre + 1) // 2
    assert bool(mask[:, start:start + n_centre].eq(1).all())
    torch.testing.assert_close(mask, random_mask((20, cols), acceleration, fraction, seed=3))
    assert not torch.equal(mask, random_mask((20, cols), acceleration, fraction, seed=4))


def test_equispaced_mask_fastmri_spacing_is_exact():
    mask = equispaced_mask((8, 256), 4, 0.08, offset=2, match_acceleration=False)
    line = mask[0]
    centre = slice(118, 138)  # round(256 * 0.08) = 20 columns from (256 - 20 + 1) // 2
    outside = torch.ones(256, dtype=torch.bool)
    outside[centre] = False
    expected = torch.zeros(256)
    expected[2::4] = 1
    assert torch.equal(line[outside], expected[outside])
    assert bool(line[centre].eq(1).all())
    seeded = equispaced_mask((8, 256), 4, 0.08, seed=5, match_acceleration=False)
    assert torch.equal(seeded, equispaced_mask((8, 256), 4, 0.08, seed=5, match_acceleration=False))


@pytest.mark.parametrize("cols, acceleration", [(256, 4), (168, 4), (320, 6)])
def test_equispaced_mask_meets_acceleration_with_even_gaps(cols, acceleration):
    mask = equispaced_mask((4, cols), acceleration, 0.08, seed=1)
    assert abs(_acceleration(mask) / acceleration - 1) < 0.02  # exact count round(cols / R); measured: 0, 0, 0.0063
    n_centre = round(cols * 0.08)
    start = (cols - n_centre + 1) // 2
    line = mask[0]
    assert bool(line[start:start + n_centre].eq(1).all())
    outer = torch.cat([line[:start], line[start + n_centre:]])
    picked = outer.nonzero().flatten()
    spacing = (cols - n_centre) / (round(cols / acceleration) - n_centre)
    gaps = set(torch.diff(picked).tolist())
    assert gaps <= {math.floor(spacing), math.ceil(spacing)}


@pytest.mark.parametrize("shape, acceleration, calibration", [((64, 64), 4, (12, 12)), ((96, 80), 6, (16, 16))])
def test_poisson_disc_meets_acceleration_keeps_calibration_and_density_falls(shape, acceleration, calibration):
    mask = poisson_disc_mask(shape, acceleration, seed=0, calibration=calibration)
    assert mask.dtype == torch.float32 and mask.shape == shape
    assert abs(_acceleration(mask) / acceleration - 1) < 0.05  # measured: 0.0125, 0.0123
    rows, cols = shape
    r0, c0 = (rows - calibration[0] + 1) // 2, (cols - calibration[1] + 1) // 2
    assert bool(mask[r0:r0 + calibration[0], c0:c0 + calibration[1]].eq(1).all())
    kr = (torch.arange(rows)[:, None] - rows // 2) / (rows / 2)
    kc = (torch.arange(cols)[None, :] - cols // 2) / (cols / 2)
    radius = torch.sqrt(kr ** 2 + kc ** 2)
    inner, outer = mask[(radius > 0.3) & (radius < 0.5)].mean(), mask[radius > 0.8].mean()
    assert float(inner) > 1.5 * float(outer)  # measured: 0.37 against 0.18, 0.18 against 0.10
    torch.testing.assert_close(mask, poisson_disc_mask(shape, acceleration, seed=0, calibration=calibration))


def test_poisson_disc_samples_keep_their_minimum_distance():
    shape, scale = (48, 40), 1.8
    mask = poisson_disc_mask(shape, 4, seed=2, calibration=(0, 0), radius_scale=scale)
    radius = poisson_disc_radius(shape, scale)
    points = mask.nonzero().to(torch.float64)
    r = radius[mask.bool()]
    distance = torch.cdist(points, points)
    distance.fill_diagonal_(math.inf)
    # any two samples are at least min(r(p), r(q)) apart; measured: the closest pair at 1.0066 of that bound
    assert float((distance / torch.minimum(r[:, None], r[None, :])).min()) >= 1.0
    assert float(distance.min()) >= 2.0  # the radius is at least 1.8 pixels, and grid distances are sqrt(integers)


@pytest.mark.parametrize("shape, acceleration", [((64, 64), 4), ((96, 80), 8)])
def test_variable_density_mask_meets_acceleration_exactly(shape, acceleration):
    mask = variable_density_mask(shape, acceleration, seed=0, calibration=(12, 12))
    assert int(mask.sum()) == round(shape[0] * shape[1] / acceleration)
    r0, c0 = (shape[0] - 12 + 1) // 2, (shape[1] - 12 + 1) // 2
    assert bool(mask[r0:r0 + 12, c0:c0 + 12].eq(1).all())
    torch.testing.assert_close(mask, variable_density_mask(shape, acceleration, seed=0, calibration=(12, 12)))
    assert not torch.equal(mask, variable_density_mask(shape, acceleration, seed=1, calibration=(12, 12)))


def test_mask_from_kspace_recovers_the_mask():
    mask = random_mask((16, 20), 3, 0.1, seed=0) * (torch.rand(16, 20, generator=torch.Generator().manual_seed(1)) > 0.2)
    kspace = torch.randn(2, 3, 16, 20, dtype=torch.complex64) * mask
    kspace[1, 2] = 0  # a silent coil in one slice does not unmeasure anything
    assert torch.equal(mask_from_kspace(kspace), mask)


def test_impossible_requests_are_one_line_errors():
    with pytest.raises(ValueError, match="random_mask: centre_fraction 0.5 keeps"):
        random_mask((4, 100), 4, 0.5)
    with pytest.raises(ValueError, match="poisson_disc_mask: the calibration region has"):
        poisson_disc_mask((16, 16), 4, calibration=(10, 10))
    with pytest.raises(ValueError, match="equispaced_mask: acceleration must be an integer"):
        equispaced_mask((4, 100), 2.5, 0.1, match_acceleration=False)


def test_mask_of_the_real_brain_kspace_is_columns_44_to_211(testdata_dir):
    scipy_io = pytest.importorskip("scipy.io")
    path = require_file(testdata_dir, "mri/brain_alias_8ch.mat")
    data = torch.from_numpy(scipy_io.loadmat(path)["DATA"]).permute(2, 0, 1)  # (coils, rows, cols)
    assert data.shape == (8, 320, 256)
    mask = mask_from_kspace(data)
    expected = torch.zeros(320, 256)
    expected[:, 44:212] = 1
    assert torch.equal(mask, expected)  # 168 full columns, although single coils have zeros inside (4 to 11 per column)
