"""Simulated birdcage coil maps: normalised, each coil brightest on its own side, phases that differ between coils."""

import math

import pytest
import torch

from recon.datasets.coil_simulation import birdcage_coil_maps


def test_birdcage_maps_are_normalised_and_each_coil_sees_its_side():
    maps = birdcage_coil_maps(8, (64, 64))
    assert maps.shape == (8, 64, 64) and maps.dtype == torch.complex64
    torch.testing.assert_close((maps.abs() ** 2).sum(0), torch.ones(64, 64), atol=1e-5, rtol=0)
    # Coil 0 sits at angle 0 (the +x side, the right-hand columns); coil 4 opposite it.
    right, left = maps[0, :, -8:].abs().mean(), maps[0, :, :8].abs().mean()
    assert right > 2 * left
    assert maps[4, :, :8].abs().mean() > 2 * maps[4, :, -8:].abs().mean()
    # Distinct coils are not multiples of one another: their normalised inner product is well below 1.
    a, b = maps[0].reshape(-1), maps[2].reshape(-1)
    assert abs(torch.vdot(a, b)) / (a.norm() * b.norm()) < 0.9


def test_birdcage_maps_refuse_coils_inside_the_field_of_view():
    with pytest.raises(ValueError, match="radius > 1"):
        birdcage_coil_maps(8, (8, 8), radius=0.5)
    assert math.isclose(float((birdcage_coil_maps(1, (4, 4)).abs()).max()), 1.0, rel_tol=1e-6)
