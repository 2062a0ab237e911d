"""The HTC2022 limited-angle table: MCC after Otsu of ct-limited-angle and ct-tv on the real training scans.

    python scripts/limited_angle_table.py [--scans ta tb tc td] [--arcs 90 60 40 30] [--starts 0 100 200]
                                          [--methods ct-limited-angle ct-tv] [--model PATH] [--json FILE]

For each scan of ``../shared/testdata/ct/htc2022`` (the full 360° scans: the arc is cut from them with
recon's view selection, as ``input.arc_deg`` does), each arc length and each start angle, every method
reconstructs the 512² image, Otsu thresholds it (``output.segment: otsu``) and the Matthews correlation
against the organisers' segmentation is recorded, with the seconds per slice (one torch thread). The
learned model never saw these scans (it is trained on synthetic discs); ct-tv runs as shipped. Prints the
per-arc table (mean over scans and starts) and writes every cell with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "ct" / "htc2022"


def mcc_of(config_name: str, measurement, overrides=()) -> tuple[float, float]:
    """``(MCC, seconds)`` of one experiment on one in-memory measurement."""
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement
    from recon.experiments.segmentation import mcc_per_slice, otsu_segmentation

    config = load_experiment(config_name, list(overrides))
    started = time.perf_counter()
    result, _ = reconstruct_measurement(config, measurement)
    seconds = time.perf_counter() - started
    return mcc_per_slice(otsu_segmentation(result.image.detach().cpu()), measurement.segmentation)[0], seconds


def main() -> int:
    from recon.datasets.formats import read_measurement
    from recon.datasets.view_selection import select_views

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", nargs="+", default=["ta", "tb", "tc", "td"])
    parser.add_argument("--arcs", nargs="+", type=float, default=[90.0, 60.0, 40.0, 30.0])
    parser.add_argument("--starts", nargs="+", type=float, default=[0.0, 100.0, 200.0])
    parser.add_argument("--methods", nargs="+", default=["ct-limited-angle", "ct-tv"])
    parser.add_argument("--model", help="ct-limited-angle's weights (default: the shipped model)")
    parser.add_argument("--json", help="write every cell here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = {"ct-limited-angle": [f"prior.weights={args.model}"] if args.model else []}
    cells = []
    for scan in args.scans:
        full = read_measurement(DATA / f"htc2022_{scan}_full.mat")
        for arc in args.arcs:
            for start in args.starts:
                measurement = select_views(full, arc_deg=(start, arc))
                for method in args.methods:
                    mcc, seconds = mcc_of(method, measurement, overrides.get(method, []))
                    cells.append({"scan": scan, "arc": arc, "start": start, "method": method, "mcc": mcc,
                                  "seconds": seconds})
                    print(f"{scan} arc {arc:g} from {start:g}: {method} MCC {mcc:.3f} ({seconds:.1f} s)", flush=True)
    print(f"\n{'arc':>5}" + "".join(f"{m:>20}" for m in args.methods))
    table = {}
    for arc in args.arcs:
        row = {m: statistics.fmean(c["mcc"] for c in cells if c["arc"] == arc and c["method"] == m)
               for m in args.methods}
        table[str(arc)] = row
        print(f"{arc:>5g}" + "".join(f"{row[m]:>20.3f}" for m in args.methods))
    if args.json:
        Path(args.json).write_text(json.dumps({"cells": cells, "mean_mcc": table, "scans": args.scans,
                                               "starts": args.starts}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
