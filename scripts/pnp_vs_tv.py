"""Plug-and-play against TV, each tuned on validation data and measured on held-out test data.

    python scripts/pnp_vs_tv.py ct      [--json docs/pnp_vs_tv_ct.json]
    python scripts/pnp_vs_tv.py deblur  [--json docs/pnp_vs_tv_deblur.json]
    python scripts/pnp_vs_tv.py mri     [--json docs/pnp_vs_tv_mri.json]   # needs ../shared/testdata

Problems (recon.datasets.heldout_problems, harness recon.experiments.tuning): few-view CT of COULE-like phantoms (128², 30
views, 2 % noise; 5 validation phantoms, 10 test phantoms); Gaussian deblurring (σ = 2,
noise 0.01) of natural photographs (validation: chelsea, china; test: camera, astronaut,
coffee, grace_hopper); MRI 4× random columns (validation: matplotlib's s1045 slice through
8 simulated coils at 4× and 6×, the mean of both; test: the real 8-coil brain at 4×). Every candidate runs through the shipped
config (ct-tv, ct-pnp, ...) with ``--set``-style overrides, so the chosen overrides are
exactly what a user would pass; the best on validation (mean PSNR as ``recon run`` scores
it; among candidates within 0.05 dB of it, the fastest) is then run once on the test data.
One torch thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

# One definition of the grids, shared with `recon reproduce pnp-vs-tv` (the same tuning as Dask tasks, written
# as a table): recon/reproduce/pnp_vs_tv.py.
from recon.reproduce.pnp_vs_tv import GRIDS


def tune_and_test(problem: str, testdata: Path, extra: dict, echo=print) -> dict:
    from recon.experiments.tuning import best_of, evaluate, grid_scores, heldout_measurements

    validation, test = heldout_measurements(problem, testdata)
    report = {"problem": problem, "methods": {}}
    for method, subgrids in GRIDS[problem].items():
        scores = []
        for config_name, grid in subgrids:
            grid = {**grid, **{k: [v] for k, v in extra.items() if method == "pnp"}}
            scores += grid_scores(config_name, grid, validation, echo, f"{problem} {method}")
        best = best_of(scores)
        config_name = best["config"]
        tested = evaluate(config_name, best["overrides"], test)
        echo(f"{problem} {method}: chosen {best['overrides']} (validation {best['psnr_db']:.2f} dB); "
             f"test {tested['psnr_db']:.2f} dB, per image {[round(p, 2) for p in tested['per_image_psnr_db']]}")
        report["methods"][method] = {"config": config_name, "chosen": best["overrides"], "validation": scores,
                                     "test": tested}
    gain = report["methods"]["pnp"]["test"]["psnr_db"] - report["methods"]["tv"]["test"]["psnr_db"]
    report["pnp_minus_tv_db"] = gain
    echo(f"{problem}: PnP - TV on the test set: {gain:+.2f} dB")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("problem", choices=list(GRIDS))
    parser.add_argument("--json", help="write the whole report (every validation score, the test scores)")
    parser.add_argument("--testdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "testdata"))
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                        help="fix a PnP override for every candidate, e.g. prior.denoiser=PATH")
    args = parser.parse_args()
    torch.set_num_threads(1)
    extra = dict(item.split("=", 1) for item in args.extra)
    report = tune_and_test(args.problem, Path(args.testdata), extra)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
