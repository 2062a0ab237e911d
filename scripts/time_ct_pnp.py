"""`recon run ct-pnp` against `recon run ct-tv` on a 256² few-view scan: wall time and PSNR, one thread.

    python scripts/time_ct_pnp.py [--size 256] [--views 60] [--repeats 3] [--json docs/ct_pnp_timing.json]

The scan is a COULE-like test phantom (never trained on) at SIZE², VIEWS parallel views, 2 %
noise. Each experiment runs through `recon run`'s own code path (reading excluded, everything
from the operator's matrix to the last iteration included), REPEATS times; the fastest counts.
The issue's goal: ct-pnp takes at most 3× the time of ct-tv.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def timed(config_name: str, measurement, repeats: int) -> dict:
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement, score

    best, psnr = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result, _ = reconstruct_measurement(load_experiment(config_name), measurement)
        best = min(best, time.perf_counter() - started)
        psnr = score(result.image, measurement)[0]["psnr_db"]
    return {"seconds": best, "psnr_db": psnr, "iterations": result.iterations}


def main() -> int:
    from recon.datasets.heldout_problems import few_view_ct

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--views", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    measurement = few_view_ct("test", count=1, size=args.size, views=args.views)
    report = {"size": args.size, "views": args.views}
    for name in ("ct-tv", "ct-pnp"):
        report[name] = timed(name, measurement, args.repeats)
        print(f"{name}: {report[name]['seconds']:.2f} s, {report[name]['iterations']} iterations, "
              f"{report[name]['psnr_db']:.2f} dB")
    report["ratio"] = report["ct-pnp"]["seconds"] / report["ct-tv"]["seconds"]
    print(f"ct-pnp / ct-tv time: {report['ratio']:.2f} (goal: at most 3)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
