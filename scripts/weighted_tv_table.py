"""Weighted TV with weights from the truth, from a network, from a TV pilot, against TV: tuned on validation, tested.

    python scripts/weighted_tv_table.py [--json docs/weighted_tv_ct.json]
    python scripts/weighted_tv_table.py --json docs/weighted_tv_ct.json --figure docs/weighted_tv_ct.png

Few-view CT of COULE-like phantoms (recon.datasets.heldout_problems: 128², 30 parallel views over 180°,
2 % noise; 5 validation phantoms, 10 test phantoms, none trained on). Each method gets its own λ, and the
weighted ones their own η and p, chosen on the validation phantoms (mean PSNR; harness
recon.experiments.tuning), then run once on the test phantoms:

* tv: ct-tv;
* wtv-network: ct-awtv, weights from the shipped tv-weights-ct network's |∇x| of the FBP;
* wtv-pilot: ct-wtv, weights from a TV reconstruction at the same λ;
* wtv-truth: the oracle, weights from the true image (η relative to its range), through the same
  λ and PDHG as the configs.

Every method runs 300 PDHG iterations. Then each chosen setting runs on a modified Shepp–Logan phantom
(the same scan), where weights are expected to gain little. One torch thread. ``recon reproduce
weighted-tv`` makes the same table with its cells as Dask tasks; this script writes the JSON report the
tests read (the chosen settings) and the figure of one test phantom.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

# One definition of the grids and the oracle, shared with `recon reproduce weighted-tv` (which runs the same
# tuning as Dask tasks and writes the table): recon/reproduce/weighted_tv.py.
from recon.reproduce.weighted_tv import CONFIGS, grids, oracle_evaluate

GRIDS = {method: (CONFIGS[method], grid) for method, grid in grids(quick=False).items()}


def table(echo=print) -> dict:
    from recon.datasets.heldout_problems import few_view_ct_of
    from recon.datasets.phantoms import shepp_logan
    from recon.experiments import tuning

    validation, test = tuning.heldout_measurements("ct")
    shepp = few_view_ct_of(shepp_logan(128), "modified Shepp-Logan")
    report = {"problem": "few-view CT, 128², 30 views, 2 % noise; 5 validation, 10 test COULE-like phantoms",
              "methods": {}}
    for method, (config_name, grid) in GRIDS.items():
        original = tuning.evaluate
        if method == "wtv-truth":
            tuning.evaluate = oracle_evaluate
        try:
            scores = tuning.grid_scores(config_name, grid, validation, echo, method)
            best = tuning.best_of(scores)
            tested = tuning.evaluate(config_name, best["overrides"], test)
            on_shepp = tuning.evaluate(config_name, best["overrides"], shepp)
        finally:
            tuning.evaluate = original
        for outcome in [*scores, tested, on_shepp]:
            outcome.pop("image", None)
        echo(f"{method}: chosen {best['overrides']} (validation {best['psnr_db']:.2f} dB); test "
             f"{tested['psnr_db']:.2f} dB, SSIM {tested['ssim']:.4f}, {tested['seconds']:.1f} s; Shepp-Logan "
             f"{on_shepp['psnr_db']:.2f} dB")
        report["methods"][method] = {"config": config_name, "chosen": best["overrides"], "validation": scores,
                                     "test": tested, "shepp_logan": on_shepp}
    methods = report["methods"]
    for method in ("wtv-network", "wtv-pilot", "wtv-truth"):
        report[f"{method}_minus_tv_db"] = methods[method]["test"]["psnr_db"] - methods["tv"]["test"]["psnr_db"]
        report[f"{method}_minus_tv_shepp_logan_db"] = (methods[method]["shepp_logan"]["psnr_db"]
                                                      - methods["tv"]["shepp_logan"]["psnr_db"])
    report["network_over_pilot_seconds"] = methods["wtv-network"]["test"]["seconds"] / methods["wtv-pilot"]["test"]["seconds"]
    echo(f"test gains over TV: network {report['wtv-network_minus_tv_db']:+.2f} dB, pilot "
         f"{report['wtv-pilot_minus_tv_db']:+.2f} dB, truth {report['wtv-truth_minus_tv_db']:+.2f} dB; "
         f"ct-awtv / ct-wtv time {report['network_over_pilot_seconds']:.2f}")
    return report


def figure(report: dict, path: Path) -> None:
    """The first test phantom: its FBP, the network's |∇x| against the true one, and TV, network-weighted and
    truth-weighted TV at their chosen settings."""
    from recon.datasets.heldout_problems import few_view_ct
    from recon.experiments.build import build_operator
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement, score
    from recon.figures import pyplot
    from recon.operators import fbp
    from recon.priors import gradient_magnitude
    from recon.weights.registry import load_network

    one = few_view_ct("test", count=1)          # the first of the 10 test phantoms, with the same noise
    methods = report["methods"]
    images, titles = [], []
    config = load_experiment("ct-awtv")
    first = fbp(one.data, build_operator(config, one))
    with torch.no_grad():
        predicted = load_network(config["prior"]["pilot_network"])[0](first.float())
    images += [first, predicted, gradient_magnitude(one.ground_truth)]
    titles += [f"FBP {score(first, one)[0]['psnr_db']:.1f} dB", "network |∇x| from the FBP", "true |∇x|"]
    for method, label in (("tv", "TV"), ("wtv-network", "wTV, network weights")):
        overrides = [f"{k}={json.dumps(v)}" for k, v in methods[method]["chosen"].items()]
        image = reconstruct_measurement(load_experiment(methods[method]["config"], overrides), one)[0].image
        images.append(image)
        titles.append(f"{label} {score(image, one)[0]['psnr_db']:.1f} dB")
    oracle = oracle_evaluate("ct-wtv", methods["wtv-truth"]["chosen"], one)
    titles.append(f"wTV, true weights {oracle['psnr_db']:.1f} dB")
    images.append(oracle["image"])
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(9.6, 6.6), layout="constrained")
    for axis, image, title, k in zip(axes.flat, images, titles, range(6)):
        shown = image[0, 0].detach().cpu().numpy()
        axis.imshow(shown, cmap="gray", vmin=0, vmax=1 if k not in (1, 2) else float(images[2].max()) * 0.6)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the report (every validation score, the test scores)")
    parser.add_argument("--figure", help="with --json of an earlier run: draw one test phantom (PNG)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.figure:
        figure(json.loads(Path(args.json).read_text()), Path(args.figure))
        return 0
    report = table()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
