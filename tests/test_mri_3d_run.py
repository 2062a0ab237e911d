"""True-3D MRI through `recon run`: a 3D Shepp-Logan volume, 8 coils, a Poisson-disc mask over (kz, ky), BART files.

The volume is ``(depth, rows, cols) = (16, 32, 32)``; rows are the read-out, so the mask
(4x, a fully sampled 6 x 8 centre) is drawn over ``(depth, cols)`` and repeated along
the rows, as a 3D Cartesian scan measures whole read-outs. It changes along depth, so
``operator.ndim: 2`` splits the volume along the read-out into 32 ``(depth, cols)``
problems (:mod:`recon.experiments.mri_volume`); ``operator.ndim: 3`` solves one. A BART volume is written
in BART's axis order ``(READ, PHS1, PHS2) = (rows, cols, depth)``; :func:`run` checks that and turns it back.
"""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch
from mri_3d_scan import (
    COLS,
    DEPTH,
    ROWS,
    simulated_kspace,
    volume_scores,
    write_bart_volume,
)

from recon.cli import main


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    from recon.datasets.fastmri import write_fastmri
    from recon.operators.coil_maps_3d import centred_ifft_along
    from recon.operators.mri_masks import poisson_disc_mask

    folder = tmp_path_factory.mktemp("volume")
    plane = poisson_disc_mask((DEPTH, COLS), 4, seed=0, calibration=(6, 8))
    kspace, truth, maps = simulated_kspace(plane)
    # What a 2D tool does with the volume: the inverse FFT along depth, then each depth slice on its own, its mask
    # the zero pattern (the columns measured on any kz plane). In fastMRI's layout the reader does just that.
    hybrid = centred_ifft_along(kspace, -3).transpose(0, 1)
    return {"cfl": write_bart_volume(folder / "volume", kspace).with_suffix(".cfl"), "kspace": kspace,
            "truth": truth, "maps": maps, "plane": plane, "folder": folder,
            "depth-slices": write_fastmri(folder / "hybrid.h5", hybrid.numpy(), reconstruction_rss=truth.numpy())}


def run(scan, experiment: str, *settings: str, name: str | None = None, source: str = "cfl") -> np.ndarray:
    """The reconstruction ``(depth, rows, cols)``; from the BART file it is written ``(rows, cols, depth)``."""
    output = scan["folder"] / f"{name or experiment}.h5"
    arguments = ["run", experiment, "--input", str(scan[source]), "--output", str(output), "--quiet", "--overwrite"]
    for setting in ("output.figure=false", *settings):
        arguments += ["--set", setting]
    assert main(arguments) == 0
    with h5py.File(output) as f:
        image = f["reconstruction"][()]
    if source != "cfl":
        return image
    assert image.shape == (ROWS, COLS, DEPTH)          # BART's (READ, PHS1, PHS2)
    return image.transpose(2, 0, 1)


TV = ("operator.coil_maps=lowres", "prior.strength=0.003", "solver.max_iter=150")


@pytest.fixture(scope="module")
def runs(scan):
    return {"zero-filled": run(scan, "mri-zf"),
            "3d": run(scan, "mri-tv", "operator.ndim=3", *TV, name="tv-3d"),
            "read-out slices": run(scan, "mri-tv", *TV, name="tv-read-out-slices"),
            "depth slices": run(scan, "mri-tv", *TV, name="tv-depth-slices", source="depth-slices")}


def test_true_3d_tv_beats_zero_filled_and_slice_by_slice(runs, scan):
    scores = {kind: volume_scores(image, scan["truth"]) for kind, image in runs.items()}
    assert all(image.shape == (DEPTH, ROWS, COLS) for image in runs.values())
    (zf_psnr, zf_ssim), (psnr_3d, ssim_3d), (psnr_rows, ssim_rows), (psnr_depth, ssim_depth) = scores.values()
    # Measured (PSNR dB / SSIM, 150 PDHG iterations each): zero-filled 17.58 / 0.405, 3D TV 24.18 / 0.801,
    # the 32 read-out slices 24.31 / 0.783, the 16 depth slices 17.86 / 0.422 (200 iterations: 25.52 / 0.850,
    # 25.65 / 0.830, 17.84 / 0.420). 3D TV takes about a third of the read-out slices' time.
    assert psnr_3d > zf_psnr + 5.5 and ssim_3d > zf_ssim + 0.33, scores
    # The depth slices of data undersampled along kz are not 2D problems: they get little past zero-filling.
    assert psnr_3d > psnr_depth + 5.0 and ssim_3d > ssim_depth + 0.3, scores
    # The read-out slices are exact 2D problems (a 2D TV each, the 3D TV less its read-out term): as good
    # in PSNR, a little worse in SSIM.
    assert ssim_3d > ssim_rows + 0.01 and psnr_3d > psnr_rows - 0.4, scores


def test_a_fastmri_file_whose_slices_are_kz_is_reconstructed_in_3d_and_scored(scan):
    """fastMRI files cannot say that their slice axis is k-space: ``operator.ndim: 3`` says it."""
    from recon.datasets.fastmri import write_fastmri
    from recon.metrics import psnr

    scan["h5"] = write_fastmri(scan["folder"] / "volume.h5", scan["kspace"].transpose(0, 1).numpy(),
                               reconstruction_rss=scan["truth"].numpy())
    short = ("operator.ndim=3", "operator.coil_maps=lowres", "solver.max_iter=200")
    from_fastmri = run(scan, "mri-tv", *short, name="tv-3d-fastmri", source="h5")
    np.testing.assert_array_equal(from_fastmri, run(scan, "mri-tv", *short, name="tv-3d-bart"))
    with h5py.File(scan["folder"] / "tv-3d-fastmri.h5") as f:
        metrics = dict(f["metrics"].attrs)
        per_slice = f["metrics/psnr_db"][()]
    truth = scan["truth"]
    expected = [psnr(torch.as_tensor(from_fastmri[i]), truth[i], data_range=float(truth[i].max()))
                for i in range(DEPTH)]
    np.testing.assert_allclose(per_slice, expected, rtol=1e-5)
    assert metrics["psnr_db"] == pytest.approx(np.mean(expected), rel=1e-5)


def test_zero_filled_is_the_rss_of_the_3d_inverse_fft_whatever_ndim(runs, scan):
    from recon.operators.mri_zero_filled import zero_filled

    expected = zero_filled(scan["kspace"][None], ndim=3)[0, 0].numpy()
    np.testing.assert_allclose(runs["zero-filled"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(run(scan, "mri-zf", "operator.ndim=3", name="zf-3d"), runs["zero-filled"])


def test_3d_wavelets_and_a_single_coil_volume_run(scan, tmp_path):
    zf_psnr, zf_ssim = volume_scores(scan_zero_filled(scan), scan["truth"])
    wavelet = run(scan, "mri-wavelet", "operator.ndim=3", "operator.coil_maps=lowres", "prior.strength=0.003",
                  "solver.max_iter=100", name="wavelet-3d")
    psnr, ssim = volume_scores(wavelet, scan["truth"])
    # Measured: 21.63 dB / 0.630 against zero-filled's 17.58 / 0.405.
    assert psnr > zf_psnr + 3.0 and ssim > zf_ssim + 0.17, (psnr, ssim, zf_psnr, zf_ssim)
    single = {"cfl": write_bart_volume(tmp_path / "one", scan["kspace"][:1]).with_suffix(".cfl"), "folder": tmp_path}
    image = run(single, "mri-tv", "operator.ndim=3", "solver.max_iter=20", name="single")
    assert image.shape == (DEPTH, ROWS, COLS) and np.isfinite(image).all()


def scan_zero_filled(scan) -> np.ndarray:
    from recon.operators.mri_zero_filled import zero_filled

    return zero_filled(scan["kspace"][None], ndim=3)[0, 0].numpy()


@pytest.mark.parametrize("axis", ["depth", "rows"])
def test_the_split_into_2d_problems_is_exact(scan, axis):
    """``operator.ndim: 2`` on 3D k-space: the 2D adjoints and residuals of the split add up to the 3D ones."""
    from recon.experiments.mri_volume import split
    from recon.operators import MultiCoilMRI

    plane = scan["plane"]
    if axis == "depth":                       # one column mask on every kz plane
        plane = plane.amax(dim=0, keepdim=True).expand_as(plane)
    mask = plane[:, None, :].expand(DEPTH, ROWS, COLS)
    kspace, maps = scan["kspace"][None] * mask, scan["maps"]
    parts = split(kspace, mask)
    assert parts.axis == axis
    volume = MultiCoilMRI(mask, maps, ndim=3)
    sliced_maps = maps.transpose(0, 1) if axis == "depth" else maps.permute(2, 0, 1, 3)   # (n, coils, a, b)
    slices = [MultiCoilMRI(parts.mask, sliced_maps[j]) for j in range(parts.kspace.shape[0])]
    adjoint = torch.cat([op.A_adjoint(parts.kspace[j:j + 1]) for j, op in enumerate(slices)])
    np.testing.assert_allclose(parts.join(adjoint)[:, 0].numpy(), volume.A_adjoint(kspace)[0, 0].numpy(),
                               atol=1e-5)
    x = torch.randn(1, 1, DEPTH, ROWS, COLS, dtype=torch.complex64, generator=torch.Generator().manual_seed(1))
    x_slices = x[0].transpose(0, 1) if axis == "depth" else x[0].permute(2, 0, 1, 3)     # (n, 1, a, b)
    residual_3d = float((volume.A(x) - kspace).norm())
    residual_2d = math.sqrt(sum(float((op.A(x_slices[j:j + 1]) - parts.kspace[j:j + 1]).norm()) ** 2
                                for j, op in enumerate(slices)))
    assert residual_2d == pytest.approx(residual_3d, rel=1e-5)


def _error(capsys, *arguments) -> str:
    assert main(["run", *arguments, "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_what_a_volume_cannot_do_is_a_one_line_error(scan, tmp_path, capsys):
    from recon.datasets.bart_cfl import write_cfl

    out = str(tmp_path / "out.h5")
    cfl = str(scan["cfl"])
    # BART's SLICE dimension (13) holds separate 2D slices: no true-3D reconstruction of those.
    slices = write_cfl(tmp_path / "slices", scan["kspace"].permute(2, 3, 0, 1).numpy()[:, :, None, :, None, None,
                                                                                         None, None, None, None,
                                                                                         None, None, None, :])
    assert "operator.ndim: expected 3D k-space" in _error(capsys, "mri-tv", "--input", f"{slices}.cfl", "--output",
                                                          out, "--set", "operator.ndim=3")
    # One kz plane of a 3D k-space is no slice.
    assert "input.index: expected null" in _error(capsys, "mri-zf", "--input", cfl, "--output", out,
                                                  "--set", "input.index=3")
    # A mask that changes along every axis does not split into 2D slices.
    scattered = scan["kspace"] * (torch.rand(DEPTH, ROWS, COLS, generator=torch.Generator().manual_seed(2)) < 0.5)
    stem = write_bart_volume(tmp_path / "scattered", scattered)
    text = _error(capsys, "mri-tv", "--input", f"{stem}.cfl", "--output", out)
    assert "operator.ndim: expected a mask that is the same on every kz plane or on every read-out row" in text
    # A true-3D calibration block must be measured on every read-out row.
    text = _error(capsys, "mri-tv", "--input", f"{stem}.cfl", "--output", out, "--set", "operator.ndim=3")
    assert "is not measured on every read-out row" in text
    text = _error(capsys, "mri-tv", "--input", cfl, "--output", out, "--set", "operator.ndim=3",
                  "--set", "operator.calibration=[8,12]")
    assert "espirit_maps_3d: the calibration block (8, 12) (depth, cols) is not measured on every read-out row" in text


def test_auto_for_a_volume_solved_in_3d_takes_the_fixed_strength_and_says_so(scan, capsys):
    """mri-tv's strength is auto, which chooses λ slice by slice: a volume solved in 3D takes prior.fixed_strength."""
    short = ("operator.ndim=3", "operator.coil_maps=lowres", "solver.max_iter=20")
    output = scan["folder"] / "tv-3d-auto.h5"
    capsys.readouterr()
    assert main(["run", "mri-tv", "--input", str(scan["cfl"]), "--output", str(output), "--overwrite",
                 *[item for setting in ("output.figure=false", *short) for item in ("--set", setting)]]) == 0
    assert ("prior.strength auto: chosen slice by slice (operator.ndim=2); a volume solved in 3D takes "
            "prior.fixed_strength 0.01") in capsys.readouterr().out
    with h5py.File(output) as f:
        auto = f["reconstruction"][()]
    np.testing.assert_array_equal(auto, run(scan, "mri-tv", *short, "prior.strength=0.01", name="tv-3d-fixed")
                                  .transpose(1, 2, 0))
