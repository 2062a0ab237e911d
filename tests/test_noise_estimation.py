"""Noise levels estimated from the data alone, against the σ the simulation used (3 levels per modality)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recon.datasets.noise_estimation import image_noise_sigma, kspace_noise_sigma, sinogram_noise_sigma


@pytest.mark.parametrize("views", [30, 180])
@pytest.mark.parametrize("noise", [0.005, 0.02, 0.05])
def test_sinogram_estimate_within_ten_percent(views, noise):
    """Measured ratios 0.93-1.07 (30 views) and 0.98-1.02 (180 views) on 4 test phantoms."""
    from recon.datasets.heldout_problems import few_view_ct_of
    from recon.datasets.image_sources import phantom_batch

    truth = phantom_batch("test", 4, 128)
    scan = few_view_ct_of(truth, "test phantoms", views=views, noise=noise)
    ratios = np.array(sinogram_noise_sigma(scan.data)) / np.array(scan.metadata["noise_sigma"])
    assert np.all(np.abs(ratios - 1) < 0.1), ratios


def test_without_the_detector_background_the_object_edges_inflate_the_estimate():
    """The check can fail: a sinogram with no air around the object (every bin inside it) at 0.5 % noise."""
    from recon.datasets.heldout_problems import few_view_ct_of
    from recon.datasets.image_sources import phantom_batch

    truth = phantom_batch("test", 2, 128)
    scan = few_view_ct_of(truth, "test phantoms", views=30, noise=0.005)
    inside = scan.data[..., 60:124]                         # the central detector bins only
    ratios = np.array(sinogram_noise_sigma(inside)) / np.array(scan.metadata["noise_sigma"])
    assert np.all(ratios > 1.2), ratios


@pytest.mark.parametrize("sigma", [0.003, 0.01, 0.03])
def test_blurred_image_estimate_within_ten_percent(sigma):
    """Gaussian blur σ = 2 of the held-out photographs: measured ratios 0.975-1.014."""
    from recon.datasets.heldout_problems import natural_squares
    from recon.operators.blur import Blur
    from recon.operators.psf import gaussian_psf

    images = torch.stack(list(natural_squares("test").values()))[:, None]
    blurred = Blur(gaussian_psf(25, 2.0), (256, 256), "reflect").A(images.double())
    noisy = blurred + sigma * torch.randn(blurred.shape, generator=torch.Generator().manual_seed(0),
                                          dtype=torch.float64)
    ratios = np.array(image_noise_sigma(noisy)) / sigma
    assert np.all(np.abs(ratios - 1) < 0.1), ratios


@pytest.mark.parametrize("noise", [0.002, 0.01, 0.03])
def test_kspace_estimate_within_ten_percent_for_a_band_limited_object(noise):
    """8 birdcage coils, 4× random columns. The object is Shepp–Logan smoothed by a 1.5-pixel Gaussian: an MR image
    is band-limited by its acquisition, so its spectrum has decayed at the k-space edge (measured ratio 1.005).
    A rasterised phantom with sharp edges is not: its corners still hold signal well above 1 % noise."""
    from scipy.ndimage import gaussian_filter

    from recon.datasets.coil_simulation import birdcage_coil_maps
    from recon.datasets.phantoms import shepp_logan
    from recon.datasets.simulate import add_gaussian_noise, relative_noise_sigmas
    from recon.operators.fourier import centred_fft
    from recon.operators.mri_masks import random_mask

    image = torch.from_numpy(gaussian_filter(shepp_logan(256)[0, 0].double().numpy(), 1.5))
    kspace = centred_fft(birdcage_coil_maps(8, (256, 256), dtype=torch.complex128) * image, 2)[None]
    mask = random_mask((256, 256), 4, 0.08, seed=0)
    noisy = add_gaussian_noise(kspace, noise, seed=0) * mask
    ratio = kspace_noise_sigma(noisy, mask)[0] / relative_noise_sigmas(kspace, noise)[0]
    assert abs(ratio - 1) < 0.1, ratio


def test_estimators_reject_what_they_cannot_read():
    with pytest.raises(ValueError, match="expected complex k-space"):
        kspace_noise_sigma(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="no sampled position"):
        kspace_noise_sigma(torch.zeros(1, 2, 8, 8, dtype=torch.complex64))
    with pytest.raises(ValueError, match="expected a batch of 2D arrays"):
        sinogram_noise_sigma(torch.zeros(8, 8))


# --- the real files: the estimate against a manual one from a background region ---------------------------


def test_real_brain_kspace_estimate_matches_its_corners(testdata_dir):
    """brain_alias_8ch.mat, fully sampled columns: measured 11.33 against 11.53 (rms of the four 16×16 corners)."""
    import scipy.io

    from conftest import require_file

    data = scipy.io.loadmat(str(require_file(testdata_dir, "mri/brain_alias_8ch.mat")))["DATA"]
    kspace = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)[:, :, 44:212])).to(torch.complex128)
    corners = torch.cat([kspace[:, rows, cols].flatten() for rows in (slice(0, 16), slice(-16, None))
                         for cols in (slice(0, 16), slice(-16, None))])
    manual = float((corners - corners.mean()).abs().pow(2).mean().sqrt())
    estimate = kspace_noise_sigma(kspace[None])[0]
    assert abs(estimate / manual - 1) < 0.05, (estimate, manual)


def test_real_tooth_sinogram_estimate_against_its_air_bins(testdata_dir):
    """tooth.h5 (APS Data Exchange): measured 0.0064 against 0.0079 for the spread of the outermost 8 detector bins of
    each view. The air bins also hold the detector's fixed-pattern differences, which the estimate (a finest-scale
    detail) discounts, so it sits below them."""
    from conftest import require_file
    from recon.datasets.formats import read_measurement

    sinogram = read_measurement(require_file(testdata_dir, "ct/tooth.h5")).data.double()
    air = torch.cat([sinogram[..., :8], sinogram[..., -8:]], dim=-1)
    manual = float((air - air.mean(dim=-1, keepdim=True)).std())
    estimates = sinogram_noise_sigma(sinogram)
    assert all(0.7 < e / manual < 1.0 for e in estimates), (estimates, manual)


def test_kspace_aliasing_level_predicts_the_energy_the_mask_leaves_out():
    """The band-limited Shepp–Logan through 8 coils, 4× random columns, noiseless: the energy of the unsampled
    columns, predicted ring by ring from the sampled ones, against the true one (measured ratio 0.89)."""
    from scipy.ndimage import gaussian_filter

    from recon.datasets.coil_simulation import birdcage_coil_maps
    from recon.datasets.noise_estimation import kspace_aliasing_sigma
    from recon.datasets.phantoms import shepp_logan
    from recon.operators.fourier import centred_fft
    from recon.operators.mri_masks import random_mask

    image = torch.from_numpy(gaussian_filter(shepp_logan(256)[0, 0].double().numpy(), 1.5))
    kspace = centred_fft(birdcage_coil_maps(8, (256, 256), dtype=torch.complex128) * image, 2)[None]
    mask = random_mask((256, 256), 4, 0.08, seed=0)
    sampled = mask.bool()
    true = math.sqrt(float(kspace[0][:, ~sampled].abs().square().sum()) / (int(sampled.sum()) * 8))
    ratio = kspace_aliasing_sigma(kspace * mask, mask, [0.0])[0] / true
    assert abs(ratio - 1) < 0.15, ratio
