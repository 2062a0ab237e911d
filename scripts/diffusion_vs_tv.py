"""Diffusion samplers against TV and PnP, each tuned on validation data and measured on held-out test data.

    python scripts/diffusion_vs_tv.py ct      [--json docs/diffusion_vs_tv_ct.json]
    python scripts/diffusion_vs_tv.py deblur  [--json docs/diffusion_vs_tv_deblur.json]

The problems, splits and harness (recon.experiments.tuning) are scripts/pnp_vs_tv.py's (few-view CT of COULE-like phantoms, 128²,
30 views, 2 % noise, 5 validation and 10 test phantoms; Gaussian deblurring σ = 2, noise 0.01, of
natural photographs, validation chelsea and china, test camera, astronaut, coffee, grace_hopper), and so
are TV's and PnP's tuned test results, read from docs/pnp_vs_tv_PROBLEM.json. Each sampler runs through
the shipped config (ct-diffusion, deblur-diffusion) with ``--set``-style overrides; its parameters are
chosen on validation with one sample per image, and the chosen setting is run on the test images with
``solver.samples`` samples (their mean is the reconstruction). Network evaluations are counted as
``solver.max_iter`` per sample, so RED-diff and DPS are compared at equal evaluations. The grids were set by
trying a few values on the validation images with an early checkpoint (RED-diff's λ weighs the prior against
A^T(Aμ - y)/σ_y², which for CT is thousands of times the paper's blur, hence λ far above its 0.25). One torch
thread.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent
GRIDS = {   # problem -> sampler -> {key: candidate values}; every combination is tried on validation
    "ct": {
        "diffpir": {"prior.strength": [0.03, 0.1, 0.3], "solver.zeta": [0.3, 0.6, 0.9], "solver.sigma_max": [1.0, 10.0],
                    "solver.cg_max_iter": [5, 10]},
        "dps": {"solver.step": [0.5, 1.0, 2.0], "solver.sigma_max": [1.0, 10.0]},
        "red-diff": {"prior.strength": [100.0, 1000.0, 10000.0], "solver.learning_rate": [0.01, 0.02, 0.05],
                     "solver.cg_max_iter": [20]},
    },
    "deblur": {
        "diffpir": {"prior.strength": [0.1, 1.0, 7.0], "solver.zeta": [0.3, 0.6, 0.9], "solver.sigma_max": [1.0, 10.0]},
        "dps": {"solver.step": [0.5, 1.0, 2.0], "solver.sigma_max": [1.0, 10.0]},
        "red-diff": {"prior.strength": [10.0, 100.0, 1000.0], "solver.learning_rate": [0.01, 0.02, 0.05]},
    },
}
CONFIGS = {"ct": "ct-diffusion", "deblur": "deblur-diffusion"}


def _harness():
    from recon.experiments import tuning

    return tuning


def tune_and_test(problem: str, samplers, samples: int, echo=print) -> dict:
    harness = _harness()
    validation, test = harness.heldout_measurements(problem, Path("."))
    config = CONFIGS[problem]
    report = {"problem": problem, "samples": samples, "samplers": {}}
    for sampler in samplers:
        grid = {"solver.kind": [sampler], "solver.samples": [1], **GRIDS[problem][sampler]}
        keys, scores = list(grid), []
        for values in itertools.product(*(grid[k] for k in keys)):
            overrides = dict(zip(keys, values))
            outcome = harness.evaluate(config, overrides, validation)
            scores.append({"overrides": overrides, **outcome})
            echo(f"  {problem} {sampler} validation {overrides}: {outcome['psnr_db']:.2f} dB ({outcome['seconds']:.1f} s)")
        best = max(scores, key=lambda s: s["psnr_db"])
        chosen = {**best["overrides"], "solver.samples": samples}
        tested = harness.evaluate(config, chosen, test)
        echo(f"{problem} {sampler}: chosen {chosen} (validation {best['psnr_db']:.2f} dB); test {tested['psnr_db']:.2f} dB")
        report["samplers"][sampler] = {"chosen": chosen, "validation": scores, "test": tested,
                                       "network_evaluations_per_image": chosen.get("solver.max_iter", 100) * samples}
    add_one_sample_tests(report, harness, test, echo)
    compare_with_tv_and_pnp(report, echo)
    return report


def chosen_on_validation(samplers: dict) -> str:
    """The sampler whose best validation PSNR is highest: the one ``ct-diffusion`` / ``deblur-diffusion`` ship."""
    return max(samplers, key=lambda s: max(v["psnr_db"] for v in samplers[s]["validation"]))


def compare_with_tv_and_pnp(report: dict, echo=print) -> None:
    """TV's and PnP's tuned test PSNR (docs/pnp_vs_tv_PROBLEM.json) beside the sampler chosen on validation, the one
    ``ct-diffusion`` / ``deblur-diffusion`` ship; the best sampler on the test images is reported too, for reference
    only (choosing it there would be tuning on the test set)."""
    previous = ROOT.parent / "docs" / f"pnp_vs_tv_{report['problem']}.json"
    if not previous.exists():
        return
    earlier = json.loads(previous.read_text())["methods"]
    samplers = report["samplers"]
    tv = report["tv_test_psnr_db"] = earlier["tv"]["test"]["psnr_db"]
    report["pnp_test_psnr_db"] = earlier["pnp"]["test"]["psnr_db"]
    chosen = report["chosen_sampler"] = chosen_on_validation(samplers)
    report["chosen_sampler_minus_tv_db"] = samplers[chosen]["test"]["psnr_db"] - tv
    report["best_on_test_minus_tv_db"] = max(r["test"]["psnr_db"] for r in samplers.values()) - tv
    echo(f"{report['problem']}: {chosen} (chosen on validation) - TV on the test set: "
         f"{report['chosen_sampler_minus_tv_db']:+.2f} dB (best sampler on the test set "
         f"{report['best_on_test_minus_tv_db']:+.2f}; TV {tv:.2f}, PnP {report['pnp_test_psnr_db']:.2f})")


def add_one_sample_tests(report: dict, harness, test, echo=print) -> None:
    """Each sampler's chosen setting with one sample per test image (100 network evaluations): the equal-budget
    comparison of RED-diff and DPS, and what one draw gives against the mean of several."""
    config = CONFIGS[report["problem"]]
    for sampler, entry in report["samplers"].items():
        one = harness.evaluate(config, {**entry["chosen"], "solver.samples": 1}, test)
        entry["test_one_sample"] = one
        echo(f"{report['problem']} {sampler}, one sample: test {one['psnr_db']:.2f} dB ({one['seconds']:.1f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("problem", choices=list(GRIDS))
    parser.add_argument("--samplers", nargs="+", default=["diffpir", "dps", "red-diff"])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--json", help="write the report (every validation score, the test scores)")
    parser.add_argument("--one-sample-only", action="store_true",
                        help="read --json and add only each sampler's one-sample test run")
    parser.add_argument("--compare-only", action="store_true",
                        help="read --json and redo only the comparison with TV and PnP (their reports may be newer)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.one_sample_only:
        report = json.loads(Path(args.json).read_text())
        harness = _harness()
        add_one_sample_tests(report, harness, harness.heldout_measurements(args.problem, Path("."))[1])
    elif args.compare_only:
        report = json.loads(Path(args.json).read_text())
        compare_with_tv_and_pnp(report)
    else:
        report = tune_and_test(args.problem, args.samplers, args.samples)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
