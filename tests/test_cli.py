"""The ``recon`` command: help without heavy imports, the demo's outputs and its one-line errors."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest

from recon import __version__
from recon.cli import main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recon.cli", *args], capture_output=True, text=True, timeout=300)


def test_help_answers_without_importing_torch():
    probe = ("import sys; from recon.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_version():
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"recon {__version__}"


def test_demo_writes_reconstruction_and_figure(tmp_path, capsys):
    assert main(["demo", "--output-dir", str(tmp_path), "--size", "64", "--views", "60"]) == 0
    with h5py.File(tmp_path / "ct_demo.h5") as f:
        reconstruction = f["reconstruction"][()]
        truth = f["ground_truth"][()]
        assert reconstruction.shape == truth.shape == (64, 64)
        assert f["sinogram"].shape[0] == 60
        recorded_psnr = f.attrs["metric_psnr_db"]
    mse = np.mean((reconstruction - truth) ** 2)
    assert recorded_psnr == pytest.approx(-10 * np.log10(mse), abs=1e-3)
    assert recorded_psnr > 20
    png = (tmp_path / "ct_demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "PSNR" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.partial"))


def test_demo_refuses_to_overwrite_with_one_line_error(tmp_path):
    (tmp_path / "ct_demo.h5").write_bytes(b"earlier result")
    result = _run("demo", "--output-dir", str(tmp_path), "--size", "32", "--views", "20")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ct_demo.h5 exists" in lines[0] and "--overwrite" in lines[0]
    assert (tmp_path / "ct_demo.h5").read_bytes() == b"earlier result"
    assert not (tmp_path / "ct_demo.png").exists()


def test_bad_argument_exits_non_zero(tmp_path):
    result = _run("demo", "--output-dir", str(tmp_path), "--noise", "1.5")
    assert result.returncode == 2
    assert "expected a number in [0, 1)" in result.stderr
