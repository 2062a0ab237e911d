"""The issue's real-data acceptance: the 8-coil brain, 4× undersampled, through `recon run` on fastMRI and BART files.

The 168 filled phase-encode columns (44..211) of ``brain_alias_8ch.mat`` are the
fully sampled reference; their root-sum-of-squares image is what every
reconstruction is scored against (PSNR and SSIM with the reference's range, as
fastMRI's evaluation does).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from conftest import require_file
from recon.cli import main

COLUMNS = slice(44, 212)


@pytest.fixture(scope="module")
def brain(testdata_dir):
    import scipy.io

    from recon.operators.mri_zero_filled import zero_filled

    data = scipy.io.loadmat(str(require_file(testdata_dir, "mri/brain_alias_8ch.mat")))["DATA"]
    kspace = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)[:, :, COLUMNS])).to(torch.complex64)
    reference = zero_filled(kspace[None]).abs()[0, 0]          # RSS of the fully sampled crop, (320, 168)
    return kspace, reference


def _masks(shape):
    from recon.operators.mri_masks import equispaced_mask, random_mask

    return {"equispaced": equispaced_mask(shape, 4, 0.08, offset=0),
            "random": random_mask(shape, 4, 0.08, seed=0)}


@pytest.fixture(scope="module")
def runs(brain, tmp_path_factory):
    """mri-zf, mri-sense, mri-tv and mri-wavelet on fastMRI files of both undersamplings; mri-tv also on BART cfl."""
    from recon.datasets.bart_cfl import write_cfl
    from recon.datasets.fastmri import write_fastmri

    kspace, reference = brain
    folder = tmp_path_factory.mktemp("brain")
    results = {}
    for kind, mask in _masks(tuple(kspace.shape[-2:])).items():
        measured = kspace * mask
        fastmri = folder / f"brain_{kind}.h5"
        write_fastmri(fastmri, measured[None].numpy(), mask=mask[0].numpy() if mask.dim() == 2 else mask.numpy(),
                      reconstruction_rss=reference[None].numpy())
        write_cfl(folder / f"brain_{kind}", measured.permute(1, 2, 0).numpy()[:, :, None, :])   # (x, y, z, coil)
        for experiment in ("mri-zf", "mri-sense", "mri-tv", "mri-wavelet"):
            output = folder / f"{kind}_{experiment}.h5"
            assert main(["run", experiment, "--input", str(fastmri), "--output", str(output), "--quiet"]) == 0
            with h5py.File(output) as f:
                results[kind, experiment] = (dict(f["metrics"].attrs), f["reconstruction"][()])
        bart_output = folder / f"{kind}_mri-tv_bart.h5"
        assert main(["run", "mri-tv", "--input", str(folder / f"brain_{kind}.cfl"), "--output", str(bart_output),
                     "--quiet"]) == 0
        with h5py.File(bart_output) as f:
            results[kind, "mri-tv-bart"] = (dict(f["metrics"].attrs), f["reconstruction"][()])
    results["folder"] = folder
    return results


@pytest.mark.parametrize("kind", ["equispaced", "random"])
def test_sense_and_tv_beat_zero_filled(runs, kind):
    zf, _ = runs[kind, "mri-zf"]
    for experiment in ("mri-sense", "mri-tv"):
        metrics, image = runs[kind, experiment]
        assert image.shape == (1, 320, 168)
        assert metrics["psnr_db"] > zf["psnr_db"] + MARGIN_DB[kind, experiment], (experiment, metrics, zf)
        assert metrics["ssim"] > zf["ssim"] + MARGIN_SSIM[kind, experiment], (experiment, metrics, zf)


def test_mri_tv_auto_is_within_1_db_of_the_old_fixed_strength_on_the_equispaced_scan(runs, tmp_path):
    """mri-tv's strength is auto. Measured on fastMRI-style equispaced columns: auto (λ 0.0052) 25.14 dB, the fixed
    0.01 it shipped with 25.99, the best of a grid 26.05 (at 0.013): the auto issue's bar is 1 dB."""
    fixed = tmp_path / "fixed.h5"
    assert main(["run", "mri-tv", "--input", str(runs["folder"] / "brain_equispaced.h5"), "--output", str(fixed),
                 "--quiet", "--set", "prior.strength=0.01"]) == 0
    with h5py.File(fixed) as f:
        fixed_psnr = f["metrics"].attrs["psnr_db"]
    auto_psnr = runs["equispaced", "mri-tv"][0]["psnr_db"]
    assert fixed_psnr - 1.0 < auto_psnr < fixed_psnr - 0.5, (auto_psnr, fixed_psnr)


@pytest.mark.parametrize("kind", ["equispaced", "random"])
def test_fastmri_and_bart_inputs_give_identical_outputs(runs, kind):
    np.testing.assert_array_equal(runs[kind, "mri-tv"][1], runs[kind, "mri-tv-bart"][1])


# Margins over zero-filled, as measured (PSNR dB / SSIM): equispaced SENSE +1.43 / +0.012, TV +1.58 / +0.029;
# random SENSE +1.67 / +0.008, TV +3.27 / +0.039 (TV by coil-split ADMM with mri-tv's strength auto, λ 0.0052 and
# 0.0053; at the fixed 0.01 TV gave +2.43 / +0.042 and +3.25 / +0.041). Asserted with a little room.
MARGIN_DB = {("equispaced", "mri-sense"): 1.2, ("equispaced", "mri-tv"): 1.4,
             ("random", "mri-sense"): 1.4, ("random", "mri-tv"): 2.5}
MARGIN_SSIM = {("equispaced", "mri-sense"): 0.008, ("equispaced", "mri-tv"): 0.025,
               ("random", "mri-sense"): 0.005, ("random", "mri-tv"): 0.03}


@pytest.mark.parametrize("kind", ["equispaced", "random"])
def test_wavelet_beats_zero_filled(runs, kind):
    zf, _ = runs[kind, "mri-zf"]
    metrics, image = runs[kind, "mri-wavelet"]
    assert image.shape == (1, 320, 168)
    assert metrics["psnr_db"] > zf["psnr_db"] + WAVELET_MARGIN_DB[kind], (metrics, zf)
    assert metrics["ssim"] > zf["ssim"] + WAVELET_MARGIN_SSIM[kind], (metrics, zf)


# mri-wavelet (40 PDHG iterations) over zero-filled, as measured: equispaced +1.80 dB / +0.024 SSIM,
# random +2.21 / +0.025.
WAVELET_MARGIN_DB = {"equispaced": 1.5, "random": 1.9}
WAVELET_MARGIN_SSIM = {"equispaced": 0.018, "random": 0.019}
