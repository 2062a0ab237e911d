"""Learned proximal networks (Fang, Buchanan and Sulam) on few-view CT: ``ct-lpn`` against TV and PnP.

The few-view CT problem of :mod:`recon.reproduce.pnp_vs_tv` (128², 30 views, 2 % noise; 5 validation
and 10 test COULE-like phantoms). ``ct-lpn`` (ADMM whose z-step is one call of the shipped LPN, the
exact prox of a learned prior) gets its strength and iterations chosen on validation, as TV and PnP get
theirs (the same grids as ``pnp-vs-tv``); each chosen setting runs once on the test phantoms, and
``ct-lpn`` once more with PDHG (τ = 1/λ, 100 iterations) at the same strength. Then the chosen
``ct-lpn``'s wall time on one test phantom, from the config to the image (the performance goal: at
most 10 s at 128² on one thread). The quick table: 64² (1 validation, 1 test phantom), TV and LPN
only, small grids, no PDHG run and no timing.

>>> sorted(cells(True, {}))[0]
'ct lpn validation ct-lpn strength=0.005 max_iter=30'
"""

from __future__ import annotations

import json
import time

from recon.reproduce.heldout import choice, evaluate_cell, measurement, shipped_configs, validation_cells
from recon.reproduce.pnp_vs_tv import GRIDS as PNP_GRIDS
from recon.reproduce.pnp_vs_tv import SHIPPED as PNP_SHIPPED
from recon.reproduce.report import Claim, Report, signed

LPN_GRID = {"prior.strength": [0.002, 0.003, 0.005, 0.007, 0.01], "solver.max_iter": [30, 60]}
TIME_GOAL_SECONDS = 10.0
LABELS = {"tv": "TV (ct-tv)", "pnp": "PnP (ct-pnp)", "lpn": "LPN (ct-lpn, ADMM)", "lpn-pdhg": "LPN by PDHG"}


def grids(quick: bool) -> dict:
    if quick:
        return {"tv": [("ct-tv", {"prior.strength": [0.001, 0.002], "solver.max_iter": [100]})],
                "lpn": [("ct-lpn", {"prior.strength": [0.005], "solver.max_iter": [30]})]}
    return {**PNP_GRIDS["ct"], "lpn": [("ct-lpn", LPN_GRID)]}


def specs(quick: bool) -> dict:
    size = 64 if quick else 128
    return {"validation": ("ct", "validation", 1 if quick else 5, size),
            "test": ("ct", "test", 1 if quick else 10, size), "one": ("ct", "test", 1, size)}


def one_image_cell(overrides: dict, spec: tuple) -> float:
    """Wall time of ``ct-lpn`` with ``overrides`` on one phantom, from the config to the image (seconds)."""
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement

    single = measurement(spec)
    started = time.perf_counter()
    reconstruct_measurement(load_experiment("ct-lpn", [f"{k}={json.dumps(v)}" for k, v in overrides.items()]),
                            single)
    return time.perf_counter() - started


def chosen_setting(quick: bool, method: str, done: dict) -> dict | None:
    return choice(f"ct {method}", grids(quick)[method], done, shipped_configs("ct-lpn", *PNP_SHIPPED[:1]))


def pdhg_overrides(overrides: dict) -> dict:
    return {**overrides, "solver.kind": "pdhg", "solver.max_iter": 100}


def cells(quick: bool, done: dict) -> dict:
    found = {}
    spec = specs(quick)
    for method, subgrids in grids(quick).items():
        found.update(validation_cells(f"ct {method}", subgrids, spec["validation"]))
        best = chosen_setting(quick, method, done)
        if best is None:
            continue
        found[f"ct {method} test"] = (evaluate_cell, (best["config"], best["overrides"], spec["test"]), {})
        if method == "lpn" and not quick:
            found["ct lpn one image"] = (one_image_cell, (best["overrides"], spec["one"]), {})
            found["ct lpn-pdhg test"] = (evaluate_cell, ("ct-lpn", pdhg_overrides(best["overrides"]), spec["test"]),
                                         {})
    return found


def report(quick: bool, values: dict) -> Report:
    rows = []
    for method in (*grids(quick), *(() if quick else ("lpn-pdhg",))):
        best = chosen_setting(quick, "lpn" if method == "lpn-pdhg" else method, values)
        overrides = pdhg_overrides(best["overrides"]) if method == "lpn-pdhg" else best["overrides"]
        tested = values[f"ct {method} test"]
        rows.append({"method": LABELS[method], "setting": " ".join(f"{k}={v}" for k, v in overrides.items()),
                     "validation PSNR": None if method == "lpn-pdhg" else best["psnr_db"],
                     "test PSNR": tested["psnr_db"], "test SSIM": tested["ssim"],
                     "test − TV": tested["psnr_db"] - values["ct tv test"]["psnr_db"]})
    lpn, tv = values["ct lpn test"]["psnr_db"], values["ct tv test"]["psnr_db"]
    size = specs(quick)["one"][3]
    claims = [Claim("ct-lpn beats the best-tuned TV on held-out phantoms", f"{lpn:.2f} against {tv:.2f} dB "
                    f"({signed(lpn - tv)})" + (f"; PnP {values['ct pnp test']['psnr_db']:.2f}" if not quick else ""),
                    "", lpn > tv),
              Claim(f"ct-lpn at 128² within {TIME_GOAL_SECONDS:g} s on one thread",
                    "" if quick else f"{values['ct lpn one image']:.1f} s", "",
                    None if quick else values["ct lpn one image"] <= TIME_GOAL_SECONDS)]
    notes = [] if quick else ["PDHG with τ = 1/λ makes each primal step the exact learned prox, yet drifts away "
                              "with the shipped network; ADMM is the solver that was validated."]
    validation, tested, _ = specs(quick).values()
    return Report(
        title="Learned proximal networks against TV and PnP on few-view CT",
        source="Fang, Buchanan and Sulam, what's in a prior? Learned proximal networks for inverse problems, "
               "ICLR 2024",
        setup=f"Few-view CT of COULE-like phantoms ({size}², 30 views, 2 % noise); each method chosen on "
              f"{validation[2]} validation phantoms (near-ties within 0.05 dB to the shipped setting, else the "
              f"fewest iterations), run once on {tested[2]} test phantoms. PSNR in dB; the time is of one phantom "
              f"on a worker with one torch thread.",
        columns=["method", "setting", "validation PSNR", "test PSNR", "test SSIM", "test − TV"], rows=rows,
        claims=claims, notes=notes, formats={"test SSIM": ".4f", "test − TV": "+.2f"})


def figure(quick: bool, values: dict, report: Report):
    from recon.reproduce.charts import grouped_bars

    methods = (*grids(quick), *(() if quick else ("lpn-pdhg",)))
    groups = {"test phantoms": {LABELS[m]: values[f"ct {m} test"]["psnr_db"] for m in methods}}
    return grouped_bars(groups, ylabel="test PSNR (dB)", title=report.title, bottom=0.0)
