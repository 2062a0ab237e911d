"""Choose deepinv's DPS guidance weight for ``recon bench diffusion`` on validation images (never the test images).

    python scripts/bench_diffusion_validation.py [--size 128] [--steps 100] [--weights 0.3 1 3 10 30 100 300]
                                                [--problems ct deblur]

recon's sampler parameters come from scripts/diffusion_vs_tv.py's validation; deepinv's DiffPIR λ
and ζ are translated from them (recon.bench.diffusion_problems). deepinv's DPS has a parameter of its
own, the weight of its norm guidance; here it is tried on the validation split of the same problems
(three COULE-like phantoms of seed 2 for CT, ``chelsea`` and ``china`` for deblurring), one sample
(seed 0) per image, and the weight with the best mean PSNR is the bench's. One torch thread.
"""

from __future__ import annotations

import argparse
import statistics

import torch


def validation_problems(problem: str, setup):
    from recon.bench.diffusion_problems import ct_problem, deblur_problem

    if problem == "ct":
        from recon.datasets.phantoms import random_phantoms

        return [ct_problem(setup, truth=t[None]) for t in random_phantoms(setup.size, 3, seed=2)]
    from recon.datasets.heldout_problems import natural_squares

    return [deblur_problem(setup, truth=image[None, None]) for image in natural_squares("validation", setup.size).values()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0])
    parser.add_argument("--problems", nargs="+", choices=("ct", "deblur"), default=["ct", "deblur"])
    args = parser.parse_args()
    torch.set_num_threads(1)

    from recon.bench.diffusion import load_scores
    from recon.bench.diffusion_peers import deepinv_dps
    from recon.bench.diffusion_problems import DiffusionSetup
    from recon.bench.trace import psnr_db

    setup = DiffusionSetup(size=args.size, steps=args.steps)
    scores = load_scores(setup)
    for problem in args.problems:
        problems = validation_problems(problem, setup)
        results = {}
        for weight in args.weights:
            psnrs = [psnr_db(deepinv_dps(p, scores[p.score], 0, weight=weight), p.truth) for p in problems]
            results[weight] = statistics.fmean(psnrs)
            print(f"{problem} deepinv DPS weight {weight:g}: mean {results[weight]:.2f} dB "
                  f"({', '.join(f'{v:.2f}' for v in psnrs)})", flush=True)
        best = max(results, key=results.get)
        print(f"{problem}: best weight {best:g} ({results[best]:.2f} dB on validation)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
