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


def test_demo_writes_scan_outputs_and_a_table_with_tv_ahead_of_fbp(tmp_path, capsys):
    assert main(["demo", "--output-dir", str(tmp_path), "--size", "64", "--views", "30", "--quiet"]) == 0
    with h5py.File(tmp_path / "scan.h5") as f:
        assert f.attrs["recon_format"] == "measurement"
        assert f["data"].shape == (1, 30, 93) and f["ground_truth"].shape == (1, 64, 64)
        truth = f["ground_truth"][0]
    psnrs = {}
    for experiment in ("ct-fbp", "ct-tv", "ct-wtv"):
        with h5py.File(tmp_path / f"{experiment}.h5") as f:
            reconstruction = f["reconstruction"][0]
            recorded = f["metrics"].attrs["psnr_db"]
            assert f["provenance"].attrs["input_path"] == str((tmp_path / "scan.h5").resolve())
        mse = np.mean((reconstruction - truth) ** 2)
        assert recorded == pytest.approx(10 * np.log10(float(truth.max() - truth.min()) ** 2 / mse), abs=1e-3)
        psnrs[experiment] = recorded
        assert (tmp_path / f"{experiment}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Measured at 64², 30 views: FBP 23.8 dB, TV 35.3 dB (strength auto; 29.5 at the fixed 0.002), weighted TV 35.5 dB.
    assert psnrs["ct-tv"] > psnrs["ct-fbp"] + 5
    assert psnrs["ct-wtv"] > psnrs["ct-fbp"] + 5
    table = capsys.readouterr().out
    assert "PSNR" in table and "weighted TV" in table
    assert (tmp_path / "comparison.png").stat().st_size > 10_000
    assert not list(tmp_path.glob("*.partial"))


def test_demo_refuses_to_overwrite_with_one_line_error(tmp_path):
    (tmp_path / "ct-tv.h5").write_bytes(b"earlier result")
    result = _run("demo", "--output-dir", str(tmp_path), "--size", "32", "--views", "20")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ct-tv.h5 exists" in lines[0] and "--overwrite" in lines[0]
    assert (tmp_path / "ct-tv.h5").read_bytes() == b"earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct-tv.h5"]


def test_bad_argument_exits_non_zero(tmp_path):
    result = _run("demo", "--output-dir", str(tmp_path), "--noise", "1.5")
    assert result.returncode == 2
    assert "expected a number in [0, 1)" in result.stderr
