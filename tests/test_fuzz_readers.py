"""Damaged, ill-formed and hostile files through the real commands: each one ends read or refused in one line.

The fast subset of the fuzzing suite (the full run is ``scripts/fuzz_readers.py``, with a case count and a
seed): damaged copies of recon's own files and of the real test files, hypothesis-drawn HDF5 files in recon's
layout, and the hostile files the readers must refuse before they allocate anything.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from recon.cli import main
from recon.fuzzing.campaign import run_campaign
from recon.fuzzing.harness import CaseRunner
from recon.fuzzing.seeds import write_seeds
from recon.fuzzing.structured import recon_layout_files
from recon.scaleout.example_scans import write_ct_scans


@pytest.fixture(scope="module")
def runner():
    with CaseRunner(timeout=10.0) as guarded:
        yield guarded


def test_damaged_copies_of_every_seed_are_read_or_refused_in_one_line(tmp_path):
    seeds = write_seeds(tmp_path / "seeds")
    report = run_campaign(seeds, 3 * len(seeds), base_seed=2026, folder=tmp_path / "cases")
    assert report.cases >= 4 * len(seeds)
    assert report.findings == [], [(f.number, f.reader, f.kind, f.outcome, f.stderr[-300:]) for f in report.findings]
    totals = report.totals()
    assert totals["refused"] > 0 and totals["ok"] > 0         # the damage bites, and some files survive it


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(write=recon_layout_files())
def test_ill_formed_recon_layout_files_are_read_or_refused_in_one_line(write, runner, tmp_path_factory):
    path = write(tmp_path_factory.mktemp("drawn") / "drawn.h5")
    for command in (["info", str(path)],
                    ["run", "ct-fbp", "--input", str(path), "--output", str(path.with_name("out.h5")), "--quiet"]):
        result = runner.run(command)
        assert result.outcome in ("ok", "refused"), (command[0], result.outcome, result.stderr[-600:])


def _refused(capsys, *args) -> str:
    assert main(list(args)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def scan(tmp_path):
    return write_ct_scans(tmp_path / "inputs", 1, size=16, views=8)[0]


def test_an_external_link_out_of_the_input_folder_is_refused(tmp_path, scan, capsys):
    with h5py.File(scan, "a") as f:
        f["ground_truth_elsewhere"] = h5py.ExternalLink(str(tmp_path / "outside.h5"), "/x")
    line = _refused(capsys, "run", "ct-fbp", "--input", str(scan), "--output", str(tmp_path / "o.h5"))
    assert f"{scan}: ground_truth_elsewhere: expected links only to files in the input's folder" in line
    assert "outside.h5" in line


def test_a_virtual_dataset_is_refused_unless_allowed_and_in_the_folder(tmp_path, scan, capsys):
    source = scan.parent / "source.h5"
    with h5py.File(source, "w") as f:
        f["x"] = np.zeros((2, 8, 25), dtype=np.float32)
    layout = h5py.VirtualLayout(shape=(2, 8, 25), dtype=np.float32)
    layout[:] = h5py.VirtualSource(str(source), "x", shape=(2, 8, 25))
    with h5py.File(scan, "a") as f:
        del f["data"]
        f.create_virtual_dataset("data", layout)
    line = _refused(capsys, "run", "ct-fbp", "--input", str(scan), "--output", str(tmp_path / "o.h5"))
    assert f"{scan}: data: expected data stored in the input file" in line and "virtual dataset" in line
    # allowed, a source in the input's own folder is read (the ground truth no longer matches 2 slices: one line)
    line = _refused(capsys, "run", "ct-fbp", "--input", str(scan), "--output", str(tmp_path / "o.h5"),
                    "--set", "input.allow_links=true")
    assert "a virtual dataset" not in line and "ground_truth: expected shape (2, 16, 16)" in line


def test_a_declared_dimension_of_ten_to_the_twelve_is_refused_before_any_allocation(tmp_path, capsys):
    path = tmp_path / "huge.h5"
    write_ct_scans(tmp_path, 1, size=16, views=8)[0].rename(path)
    with h5py.File(path, "a") as f:
        del f["data"]
        f.create_dataset("data", shape=(10**12, 8, 25), dtype=np.float32, chunks=(1, 8, 25))
    for command in (["info", str(path)], ["run", "ct-fbp", "--input", str(path), "--output", str(tmp_path / "o.h5")]):
        line = _refused(capsys, *command)
        assert f"{path}: data: expected dimensions of at most 2147483648, got shape (1000000000000, 8, 25)" in line


def test_a_file_shorter_than_it_declares_is_refused(tmp_path, scan, capsys):
    data = scan.read_bytes()
    scan.write_bytes(data[:len(data) - 1000])
    line = _refused(capsys, "run", "ct-fbp", "--input", str(scan), "--output", str(tmp_path / "o.h5"))
    assert str(scan) in line and ("truncated" in line or "corrupt or unreadable" in line)


def test_a_bug_in_recon_is_not_hidden_as_a_corrupt_file(tmp_path, scan, monkeypatch):
    """The boundary converts the parsing libraries' failures only: recon's own exceptions keep their traceback."""
    from recon.datasets import recon_format

    def broken(path, options):
        return {}["a bug"]

    monkeypatch.setattr(recon_format, "read", broken)
    from recon.datasets.formats import read_measurement

    with pytest.raises(KeyError, match="a bug"):
        read_measurement(scan)
