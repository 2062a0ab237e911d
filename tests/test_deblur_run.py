"""`recon run` on deblurring files: the five deblur configs, their outputs and margins, PSF overrides, bad input.

The files (written with :func:`recon.datasets.deblur_format.write_deblur` / ``write_multiband``):

* ``blurred.h5`` — 96² ``camera`` in [0, 1], Gaussian PSF σ = 2 (13 × 13), reflected boundary,
  Gaussian noise σ = 0.01 (``metadata@noise_sigma``);
* ``counts.h5`` — the same blur, Poisson counts at peak 10 (the SPIRAL-TAP regime);
* ``bands.h5`` — the multiband scene of ``tests/test_multiband.py``: 3 Sérsic bands at 24², a
  48² broad band (weights 0.3 / 0.4 / 0.3), noise 0.01.

Each run goes through the command line, as a user runs it; the PSNRs asserted are measured
(given beside each) with slack for a different BLAS.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from recon.cli import main
from recon.datasets.deblur_format import write_deblur, write_multiband
from recon.datasets.galaxies import multiband_scene
from recon.datasets.phantoms import camera
from recon.operators.blur import Blur
from recon.operators.deblur_acquisition import MultibandAcquisition
from recon.operators.psf import gaussian_psf, moffat_psf

SIZE = 96


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deblur")
    truth = camera(SIZE).double()
    psf = gaussian_psf(13, 2.0)
    blur = Blur(psf, (SIZE, SIZE), "reflect")
    noise = torch.randn(truth.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    blurred = write_deblur(folder / "blurred.h5", blur.A(truth) + 0.01 * noise, psf, ground_truth=truth,
                           metadata={"noise": "gaussian", "noise_sigma": 0.01})
    counts = torch.poisson((10 * blur.A(truth)).clamp_min(0), generator=torch.Generator().manual_seed(2))
    photons = write_deblur(folder / "counts.h5", counts, psf, ground_truth=10 * truth,
                           metadata={"noise": "poisson", "peak": 10})
    scene = multiband_scene((48, 48), 3, galaxies=4, stars=2, seed=0)
    scene = (scene / scene.max()).double()
    setup = MultibandAcquisition(torch.stack([moffat_psf(15, fwhm, 3.5) for fwhm in (5.0, 4.5, 4.0)]), 2, (48, 48),
                                 gaussian_psf(7, 0.8), [0.3, 0.4, 0.3])
    clean = setup.operator().A(scene[None, None])
    noisy = clean + 0.01 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1), dtype=clean.dtype)
    low, broad = setup.operator().unpack(noisy)
    bands = write_multiband(folder / "bands.h5", low[:, 0], broad[:, 0], setup, ground_truth=scene[None])
    np.save(folder / "psf.npy", psf.numpy())
    np.save(folder / "narrow.npy", gaussian_psf(13, 1.0).numpy())
    return {"blurred": blurred, "counts": photons, "bands": bands, "folder": folder}


def _run(config: str, source, output, *settings) -> int:
    threads = torch.get_num_threads()
    try:
        args = ["--threads", "1", "run", config, "--input", str(source), "--output", str(output), "--quiet"]
        for setting in settings:
            args += ["--set", setting]
        return main(args)
    finally:
        torch.set_num_threads(threads)


def _psnr(path) -> float:
    with h5py.File(path) as f:
        return float(f["metrics"].attrs["psnr_db"])


@pytest.fixture(scope="module")
def runs(files):
    outputs = {}
    for config, source in (("deblur-wiener", "blurred"), ("deblur-rl", "blurred"), ("deblur-tv", "blurred"),
                           ("deblur-poisson-tv", "counts"), ("deblur-multiband", "bands"), ("deblur-rl", "counts")):
        name = config if (config, source) != ("deblur-rl", "counts") else "deblur-rl counts"
        outputs[name] = files["folder"] / f"{name.replace(' ', '_')}.h5"
        assert _run(config, files[source], outputs[name]) == 0
    return outputs


def test_outputs_hold_the_image_truth_metrics_and_a_figure(runs):
    for config, path in runs.items():
        shape = (1, 3, 48, 48) if config == "deblur-multiband" else (1, 1, SIZE, SIZE)
        if config == "deblur-rl counts":
            continue
        with h5py.File(path) as f:
            assert f["reconstruction"].shape == shape and f["ground_truth"].shape == shape
            assert f["metrics/psnr_db"].shape == (shape[1],)          # one PSNR per band
            assert "modality: deblur" in f["config"].attrs["yaml"]
        figure = path.with_suffix(".png")
        assert figure.stat().st_size > 10_000 and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


MEASURED = {"deblur-wiener": 26.02, "deblur-rl": 25.65, "deblur-tv": 27.27, "deblur-poisson-tv": 22.44,
            "deblur-multiband": 36.46, "deblur-rl counts": 21.12}
# deblur-tv with prior.kind=l1-wavelet (db4, 3 levels): the best of strengths 3e-4 to 1e-2 and of haar / db4,
# converged (500 iterations change it by 0.01 dB); decimated wavelets are shift-variant, below Wiener here
WAVELET_MEASURED = 24.26


def test_each_config_scores_as_measured_and_tv_beats_wiener_and_rl(runs):
    scores = {config: _psnr(path) for config, path in runs.items()}
    print(scores)
    for config, expected in MEASURED.items():
        assert scores[config] == pytest.approx(expected, abs=0.15), config
    assert scores["deblur-tv"] > max(scores["deblur-wiener"], scores["deblur-rl"]) + 1.0   # measured +1.25
    # SPIRAL-TAP's claim at peak 10, through the command line: measured +1.32 dB (RL stops at iteration 2)
    assert scores["deblur-poisson-tv"] > scores["deblur-rl counts"] + 0.8


def test_richardson_lucy_stops_at_the_discrepancy_of_the_files_noise_level(runs):
    with h5py.File(runs["deblur-rl"]) as f:
        provenance = f["provenance"].attrs
        assert provenance["stop_reason"] == "discrepancy" and 5 < provenance["iterations"] < 100
        assert float(f["history/residual"][-1]) <= 1.0 < float(f["history/residual"][-2])


def test_multiband_beats_deblurring_the_broad_band_alone(files, runs, tmp_path):
    # The sharp broad band, deconvolved alone by TV, is the best single image there is of the bands' weighted sum;
    # as an estimate of each band it is 3.08 / 3.29 / 4.95 dB below the joint reconstruction (measured: joint
    # 35.68 / 37.08 / 36.63 dB; deblur-tv's default strength auto; at the fixed 0.001 it was 4.06 / 3.16 / 6.27). (Joint against band-by-band deconvolution of the low-resolution bands: tests/test_multiband.py.)
    with h5py.File(runs["deblur-multiband"]) as f:
        joint = f["metrics/psnr_db"][()]
        truth = f["ground_truth"][()][0]
    with h5py.File(files["bands"]) as f:
        broad, broad_psf = f["broad"][()], f["broad_psf"][()]
    alone = write_deblur(tmp_path / "broad.h5", torch.from_numpy(broad)[None], torch.from_numpy(broad_psf),
                         boundary="circular")
    assert _run("deblur-tv", alone, tmp_path / "broad_tv.h5") == 0
    with h5py.File(tmp_path / "broad_tv.h5") as f:
        image = f["reconstruction"][()][0, 0]
    from recon.metrics import psnr

    singles = [psnr(torch.from_numpy(image), torch.from_numpy(truth[k]), data_range=float(truth[k].max()))
               for k in range(3)]
    assert all(j > single + 2.5 for j, single in zip(joint, singles)), (joint, singles)


def test_a_psf_file_replaces_the_inputs_psf(files, tmp_path):
    same = tmp_path / "same.h5"
    assert _run("deblur-wiener", files["blurred"], same, f"operator.psf={files['folder'] / 'psf.npy'}") == 0
    assert _psnr(same) == pytest.approx(MEASURED["deblur-wiener"], abs=0.15)
    narrow = tmp_path / "narrow.h5"
    assert _run("deblur-wiener", files["blurred"], narrow, f"operator.psf={files['folder'] / 'narrow.npy'}") == 0
    assert _psnr(narrow) < _psnr(same) - 1.0            # the wrong PSF deblurs less: measured -2.3 dB


def test_the_boundary_can_be_overridden(files, tmp_path):
    output = tmp_path / "circular.h5"
    assert _run("deblur-tv", files["blurred"], output, "operator.boundary=circular") == 0
    with h5py.File(output) as f:
        assert "boundary: circular" in f["config"].attrs["yaml"]
    # the data were blurred with reflection: the periodic model is a little worse at the edges
    assert _psnr(output) < MEASURED["deblur-tv"]


def test_an_l1_wavelet_prior_deblurs_through_the_same_config(files, tmp_path):
    output = tmp_path / "wavelet.h5"
    assert _run("deblur-tv", files["blurred"], output, "prior.kind=l1-wavelet", "prior.strength=0.001") == 0
    with h5py.File(output) as f:
        assert "kind: l1-wavelet" in f["config"].attrs["yaml"]
    assert _psnr(output) == pytest.approx(WAVELET_MEASURED, abs=0.15)
    # the config's default strength auto takes the discrepancy principle for wavelets: measured 23.83 dB
    chosen = tmp_path / "wavelet_auto.h5"
    assert _run("deblur-tv", files["blurred"], chosen, "prior.kind=l1-wavelet") == 0
    assert _psnr(chosen) == pytest.approx(23.83, abs=0.15)
    assert _psnr(output) < MEASURED["deblur-tv"]          # piecewise-constant camera: TV is the better prior
    # the undecimated frame (haar, strength 3e-4 relative: the best of 2e-4 / 3e-4 / 1e-3), measured 26.52 dB
    frame = tmp_path / "frame.h5"
    assert _run("deblur-tv", files["blurred"], frame, "prior.kind=l1-wavelet", "prior.undecimated=true",
                "prior.wavelet=haar", "prior.strength=0.0003") == 0
    assert _psnr(frame) == pytest.approx(26.52, abs=0.15)
    assert _psnr(frame) > _psnr(output) + 1.5


def test_info_describes_the_psf_and_the_fitting_configs(files, capsys):
    assert main(["info", str(files["blurred"])]) == 0
    text = capsys.readouterr().out
    assert "PSF (13, 13), shared by every channel, width σ ≈ 1.99 px; boundary reflect" in text
    assert "experiments that fit: deblur-diffusion, deblur-pnp, deblur-poisson-tv, deblur-rl, deblur-tv, deblur-wiener" in text
    assert main(["info", str(files["bands"])]) == 0
    text = capsys.readouterr().out
    assert "multiband: 3 bands of 24 x 24 pixels, a broad band of 48 x 48 (factor 2)" in text
    assert "experiments that fit: deblur-diffusion, deblur-multiband, deblur-pnp\n" in text


@pytest.mark.parametrize("config, source, settings, expected", [
    ("deblur-wiener", "blurred", ["prior.kind=tv"],
     "recon run: error: prior.kind: wiener takes l2 (R = I) or tikhonov (R = gradient), got tv"),
    ("deblur-rl", "blurred", ["prior.kind=tv"],
     "recon run: error: solver.kind: richardson-lucy takes no prior; set prior.kind=none or use deconvolution-admm"),
    ("deblur-tv", "bands", [],
     "recon run: error: solver.kind: deconvolution-admm images one band at a time; a multiband file needs pdhg "
     "(prior.kind joint-tv couples the bands)"),
    ("deblur-tv", "blurred", ["solver.kind=csalsa"],
     "recon run: error: solver.kind: csalsa does not apply to deblurring; use wiener, richardson-lucy, "
     "deconvolution-admm, pdhg"),
    ("deblur-multiband", "blurred", [],
     "recon run: error: prior.kind: joint-tv couples the bands of a multiband file; this file has one image per "
     "PSF, use tv"),
    ("deblur-rl", "counts", ["solver.discrepancy=gaussian"], None),
    ("deblur-poisson-tv", "blurred", [], None),
])
def test_bad_combinations_are_one_line_errors(files, tmp_path, capsys, config, source, settings, expected):
    output = tmp_path / "out.h5"
    assert _run(config, files[source], output, *settings) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and not output.exists()
    if expected is not None:
        assert message == expected
    elif source == "counts":
        assert str(files["counts"]) in message and "metadata@noise_sigma" in message and "solver.noise_sigma" in message
    else:
        assert "poisson needs counts >= 0" in message and str(files["blurred"]) in message


def test_bad_psf_files_name_the_file_and_the_field(files, tmp_path, capsys):
    negative = tmp_path / "negative.npy"
    np.save(negative, -np.ones((3, 3)))
    three = tmp_path / "three.npy"
    np.save(three, np.ones((3, 5, 5)))
    for path, words in ((negative, "non-negative values"), (three, "one PSF, or one per channel (1)"),
                        (tmp_path / "missing.npy", "no such file")):
        assert _run("deblur-wiener", files["blurred"], tmp_path / "out.h5", f"operator.psf={path}") == 2
        message = capsys.readouterr().err.strip()
        assert "\n" not in message and str(path) in message and words in message, message


def test_a_psf_per_channel_is_deblurred_channel_by_channel(tmp_path):
    truth = torch.rand(1, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    truth = Blur(gaussian_psf(5, 1.0), (32, 32), "reflect").A(truth)            # smooth enough to deblur
    psfs = torch.stack([gaussian_psf(9, s) for s in (1.0, 1.5, 2.0)])
    blurred = Blur(psfs, (32, 32), "reflect").A(truth)
    source = write_deblur(tmp_path / "rgb.h5", blurred, psfs, ground_truth=truth)
    output = tmp_path / "rgb_wiener.h5"
    assert _run("deblur-wiener", source, output, "prior.strength=1e-4") == 0
    with h5py.File(output) as f:
        assert f["reconstruction"].shape == (1, 3, 32, 32) and f["metrics/psnr_db"].shape == (3,)
        restored = f["metrics/psnr_db"][()]
    from recon.metrics import psnr

    before = [psnr(blurred[0, k], truth[0, k], data_range=float(truth[0, k].max() - truth[0, k].min()))
              for k in range(3)]
    # measured gains (no noise, λ = 1e-4): +24.8 / +11.9 / +6.3 dB, the narrowest PSF undone best
    assert all(after > plain + 4.0 for after, plain in zip(restored, before)), (restored, before)
    assert restored[0] > restored[1] > restored[2]
