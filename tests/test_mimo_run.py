"""`recon run` on near-field MIMO radar files: the five mimo configs, their outputs, and bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from recon.cli import main
from recon.datasets.mimo_scenes import add_complex_noise, extended_targets, simulated_scene
from recon.datasets.radar_format import write_radar
from recon.operators.mimo_acquisition import MIMOAcquisition
from recon.operators.mimo_geometry import VoxelGrid, paper_array, paper_frequencies, paper_grid

COUNTS = (13, 13, 25)        # the paper's extents, a quarter of its voxels along each axis
FAST = ["--set", "solver.max_iter=60"]     # C-SALSA: enough to pass back-projection, not to converge
MARGIN_L1, MARGIN_TV = 2.5, 5.0            # over back-projection after 60 iterations: measured 4.54 and 7.05 dB
                                           # (3.75 and 6.60 without over-relaxation)


def _acquisition() -> MIMOAcquisition:
    full = paper_grid()
    transmitters, receivers = paper_array()
    return MIMOAcquisition(transmitters, receivers, paper_frequencies(10), VoxelGrid(full.x, full.y, full.z, COUNTS))


@pytest.fixture(scope="module")
def radar_files(tmp_path_factory):
    """A 30 dB scene with its noise level in the metadata, and the same data without it."""
    folder = tmp_path_factory.mktemp("radar")
    scene = simulated_scene(0, COUNTS)                     # the paper's array, N_f = 10, 30 dB
    y, acquisition, truth = scene.data, scene.geometry, scene.ground_truth
    with_sigma = write_radar(folder / "scene.h5", y, acquisition, ground_truth=truth, metadata=scene.metadata)
    without = write_radar(folder / "no_sigma.h5", y, acquisition, ground_truth=truth, metadata={"snr_db": 30.0})
    return with_sigma, without, scene.metadata["noise_sigma"]


@pytest.fixture(scope="module")
def runs(radar_files, tmp_path_factory):
    """Each shipped mimo config run through the CLI: name -> output path."""
    scene, _, _ = radar_files
    folder = tmp_path_factory.mktemp("runs")
    outputs, threads = {}, torch.get_num_threads()
    try:
        for name in ("mimo-bp", "mimo-kirchhoff", "mimo-l1", "mimo-tv", "mimo-pnp"):
            outputs[name] = folder / f"{name}.h5"
            extra = FAST if name in ("mimo-l1", "mimo-tv") else []
            assert main(["--threads", "1", "run", name, "--input", str(scene), "--output", str(outputs[name]),
                         "--quiet", *extra]) == 0
    finally:
        torch.set_num_threads(threads)
    return outputs


def _psnr3d(path) -> float:
    with h5py.File(path) as f:
        return float(f["metrics"].attrs["psnr3d_db"])


def test_outputs_hold_magnitude_phase_truth_metrics_and_a_projection_figure(runs):
    for name, path in runs.items():
        with h5py.File(path) as f:
            assert f["reconstruction"].shape == (1, *COUNTS) and f["phase"].shape == (1, *COUNTS)
            assert f["ground_truth"].shape == (1, *COUNTS)
            assert float(np.max(f["ground_truth"][()])) == pytest.approx(1.0)
            phase = f["phase"][()]
            assert np.all(np.abs(phase) <= np.pi + 1e-6) and np.std(phase) > 1.0    # random phase, kept
            assert f["metrics/psnr3d_db"].shape == (1,)
            assert "modality: mimo" in f["config"].attrs["yaml"]
        figure = path.with_suffix(".png")
        assert figure.stat().st_size > 10_000 and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_direct_images_are_peak_normalised_and_scored_as_measured(runs):
    for name, expected in (("mimo-bp", 16.70), ("mimo-kirchhoff", 16.98)):     # measured
        with h5py.File(runs[name]) as f:
            assert float(f["reconstruction"][()].max()) == pytest.approx(1.0, abs=1e-6)
        assert _psnr3d(runs[name]) == pytest.approx(expected, abs=0.1)


def test_regularised_runs_beat_back_projection_even_after_60_iterations(runs):
    bp = _psnr3d(runs["mimo-bp"])
    assert _psnr3d(runs["mimo-l1"]) > bp + MARGIN_L1
    assert _psnr3d(runs["mimo-tv"]) > bp + MARGIN_TV
    with h5py.File(runs["mimo-tv"]) as f:
        assert len(f["history/relative_change"]) == 60 and f["provenance"].attrs["iterations"] == 60


def test_plug_and_play_runs_its_30_iterations_and_beats_tv_after_60(runs):
    # measured: mimo-pnp 31.35 dB in 30 iterations (about 3 s), mimo-tv 23.75 dB after 60
    with h5py.File(runs["mimo-pnp"]) as f:
        assert f["provenance"].attrs["iterations"] == 30
        assert "drunet3d-small-radar" in f["config"].attrs["yaml"]
    assert _psnr3d(runs["mimo-pnp"]) == pytest.approx(31.35, abs=0.3)
    assert _psnr3d(runs["mimo-pnp"]) > _psnr3d(runs["mimo-tv"]) + 5.0


def test_a_file_without_noise_sigma_needs_it_from_the_config(radar_files, tmp_path, capsys):
    _, without, sigma = radar_files
    for name in ("mimo-l1", "mimo-tv"):
        assert main(["run", name, "--input", str(without), "--output", str(tmp_path / f"{name}.h5"), "--quiet"]) == 2
        message = capsys.readouterr().err.strip()
        assert "\n" not in message and str(without) in message
        assert "metadata@noise_sigma" in message and "solver.noise_sigma" in message and "solver.epsilon" in message
        assert not (tmp_path / f"{name}.h5").exists()
    for setting in (f"solver.noise_sigma={sigma}", f"solver.epsilon={sigma * (10 * 12 * 13) ** 0.5}"):
        output = tmp_path / "given.h5"
        assert main(["run", "mimo-l1", "--input", str(without), "--output", str(output), "--quiet", "--overwrite",
                     "--set", "solver.max_iter=5", "--set", setting]) == 0
        assert output.exists()


@pytest.mark.parametrize("config, settings, expected", [
    ("mimo-bp", ["prior.kind=tv"], "recon run: error: solver.kind: back-projection takes no prior; "
                                   "set prior.kind=none or use csalsa"),
    ("mimo-l1", ["solver.kind=pdhg"], "recon run: error: solver.kind: pdhg does not apply to radar; "
                                      "use back-projection, kirchhoff or csalsa"),
    ("mimo-l1", ["prior.kind=tikhonov"], "recon run: error: prior.kind: csalsa for radar takes l1, tv or pnp, "
                                         "got tikhonov"),
    ("mimo-pnp", ["solver.kind=hqs"], "recon run: error: solver.kind: hqs does not apply to radar; "
                                      "use back-projection, kirchhoff or csalsa"),
    ("mimo-pnp", ["prior.strength=0"], "recon run: error: prior.strength: pnp on radar takes the paper's alpha > 0 "
                                       "(sigma = sqrt(alpha/mu) of the image range), got 0"),
    ("mimo-pnp", ["prior.image_range=[1,0]"], "recon run: error: prior.image_range: expected [low, high] with "
                                              "high > low, got [1.0, 0.0]"),
    ("mimo-pnp", ["prior.denoiser=bm3d"], "recon run: error: prior.denoiser: bm3d denoises 2D images and radar "
                                          "images are 3D volumes; use drunet3d-small-radar or a 3D network of "
                                          "your own (prior.weights)"),
    ("mimo-l1", ["prior.acts_on=phase"], "recon run: error: --set prior.acts_on=phase: prior.acts_on: "
                                         "expected one of 'magnitude' or 'complex', got 'phase'"),
])
def test_bad_settings_are_one_line_errors(radar_files, tmp_path, capsys, config, settings, expected):
    scene, _, _ = radar_files
    args = ["run", config, "--input", str(scene), "--output", str(tmp_path / "out.h5"), "--quiet"]
    for setting in settings:
        args += ["--set", setting]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == expected
    assert not (tmp_path / "out.h5").exists()


def test_a_ct_config_on_a_radar_file_names_the_mismatch(radar_files, tmp_path, capsys):
    scene, _, _ = radar_files
    assert main(["run", "ct-fbp", "--input", str(scene), "--output", str(tmp_path / "out.h5"), "--quiet"]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "mimo data" in message and "a ct measurement" in message


def test_a_mimo_config_on_a_ct_file_names_the_mismatch(tmp_path, capsys):
    from recon.datasets.measurement import Measurement
    from recon.datasets.recon_format import write_measurement
    from recon.operators.ct_geometry import ParallelBeamGeometry

    geometry = ParallelBeamGeometry(np.linspace(0, np.pi, 8, endpoint=False), 12, image_shape=(8, 8))
    ct = write_measurement(tmp_path / "ct.h5", Measurement("ct", torch.zeros(1, 1, 8, 12), geometry, "recon", None))
    assert main(["run", "mimo-l1", "--input", str(ct), "--output", str(tmp_path / "out.h5"), "--quiet"]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "a mimo measurement" in message and "ct data" in message


def test_a_noise_level_per_scan_gives_each_scan_its_own_epsilon(tmp_path, capsys):
    acquisition = _acquisition()
    truths = torch.cat([extended_targets(COUNTS, seed=s) for s in (0, 1)])
    clean = acquisition.operator().A(truths)
    noisy, sigmas = [], []
    for k, snr in enumerate((30.0, 10.0)):
        y, sigma = add_complex_noise(clean[k:k + 1], snr, seed=2000 + k)
        noisy.append(y)
        sigmas.append(sigma)
    path = write_radar(tmp_path / "two.h5", torch.cat(noisy), acquisition, ground_truth=truths,
                       metadata={"noise_sigma": sigmas})
    m = (10 * 12 * 13) ** 0.5
    assert main(["run", "mimo-l1", "--input", str(path), "--output", str(tmp_path / "a.h5"),
                 "--set", "solver.max_iter=2"]) == 0
    shown = capsys.readouterr().out
    assert f"epsilon = [{sigmas[0] * m:.4g}, {sigmas[1] * m:.4g}]" in shown
    assert main(["run", "mimo-l1", "--input", str(path), "--output", str(tmp_path / "b.h5"),
                 "--set", "solver.max_iter=2", "--set", "input.index=1"]) == 0
    assert f"epsilon = {sigmas[1] * m:.4g}," in capsys.readouterr().out
    bad = write_radar(tmp_path / "bad.h5", torch.cat(noisy), acquisition, metadata={"noise_sigma": [0.1, 0.2, 0.3]})
    assert main(["run", "mimo-l1", "--input", str(bad), "--output", str(tmp_path / "c.h5"), "--quiet"]) == 2
    message = capsys.readouterr().err.strip()
    assert message.endswith("metadata@noise_sigma: expected one value or one per scan (2), got 3") and str(bad) in message
