"""Start-up times of the ``recon`` command, each run in a fresh process: ``--help``, ``info`` and ``run ct-fbp``.

    python scripts/bench_startup.py [--repeats 5] [--json docs/bench_startup.json]

Issue 21's limits: ``recon --help`` under 0.3 s; ``recon info`` on a small file under 1 s;
``recon run ct-fbp`` on the demo's ``scan.h5`` (a 256² Shepp-Logan phantom, 60 views, written
afresh by :func:`recon.experiments.ct_demo.write_demo_scan`) under 2 s, from the command to the
written output (the process exits after the HDF5 and the PNG are in place; both are checked).
Each command runs ``--repeats`` times, each time as a new process of the ``recon`` console script
beside this Python, and the table gives the fastest run (what the machine can do), the median
(what a busy machine gave) and the least CPU time (user + system) of a run, which leaves out the
time a process waited for a core on a shared machine (though not what sharing its caches costs).
Child processes get ``OMP_NUM_THREADS=1``, as every recon benchmark pins one thread. These are
measurements to report, not a test with a timed assert.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: case -> the issue's limit in seconds
LIMITS = {"help": 0.3, "info": 1.0, "run ct-fbp": 2.0}


def recon_command() -> list[str]:
    """The ``recon`` console script of this Python's environment, else ``python -m recon``."""
    script = Path(sys.executable).with_name("recon")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "recon"]


def cases() -> dict:
    """case -> (arguments after ``recon``, run in the folder of ``scan.h5``; the files the command must write)."""
    return {"help": (["--help"], []),
            "info": (["info", "scan.h5"], []),
            "run ct-fbp": (["run", "ct-fbp", "--input", "scan.h5", "--output", "scan_ct-fbp.h5", "--overwrite",
                            "--quiet"], ["scan_ct-fbp.h5", "scan_ct-fbp.png"])}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(arguments: list[str], outputs: list[str], folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh ``recon`` process run in ``folder``; raises if it fails or leaves one
    of ``outputs`` unwritten."""
    for name in outputs:
        (folder / name).unlink(missing_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run([*recon_command(), *arguments], capture_output=True, text=True, env=env, cwd=folder,
                          check=False)
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"recon {' '.join(arguments)} failed ({done.returncode}): {done.stderr.strip()}")
    missing = [name for name in outputs if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"recon {' '.join(arguments)} wrote no {', '.join(missing)}")
    return seconds, cpu


def measure(folder, *, repeats: int = 5, size: int = 256, n_views: int = 60, echo=print) -> list[dict]:
    """One record per case: the command, every run's wall and CPU seconds, the fastest and the median, the least
    CPU time, the limit."""
    from recon.experiments.ct_demo import write_demo_scan

    folder = Path(folder)
    scan, _ = write_demo_scan(folder / "scan.h5", size=size, n_views=n_views, overwrite=True)
    echo(f"wrote {scan} ({size}², {n_views} views); {repeats} fresh process(es) per command, OMP_NUM_THREADS=1")
    records = []
    for case, (arguments, outputs) in cases().items():
        runs, cpu = zip(*(time_command(arguments, outputs, folder) for _ in range(repeats)))
        records.append({"case": case, "command": " ".join(["recon", *arguments]), "runs_s": list(runs),
                        "cpu_s": list(cpu), "best_s": min(runs), "median_s": statistics.median(runs),
                        "least_cpu_s": min(cpu), "limit_s": LIMITS[case], "outputs": outputs})
    return records


def format_table(records: list[dict]) -> str:
    lines = [f"{'command':<12} {'best [s]':>9} {'median [s]':>11} {'CPU [s]':>8} {'limit [s]':>10}  within"]
    for r in records:
        lines.append(f"{r['case']:<12} {r['best_s']:>9.2f} {r['median_s']:>11.2f} {r['least_cpu_s']:>8.2f} "
                     f"{r['limit_s']:>10.1f}  {'yes' if r['best_s'] <= r['limit_s'] else 'no'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per command (default: 5)")
    parser.add_argument("--json", metavar="FILE", help="also write the records as JSON")
    parser.add_argument("--workdir", metavar="DIR", help="where scan.h5 and the outputs go (default: a temporary "
                                                         "folder, removed afterwards)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats: expected a positive integer")
    with tempfile.TemporaryDirectory(prefix="recon-startup-") as scratch:
        folder = Path(args.workdir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        records = measure(folder, repeats=args.repeats)
    print(format_table(records))
    if args.json:
        Path(args.json).write_text(json.dumps({"python": sys.version.split()[0], "records": records}, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
