"""A 100,000-slice compressed stack (8.8 GB declared, under 0.1 MB on disk): described at once, one slice read
in well under 1 GB, the whole stack streamed in under 1 GB, or, unstreamed, refused in one line before anything
is read."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import h5py
import pytest

from conftest import unnamed_file_open
from recon.cli import main
from recon.experiments.memory_guard import parse_bytes
from recon.scaleout.example_scans import write_ct_scans

SLICES = 100_000


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    folder = tmp_path_factory.mktemp("huge")
    source = write_ct_scans(folder, 1, size=256, views=60)[0]
    with h5py.File(source) as f:
        first, angles, attributes = f["data"][0], f["geometry/angles"][()], dict(f["geometry"].attrs)
    path = folder / "stack.h5"
    with h5py.File(path, "w") as f:
        f.attrs.update({"recon_format": "measurement", "format_version": 1, "modality": "ct"})
        data = f.create_dataset("data", shape=(SLICES, *first.shape), dtype="f4", chunks=(1, *first.shape),
                                compression="gzip")
        data[0] = first
        f.create_group("geometry").attrs.update(attributes)
        f["geometry/angles"] = angles
    return path


def test_info_shows_the_declared_size_of_the_stack(huge, capsys):
    assert main(["info", str(huge)]) == 0
    text = capsys.readouterr().out
    assert f"data  ({SLICES}, 60, 365) float32" in text and "8.2 GiB declared" in text
    assert f"ct, {SLICES} slice(s) of (60, 365)" in text


def test_one_slice_of_the_stack_is_read_alone_in_under_1_gb(huge, tmp_path):
    """The command in a fresh process that reports its own peak resident memory: VmHWM of its address space
    (not ru_maxrss, which Linux carries over from the parent that forked it: pytest, here)."""
    output = tmp_path / "slice0.h5"
    script = ("from recon.cli import main; "
              f"status = main(['run', 'ct-fbp', '--input', {str(huge)!r}, '--set', 'input.index=0', "
              f"'--output', {str(output)!r}, '--quiet']); "
              "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
              "print(status, peak)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    status, peak_kib = (int(v) for v in done.stdout.split()[-2:])
    assert status == 0, done.stderr
    assert peak_kib < 2**20, f"peak RSS {peak_kib / 2**10:.0f} MiB"
    with h5py.File(output) as f:
        assert f["reconstruction"].shape == (1, 256, 256)


def test_the_whole_stack_unstreamed_is_refused_in_one_line_before_reading(huge, tmp_path, capsys):
    assert main(["run", "ct-fbp", "--input", str(huge), "--output", str(tmp_path / "all.h5"),
                 "--set", "input.stream=off"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{huge}: expected a run that fits --max-memory" in lines[0]
    assert f"for {SLICES} slice(s) (pick slices with --set input.index=N, stream them" in lines[0]
    assert not (tmp_path / "all.h5").exists()


def test_the_whole_stack_streams_in_under_1_gb_and_a_kill_leaves_nothing(huge, tmp_path):
    """Without an index the stack is streamed (input.stream auto): the process stays under 1 GB while it
    works through the slices, and SIGKILL leaves no file (``tests/test_streamed_run.py`` has the rerun)."""
    argv = [sys.executable, "-m", "recon", "run", "ct-fbp", "--input", str(huge), "--output",
            str(tmp_path / "all.h5"), "--quiet"]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not unnamed_file_open(child.pid):
        assert child.poll() is None, child.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(3.0)                                     # streaming: a hundred slices or so
    status = open(f"/proc/{child.pid}/status").read()
    peak_kib = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert peak_kib < 2**20, f"peak RSS {peak_kib / 2**10:.0f} MiB"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_max_memory_is_the_budget(tmp_path, capsys):
    scan = write_ct_scans(tmp_path, 1, size=64, views=30, slices=4)[0]
    out = str(tmp_path / "out.h5")
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", out, "--max-memory", "10K", "--quiet"]) == 2
    assert "expected a run that fits --max-memory 10.0 KiB" in capsys.readouterr().err
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", out, "--max-memory", "1G", "--quiet"]) == 0
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", out, "--max-memory", "lots", "--overwrite"]) == 2
    assert parse_bytes("1.5G") == 3 * 2**29


def test_the_projection_matrix_takes_what_the_plan_leaves_of_max_memory(tmp_path, caplog):
    """64², 30 views: the run plans 0.2 MB and the matrix needs 3.7 MB, so 8 MiB leave it room (5.1 MB after the
    build's peak of 1.6) and 4 MiB do not (2.5 MB): astra projects on the fly, and the reconstruction is the same."""
    scan = write_ct_scans(tmp_path, 1, size=64, views=30)[0]
    psnrs = {}
    for budget in ("8M", "4M"):
        caplog.clear()
        out = tmp_path / f"tv_{budget}.h5"
        assert main(["--threads", "1", "run", "ct-tv", "--input", str(scan), "--output", str(out), "--quiet",
                     "--max-memory", budget, "--set", "solver.max_iter=50", "--set", "output.figure=false"]) == 0
        on_the_fly = "projecting on the fly with astra" in caplog.text
        assert on_the_fly == (budget == "4M"), caplog.text
        with h5py.File(out) as f:
            psnrs[budget] = float(f["metrics"].attrs["psnr_db"])
    assert psnrs["8M"] > 25 and abs(psnrs["8M"] - psnrs["4M"]) < 1e-3, psnrs
