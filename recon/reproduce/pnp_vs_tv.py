"""Plug-and-play (DPIR's HQS and PnP-ADMM with recon's denoisers) against TV, each tuned on validation data.

Three problems of :mod:`recon.datasets.heldout_problems`: few-view CT of COULE-like phantoms (128², 30
views, 2 % noise; 5 validation, 10 test phantoms), Gaussian deblurring (σ = 2, noise 0.01) of natural
photographs (validation chelsea and china; test camera, astronaut, coffee, grace_hopper), and MRI at 4×
random columns (validation: matplotlib's s1045 slice through 8 simulated coils at 4× and 6×; test: the
real 8-coil brain). Every candidate is a shipped config (``ct-tv``, ``ct-pnp``, ...) with ``--set``
overrides; the best on validation (:mod:`recon.reproduce.heldout`) runs once on the test data. For MRI
the shipped ``mri-tv`` is measured on the test scan as well. The quick table is CT alone at 64² (2
validation, 2 test phantoms) with small grids.

>>> sorted(cells(True, {}))[0]
'ct pnp validation ct-pnp kind=pnp-admm sigma=0.08 penalty=0.005 max_iter=20'
"""

from __future__ import annotations

from recon.reproduce.heldout import choice, evaluate_cell, shipped_configs, validation_cells
from recon.reproduce.report import Claim, Report, signed

GRIDS = {   # problem -> method -> [(config, {key: candidate values})]: every combination of each sub-grid
    "ct": {
        "tv": [("ct-tv", {"prior.strength": [0.0005, 0.001, 0.002, 0.004], "solver.max_iter": [300]})],
        "pnp": [("ct-pnp", {"solver.kind": ["pnp-admm"], "prior.sigma": [0.03, 0.05, 0.08, 0.12],
                            "solver.penalty": [0.003, 0.005, 0.01, 0.02, 0.03], "solver.max_iter": [20, 40]}),
                ("ct-pnp", {"solver.kind": ["hqs"], "prior.sigma": [0.02, 0.03], "prior.strength": [0.002, 0.005, 0.01],
                            "solver.max_iter": [20, 40]})],
    },
    "deblur": {
        "tv": [("deblur-tv", {"prior.strength": [0.0003, 0.0006, 0.001, 0.002, 0.003]})],
        "pnp": [("deblur-pnp", {"solver.kind": ["hqs"],
                                "prior.denoiser": ["drunet-small-general", "drunet-small-photo"],
                                "prior.sigma": [0.0025, 0.005, 0.01], "prior.strength": [0.1, 0.25, 0.5, 1.0],
                                "solver.max_iter": [3, 4, 8]})],
    },
    "mri": {
        "tv": [("mri-tv", {"prior.strength": [0.003, 0.006, 0.01, 0.02, 0.04]})],
        "pnp": [("mri-pnp", {"solver.kind": ["hqs"], "prior.sigma": [0.01, 0.02, 0.05],
                             "prior.strength": [0.05, 0.25, 1.0, 4.0],
                             "prior.complex_mode": ["magnitude", "real-imag", "signed-parts"]}),
                # PnP-ADMM on the magnitude, as first measured (mri-pnp then denoised the magnitude by default)
                ("mri-pnp", {"solver.kind": ["pnp-admm"], "prior.sigma": [0.02, 0.05, 0.1],
                             "solver.penalty": [0.03, 0.1, 1.0], "solver.max_iter": [40],
                             "prior.complex_mode": ["magnitude"]})],
    },
}
QUICK_GRIDS = {"ct": {"tv": [("ct-tv", {"prior.strength": [0.001, 0.002], "solver.max_iter": [100]})],
                      "pnp": [("ct-pnp", {"solver.kind": ["pnp-admm"], "prior.sigma": [0.08, 0.12],
                                          "solver.penalty": [0.005], "solver.max_iter": [20]})]}}
#: problem -> the claim's margin of PnP over TV (dB)
BARS = {"ct": 1.5, "deblur": 1.0, "mri": 0.5}
SHIPPED = ("ct-pnp", "deblur-pnp", "mri-pnp")
LABELS = {"ct": "few-view CT", "deblur": "deblurring", "mri": "MRI brain"}


def grids(quick: bool) -> dict:
    return QUICK_GRIDS if quick else GRIDS


def specs(quick: bool, problem: str) -> dict:
    """``{split: measurement spec}`` of ``problem``."""
    if problem == "ct":
        size = 64 if quick else 128
        return {"validation": ("ct", "validation", 2 if quick else 5, size),
                "test": ("ct", "test", 2 if quick else 10, size)}
    return {split: (problem, split) for split in ("validation", "test")}


def chosen_setting(quick: bool, problem: str, method: str, done: dict) -> dict | None:
    return choice(f"{problem} {method}", grids(quick)[problem][method], done, shipped_configs(*SHIPPED))


def cells(quick: bool, done: dict) -> dict:
    found = {}
    for problem, methods in grids(quick).items():
        spec = specs(quick, problem)
        for method, subgrids in methods.items():
            found.update(validation_cells(f"{problem} {method}", subgrids, spec["validation"]))
            best = chosen_setting(quick, problem, method, done)
            if best is not None:
                found[f"{problem} {method} test"] = (evaluate_cell, (best["config"], best["overrides"], spec["test"]),
                                                     {})
        if problem == "mri":
            found["mri shipped mri-tv test"] = (evaluate_cell, ("mri-tv", {}, spec["test"]), {})
    return found


def report(quick: bool, values: dict) -> Report:
    rows, claims = [], []
    for problem, methods in grids(quick).items():
        for method in methods:
            best = chosen_setting(quick, problem, method, values)
            tested = values[f"{problem} {method} test"]
            rows.append({"problem, method": f"{LABELS[problem]}, {method.upper() if method == 'tv' else 'PnP'}",
                         "config": best["config"],
                         "chosen on validation": " ".join(f"{k}={v}" for k, v in best["overrides"].items()),
                         "validation PSNR": best["psnr_db"], "test PSNR": tested["psnr_db"],
                         "test SSIM": tested["ssim"], "test seconds": tested["seconds"]})
        gain = values[f"{problem} pnp test"]["psnr_db"] - values[f"{problem} tv test"]["psnr_db"]
        measured = f"{signed(gain)} ({values[f'{problem} pnp test']['psnr_db']:.2f} against " \
                   f"{values[f'{problem} tv test']['psnr_db']:.2f})"
        if problem == "mri":
            shipped = values["mri shipped mri-tv test"]
            rows.append({"problem, method": "MRI brain, TV as shipped", "config": "mri-tv", "chosen on validation": "",
                         "test PSNR": shipped["psnr_db"], "test SSIM": shipped["ssim"],
                         "test seconds": shipped["seconds"]})
            measured += f"; {signed(values['mri pnp test']['psnr_db'] - shipped['psnr_db'])} against the shipped mri-tv"
        claims.append(Claim(f"{LABELS[problem]}: PnP ≥ the best-tuned TV + {BARS[problem]:g} dB on held-out data",
                            measured, "", gain >= BARS[problem]))
    return Report(
        title="Plug-and-play against TV, each tuned on validation data",
        source="Zhang, Li, Zuo, Zhang, Van Gool and Timofte, plug-and-play image restoration with deep denoiser "
               "prior (DPIR), IEEE TPAMI 2021, with recon's own denoisers",
        setup=("Few-view CT of COULE-like phantoms (64², 30 views, 2 % noise; 2 validation and 2 test phantoms)"
               if quick else
               "Few-view CT of COULE-like phantoms (128², 30 views, 2 % noise; 5 validation, 10 test phantoms); "
               "Gaussian deblurring of photographs (validation chelsea, china; test camera, astronaut, coffee, "
               "grace_hopper); MRI at 4× random columns (validation: a simulated 8-coil scan at 4× and 6×; test: the "
               "real 8-coil brain)") + ". Every candidate is the shipped config with overrides; the best on "
              "validation (mean PSNR; near-ties within 0.05 dB go to the shipped setting, else the fewest "
              "iterations) runs once on the test data. PSNR in dB.",
        columns=["problem, method", "config", "chosen on validation", "validation PSNR", "test PSNR", "test SSIM",
                 "test seconds"],
        rows=rows, claims=claims, formats={"test SSIM": ".4f", "test seconds": ".1f"})


def figure(quick: bool, values: dict, report: Report):
    from recon.reproduce.charts import grouped_bars

    groups = {LABELS[p]: {m.upper() if m == "tv" else "PnP": values[f"{p} {m} test"]["psnr_db"] for m in methods}
              for p, methods in grids(quick).items()}
    return grouped_bars(groups, ylabel="test PSNR (dB)", title=report.title)
