"""How ``recon batch`` scales: 1 against 2 local workers on many CT files, and 2 workers against a plain loop.

Two measurements, both in this one run, on one torch thread per process:

1. **Files.** ``--files`` single-slice CT scans reconstructed by ``recon batch`` on 1 and then on 2 workers:
   the speed-up of the whole command (cluster start included) and of its task phase, and the per-task
   overhead the batch reports (worker time not spent inside a task, per task).
2. **Slices.** One file of ``--slices`` slices, split by ``recon batch`` into one task per slice on 2
   workers, against a loop of ``run_experiment`` calls in this process over the same slices (what a
   ``for i in ...; do recon run --set input.index=$i`` loop costs without its start-up per call).
   The goal is a throughput ratio of at least 0.85 × 2.

    python scripts/bench_batch.py --json docs/bench_batch.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def _batch(config, inputs, output_dir, workers: int) -> dict:
    from recon.scaleout.batch import run_batch

    started = time.perf_counter()
    report = run_batch(config, inputs, output_dir, workers=workers, quiet=True)
    command = time.perf_counter() - started
    assert all(row.status == "done" for row in report.rows), [row.message for row in report.rows]
    return {"workers": workers, "command_seconds": command, "task_phase_seconds": report.wall_seconds,
            "task_seconds": report.task_seconds, "tasks": report.tasks,
            "overhead_per_task_seconds": report.overhead_per_task}


def _loop(config, source: Path, slices: int, output_dir: Path) -> float:
    """Seconds for ``run_experiment`` over every slice in this process, after one untimed warm-up call."""
    from recon.experiments.run import run_experiment

    def one(index: int, name: str):
        sliced = {**config, "input": {**config["input"], "index": index}}
        run_experiment(sliced, input_path=source, output_path=output_dir / name, overwrite=True, quiet=True)

    output_dir.mkdir(parents=True, exist_ok=True)
    one(0, "warm-up.h5")
    started = time.perf_counter()
    for index in range(slices):
        one(index, f"slice_{index:03d}.h5")
    return time.perf_counter() - started


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ct-tv")
    parser.add_argument("--files", type=int, default=16, help="single-slice files (default: 16)")
    parser.add_argument("--slices", type=int, default=64, help="slices of the split file (default: 64)")
    parser.add_argument("--size", type=int, default=256, help="image side (default: 256)")
    parser.add_argument("--views", type=int, default=60)
    parser.add_argument("--json", help="write the records here")
    args = parser.parse_args(argv)

    import torch

    from recon.experiments.config import load_experiment
    from recon.scaleout.example_scans import write_ct_scans

    torch.set_num_threads(1)
    config = load_experiment(args.experiment)
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    files = write_ct_scans(folder / "files", args.files, size=args.size, views=args.views)
    stack = write_ct_scans(folder / "stack", 1, size=args.size, views=args.views, slices=args.slices, seed=100)[0]

    one = _batch(config, [str(folder / "files")], folder / "out1", 1)
    two = _batch(config, [str(folder / "files")], folder / "out2", 2)
    loop_seconds = _loop(config, stack, args.slices, folder / "loop")
    split = _batch(config, [str(stack)], folder / "out-split", 2)
    record = {
        "experiment": args.experiment, "size": args.size, "views": args.views, "torch_threads_per_process": 1,
        "files": {"count": len(files), "one_worker": one, "two_workers": two,
                  "speedup_command": one["command_seconds"] / two["command_seconds"],
                  "speedup_task_phase": one["task_phase_seconds"] / two["task_phase_seconds"]},
        "slices": {"count": args.slices, "loop_seconds": loop_seconds, "batch_two_workers": split,
                   "throughput_ratio_command": loop_seconds / split["command_seconds"],
                   "throughput_ratio_task_phase": loop_seconds / split["task_phase_seconds"]},
    }
    f, s = record["files"], record["slices"]
    print(f"{len(files)} files of {args.size}² {args.experiment}: 1 worker {one['command_seconds']:.1f} s, "
          f"2 workers {two['command_seconds']:.1f} s: {f['speedup_command']:.2f}x (task phase "
          f"{f['speedup_task_phase']:.2f}x); overhead per task {one['overhead_per_task_seconds']:.3f} s (1 worker), "
          f"{two['overhead_per_task_seconds']:.3f} s (2 workers)")
    print(f"{args.slices} slices: loop {loop_seconds:.1f} s, batch on 2 workers {split['command_seconds']:.1f} s: "
          f"throughput {s['throughput_ratio_command']:.2f}x the loop (task phase {s['throughput_ratio_task_phase']:.2f}x;"
          f" goal >= 1.70)")
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    main()
