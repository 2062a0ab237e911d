"""The MIMO paper's comparison at full size: PSNR3D of BP, Kirchhoff, l1, TV (+l1) on |x|, TV on x and PnP, per scene.

Oral & Öktem (IEEE TCI 2024) set-up: the 12 + 13 antenna X array, N_f = 10 frequencies over
4-16 GHz, 30 dB SNR, the 25 x 25 x 49 grid; 5 scenes of extended targets with random phase
(:func:`recon.datasets.mimo_scenes.extended_targets`, seeds 0-4, noise seeds 1000 + seed). Each
method is the shipped config (recon/configs/mimo-*.yaml) through
:func:`recon.experiments.build_mimo.reconstruct_mimo`, the code ``recon run`` calls; "tv-complex"
is mimo-tv with ``prior.acts_on: complex``; "pnp" is mimo-pnp. tests/test_mimo_ordering.py is the same on a
13 x 13 x 25 grid. Prints a table (PSNR3D in dB per scene, the mean, seconds per scene) and
writes it as JSON; ``--figure`` writes the maximum-intensity projections of scene 0.

    python scripts/mimo_ordering.py [--grid 25 25 49] [--seeds 0 1 2 3 4] [--threads 1]
                                    [--json docs/mimo_ordering.json] [--figure docs/mimo_scene0.png] [--update]

``--update`` keeps the other methods of an existing ``--json`` record of the same set-up and replaces
only those run now (``--methods pnp --update`` adds mimo-pnp without rerunning the rest).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from recon.reproduce.radar import METHODS as RADAR_METHODS

# The methods of `recon reproduce radar` (recon/reproduce/radar.py), whose full table runs these as Dask tasks.
METHODS = {m: RADAR_METHODS[m] for m in ("bp", "kirchhoff", "l1", "tv", "tv-complex", "pnp")}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, nargs=3, default=(25, 25, 49))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
    parser.add_argument("--frequencies", type=int, default=10)
    parser.add_argument("--snr", type=float, default=30.0)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--update", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from recon.datasets.mimo_scenes import simulated_scene
    from recon.experiments.build_mimo import reconstruct_mimo
    from recon.experiments.config import load_experiment
    from recon.figures import projection_grid
    from recon.metrics import psnr3d

    torch.set_num_threads(args.threads)
    configs = {m: load_experiment(METHODS[m][0], list(METHODS[m][1])) for m in args.methods}
    table = {m: {"psnr3d_db": [], "seconds": [], "iterations": []} for m in args.methods}
    for seed in args.seeds:
        measurement = simulated_scene(seed, args.grid, args.frequencies, args.snr)
        images = {}
        for method, config in configs.items():
            started = time.perf_counter()
            result = reconstruct_mimo(config, measurement)
            row = table[method]
            row["seconds"].append(time.perf_counter() - started)
            row["psnr3d_db"].append(psnr3d(result.image[0, 0], measurement.ground_truth[0, 0]))
            row["iterations"].append(result.iterations)
            images[method] = result.image[0, 0]
            print(f"scene {seed} {method:11s} PSNR3D {row['psnr3d_db'][-1]:6.2f} dB  "
                  f"{row['iterations'][-1]:4d} it  {row['seconds'][-1]:7.1f} s", flush=True)
        if args.figure is not None and seed == args.seeds[0]:
            projection_grid({"truth": measurement.ground_truth[0, 0], **images}, args.figure,
                            title=f"scene {seed}: {' x '.join(map(str, args.grid))}, N_f = {args.frequencies}, "
                                  f"{args.snr:g} dB")
    print(f"\n{'method':11s} " + " ".join(f"{'s' + str(s):>6s}" for s in args.seeds) + "    mean  s/scene")
    for method, row in table.items():
        row["mean_psnr3d_db"] = sum(row["psnr3d_db"]) / len(row["psnr3d_db"])
        print(f"{method:11s} " + " ".join(f"{v:6.2f}" for v in row["psnr3d_db"])
              + f"  {row['mean_psnr3d_db']:6.2f}  {sum(row['seconds']) / len(row['seconds']):7.1f}")
    record = {"grid": list(args.grid), "n_frequencies": args.frequencies, "snr_db": args.snr,
              "seeds": list(args.seeds), "threads": args.threads, "methods": table}
    if args.update and args.json is not None and args.json.exists():
        previous = json.loads(args.json.read_text())
        setup = ("grid", "n_frequencies", "snr_db", "seeds")
        if any(previous[key] != record[key] for key in setup):
            raise SystemExit(f"{args.json}: recorded for another set-up ({', '.join(setup)}); run without --update")
        record["methods"] = {**previous["methods"], **table}
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    main()
