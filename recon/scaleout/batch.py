"""``recon batch``: one experiment over many files (and every slice of a multi-slice file), as Dask tasks.

Each input file becomes one task, or one task per slice for a stack of
independent slices (:mod:`recon.scaleout.batch_inputs`); a task is one
``recon run`` (:mod:`recon.scaleout.batch_task`) writing its output
atomically. The slices of a split input go to hidden part files, assembled
into one volume output when all are done (:mod:`recon.scaleout.volume_assembly`).
A rerun skips outputs and parts that are complete (:mod:`recon.scaleout.completeness`),
so a killed batch resumes where it stopped; a lost worker's tasks are retried by
Dask; a bad input is one line in the summary and the others go on.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from recon.scaleout.batch_inputs import BatchInput, expand_inputs, plan_inputs
from recon.scaleout.batch_summary import InputRow, summary_markdown, write_summary
from recon.scaleout.batch_task import reconstruct_task, slice_config, warm_up
from recon.scaleout.completeness import is_complete

#: Where the slice outputs of split inputs wait to be assembled, inside the output folder.
PARTS_FOLDER = ".recon-batch-parts"

@dataclass
class BatchReport:
    """The outcome of a batch: a row per input, the summary files, and the timing that shows the overhead.

    :param wall_seconds: from the first task's submission to the last one's result.
    :param task_seconds: the tasks' wall times on the workers, summed.
    :param workers: how many workers the cluster had.
    :param tasks: how many tasks ran (skipped outputs are no task).
    """

    rows: list[InputRow]
    summary_files: tuple = ()
    wall_seconds: float = 0.0
    task_seconds: float = 0.0
    workers: int = 1
    tasks: int = 0
    footer: list[str] = field(default_factory=list)

    @property
    def overhead_per_task(self) -> float:
        """Seconds per task the workers were not running a task: scheduling, transfers, idling at the end."""
        return (self.wall_seconds * self.workers - self.task_seconds) / self.tasks if self.tasks else 0.0

    @property
    def exit_status(self) -> int:
        """0 when every input succeeded (or was complete), 2 when any was bad, 1 for a fault in recon."""
        statuses = {row.status for row in self.rows}
        return 1 if "error" in statuses else 2 if "failed" in statuses else 0


def run_batch(config: dict, inputs: list[str], output_dir, *, workers: int | None = None,
              scheduler: str | None = None, device: str = "cpu", quiet: bool = False, echo=print,
              processes: bool = True) -> BatchReport:
    """Run the validated experiment ``config`` on every input; write outputs and the summary to ``output_dir``.

    :param workers: local worker processes (default: one per CPU); :param scheduler: a Dask scheduler's
        address to use instead; :param processes: ``False`` runs local workers as threads (tests).
    """
    from recon.datasets.output_format import sha256_of
    from recon.scaleout.cluster import dask_client, run_tasks, warm_workers

    name = config["name"] or "experiment"
    output_dir = Path(output_dir)
    planned = plan_inputs(expand_inputs(inputs), output_dir, name, split=config["input"]["index"] is None)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output-dir {output_dir}: expected a folder, got a file")
    output_dir.mkdir(parents=True, exist_ok=True)
    _remove_partials(planned, output_dir)
    hashes = {item.source: _sha256_or_none(item.source, sha256_of) for item in planned}
    rows: dict[Path, InputRow] = {}
    calls, pending = {}, {}
    for item in planned:
        if hashes[item.source] is not None and is_complete(item.output, config=_volume_config(config, item),
                                                           input_sha256=hashes[item.source]):
            rows[item.source] = InputRow(str(item.source), str(item.output), item.slices, "skipped",
                                         _stored_metrics(item.output), message="complete from an earlier run")
            continue
        tasks = _tasks(config, item, hashes[item.source], device)
        pending[item.source] = {_parse_key(key)[1]: None for key in tasks} | _done_parts(config, item,
                                                                                        hashes[item.source])
        calls.update(tasks)
    for item in planned:          # split inputs whose every slice an interrupted batch finished: assemble now
        outcomes = pending.get(item.source)
        if outcomes and all(value is not None for value in outcomes.values()):
            rows[item.source] = _finish_input(config, item, outcomes)
    say = (lambda *a: None) if quiet else echo
    say(f"recon batch: {len(planned)} input(s), {len(calls)} task(s) to run, "
        f"{sum(r.status == 'skipped' for r in rows.values())} output(s) complete from an earlier run")
    report = BatchReport([], workers=0)
    if calls:
        with dask_client(workers=workers, scheduler=scheduler, processes=processes) as client:
            warm_workers(client, warm_up, config)
            report.workers = len(client.scheduler_info()["workers"])
            started = time.perf_counter()
            for outcome in run_tasks(client, calls, label="batch", quiet=quiet):
                source, slice_key = _parse_key(outcome.key)
                pending[source][slice_key] = outcome
                report.task_seconds += outcome.seconds
                report.tasks += 1
                if all(value is not None for value in pending[source].values()):
                    item = next(i for i in planned if i.source == source)
                    rows[source] = _finish_input(config, item, pending[source])
            report.wall_seconds = time.perf_counter() - started
    _remove_partials(planned, output_dir)
    report.rows = [rows[item.source] for item in planned]
    report.footer = _footer(report)
    report.summary_files = write_summary(report.rows, output_dir, report.footer)
    say(summary_markdown(report.rows, report.footer))
    return report


def _sha256_or_none(path: Path, sha256_of) -> str | None:
    try:
        return sha256_of(path)
    except OSError:
        return None


def _volume_config(config: dict, item: BatchInput) -> dict:
    return {**config, "input": {**config["input"], "path": str(item.source)}}


def _part_paths(item: BatchInput) -> list[Path]:
    folder = item.output.parent / PARTS_FOLDER / item.output.stem
    return [folder / f"slice_{index:05d}.h5" for index in range(item.slices)]


def _tasks(config: dict, item: BatchInput, sha256: str | None, device: str) -> dict:
    """The calls still to make for ``item``: the whole file, or each slice whose part is not complete yet."""
    if item.slices == 1:
        return {_key(item.source, None): (reconstruct_task, (config, str(item.source), str(item.output), device), {})}
    calls = {}
    for index, part in enumerate(_part_paths(item)):
        part_config = slice_config(config, index, figure=index == 0)
        if sha256 is not None and is_complete(part, config=_volume_config(part_config, item), input_sha256=sha256,
                                              slices=1):
            continue
        part.parent.mkdir(parents=True, exist_ok=True)
        calls[_key(item.source, index)] = (reconstruct_task, (part_config, str(item.source), str(part), device), {})
    return calls


def _done_parts(config: dict, item: BatchInput, sha256: str | None) -> dict:
    """The slices of ``item`` that an earlier, interrupted batch finished (resumed, not recomputed)."""
    if item.slices == 1 or sha256 is None:
        return {}
    from recon.scaleout.cluster import TaskOutcome

    done = {}
    for index, part in enumerate(_part_paths(item)):
        part_config = slice_config(config, index, figure=index == 0)
        if is_complete(part, config=_volume_config(part_config, item), input_sha256=sha256, slices=1):
            done[index] = TaskOutcome(str(index), value=None, worker="earlier run")
    return done


def _key(source: Path, index: int | None) -> str:
    return f"{source}::{'' if index is None else index}"


def _parse_key(key: str) -> tuple[Path, int | None]:
    source, _, index = key.rpartition("::")
    return Path(source), None if index == "" else int(index)


def _finish_input(config: dict, item: BatchInput, outcomes: dict) -> InputRow:
    """The input's row once all its tasks are in; a split input's parts assembled into its volume."""
    from recon.experiments.config import config_to_yaml
    from recon.scaleout.volume_assembly import assemble_volume, copy_figure

    ordered = [outcomes[key] for key in sorted(outcomes, key=lambda k: -1 if k is None else k)]
    seconds = sum(o.seconds for o in ordered)
    workers = tuple(dict.fromkeys(o.worker for o in ordered if o.worker))
    failed = [(key, o) for key, o in sorted(outcomes.items(), key=lambda kv: -1 if kv[0] is None else kv[0])
              if not o.ok or getattr(o.value, "error", "")]
    if failed:
        key, outcome = failed[0]
        where = "" if key is None else f"slice {key}: "
        bad_input = outcome.ok or outcome.error_type == "KilledWorker"     # a fault in recon is an "error"
        _remove_parts(item)
        return InputRow(str(item.source), "", item.slices, "failed" if bad_input else "error", seconds=seconds,
                        workers=workers, message=where + (outcome.value.error if outcome.ok else outcome.error))
    if item.slices > 1:
        parts = _part_paths(item)
        volume_config = _volume_config(config, item) | {"output": {**config["output"], "path": str(item.output)}}
        if config["output"]["figure"]:
            copy_figure(parts[0].with_suffix(".png"), item.output.with_suffix(".png"))
        assemble_volume(parts, item.output, config_to_yaml(volume_config))
        _remove_parts(item)
    return InputRow(str(item.source), str(item.output), item.slices, "done", _stored_metrics(item.output),
                    seconds, workers)


def _stored_metrics(output: Path) -> dict:
    import h5py

    with h5py.File(output, "r") as f:
        return {name: float(value) for name, value in f["metrics"].attrs.items()}


def _remove_parts(item: BatchInput) -> None:
    if item.slices > 1:
        shutil.rmtree(item.output.parent / PARTS_FOLDER / item.output.stem, ignore_errors=True)
        try:
            (item.output.parent / PARTS_FOLDER).rmdir()
        except OSError:         # other inputs' parts are still there
            pass


def _remove_partials(planned: list[BatchInput], output_dir: Path) -> None:
    """Temporary files of tasks that were killed (a lost worker, a killed batch): never a finished output."""
    folders = [output_dir] + sorted((output_dir / PARTS_FOLDER).glob("*")) if (output_dir / PARTS_FOLDER).is_dir() \
        else [output_dir]
    names = {item.output.name for item in planned} | {item.output.with_suffix(".png").name for item in planned}
    for folder in folders:
        for stale in folder.glob(".*.partial"):
            if folder != output_dir or any(stale.name.startswith(f".{name}.") for name in names):
                stale.unlink(missing_ok=True)


def _footer(report: BatchReport) -> list[str]:
    counts = {status: sum(row.status == status for row in report.rows) for status in ("done", "skipped", "failed",
                                                                                        "error")}
    tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    lines = [f"{len(report.rows)} input(s): {tally or 'none'}."]
    if report.tasks:
        lines.append(f"{report.tasks} task(s) on {report.workers} worker(s) in {report.wall_seconds:.2f} s; "
                     f"{report.task_seconds:.2f} s inside tasks; overhead {report.overhead_per_task:.3f} s per task.")
    return lines
