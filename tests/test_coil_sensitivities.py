"""Coil sensitivity estimation: ESPIRiT and the low-resolution estimate, on simulated coils and on real 8-coil brain data."""

import math

import numpy as np
import pytest
import torch
from conftest import require_file
from scipy import ndimage

from recon.operators.coil_sensitivities import auto_calibration_region, lowres_coil_maps
from recon.operators.espirit import espirit_maps
from recon.operators.fourier import centred_fft, centred_ifft


def simulated_scan(n=96, coils=8, seed=0):
    """Fully sampled k-space of a piecewise-constant phantom seen by a ring of coils, and the true maps.

    Coil c sits at angle 2 pi c / coils, 1.3 half-widths from the centre: a Gaussian magnitude
    profile (width 0.8) and a linear phase across the field of view, normalised to sum |S|^2 = 1.
    """
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, n, dtype=torch.float64),
                            torch.linspace(-1, 1, n, dtype=torch.float64), indexing="ij")
    rho = ((xx / 0.7) ** 2 + (yy / 0.85) ** 2 < 1).double()
    rho = rho - 0.5 * (((xx - 0.2) / 0.2) ** 2 + ((yy + 0.1) / 0.35) ** 2 < 1).double()
    rho = rho + 0.4 * (((xx + 0.3) / 0.15) ** 2 + ((yy - 0.3) / 0.15) ** 2 < 1).double()
    maps = []
    for c in range(coils):
        angle = 2 * math.pi * c / coils
        px, py = 1.3 * math.cos(angle), 1.3 * math.sin(angle)
        magnitude = torch.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * 0.8 ** 2))
        phase = 1.5 * (math.cos(angle) * xx + math.sin(angle) * yy) + angle
        maps.append(magnitude * torch.exp(1j * phase))
    maps = torch.stack(maps)
    maps = maps / torch.linalg.vector_norm(maps, dim=0, keepdim=True)
    kspace = centred_fft(maps * rho)
    generator = torch.Generator().manual_seed(seed)
    noise = torch.complex(torch.randn(kspace.shape, generator=generator, dtype=torch.float64),
                          torch.randn(kspace.shape, generator=generator, dtype=torch.float64))
    kspace = kspace + 1e-3 * kspace.abs().max() * noise
    return kspace.to(torch.complex64), maps.to(torch.complex64), rho.float()


def map_agreement(maps, true_maps):
    r"""Per pixel :math:`|\langle S, S_{true}\rangle| / (\|S\| \|S_{true}\|)`: 1 when equal up to a common phase."""
    inner = (maps.conj() * true_maps).sum(0).abs()
    norms = torch.linalg.vector_norm(maps, dim=0) * torch.linalg.vector_norm(true_maps, dim=0)
    return inner / norms.clamp_min(1e-12)


def correlation(a, b):
    return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])


def high_frequency_fraction(maps, region, box=24):
    """Energy of the maps outside the central box x box of their k-space, over their energy, inside ``region``."""
    rows, cols = maps.shape[-2:]
    keep = torch.zeros(rows, cols)
    keep[rows // 2 - box // 2:rows // 2 - box // 2 + box, cols // 2 - box // 2:cols // 2 - box // 2 + box] = 1
    high = maps - centred_ifft(centred_fft(maps) * keep)
    return float((high.abs() ** 2 * region).sum() / (maps.abs() ** 2 * region).sum())


@pytest.fixture(scope="module")
def scan():
    return simulated_scan()


def test_espirit_recovers_simulated_maps(scan):
    kspace, true_maps, rho = scan
    maps = espirit_maps(kspace, calibration=(24, 24))
    inside = rho > 0
    energy = (maps.abs() ** 2).sum(0)[inside]
    assert float((energy - 1).abs().max()) < 0.05                       # measured 1e-6: nothing cropped inside
    agreement = map_agreement(maps, true_maps)[inside]
    assert float(agreement.mean()) > 0.999                              # measured 0.99998
    assert float(agreement.min()) > 0.99                                # measured 0.99974
    combined = (maps.conj() * centred_ifft(kspace)).sum(0).abs()
    assert correlation(combined[inside], rho[inside]) > 0.99            # measured 0.9980 (the 1e-3 noise)


def test_lowres_recovers_simulated_maps(scan):
    kspace, true_maps, rho = scan
    maps = lowres_coil_maps(kspace, calibration=(24, 24))
    inside = rho > 0
    assert float(((maps.abs() ** 2).sum(0)[inside] - 1).abs().max()) < 1e-5
    assert float(map_agreement(maps, true_maps)[inside].mean()) > 0.999    # measured 0.99986
    combined = (maps.conj() * centred_ifft(kspace)).sum(0).abs()
    assert correlation(combined[inside], rho[inside]) > 0.99               # measured 0.9980


def test_slices_dtype_and_extra_maps(scan):
    kspace, _, _ = scan
    single = espirit_maps(kspace, calibration=(20, 20))
    stacked = espirit_maps(torch.stack([kspace, 2 * kspace.flip(-1)]).to(torch.complex128), calibration=(20, 20))
    assert stacked.shape == (2, 8, 96, 96) and stacked.dtype == torch.complex128
    # each slice is calibrated on its own k-space; thresholds are relative, so the scale of k-space does not matter
    assert torch.allclose(stacked[0].to(torch.complex64), single, atol=1e-4)
    assert torch.allclose(stacked[1].to(torch.complex64), espirit_maps(kspace.flip(-1), calibration=(20, 20)),
                          atol=1e-4)
    assert not torch.allclose(stacked[1], stacked[0], atol=1e-2)
    two = espirit_maps(kspace, calibration=(20, 20), n_maps=2)
    assert two.shape == (2, 8, 96, 96) and two.dtype == torch.complex64
    assert torch.allclose(two[0], single, atol=1e-4)
    low = lowres_coil_maps(kspace[None].to(torch.complex128), calibration=16, window=None)
    assert low.shape == (1, 8, 96, 96) and low.dtype == torch.complex128


def test_auto_calibration_region_finds_the_fully_sampled_centre(scan):
    kspace, _, _ = scan
    columns = torch.arange(96)
    # 4x equispaced (columns 1, 5, 9, ...) plus the 24 centre columns 36..59; columns 35 and 60 are not sampled
    sampled = (columns % 4 == 1) | ((columns >= 48 - 12) & (columns < 48 + 12))
    masked = kspace * sampled
    assert auto_calibration_region(masked) == (96, 24)
    assert auto_calibration_region(masked[None].repeat(2, 1, 1, 1)) == (96, 24)
    maps = espirit_maps(masked, calibration="auto")
    assert maps.shape == kspace.shape
    # only the calibration block is read: the undersampled scan gives the maps of the full one
    assert torch.allclose(maps, espirit_maps(kspace, calibration=(96, 24)), atol=1e-5)
    square = torch.zeros(96, 96, dtype=torch.bool)
    square[40:56, 42:54] = True                                          # 16 x 12 block centred at (48, 48)
    assert auto_calibration_region(kspace * square) == (16, 12)


def test_clear_errors(scan):
    kspace, _, _ = scan
    with pytest.raises(ValueError, match=r"espirit_maps: calibration \(128, 24\) is larger than the image"):
        espirit_maps(kspace, calibration=(128, 24))
    with pytest.raises(ValueError, match=r"lowres_coil_maps: calibration \(24, 97\) is larger"):
        lowres_coil_maps(kspace, calibration=(24, 97))
    with pytest.raises(ValueError, match=r"espirit_maps: kspace must be \(coils, rows, cols\) or"):
        espirit_maps(kspace[0])
    with pytest.raises(ValueError, match=r"lowres_coil_maps: kspace must be"):
        lowres_coil_maps(kspace[None, None])
    with pytest.raises(ValueError, match=r"espirit_maps: kernel must be"):
        espirit_maps(kspace, calibration=(8, 8), kernel=(10, 6))
    with pytest.raises(ValueError, match=r"espirit_maps: the calibration block \(24, 24\) is not fully sampled"):
        espirit_maps(kspace * (torch.arange(96) % 2 == 0), calibration=(24, 24))
    with pytest.raises(ValueError, match=r"auto_calibration_region: kspace has no sample at its centre"):
        auto_calibration_region(kspace * (torch.arange(96) % 2 == 1))
    with pytest.raises(ValueError, match=r"espirit_maps: n_maps must be between 1 and the number of coils \(8\)"):
        espirit_maps(kspace, n_maps=9)
    with pytest.raises(ValueError, match=r"lowres_coil_maps: window must be 'hann' or None"):
        lowres_coil_maps(kspace, window="kaiser")


@pytest.fixture(scope="module")
def brain(testdata_dir):
    """The filled 168 phase-encode columns of the 8-coil brain: fully sampled (8, 320, 168) k-space."""
    import scipy.io

    data = scipy.io.loadmat(require_file(testdata_dir, "mri/brain_alias_8ch.mat"))["DATA"]
    kspace = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)[:, :, 44:212])).to(torch.complex64)
    kspace = kspace / kspace.abs().max()
    images = centred_ifft(kspace)
    rss = torch.linalg.vector_norm(images, dim=0)
    head = ndimage.binary_fill_holes((rss > 0.1 * rss.max()).numpy())          # 84 % of the image
    interior = torch.from_numpy(ndimage.binary_erosion(head, iterations=8))    # away from the skin edge
    return kspace, images, rss, torch.from_numpy(head), interior


@pytest.mark.parametrize("estimate, min_correlation, max_high_frequency", [
    (lambda k: espirit_maps(k, calibration=(24, 24)), 0.99, 0.01),     # measured 0.99418, 0.0058 (1.0 s)
    (lambda k: lowres_coil_maps(k, calibration=(24, 24)), 0.99, 0.001),  # measured 0.99417, 0.0004 (0.04 s)
], ids=["espirit", "lowres"])
def test_real_brain_maps(brain, estimate, min_correlation, max_high_frequency):
    kspace, images, rss, head, interior = brain
    maps = estimate(kspace)
    assert maps.shape == (8, 320, 168) and maps.dtype == torch.complex64
    assert float(((maps.abs() ** 2).sum(0)[head] - 1).abs().max()) < 1e-4   # no pixel of the head is cropped
    combined = (maps.conj() * images).sum(0).abs()
    assert correlation(combined[head], rss[head]) > min_correlation
    assert high_frequency_fraction(maps, interior) < max_high_frequency
    # for scale: the coil images themselves have 0.14 of their energy above the 24 x 24 centre
    assert high_frequency_fraction(images, interior) > 0.1


def test_real_brain_auto_calibration(brain):
    kspace = brain[0]
    columns = torch.arange(168)
    sampled = (columns % 4 == 1) | ((columns >= 84 - 12) & (columns < 84 + 12))   # 4x with a 24-column centre
    rows, cols = auto_calibration_region(kspace * sampled)
    # 24 columns; 103 rows, because the 16-bit data have exact zeros in some coils in outer k-space
    assert (rows, cols) == (103, 24)
