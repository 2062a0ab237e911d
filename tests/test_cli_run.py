"""`recon run`, `recon info` and `recon configs` on a simulated scan: outputs, provenance, reruns, overrides."""

from __future__ import annotations

import hashlib
import io
import math
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from recon.cli import main
from recon.datasets.measurement import Measurement
from recon.datasets.phantoms import shepp_logan
from recon.datasets.recon_format import write_measurement
from recon.datasets.simulate import add_gaussian_noise
from recon.operators import ParallelBeamCT
from recon.operators.ct_geometry import ParallelBeamGeometry
from recon.progress import ProgressBar

SIZE, VIEWS = 48, 24


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scan")
    geometry = ParallelBeamGeometry(np.linspace(0, np.pi, VIEWS, endpoint=False), 70, image_shape=(SIZE, SIZE))
    operator = ParallelBeamCT(geometry.angles, geometry.n_detectors, image_shape=geometry.image_shape)
    truth = shepp_logan(SIZE)
    y = add_gaussian_noise(operator.A(truth), 0.01, seed=0)
    return write_measurement(folder / "scan.h5", Measurement("ct", y, geometry, "recon", None, ground_truth=truth))


def test_configs_lists_the_shipped_experiments(capsys):
    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [line.split()[0] for line in lines]
    assert {"ct-fbp", "ct-sirt", "ct-tv", "ct-wtv"} <= set(names)
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)   # a description on every line


@pytest.fixture(scope="module")
def tv_run(scan, tmp_path_factory):
    output = tmp_path_factory.mktemp("run") / "tv.h5"
    assert main(["run", "ct-tv", "--input", str(scan), "--output", str(output), "--quiet",
                 "--set", "solver.max_iter=40", "--set", "solver.tol=0"]) == 0
    return output


def test_run_writes_reconstruction_metrics_config_provenance_history(scan, tv_run):
    with h5py.File(tv_run) as f:
        assert f["reconstruction"].shape == (1, SIZE, SIZE)
        metrics = dict(f["metrics"].attrs)
        provenance = dict(f["provenance"].attrs)
        history = {name: f["history"][name][()] for name in f["history"]}
        config_text = f["config"].attrs["yaml"]
        reconstruction, truth = f["reconstruction"][0], f["ground_truth"][0]
    assert set(metrics) == {"psnr_db", "ssim", "nrmse"}
    mse = np.mean((reconstruction - truth) ** 2)
    assert metrics["psnr_db"] == pytest.approx(10 * math.log10(1.0 / mse), abs=1e-3)
    assert metrics["psnr_db"] > 25.0
    assert provenance["input_sha256"] == hashlib.sha256(scan.read_bytes()).hexdigest()
    assert provenance["input_format"] == "recon" and provenance["device"] == "cpu"
    assert provenance["iterations"] == 40 and provenance["seconds"] > 0
    assert len(history["objective"]) == 40 and np.all(np.diff(history["seconds"]) >= 0)
    assert "max_iter: 40" in config_text and str(scan.resolve()) in config_text
    assert tv_run.with_suffix(".png").stat().st_size > 10_000


def test_rerun_from_the_output_file_alone_gives_the_same_reconstruction(tv_run, tmp_path):
    again = tmp_path / "again.h5"
    assert main(["run", str(tv_run), "--output", str(again), "--quiet"]) == 0
    with h5py.File(tv_run) as first, h5py.File(again) as second:
        np.testing.assert_array_equal(first["reconstruction"][()], second["reconstruction"][()])
        assert first["config"].attrs["yaml"].replace(str(tv_run), "") == \
            second["config"].attrs["yaml"].replace(str(again), "")


def test_sirt_and_fbp_run_on_the_same_file(scan, tmp_path, capsys):
    for experiment in ("ct-fbp", "ct-sirt"):
        output = tmp_path / f"{experiment}.h5"
        assert main(["run", experiment, "--input", str(scan), "--output", str(output), "--quiet"]) == 0
        with h5py.File(output) as f:
            assert f["metrics"].attrs["psnr_db"] > 18.0
            if experiment == "ct-sirt":
                assert f["reconstruction"][()].min() >= 0.0            # its non-negativity constraint
                assert len(f["history/objective"]) == 100


def test_the_input_may_follow_the_experiment_without_input_flag(scan, tmp_path, capsys):
    """`recon run ct-fbp scan.h5` is `recon run ct-fbp --input scan.h5`; two different inputs are one line, exit 2."""
    by_flag, by_position = tmp_path / "flag.h5", tmp_path / "position.h5"
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", str(by_flag), "--quiet"]) == 0
    assert main(["run", "ct-fbp", str(scan), "--output", str(by_position), "--quiet"]) == 0
    with h5py.File(by_flag) as a, h5py.File(by_position) as b:
        assert np.array_equal(a["reconstruction"][()], b["reconstruction"][()])
    capsys.readouterr()
    other = tmp_path / "other.h5"
    assert main(["run", "ct-fbp", str(scan), "--input", str(other), "--output", str(tmp_path / "x.h5")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"two input files: {scan} and --input {other}" in error[0]
    assert not (tmp_path / "x.h5").exists()


def test_info_describes_an_input_and_an_output(scan, tv_run, capsys):
    assert main(["info", str(scan)]) == 0
    text = capsys.readouterr().out
    assert "recon — recon's own HDF5 layout" in text
    assert f"data  (1, {VIEWS}, 70) float32" in text
    assert "parallel beam: 24 views from 0° to 172.5°" in text
    assert "experiments that fit: ct-awtv, ct-diffusion, ct-fbp, ct-lpn, ct-pnp, ct-sirt, ct-tv, ct-wtv" in text
    assert "ground truth: yes" in text
    assert main(["info", str(tv_run)]) == 0
    text = capsys.readouterr().out
    assert "recon output" in text and "psnr_db" in text and "input_sha256" in text


def test_info_on_a_missing_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["info", str(tmp_path / "none.h5")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"recon info: error: {tmp_path / 'none.h5'}: expected an existing input file, got no such file")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error given when no GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error(scan, tmp_path, capsys):
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", str(tmp_path / "x.h5"), "--device", "cuda"]) == 2
    assert "expected a CUDA device" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_run_agrees_with_cpu(scan, tmp_path):
    outputs = {}
    for device in ("cpu", "cuda"):
        outputs[device] = tmp_path / f"{device}.h5"
        assert main(["run", "ct-tv", "--input", str(scan), "--output", str(outputs[device]), "--quiet",
                     "--device", device, "--set", "solver.max_iter=30"]) == 0
    with h5py.File(outputs["cpu"]) as a, h5py.File(outputs["cuda"]) as b:
        np.testing.assert_allclose(a["reconstruction"][()], b["reconstruction"][()], atol=1e-3)


def test_progress_bar_draws_iteration_objective_and_time_only_when_enabled():
    stream = io.StringIO()
    bar = ProgressBar(200, enabled=True, stream=stream, delay=0.0, interval=0.0)

    class History:
        objective = [12.5]

    bar.watch(History())
    bar(37)
    bar.close()
    line = stream.getvalue()
    assert "37/200" in line and "objective 12.5" in line and line.rstrip().endswith("s")
    silent = io.StringIO()
    ProgressBar(200, enabled=False, stream=silent, delay=0.0)(10)
    assert silent.getvalue() == ""


def test_no_progress_bar_when_stderr_is_not_a_terminal(scan, tmp_path):
    output = tmp_path / "r.h5"
    result = subprocess.run([sys.executable, "-m", "recon.cli", "run", "ct-tv", "--input", str(scan),
                             "--output", str(output), "--set", "solver.max_iter=20"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "ct-tv: 20 iteration(s)" in result.stdout
