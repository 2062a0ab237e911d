"""What streaming costs: ``recon run`` on a multi-slice CT file slice by slice against the whole file in memory.

One file of ``--slices`` simulated slices (``--size``², ``--views`` views), one experiment (``ct-tv``), run
three times by ``run_experiment``, each in its own process with one torch thread, after an untimed warm-up
on slice 0 (imports, first operator): ``input.stream: off`` (read whole, solved as one batch, written at
once), ``input.stream: slices`` with ``input.chunk: 1`` (read, solved and appended one slice at a time)
and with the default chunk (:data:`recon.experiments.streamed_run.DEFAULT_CHUNK` slices a step). It
reports the times, their ratios to the whole run (the goal: slice by slice at most 1.05 × whole), the
PSNR and each process's peak resident memory (VmHWM).

    python scripts/bench_streaming.py --json docs/bench_streaming.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time, torch
torch.set_num_threads(1)
from recon.experiments.config import load_experiment
from recon.experiments.run import run_experiment
experiment, source, output, stream, iterations, chunk = sys.argv[1:7]
config = load_experiment(experiment)
config = {**config, "solver": {**config["solver"], "max_iter": int(iterations)}}
warm = {**config, "input": {**config["input"], "index": 0}}
run_experiment(warm, input_path=source, output_path=output + ".warm.h5", overwrite=True, quiet=True)
config = {**config, "input": {**config["input"], "stream": stream, "chunk": int(chunk) or None}}
started = time.perf_counter()
summary = run_experiment(config, input_path=source, output_path=output, overwrite=True, quiet=True)
seconds = time.perf_counter() - started
peak = int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]) * 1024
print(json.dumps({"stream": stream, "chunk": int(chunk) or None, "seconds": seconds, "iterations": summary.iterations,
                  "psnr_db": summary.metrics.get("psnr_db"), "peak_rss_bytes": peak}))
"""


def run_mode(experiment: str, source: Path, output: Path, stream: str, iterations: int, chunk: int = 0) -> dict:
    """One run in a fresh process; ``chunk`` 0 leaves ``input.chunk`` at its default."""
    done = subprocess.run([sys.executable, "-c", CHILD, experiment, str(source), str(output), stream, str(iterations),
                           str(chunk)],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode:
        raise SystemExit(f"the {stream} run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ct-tv")
    parser.add_argument("--slices", type=int, default=64, help="slices of the file (default: 64)")
    parser.add_argument("--size", type=int, default=256, help="image side (default: 256)")
    parser.add_argument("--views", type=int, default=60)
    parser.add_argument("--iterations", type=int, default=100, help="solver.max_iter (default: 100)")
    parser.add_argument("--json", help="write the record here")
    args = parser.parse_args(argv)

    from recon.scaleout.example_scans import write_ct_scans

    folder = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    source = write_ct_scans(folder, 1, size=args.size, views=args.views, slices=args.slices)[0]
    whole = run_mode(args.experiment, source, folder / "whole.h5", "off", args.iterations)
    single = run_mode(args.experiment, source, folder / "single.h5", "slices", args.iterations, chunk=1)
    chunked = run_mode(args.experiment, source, folder / "chunked.h5", "slices", args.iterations)
    record = {"experiment": args.experiment, "slices": args.slices, "size": args.size, "views": args.views,
              "max_iter": args.iterations, "torch_threads": 1, "whole": whole, "slice_by_slice": single,
              "default_chunks": chunked, "ratio_slice_by_slice_to_whole": single["seconds"] / whole["seconds"],
              "ratio_default_chunks_to_whole": chunked["seconds"] / whole["seconds"]}
    print(f"{args.slices} slices of {args.size}² {args.experiment}, {args.iterations} iterations, one torch thread:")
    for label, mode in (("whole", whole), ("slice by slice", single), ("default chunks", chunked)):
        print(f"  {label:15s} {mode['seconds']:7.1f} s  {mode['seconds'] / whole['seconds']:.3f}x whole  peak "
              f"{mode['peak_rss_bytes'] / 2**20:.0f} MiB  PSNR {mode['psnr_db']:.2f} dB")
    print("  goal: slice by slice <= 1.05x whole")
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    main()
