"""ct-lpn (a learned proximal network in ADMM) against TV and PnP: tuned on validation, measured on test.

    python scripts/lpn_vs_tv.py [--json docs/lpn_vs_tv_ct.json]

The few-view CT problem of scripts/pnp_vs_tv.py (128², 30 views, 2 % noise; 5 validation and 10 test
COULE-like phantoms, harness recon.experiments.tuning). ct-lpn's strength and iterations are chosen on
validation, then run once on the test phantoms, by ADMM (the shipped config) and by PDHG at the same
strength; TV's and PnP's tuned test results are read from docs/pnp_vs_tv_ct.json. Then the time of
the chosen ct-lpn on one 128² test phantom (the performance goal: at most 10 s on one thread). One
torch thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
GRID = {"prior.strength": [0.002, 0.003, 0.005, 0.007, 0.01], "solver.max_iter": [30, 60]}


def one_image_seconds(overrides: dict) -> float:
    """Wall time of ct-lpn with ``overrides`` on the first test phantom alone, from the config to the image."""
    from recon.datasets.heldout_problems import few_view_ct
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement

    single = few_view_ct("test", count=1)       # the first of the 10 test phantoms, with the same noise
    config = load_experiment("ct-lpn", [f"{k}={json.dumps(v)}" for k, v in overrides.items()])
    started = time.perf_counter()
    reconstruct_measurement(config, single)
    return time.perf_counter() - started


def table(echo=print) -> dict:
    from recon.experiments import tuning

    validation, test = tuning.heldout_measurements("ct")
    scores = tuning.grid_scores("ct-lpn", GRID, validation, echo, "ct-lpn")
    best = tuning.best_of(scores)
    tested = tuning.evaluate("ct-lpn", best["overrides"], test)
    pdhg_overrides = {**best["overrides"], "solver.kind": "pdhg", "solver.max_iter": 100}
    tested_pdhg = tuning.evaluate("ct-lpn", pdhg_overrides, test)
    seconds = one_image_seconds(best["overrides"])
    earlier = json.loads((ROOT / "docs" / "pnp_vs_tv_ct.json").read_text())["methods"]
    report = {"problem": "few-view CT, 128², 30 views, 2 % noise; 5 validation, 10 test COULE-like phantoms",
              "lpn": {"config": "ct-lpn", "chosen": best["overrides"], "validation": scores, "test": tested},
              "lpn_pdhg": {"overrides": pdhg_overrides, "test": tested_pdhg},
              "tv": {"config": earlier["tv"]["config"], "chosen": earlier["tv"]["chosen"],
                     "test": earlier["tv"]["test"]},
              "pnp": {"config": earlier["pnp"]["config"], "chosen": earlier["pnp"]["chosen"],
                      "test": earlier["pnp"]["test"]},
              "one_image_seconds": seconds}
    report["lpn_minus_tv_db"] = tested["psnr_db"] - earlier["tv"]["test"]["psnr_db"]
    report["lpn_minus_pnp_db"] = tested["psnr_db"] - earlier["pnp"]["test"]["psnr_db"]
    echo(f"ct-lpn: chosen {best['overrides']} (validation {best['psnr_db']:.2f} dB); test {tested['psnr_db']:.2f} dB, "
         f"SSIM {tested['ssim']:.4f} (PDHG {tested_pdhg['psnr_db']:.2f} dB); TV {earlier['tv']['test']['psnr_db']:.2f}, "
         f"PnP {earlier['pnp']['test']['psnr_db']:.2f}; one 128² image {seconds:.1f} s")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the report (every validation score, the test scores)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = table()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
