r"""Adaptive weighted TV (Morotti et al.): weights from the truth, a network and a TV pilot, against TV.

Few-view CT of COULE-like phantoms (:mod:`recon.datasets.heldout_problems`: 128², 30 parallel views
over 180°, 2 % noise; 5 validation and 10 test phantoms, none trained on). Weighted TV is
:math:`\min_x \tfrac12\|Ax - y\|^2 + \lambda \sum_i w_i |\nabla x|_i` with
:math:`w = (\eta / \sqrt{\eta^2 + |\nabla \tilde x|^2})^{1-p}`, :math:`\tilde x` from:

* ``wtv-network``: ``ct-awtv``, the shipped ``tv-weights-ct`` network's :math:`|\nabla x|` of the FBP;
* ``wtv-pilot``: ``ct-wtv``, a TV reconstruction at the same λ;
* ``wtv-truth``: the oracle, the true image (η relative to its range), through the same λ and PDHG;

and ``tv`` is ``ct-tv``. Each method gets its own λ (and η, p) chosen on the validation phantoms
(:mod:`recon.reproduce.heldout`), then runs once on the test phantoms and on a modified Shepp–Logan
phantom through the same scan, where weights are expected to gain little. Every method runs 300 PDHG
iterations. The quick table: 64² phantoms (2 validation, 2 test), 100 iterations, a smaller grid (its
times are too short to test the time claim).

>>> len(cells(True, {}))
14
"""

from __future__ import annotations

import json
import time

from recon.reproduce.heldout import choice, evaluate_cell, measurement, overrides_text, scored, shipped_configs
from recon.reproduce.heldout import validation_cells
from recon.reproduce.report import Claim, Report, signed

CONFIGS = {"tv": "ct-tv", "wtv-network": "ct-awtv", "wtv-pilot": "ct-wtv", "wtv-truth": "ct-wtv"}
LABELS = {"tv": "TV (ct-tv)", "wtv-network": "wTV, network weights (ct-awtv)", "wtv-pilot": "wTV, TV-pilot weights "
          "(ct-wtv)", "wtv-truth": "wTV, true weights (oracle)"}
#: the method whose shipped config this table chose (the near-tie rule of recon.reproduce.heldout prefers it)
SHIPS = {"wtv-network": "ct-awtv"}
NETWORK_OVER_TV_DB = 0.7            # the bar
NETWORK_OVER_PILOT_TIME = 1.5       # the bar: ct-awtv at most 1.5x the time of ct-wtv


def grids(quick: bool) -> dict[str, dict]:
    iterations = {"solver.max_iter": [100 if quick else 300]}
    if quick:
        weighted = {"prior.strength": [0.001, 0.004], "prior.eta": [0.01, 0.1], "prior.p": [0.5], **iterations}
        return {"tv": {"prior.strength": [0.001, 0.002], **iterations}, **{m: weighted for m in CONFIGS if m != "tv"}}
    weighted = {"prior.strength": [0.0005, 0.001, 0.002, 0.004, 0.008], "prior.eta": [0.01, 0.02, 0.05, 0.1, 0.2],
                "prior.p": [0.0, 0.5], **iterations}
    return {"tv": {"prior.strength": [0.0005, 0.001, 0.002, 0.004], **iterations},
            **{m: weighted for m in CONFIGS if m != "tv"}}


def specs(quick: bool) -> dict:
    """``{split: measurement spec}`` (:func:`recon.reproduce.heldout.measurement`)."""
    size = 64 if quick else 128
    return {"validation": ("ct", "validation", 2 if quick else 5, size), "test": ("ct", "test", 2 if quick else 10, size),
            "shepp-logan": ("ct-shepp-logan", size)}


def oracle_evaluate(config_name: str, overrides: dict, measurement) -> dict:
    """:func:`recon.experiments.tuning.evaluate` for weighted TV whose weights come from the ground truth."""
    from recon.experiments.build import build_operator, prior_strength
    from recon.experiments.config import load_experiment
    from recon.experiments.stopping_rules import stopping_from_config
    from recon.experiments.tuning import outcome
    from recon.priors import WeightedTV, weights_from_pilot
    from recon.solvers.pdhg import pdhg

    config = load_experiment(config_name, [f"{k}={json.dumps(v)}" for k, v in overrides.items()])
    started = time.perf_counter()
    operator = build_operator(config, measurement)
    y, truth = measurement.data, measurement.ground_truth
    span = float(truth.max() - truth.min())
    weights = weights_from_pilot(truth.to(y.dtype), eta=config["prior"]["eta"] * span, p=config["prior"]["p"])
    prior = WeightedTV(prior_strength(config, operator, y), weights)
    result = pdhg(y, operator, prior, stopping=stopping_from_config(config),
                  preconditioning=config["solver"]["preconditioning"])
    return {**outcome(result.x, measurement, time.perf_counter() - started, result.iterations), "image": result.x}


def method_cell(config_name: str, overrides: dict, spec: tuple, method: str) -> dict:
    """The scores of one method with ``overrides`` on the measurement ``spec`` names (PSNR, SSIM, seconds, ...)."""
    if method == "wtv-truth":
        return scored(oracle_evaluate(config_name, overrides, measurement(spec)))
    return evaluate_cell(config_name, overrides, spec)


def subgrids(quick: bool, method: str) -> list:
    return [(CONFIGS[method], grids(quick)[method])]


def chosen_setting(quick: bool, method: str, done: dict) -> dict | None:
    """The setting chosen for ``method`` on validation, once all its validation cells are in (else ``None``)."""
    shipped = shipped_configs(SHIPS[method]) if method in SHIPS else None
    return choice(method, subgrids(quick, method), done, shipped)


def cells(quick: bool, done: dict) -> dict:
    found = {}
    for method in CONFIGS:
        found.update(validation_cells(method, subgrids(quick, method), specs(quick)["validation"], method_cell,
                                      (method,)))
        best = chosen_setting(quick, method, done)
        if best is not None:
            for split in ("test", "shepp-logan"):
                found[f"{method} {split}"] = (method_cell, (CONFIGS[method], best["overrides"], specs(quick)[split],
                                                            method), {})
    return found


def report(quick: bool, values: dict) -> Report:
    rows = []
    test = {m: values[f"{m} test"] for m in CONFIGS}
    shepp = {m: values[f"{m} shepp-logan"] for m in CONFIGS}
    for method in CONFIGS:
        best = chosen_setting(quick, method, values)
        rows.append({"method": LABELS[method], "chosen": overrides_text({k: v for k, v in best["overrides"].items()
                                                                        if k != "solver.max_iter"}),
                     "validation PSNR": best["psnr_db"], "test PSNR": test[method]["psnr_db"],
                     "test SSIM": test[method]["ssim"], "test − TV": test[method]["psnr_db"] - test["tv"]["psnr_db"],
                     "Shepp–Logan PSNR": shepp[method]["psnr_db"],
                     "Shepp–Logan − TV": shepp[method]["psnr_db"] - shepp["tv"]["psnr_db"],
                     "test seconds": test[method]["seconds"]})
    psnr = {m: test[m]["psnr_db"] for m in CONFIGS}
    gain = psnr["wtv-network"] - psnr["tv"]
    shepp_gain = shepp["wtv-network"]["psnr_db"] - shepp["tv"]["psnr_db"]
    ratio = test["wtv-network"]["seconds"] / test["wtv-pilot"]["seconds"]
    claims = [
        Claim("weighted TV: truth weights ≥ network weights ≥ TV (test PSNR)",
              f"{psnr['wtv-truth']:.2f} ≥ {psnr['wtv-network']:.2f} ≥ {psnr['tv']:.2f} dB", "",
              psnr["wtv-truth"] >= psnr["wtv-network"] >= psnr["tv"]),
        Claim(f"network weights ≥ TV + {NETWORK_OVER_TV_DB} dB", signed(gain), "", gain >= NETWORK_OVER_TV_DB),
        Claim("on Shepp–Logan the network weights gain near nothing (under 1 dB and a third of the test gain)",
              signed(shepp_gain), "", abs(shepp_gain) < 1.0 and shepp_gain < gain / 3),
        Claim(f"ct-awtv takes at most {NETWORK_OVER_PILOT_TIME}× the time of ct-wtv",
              f"{ratio:.2f}× ({test['wtv-network']['seconds']:.1f} s against {test['wtv-pilot']['seconds']:.1f} s "
              f"for the test phantoms)", "", None if quick else ratio <= NETWORK_OVER_PILOT_TIME)]
    validation, tested, _ = specs(quick).values()
    return Report(
        title="Weighted TV with weights from the truth, a network and a TV pilot, against TV",
        source="Morotti, Evangelista, Sebastiani and Loli Piccolomini, adaptive weighted total variation for "
               "few-view CT",
        setup=f"Few-view CT of COULE-like phantoms ({tested[3]}², 30 views over 180°, 2 % noise); every method's λ "
              f"(η, p) chosen on {validation[2]} validation phantoms, then run on {tested[2]} test phantoms and on "
              f"Shepp–Logan; PDHG, {grids(quick)['tv']['solver.max_iter'][0]} iterations; one torch thread per "
              f"worker. PSNR in dB; seconds are of the test phantoms, on a shared worker.",
        columns=list(rows[0]), rows=rows, claims=claims,
        formats={"test SSIM": ".4f", "test − TV": "+.2f", "Shepp–Logan − TV": "+.2f", "test seconds": ".1f"})


def figure(quick: bool, values: dict, report: Report):
    from recon.reproduce.charts import grouped_bars

    groups = {split: {LABELS[m].split(" (")[0]: values[f"{m} {key}"]["psnr_db"] for m in CONFIGS}
              for split, key in (("test phantoms", "test"), ("Shepp–Logan", "shepp-logan"))}
    return grouped_bars(groups, ylabel="PSNR (dB)", title=report.title)
