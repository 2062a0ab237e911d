"""MAID against HOAG on the smoothed-TV bilevel problem of Salehi et al.; the learned θ against a test-set grid.

    python scripts/bilevel_tv.py [--json docs/bilevel_tv.json] [--figure docs/bilevel_tv.png] [--set KEY=VALUE]
    python scripts/bilevel_tv.py --redraw          # the figure again from the JSON's histories, no runs

The config ``bilevel-tv`` (recon/configs/train): 6 training pairs (scikit-image coins, moon, page, clock,
rocket, brick; central square resized to 96², Gaussian noise σ = 0.1, seeds 0-5) and 3 test pairs
(camera, astronaut, coffee; seeds 1000-1002), θ from (−5, −5). Each method gets the same budget of
lower-level iterations (FISTA gradients + CG iterations, counted together):

* MAID with the paper's constants (ρ = 0.5, η = 1e-4, step growth 1.05; ε₀ = δ₀ = 0.1, first step 0.01);
* HOAG with ε_k = δ_k = 0.1·k⁻², warm starts, and each of four fixed steps 1/L (0.01, 0.03, 0.06, 0.1: the
  curvature of the loss along θ₀ near its minimum is about 27, so 1/L ≈ 0.04 lies inside the range).

The loss compared is the upper-level loss at each iterate with the lower level solved to 1e-6 (not
counted). Then the mean test PSNR over a grid of (θ₀, θ₁), against the learned θ's; the learned θ's
``recon run`` config on the test pairs; and the weighted-TV model (``bilevel-weighted-tv``) learned by
MAID. One torch thread; about 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
HOAG_STEPS = (0.01, 0.03, 0.06, 0.1)
BUDGETS = (500, 1000, 2000, 5000, 10000, 20000, 30000)
GRID_THETA0 = [-3.0 + 0.25 * k for k in range(11)]          # -3 ... -0.5
GRID_THETA1 = [-8.0, -7.0, -6.0, -5.0, -4.0, -3.0]


def loss_at_budget(history: list[dict], budget: int) -> dict:
    """The last row whose lower-level + CG count is within ``budget``."""
    rows = [row for row in history if row["total_iterations"] <= budget]
    return rows[-1] if rows else history[0]


def run(config_name: str, overrides: list[str]):
    from recon.training.hyperparameter_config import load_hyperparameter_config
    from recon.training.hyperparameter_training import learn_hyperparameters

    config = load_hyperparameter_config(config_name, overrides)
    started = time.perf_counter()
    try:
        record = learn_hyperparameters(config)
    except ValueError as error:             # a fixed step too long diverges: that is a result too
        return {"overrides": overrides, "diverged": str(error), "seconds": time.perf_counter() - started}
    record["overrides"] = overrides
    return record


def grid_psnr(config: dict) -> list[dict]:
    from recon.training.hyperparameter_training import model_psnr, test_pairs

    clean, noisy = test_pairs(config)
    return [{"theta": [t0, t1], "test_psnr_db": model_psnr(config, [t0, t1], clean, noisy)}
            for t0 in GRID_THETA0 for t1 in GRID_THETA1]


def figure(path: Path, runs: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (whole, tail) = plt.subplots(1, 2, figsize=(11, 4))
    for label, record in runs.items():
        if "history" not in record:
            continue
        counts = [row["total_iterations"] for row in record["history"]]
        losses = [row["exact_loss"] for row in record["history"]]
        style = {"linewidth": 2.2, "color": "black"} if label == "MAID" else {"linewidth": 1.2}
        whole.plot(counts, losses, label=label, **style)
        tail.plot(counts, losses, label=label, **style)
    whole.set_yscale("log")
    whole.set_xscale("log")
    whole.set_title("upper-level loss from θ = (−5, −5)")
    lowest = min(row["exact_loss"] for record in runs.values() for row in record.get("history", []))
    tail.set_ylim(lowest * 0.999, lowest * 1.02)
    tail.set_title("the same, near the minimum")
    for axes in (whole, tail):
        axes.set_xlabel("lower-level iterations (FISTA gradients + CG)")
        axes.set_ylabel("½ mean ‖x̂(θ) − x†‖²")
        axes.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(ROOT / "docs" / "bilevel_tv.json"))
    parser.add_argument("--figure", default=str(ROOT / "docs" / "bilevel_tv.png"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of every run's config (a quick check: --set problem.size=24)")
    parser.add_argument("--redraw", action="store_true", help="only redraw the figure from the JSON")
    args = parser.parse_args(argv)
    extra = args.overrides
    if args.redraw:
        figure(Path(args.figure), json.loads(Path(args.json).read_text())["runs"])
        print(f"wrote {args.figure}")
        return 0
    torch.set_num_threads(1)
    started = time.perf_counter()
    from recon.training.hyperparameter_config import load_hyperparameter_config

    runs = {"MAID": run("bilevel-tv", extra)}
    print(f"MAID: theta {runs['MAID']['theta']}, {time.perf_counter() - started:.0f} s", flush=True)
    for step in HOAG_STEPS:
        runs[f"HOAG step {step:g}"] = run("bilevel-tv", [*extra, "method.kind=hoag", f"method.step={step}",
                                                         "method.max_iterations=2000"])
        print(f"HOAG {step}: {runs[f'HOAG step {step:g}'].get('theta', 'diverged')}, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    comparison = []
    for budget in BUDGETS:
        entry = {"budget": budget}
        for label, record in runs.items():
            if "history" in record:
                entry[label] = loss_at_budget(record["history"], budget)["exact_loss"]
        hoags = [value for key, value in entry.items() if key.startswith("HOAG")]
        entry["maid_lowest"] = all(entry["MAID"] < value for value in hoags)
        entry["maid_minus_best_hoag"] = entry["MAID"] - min(hoags)
        comparison.append(entry)
    grid = grid_psnr(load_hyperparameter_config("bilevel-tv", extra))
    best = max(grid, key=lambda cell: cell["test_psnr_db"])
    print(f"grid: best {best}, {time.perf_counter() - started:.0f} s", flush=True)
    weighted = run("bilevel-weighted-tv", extra)
    maid = runs["MAID"]
    report = {
        "command": " ".join(["python scripts/bilevel_tv.py", *(f"--set {o}" for o in extra)]),
        "threads": 1,
        "setup": {"train_images": maid["problem"]["train_images"], "test_images": maid["problem"]["test_images"],
                  "size": maid["problem"]["size"], "sigma": maid["problem"]["sigma"],
                  "theta_start": maid["problem"]["theta_start"], "budget": maid["method"]["budget"],
                  "iterations_counted": "lower-level gradients + CG iterations",
                  "loss": "½ mean over images ‖x̂(θ) − x†‖², lower level solved to 1e-6 (uncounted)"},
        "comparison": comparison,
        "maid_lowest_at_every_budget": all(entry["maid_lowest"] for entry in comparison),
        "learned": {"theta": maid["theta"], "strength": maid["learned"]["strength"],
                    "smoothing": maid["learned"]["smoothing"], "test_psnr_db": maid["test_psnr_db"],
                    "recon_run_test_psnr_db": maid["recon_run_test_psnr_db"],
                    "noisy_test_psnr_db": maid["noisy_test_psnr_db"], "train_psnr_db": maid["train_psnr_db"]},
        "grid": {"theta0": GRID_THETA0, "theta1": GRID_THETA1, "best": best, "cells": grid},
        "learned_minus_best_grid_db": maid["test_psnr_db"] - best["test_psnr_db"],
        "weighted_tv": {key: weighted.get(key) for key in ("theta", "learned", "test_psnr_db", "train_psnr_db",
                                                           "lower_iterations", "cg_iterations", "diverged")},
        "runs": {label: {key: record.get(key) for key in ("theta", "lower_iterations", "cg_iterations",
                                                          "test_psnr_db", "seconds", "diverged", "overrides")}
                 | {"history": [{k: row[k] for k in ("total_iterations", "lower_iterations", "cg_iterations",
                                                     "exact_loss", "loss", "theta", "epsilon", "delta", "step")}
                                for row in record.get("history", [])]}
                 for label, record in runs.items()},
        "seconds": time.perf_counter() - started,
    }
    Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    figure(Path(args.figure), runs)
    print(json.dumps({key: report[key] for key in ("comparison", "learned", "learned_minus_best_grid_db")},
                     indent=1))
    print(f"wrote {args.json} and {args.figure} in {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
