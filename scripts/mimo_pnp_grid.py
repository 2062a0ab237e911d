"""The radar paper's experiment grid, scaled to this machine: PSNR3D of BP, Kirchhoff, ℓ1, TV + ℓ1 and PnP.

Oral & Öktem (IEEE TCI 2024) compare their plug-and-play regularisation on the magnitude with
back-projection, Kirchhoff migration, ℓ1 and TV on |x| over the number of frequencies N_f and the SNR.
Here: their array and extents on a 13 x 13 x 25 grid (``--grid``), N_f ∈ {5, 10, 20}, SNR ∈ {10, 20,
30} dB, held-out scenes 0-4 (:func:`recon.datasets.mimo_scenes.simulated_scene`; the 3D denoiser was
trained on seeds 100000 and up). Every method is its shipped config (recon/configs/mimo-*.yaml) run through
:func:`recon.experiments.build_mimo.reconstruct_mimo`, the code ``recon run`` calls:

* ``bp``, ``kirchhoff``: the migrations;
* ``l1``, ``tv``: C-SALSA to the paper's stopping rule (at most 500 iterations); their minimisers do not
  depend on λ, and TV's ℓ1 weight β = 3 is mimo-tv's;
* ``pnp``: mimo-pnp, the 3D denoiser on |x| (30 iterations); ``pnp-complex``: the same denoiser on the
  real and imaginary parts (``prior.acts_on=complex``).

The PnP methods' α (``prior.strength``) is chosen per grid cell on validation scenes 90000-90002
(``--validation``) from ``--alphas``, never on the test scenes. Writes the JSON record, a Markdown table
and the maximum-intensity projections of one test scene per method (N_f = 10, 30 dB):

    python scripts/mimo_pnp_grid.py [--grid 13 13 25] [--seeds 0 1 2 3 4] [--threads 1]
        [--json docs/mimo_pnp_grid.json] [--table docs/mimo_pnp_grid.md] [--figure docs/mimo_pnp_scene0.png]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

METHODS = {"bp": ("mimo-bp", ()), "kirchhoff": ("mimo-kirchhoff", ()), "l1": ("mimo-l1", ()),
           "tv": ("mimo-tv", ()), "pnp": ("mimo-pnp", ()), "pnp-complex": ("mimo-pnp", ("prior.acts_on=complex",))}
LEARNED = ("pnp", "pnp-complex")
FIGURE_CELL = (10, 30.0)


def _mean(values) -> float:
    return sum(values) / len(values)


def _run(config, measurement) -> tuple[float, float, int, object]:
    """(PSNR3D, seconds, iterations, image) of one config on one measurement."""
    from recon.experiments.build_mimo import reconstruct_mimo
    from recon.metrics import psnr3d

    started = time.perf_counter()
    result = reconstruct_mimo(config, measurement)
    seconds = time.perf_counter() - started
    return psnr3d(result.image[0, 0], measurement.ground_truth[0, 0]), seconds, result.iterations, result.image[0, 0]


def tune_alpha(method: str, alphas, scenes) -> tuple[float, dict]:
    """The α of ``alphas`` with the best mean PSNR3D on the validation ``scenes``, and every mean."""
    from recon.experiments.config import load_experiment

    name, overrides = METHODS[method]
    means = {}
    for alpha in alphas:
        config = load_experiment(name, [*overrides, f"prior.strength={alpha}"])
        means[alpha] = _mean([_run(config, scene)[0] for scene in scenes])
    return max(means, key=means.get), means


def run_cell(n_frequencies: int, snr_db: float, *, grid, seeds, validation, alphas: dict, methods,
             echo=print) -> tuple[dict, dict]:
    """One grid cell: every method on the test ``seeds``; (record, images of the first scene).

    ``alphas[method]`` lists the candidate α of a PnP method: with more than one, the best on the
    ``validation`` seeds is used; with one, that one (no validation runs).
    """
    from recon.datasets.mimo_scenes import simulated_scene
    from recon.experiments.config import load_experiment

    grid = tuple(grid)
    configs, tuning = {}, {}
    for method in methods:
        name, overrides = METHODS[method]
        if method in LEARNED:
            candidates = list(alphas[method])
            if len(candidates) > 1:
                scenes = [simulated_scene(seed, grid, n_frequencies, snr_db) for seed in validation]
                alpha, means = tune_alpha(method, candidates, scenes)
                echo(f"N_f {n_frequencies} {snr_db:g} dB: {method} alpha {alpha} "
                     f"(validation means {', '.join(f'{a}: {m:.2f}' for a, m in means.items())})")
            else:
                alpha, means = candidates[0], {}
            tuning[method] = {"alpha": alpha, "validation_mean_psnr3d_db": {str(a): m for a, m in means.items()}}
            overrides = (*overrides, f"prior.strength={alpha}")
        configs[method] = load_experiment(name, list(overrides))
    rows = {m: {"psnr3d_db": [], "seconds": [], "iterations": []} for m in methods}
    images = {}
    for seed in seeds:
        measurement = simulated_scene(seed, grid, n_frequencies, snr_db)
        if not images:
            images["truth"] = measurement.ground_truth[0, 0]
        for method, config in configs.items():
            psnr, seconds, iterations, image = _run(config, measurement)
            rows[method]["psnr3d_db"].append(psnr)
            rows[method]["seconds"].append(seconds)
            rows[method]["iterations"].append(iterations)
            if seed == seeds[0]:
                images[method] = image
    for method, row in rows.items():
        row["mean_psnr3d_db"] = _mean(row["psnr3d_db"])
        row["seconds_per_iteration"] = sum(row["seconds"]) / sum(row["iterations"])
    echo(f"N_f {n_frequencies} {snr_db:g} dB: " + ", ".join(f"{m} {r['mean_psnr3d_db']:.2f}" for m, r in rows.items()))
    return {"n_frequencies": n_frequencies, "snr_db": snr_db, "methods": rows, "tuning": tuning}, images


def pnp_gap(cell: dict) -> float:
    """Mean PSNR3D of PnP on |x| minus the best variational method's (ℓ1 or TV + ℓ1, of those the cell ran)."""
    methods = cell["methods"]
    variational = [methods[m]["mean_psnr3d_db"] for m in ("l1", "tv") if m in methods]
    return methods["pnp"]["mean_psnr3d_db"] - max(variational)


def markdown_table(record: dict) -> str:
    """The grid as a Markdown table: one row per (N_f, SNR), mean PSNR3D per method, PnP's gap and α."""
    methods = record["methods"]
    head = "| N_f | SNR (dB) | " + " | ".join(methods) + " | PnP − best variational | PnP α |"
    lines = [head, "|" + "---|" * (len(methods) + 4)]
    for cell in record["cells"]:
        values = " | ".join(f"{cell['methods'][m]['mean_psnr3d_db']:.2f}" for m in methods)
        alpha = cell["tuning"].get("pnp", {}).get("alpha", "")
        lines.append(f"| {cell['n_frequencies']} | {cell['snr_db']:g} | {values} | {pnp_gap(cell):+.2f} | {alpha} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, nargs=3, default=(13, 13, 25))
    parser.add_argument("--frequencies", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--snrs", type=float, nargs="+", default=[10.0, 20.0, 30.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
    parser.add_argument("--validation", type=int, nargs="+", default=[90000, 90001, 90002])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.0025, 0.005, 0.01, 0.02])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--table", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from recon.figures import projection_grid

    torch.set_num_threads(args.threads)
    record = {"grid": list(args.grid), "seeds": list(args.seeds), "validation_seeds": list(args.validation),
              "alphas": list(args.alphas), "threads": args.threads, "methods": list(args.methods), "cells": []}
    for n_frequencies in args.frequencies:
        for snr_db in args.snrs:
            cell, images = run_cell(n_frequencies, snr_db, grid=args.grid, seeds=args.seeds,
                                    validation=args.validation, methods=args.methods,
                                    alphas={method: args.alphas for method in LEARNED})
            record["cells"].append(cell)
            if args.figure is not None and (n_frequencies, snr_db) == FIGURE_CELL:
                projection_grid(images, args.figure,
                                title=f"scene {args.seeds[0]}: {' x '.join(map(str, args.grid))}, "
                                      f"N_f = {n_frequencies}, {snr_db:g} dB (maximum-intensity projections)")
            if args.json is not None:                     # written after every cell: a long run can be watched
                args.json.write_text(json.dumps(record, indent=2) + "\n")
            print(f"N_f {n_frequencies}, {snr_db:g} dB done", flush=True)
    table = markdown_table(record)
    print("\n" + table)
    if args.table is not None:
        args.table.write_text(table)
    return record


if __name__ == "__main__":
    main()
