"""`mimo-pnp` against `mimo-tv` at the paper's full size: wall time, time per iteration and PSNR3D, one thread.

    python scripts/time_mimo_pnp.py [--grid 25 25 49] [--frequencies 20] [--snr 30] [--seeds 0]
                                    [--json docs/mimo_pnp_timing.json]

The radar PnP issue's goal: on the 25 x 25 x 49 grid with N_f = 20, mimo-pnp reaches its final PSNR3D in
less wall time than mimo-tv needs to stop (the paper: PnP needs 30 iterations where TV and ℓ1 run for
hundreds). Each config runs through :func:`recon.experiments.build_mimo.reconstruct_mimo` (``recon run``'s
code, the operator's set-up included). PSNR3D is recorded after every iteration by a callback, which the
solver's clock leaves out, so the report also says when (if ever) mimo-tv first reaches mimo-pnp's final
PSNR3D.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def timed(name: str, measurement) -> dict:
    """One config on one scene: total seconds, iterations, seconds per iteration, PSNR3D after each iteration."""
    from recon.experiments.build_mimo import reconstruct_mimo
    from recon.experiments.config import load_experiment
    from recon.metrics import psnr3d

    truth = measurement.ground_truth[0, 0]
    trace = []
    started = time.perf_counter()
    result = reconstruct_mimo(load_experiment(name), measurement,
                              callback=lambda iteration, x: trace.append(psnr3d(x[0, 0], truth)))
    seconds = time.perf_counter() - started
    solver_seconds = list(result.history.seconds)
    return {"seconds": seconds, "iterations": result.iterations, "psnr3d_db": psnr3d(result.image[0, 0], truth),
            "seconds_per_iteration": solver_seconds[-1] / len(solver_seconds),
            "psnr3d_trace_db": trace, "solver_seconds": solver_seconds}


def first_reaching(run: dict, level: float):
    """Solver seconds at which ``run`` first has PSNR3D ≥ ``level``; None if never."""
    for psnr, seconds in zip(run["psnr3d_trace_db"], run["solver_seconds"]):
        if psnr >= level:
            return seconds
    return None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, nargs=3, default=(25, 25, 49))
    parser.add_argument("--frequencies", type=int, default=20)
    parser.add_argument("--snr", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from recon.datasets.mimo_scenes import simulated_scene

    torch.set_num_threads(1)
    record = {"grid": list(args.grid), "n_frequencies": args.frequencies, "snr_db": args.snr, "threads": 1,
              "scenes": {}}
    for seed in args.seeds:
        measurement = simulated_scene(seed, tuple(args.grid), args.frequencies, args.snr)
        runs = {name: timed(name, measurement) for name in ("mimo-pnp", "mimo-tv")}
        pnp, tv = runs["mimo-pnp"], runs["mimo-tv"]
        runs["tv_seconds_to_pnp_final_psnr3d"] = first_reaching(tv, pnp["psnr3d_db"])
        runs["time_ratio_tv_over_pnp"] = tv["seconds"] / pnp["seconds"]
        record["scenes"][str(seed)] = runs
        print(f"scene {seed}: mimo-pnp {pnp['psnr3d_db']:.2f} dB in {pnp['seconds']:.1f} s ({pnp['iterations']} it, "
              f"{pnp['seconds_per_iteration']:.2f} s/it); mimo-tv {tv['psnr3d_db']:.2f} dB in {tv['seconds']:.1f} s "
              f"({tv['iterations']} it, {tv['seconds_per_iteration']:.2f} s/it); TV / PnP time "
              f"{runs['time_ratio_tv_over_pnp']:.1f}x; TV reaches PnP's final PSNR3D after "
              f"{runs['tv_seconds_to_pnp_final_psnr3d']} s", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    main()
