"""``prior.strength: auto`` on the MRI benchmark problem against ``bart pics`` with its best λ.

    python scripts/mri_auto_vs_bart.py [--json docs/mri_auto_vs_bart.json]

The problem of ``recon bench mri-tv`` (:mod:`recon.bench.mri_tv_problem`: camera 256², 8 birdcage coils, 4× random
columns, complex noise). recon's run is timed from the k-space on: σ from the sampled k-space periphery,
the relative strength κν + c·α (:func:`recon.experiments.auto_strength.noise_proportional`, as ``mri-tv`` with
``prior.strength: auto`` computes it), then coil-split ADMM. BART is given the
best λ of a sweep of relative strengths (each solved with 320 CG steps), which it could not know on real
data, and is then run at that λ with each ``-i`` of the benchmark's sweep, one process each. Each side's
time to its final PSNR is when it first comes within 0.01 dB of its own best (recon.bench.records). One
torch thread, one OpenMP thread for BART.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

STRENGTHS = (0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.011)


def recon_auto(setup, y, mask, maps, truth):
    """recon's record: noise and aliasing estimates, the strength and coil-split ADMM, all on the clock."""
    from recon.bench.records import BenchRecord
    from recon.bench.trace import BudgetExhausted, Trace
    from recon.datasets.noise_estimation import kspace_noise_sigma
    from recon.experiments.auto_strength import noise_proportional
    from recon.experiments.build_mri import mri_noise_levels
    from recon.experiments.config import load_experiment
    from recon.operators import MultiCoilMRI
    from recon.priors import TV
    from recon.solvers.coil_split_admm import coil_split_admm
    from recon.solvers.common import Stopping

    config = load_experiment("mri-tv", ["prior.strength=auto"])
    trace = Trace(truth, setup.budget_s, magnitude=True)
    trace.start()
    operator = MultiCoilMRI(mask, maps)
    sigma = kspace_noise_sigma(y, mask)[0]
    scale = float(operator.A_adjoint(y).abs().max())
    level, aliasing = mri_noise_levels([(y, operator, mask)], [sigma])
    strength = noise_proportional(config, "mri", [sigma], "k-space periphery", level, aliasing).how.strength
    try:
        coil_split_admm(y, operator, TV(strength * scale), stopping=Stopping(max_iter=setup.max_iter),
                        callback=lambda k, x: trace.mark(x))
    except BudgetExhausted:
        pass
    record = BenchRecord.from_trace("mri-tv", "coil-split ADMM, strength auto", "recon", trace, setup.target_db,
                                    note=f"sigma {sigma:.4g}, relative strength {strength:.4g}")
    return record, sigma, strength


def bart_best(setup, y, mask, maps, truth, echo=print):
    """BART's record at the best relative strength of :data:`STRENGTHS`, and that sweep."""
    from recon.bench.bart_pics import run_bart_pics
    from recon.bench.mri_tv_peers import BART_SWEEP
    from recon.bench.records import BenchRecord
    from recon.bench.trace import Trace, psnr_db
    from recon.operators import MultiCoilMRI

    scale = float(MultiCoilMRI(mask, maps).A_adjoint(y).abs().max())
    sweep = {}
    for strength in STRENGTHS:
        image = run_bart_pics(y[0], maps, strength * scale, BART_SWEEP[-1], mask=mask, threads=1,
                              extra_args=("-u", "0.1")).image
        sweep[strength] = psnr_db(image.abs(), truth[0, 0])
        echo(f"bart pics, relative strength {strength}: {sweep[strength]:.2f} dB")
    best = max(sweep, key=sweep.get)
    trace = Trace(truth, setup.budget_s, magnitude=True)
    for steps in BART_SWEEP:
        result = run_bart_pics(y[0], maps, best * scale, steps, mask=mask, threads=1, extra_args=("-u", "0.1"))
        trace.seconds.append(result.seconds)
        trace.psnr_db.append(psnr_db(result.image.abs(), truth[0, 0]))
    record = BenchRecord.from_trace("mri-tv", f"pics -R T at its best strength {best}", "bart", trace,
                                    setup.target_db, note=f"one process per -i in {BART_SWEEP}")
    return record, sweep, best


def compare(echo=print) -> dict:
    from recon.bench.bart_pics import bart_available
    from recon.bench.mri_tv_problem import MRITVSetup

    if not bart_available():
        raise SystemExit("mri_auto_vs_bart: bart is not installed (Debian: apt-get install bart)")
    setup = MRITVSetup()
    truth, mask, maps, y = setup.problem()
    ours, sigma, strength = recon_auto(setup, y, mask, maps, truth)
    theirs, sweep, best = bart_best(setup, y, mask, maps, truth, echo)
    report = {"true_sigma": setup.noise * 2 ** 0.5, "estimated_sigma": sigma, "auto_strength": strength,
              "recon_final_psnr_db": ours.best_psnr_db, "recon_time_to_final_s": ours.time_to_best_s,
              "bart_sweep_psnr_db": {str(k): v for k, v in sweep.items()}, "bart_best_strength": best,
              "bart_final_psnr_db": theirs.best_psnr_db, "bart_time_to_final_s": theirs.time_to_best_s}
    report["bart_over_recon_time"] = report["bart_time_to_final_s"] / report["recon_time_to_final_s"]
    echo(f"recon auto: {ours.best_psnr_db:.2f} dB after {ours.time_to_best_s:.2f} s (sigma {sigma:.4g} against "
         f"{report['true_sigma']:.4g}, strength {strength:.4g}); bart at its best strength {best}: "
         f"{theirs.best_psnr_db:.2f} dB after {theirs.time_to_best_s:.2f} s; bart / recon "
         f"{report['bart_over_recon_time']:.1f}x")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = compare()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
