"""Every bad input of the issue: exit status 2, one line on stderr naming the file and field, no output left."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from recon.cli import main
from recon.datasets.measurement import Measurement
from recon.datasets.recon_format import write_measurement
from recon.operators.ct_geometry import ParallelBeamGeometry

VIEWS, DETECTORS, SIZE = 12, 24, 16


def _scan(path):
    geometry = ParallelBeamGeometry(np.linspace(0, np.pi, VIEWS, endpoint=False), DETECTORS,
                                    image_shape=(SIZE, SIZE))
    data = torch.rand(1, 1, VIEWS, DETECTORS, generator=torch.Generator().manual_seed(0))
    return write_measurement(path, Measurement("ct", data, geometry, "recon", None))


def _replace(path, name, values):
    with h5py.File(path, "r+") as f:
        del f[name]
        f.create_dataset(name, data=values)


def _fails(capsys, tmp_path, *args, expect=(), experiment="ct-fbp"):
    """Run ``recon run`` in-process; assert status 2, one stderr line holding ``expect``, no outputs."""
    output = tmp_path / "out" / "result.h5"
    output.parent.mkdir(exist_ok=True)
    argv = ["run", experiment, "--output", str(output), "--quiet", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for piece in expect:
        assert piece in err, err
    assert sorted(p.name for p in output.parent.iterdir()) == []
    return err


def test_missing_input_file(capsys, tmp_path):
    _fails(capsys, tmp_path, "--input", str(tmp_path / "nothing.h5"), expect=("nothing.h5", "no such file"))


def test_directory_as_input(capsys, tmp_path):
    _fails(capsys, tmp_path, "--input", str(tmp_path), expect=(str(tmp_path), "expected a file, got a directory"))


def test_file_that_is_not_hdf5_nor_another_format(capsys, tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("just some text\n")
    _fails(capsys, tmp_path, "--input", str(path), expect=("notes.h5", "expected a supported file"))


def test_hdf5_of_unknown_layout(capsys, tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.zeros((3, 4)))
    _fails(capsys, tmp_path, "--input", str(path), expect=("other.h5", "an HDF5 layout recon knows", "images"))


def test_missing_dataset(capsys, tmp_path):
    path = _scan(tmp_path / "scan.h5")
    with h5py.File(path, "r+") as f:
        del f["geometry/angles"]
    _fails(capsys, tmp_path, "--input", str(path), expect=("scan.h5", "angles", "no such dataset"))


def test_wrong_dtype(capsys, tmp_path):
    path = _scan(tmp_path / "scan.h5")
    _replace(path, "data", np.full((VIEWS, DETECTORS), "x", dtype="S1"))
    _fails(capsys, tmp_path, "--input", str(path), expect=("scan.h5", "data", "expected numbers", "dtype"))


def test_wrong_rank(capsys, tmp_path):
    path = _scan(tmp_path / "scan.h5")
    _replace(path, "data", np.zeros((2, 1, VIEWS, DETECTORS)))
    _fails(capsys, tmp_path, "--input", str(path), expect=("scan.h5", "data", "2 or 3 axes", "(2, 1, 12, 24)"))


def test_shape_that_contradicts_the_geometry(capsys, tmp_path):
    path = _scan(tmp_path / "scan.h5")
    _replace(path, "data", np.zeros((VIEWS, DETECTORS + 3)))
    _fails(capsys, tmp_path, "--input", str(path), expect=("scan.h5", "data", "24 detector columns", "27"))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_the_measurements(capsys, tmp_path, bad):
    path = _scan(tmp_path / "scan.h5")
    values = np.ones((VIEWS, DETECTORS))
    values[3, 4] = bad
    _replace(path, "data", values)
    _fails(capsys, tmp_path, "--input", str(path), expect=("scan.h5", "data", "finite values", "1 NaN or inf"))


def test_empty_array(capsys, tmp_path):
    path = _scan(tmp_path / "scan.h5")
    _replace(path, "data", np.zeros((0, DETECTORS)))
    _fails(capsys, tmp_path, "--input", str(path), expect=("scan.h5", "data", "non-empty"))


def test_angles_that_do_not_match_the_sinogram(capsys, tmp_path):
    path = _scan(tmp_path / "scan.h5")
    _replace(path, "geometry/angles", np.linspace(0, np.pi, VIEWS - 2))
    _fails(capsys, tmp_path, "--input", str(path), expect=("scan.h5", "geometry/angles", "one angle per view (12)",
                                                           "10 angles"))


def test_truncated_hdf5(capsys, tmp_path):
    path = _scan(tmp_path / "scan.h5")
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    _fails(capsys, tmp_path, "--input", str(path), expect=("scan.h5", "truncated"))


def _config(tmp_path, text):
    path = tmp_path / "experiment.yaml"
    path.write_text(text)
    return str(path)


def test_config_with_unknown_key(capsys, tmp_path):
    config = _config(tmp_path, "name: mine\nsolver:\n  kind: fbp\n  maxiter: 3\n")
    _fails(capsys, tmp_path, "--input", str(_scan(tmp_path / "scan.h5")), experiment=config,
           expect=("experiment.yaml", "solver.maxiter", "unknown key"))


def test_config_with_wrong_type(capsys, tmp_path):
    config = _config(tmp_path, "name: mine\nprior:\n  kind: tv\n  strength: strong\n")
    _fails(capsys, tmp_path, "--input", str(_scan(tmp_path / "scan.h5")), experiment=config,
           expect=("experiment.yaml", "prior.strength", "expected 'auto' or a number", "'strong'"))


def test_config_with_negative_iteration_count(capsys, tmp_path):
    config = _config(tmp_path, "name: mine\nsolver:\n  kind: pdhg\n  max_iter: -5\n")
    _fails(capsys, tmp_path, "--input", str(_scan(tmp_path / "scan.h5")), experiment=config,
           expect=("experiment.yaml", "solver.max_iter", ">= 0", "-5"))


def test_override_of_a_key_that_does_not_exist(capsys, tmp_path):
    _fails(capsys, tmp_path, "--input", str(_scan(tmp_path / "scan.h5")), "--set", "solver.iterations=5",
           expect=("solver.iterations", "unknown key"))


def test_the_undecimated_wavelet_is_refused_outside_deblurring(capsys, tmp_path):
    _fails(capsys, tmp_path, "--input", str(_scan(tmp_path / "scan.h5")), "--set", "prior.kind=l1-wavelet",
           "--set", "prior.undecimated=true", experiment="ct-tv",
           expect=("prior.undecimated", "deblurring", "prior.undecimated=false"))


def test_output_path_in_a_missing_directory(capsys, tmp_path):
    scan = _scan(tmp_path / "scan.h5")
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", str(tmp_path / "no" / "dir" / "r.h5")]) == 2
    err = capsys.readouterr().err
    assert "r.h5" in err and "existing folder" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "no").exists()


def test_existing_output_without_overwrite(capsys, tmp_path):
    scan = _scan(tmp_path / "scan.h5")
    output = tmp_path / "result.h5"
    output.write_bytes(b"an earlier result")
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", str(output), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "result.h5 exists" in err and "--overwrite" in err
    assert output.read_bytes() == b"an earlier result"
    assert not (tmp_path / "result.png").exists() and not list(tmp_path.glob("*.partial"))
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", str(output), "--quiet", "--overwrite"]) == 0
    assert h5py.is_hdf5(output)


def test_errors_reach_the_terminal_as_one_line_without_traceback(tmp_path):
    """The same through the installed command in a subprocess."""
    result = subprocess.run([sys.executable, "-m", "recon.cli", "run", "ct-tv", "--input", str(tmp_path / "x.h5")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"recon run: error: {tmp_path / 'x.h5'}: expected an existing input file, got no such file"]
