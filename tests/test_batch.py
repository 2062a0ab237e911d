"""``recon batch``: outputs equal ``recon run``'s, split volumes assemble, reruns skip what is complete,
bad inputs are one line each, lost workers and a killed batch lose nothing, a remote scheduler is the same path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from recon.cli import main
from recon.experiments.config import load_experiment
from recon.experiments.run import run_experiment
from recon.scaleout.batch import PARTS_FOLDER, run_batch
from recon.scaleout.example_scans import write_ct_scans

TV = ["prior.strength=0.01", "solver.max_iter=60"]


@pytest.fixture
def one_thread():
    """Tasks on in-process workers pin torch to one thread; the references below run on one thread too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _reconstruction(path: Path) -> np.ndarray:
    with h5py.File(path) as f:
        return f["reconstruction"][()]


def _metrics(path: Path) -> dict:
    with h5py.File(path) as f:
        return {name: float(value) for name, value in f["metrics"].attrs.items()}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".partial") or p.name == PARTS_FOLDER)


def test_batch_outputs_equal_recon_run_and_a_split_volume_equals_its_slices_runs(tmp_path, one_thread):
    singles = write_ct_scans(tmp_path / "in", 2, size=32, views=16)
    stack = write_ct_scans(tmp_path / "stack", 1, size=32, views=16, slices=3, seed=7)[0].rename(
        tmp_path / "stack" / "volume.h5")
    config = load_experiment("ct-tv", TV)
    report = run_batch(config, [str(tmp_path / "in"), str(stack)], tmp_path / "out", workers=1, processes=False,
                       quiet=True)
    assert [row.status for row in report.rows] == ["done", "done", "done"]
    assert [row.slices for row in report.rows] == [1, 1, 3]
    assert report.exit_status == 0 and report.tasks == 5
    for source in singles:
        mine = tmp_path / "out" / f"{source.stem}_ct-tv.h5"
        theirs = run_experiment(config, input_path=source, output_path=tmp_path / f"{source.stem}_run.h5",
                                quiet=True).output
        assert np.array_equal(_reconstruction(mine), _reconstruction(theirs))
        assert _metrics(mine) == _metrics(theirs)
        assert mine.with_suffix(".png").is_file()
    volume = tmp_path / "out" / "volume_ct-tv.h5"
    slices = [run_experiment(load_experiment("ct-tv", [*TV, f"input.index={i}"]), input_path=stack,
                             output_path=tmp_path / f"slice{i}.h5", quiet=True).output for i in range(3)]
    assert np.array_equal(_reconstruction(volume), np.concatenate([_reconstruction(s) for s in slices]))
    psnrs = [_metrics(s)["psnr_db"] for s in slices]
    assert _metrics(volume)["psnr_db"] == pytest.approx(np.mean(psnrs), rel=1e-12)
    with h5py.File(volume) as f:
        assert f["reconstruction"].shape == (3, 32, 32) and np.allclose(f["metrics/psnr_db"][()], psnrs)
        assert f["history/objective"].shape[0] == 3 and int(f["provenance"].attrs["assembled_slices"]) == 3
        assert "index: null" in f["config"].attrs["yaml"]
    assert volume.with_suffix(".png").is_file() and _leftovers(tmp_path / "out") == []
    summary = (tmp_path / "out" / "batch-summary.csv").read_text().splitlines()
    assert summary[0].startswith("input,slices,status,") and len(summary) == 4
    assert "overhead" in (tmp_path / "out" / "batch-summary.md").read_text()


def test_a_split_fbp_volume_equals_one_recon_run_over_the_whole_file(tmp_path, one_thread):
    """FBP treats slices independently: the assembled volume is one ``recon run``'s output, metrics and all."""
    stack = write_ct_scans(tmp_path / "stack", 1, size=32, views=16, slices=4, seed=3)[0]
    config = load_experiment("ct-fbp")
    run_batch(config, [str(stack)], tmp_path / "out", workers=1, processes=False, quiet=True)
    whole = run_experiment(config, input_path=stack, output_path=tmp_path / "whole.h5", quiet=True).output
    mine = tmp_path / "out" / "scan_000_ct-fbp.h5"
    assert np.array_equal(_reconstruction(mine), _reconstruction(whole))
    for name, value in _metrics(whole).items():
        assert _metrics(mine)[name] == pytest.approx(value, rel=1e-12), name


def test_a_rerun_skips_complete_outputs_and_redoes_damaged_or_changed_ones(tmp_path, one_thread):
    write_ct_scans(tmp_path / "in", 3, size=32, views=16)
    config = load_experiment("ct-fbp")
    first = run_batch(config, [str(tmp_path / "in")], tmp_path / "out", workers=1, processes=False, quiet=True)
    assert [row.status for row in first.rows] == ["done"] * 3
    damaged = tmp_path / "out" / "scan_001_ct-fbp.h5"
    damaged.write_bytes(damaged.read_bytes()[:2000])            # a truncated output is not complete
    (tmp_path / "out" / "scan_002_ct-fbp.png").unlink()         # nor one whose figure is missing
    again = run_batch(config, [str(tmp_path / "in")], tmp_path / "out", workers=1, processes=False, quiet=True)
    assert [row.status for row in again.rows] == ["skipped", "done", "done"] and again.tasks == 2
    hann = load_experiment("ct-fbp", ["solver.filter=hann"])    # another config computes something else
    changed = run_batch(hann, [str(tmp_path / "in")], tmp_path / "out", workers=1, processes=False, quiet=True)
    assert [row.status for row in changed.rows] == ["done"] * 3


def _malformed(folder: Path, count: int = 20) -> list[Path]:
    """``count`` scans, of which 5 are bad: truncated, a foreign layout, NaN, a missing dataset, a wrong dtype."""
    paths = write_ct_scans(folder, count, size=24, views=12)
    truncated, foreign, nan, missing, dtype = paths[3], paths[7], paths[11], paths[15], paths[19]
    truncated.write_bytes(truncated.read_bytes()[:3000])
    with h5py.File(foreign, "w") as f:
        f["image"] = np.zeros((4, 4))
    with h5py.File(nan, "a") as f:
        data = f["data"][()]
        data[0, 2, 3] = np.nan
        f["data"][...] = data
    with h5py.File(missing, "a") as f:
        del f["geometry/angles"]
    with h5py.File(dtype, "a") as f:
        shape = f["data"].shape
        del f["data"]
        f["data"] = np.full(shape, b"x", dtype="S1")
    return [truncated, foreign, nan, missing, dtype]


def test_twenty_inputs_five_malformed_give_fifteen_outputs_five_one_line_failures_and_exit_2(tmp_path, capsys):
    bad = _malformed(tmp_path / "in")
    status = main(["batch", "ct-fbp", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"), "--workers", "2",
                   "--quiet"])
    assert status == 2
    outputs = sorted((tmp_path / "out").glob("*.h5"))
    assert len(outputs) == 15 and not any(p.stem.startswith(tuple(b.stem + "_" for b in bad)) for p in outputs)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("recon batch:")]
    assert len(errors) == 5 and all(str(path) in line for path, line in zip(bad, errors))
    rows = (tmp_path / "out" / "batch-summary.csv").read_text().splitlines()[1:]
    assert sum(",failed," in row for row in rows) == 5 and sum(",done," in row for row in rows) == 15
    assert _leftovers(tmp_path / "out") == []


def _batch_process(inputs: Path, output: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "recon", "batch", "ct-tv", str(inputs), "--output-dir", str(output), "--quiet",
               *(a for o in TV for a in ("--set", o)), *extra]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_outputs(folder: Path, count: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while len(list(folder.glob("*.h5"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no outputs appeared"
        time.sleep(0.05)


def _references(sources: list[Path], folder: Path) -> dict:
    config = load_experiment("ct-tv", TV)
    return {s.stem: _reconstruction(run_experiment(config, input_path=s, output_path=folder / f"{s.stem}.h5",
                                                   quiet=True).output) for s in sources}


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing(tmp_path, one_thread):
    psutil = pytest.importorskip("psutil")
    sources = write_ct_scans(tmp_path / "in", 8, size=96, views=40)
    process = _batch_process(tmp_path / "in", tmp_path / "out", "--workers", "2")
    _wait_for_outputs(tmp_path / "out", 1, process)
    workers = [p for p in psutil.Process(process.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2
    workers[0].send_signal(signal.SIGKILL)
    assert process.wait(timeout=300) == 0, process.communicate()
    references = _references(sources, tmp_path)
    outputs = sorted((tmp_path / "out").glob("*.h5"))
    assert [p.stem for p in outputs] == [f"{s.stem}_ct-tv" for s in sources]     # each exactly once
    for output in outputs:
        np.testing.assert_allclose(_reconstruction(output), references[output.stem[:-len("_ct-tv")]], atol=1e-6)
    assert _leftovers(tmp_path / "out") == []


@pytest.mark.slow
def test_a_killed_batch_reruns_only_the_missing_outputs(tmp_path):
    write_ct_scans(tmp_path / "in", 8, size=96, views=40)
    process = _batch_process(tmp_path / "in", tmp_path / "out", "--workers", "2")
    _wait_for_outputs(tmp_path / "out", 2, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(1.0)         # the orphaned workers notice that their nanny is gone and stop
    finished = {p.name for p in (tmp_path / "out").glob("*.h5")}
    assert 2 <= len(finished) < 8
    rerun = _batch_process(tmp_path / "in", tmp_path / "out", "--workers", "2")
    assert rerun.wait(timeout=300) == 0, rerun.communicate()
    rows = (tmp_path / "out" / "batch-summary.csv").read_text().splitlines()[1:]
    skipped = {Path(row.split(",")[0]).stem + "_ct-tv.h5" for row in rows if ",skipped," in row}
    assert skipped <= finished and len(skipped) >= len(finished) - 2      # at most the 2 in flight are redone
    assert sum(",done," in row for row in rows) == 8 - len(skipped)
    assert len(list((tmp_path / "out").glob("*.h5"))) == 8 and _leftovers(tmp_path / "out") == []


def test_a_remote_scheduler_runs_the_same_tasks(tmp_path):
    """A scheduler and 2 workers started as separate processes (as dask-jobqueue would start them)."""
    write_ct_scans(tmp_path / "in", 4, size=32, views=16)
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli"]
    scheduler = subprocess.Popen([*dask[:2], "distributed.cli.dask_scheduler", "--scheduler-file", str(scheduler_file),
                                  "--no-dashboard", "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file():
            assert time.monotonic() < deadline and scheduler.poll() is None, "the scheduler did not start"
            time.sleep(0.1)
        time.sleep(0.2)
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        workers = [subprocess.Popen([*dask[:2], "distributed.cli.dask_worker", address, "--nthreads", "1",
                                     "--no-dashboard", "--no-nanny"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for _ in range(2)]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        report = run_batch(load_experiment("ct-fbp"), [str(tmp_path / "in")], tmp_path / "out", scheduler=address,
                           quiet=True)
        assert [row.status for row in report.rows] == ["done"] * 4 and report.workers == 2
        assert len({w for row in report.rows for w in row.workers}) == 2      # both remote workers took tasks
        assert all(w.startswith("tcp://") for row in report.rows for w in row.workers)
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:     # a worker still closing its comms: it has done its part
                process.kill()
                process.wait()


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("recon.scaleout.cluster.CONNECT_TIMEOUT", "2s")
    write_ct_scans(tmp_path / "in", 1, size=16, views=8)
    status = main(["batch", "ct-fbp", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"),
                   "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "--scheduler tcp://127.0.0.1:9: expected a running Dask scheduler" in err[0]


def test_inputs_that_match_nothing_or_collide_are_refused_before_any_work(tmp_path, capsys):
    assert main(["batch", "ct-fbp", str(tmp_path / "none*.h5"), "--output-dir", str(tmp_path / "out")]) == 2
    assert "expected a pattern that matches input files" in capsys.readouterr().err
    a = write_ct_scans(tmp_path / "a", 1, size=16, views=8)[0]
    b = write_ct_scans(tmp_path / "b", 1, size=16, views=8)[0]
    assert main(["batch", "ct-fbp", str(a), str(b), "--output-dir", str(tmp_path / "out")]) == 2
    assert "distinct outputs" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_task_plans_on_its_workers_share_of_memory():
    """Two workers side by side each get half the cluster's memory limit, and a task plans on half of that (the
    share ``recon run`` takes of what is available), so that their projection matrices are not each sized for half
    the machine."""
    from distributed import Client, LocalCluster

    from recon.scaleout.batch_task import worker_memory_budget

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, memory_limit="3GiB",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        budgets = client.gather([client.submit(worker_memory_budget, pure=False, workers=[address])
                                 for address in cluster.scheduler_info["workers"]])
    assert budgets == [3 * 2**29, 3 * 2**29]
    assert worker_memory_budget() is None


def test_two_local_clusters_at_once_take_free_ports_without_warning():
    import warnings

    from recon.scaleout.cluster import dask_client

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with dask_client(workers=1, processes=False) as first, dask_client(workers=1, processes=False) as second:
            assert first.submit(sum, [1, 2]).result() == second.submit(sum, [3, 4]).result() - 4
    assert not [w for w in caught if "already in use" in str(w.message)], [str(w.message) for w in caught]
