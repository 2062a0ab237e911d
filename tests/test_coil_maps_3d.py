"""3D coil maps: ESPIRiT on each read-out position and the 3D-windowed low-resolution maps find the simulated coils."""

from __future__ import annotations

import pytest
import torch
from mri_3d_scan import COLS, DEPTH, simulated_kspace

from recon.operators.coil_maps_3d import (
    calibration_block_3d,
    centred_ifft_along,
    espirit_maps_3d,
    lowres_coil_maps_3d,
)
from recon.operators.fourier import centred_fft, centred_ifft


@pytest.fixture(scope="module")
def scan():
    from recon.operators.mri_masks import poisson_disc_mask

    kspace, truth, maps = simulated_kspace(poisson_disc_mask((DEPTH, COLS), 4, seed=0, calibration=(6, 8)))
    return kspace, truth > 0.05, maps


def _agreement(estimate, maps, inside) -> torch.Tensor:
    """|<S_true, S_estimate>| over coils at the object's pixels: 1 where they agree up to a phase."""
    return (maps.conj() * estimate).sum(0).abs()[inside]


def test_the_calibration_block_is_the_sampled_centre_of_the_phase_encodes(scan):
    kspace, _, _ = scan
    assert calibration_block_3d(kspace) == (6, 8)
    assert calibration_block_3d(kspace, (4, 6)) == (4, 6)
    with pytest.raises(ValueError, match=r"block \(8, 12\) \(depth, cols\) is not measured on every read-out row"):
        calibration_block_3d(kspace, (8, 12))
    with pytest.raises(ValueError, match="must be 'auto' or a"):
        calibration_block_3d(kspace, (DEPTH + 1, 4))


def test_espirit_3d_and_lowres_3d_find_the_coils(scan):
    kspace, inside, maps = scan
    # Measured on the 6 x 8 block: ESPIRiT mean 0.9991 (1st percentile 0.9946), low-resolution 0.9991 (0.9965).
    espirit = _agreement(espirit_maps_3d(kspace, crop=0.0), maps, inside)
    lowres = _agreement(lowres_coil_maps_3d(kspace), maps, inside)
    for agreement in (espirit, lowres):
        assert float(agreement.mean()) > 0.998 and float(agreement.quantile(0.01)) > 0.99
    # Smaller ESPIRiT kernels fit the small block better: (4, 4) gives 0.9997.
    assert float(_agreement(espirit_maps_3d(kspace, crop=0.0, kernel=(4, 4)), maps, inside).mean()) > 0.9995


def test_one_axis_inverse_ffts_make_the_3d_one():
    x = torch.randn(2, 5, 6, 7, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    k = centred_fft(x, ndim=3)
    assert torch.allclose(centred_ifft_along(centred_ifft_along(centred_ifft_along(k, -1), -2), -3), x)
    assert torch.allclose(centred_ifft_along(k, -3), centred_fft(centred_ifft(k, ndim=3), ndim=2))
