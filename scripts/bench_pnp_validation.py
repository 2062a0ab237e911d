"""Choose the parameters of ``recon bench pnp`` on validation images (never on the test images it scores).

    python scripts/bench_pnp_validation.py [--size 256] [--denoisers DEBLUR PHANTOM]

The same problem builders as the bench (recon.bench.pnp_problems) on the validation
split: COULE-like phantoms of seed 2 for CT, ``chelsea`` and ``china`` (central square) for
deblurring. For each candidate, recon's solver runs on every image; printed: mean PSNR
after the last iteration and mean best PSNR on the way. The bench takes the candidate
with the best final mean. DPIR's own deblurring schedule (σ 49/255 → 0.01, strength 0.23,
8 iterations) is deepinv's default and is not tuned. One torch thread.
"""

from __future__ import annotations

import argparse
import itertools

import torch

GRIDS = {   # problem -> algorithm -> {parameter: candidates}
    "ct": {"hqs": {"sigma_end": [4 / 255, 8 / 255, 12 / 255], "strength": [0.002, 0.005, 0.01], "iterations": [24]},
           "admm": {"sigma": [20 / 255, 25 / 255, 30 / 255, 40 / 255], "penalty": [0.002, 0.005, 0.01],
                    "iterations": [40]}},
    "deblur": {"admm": {"sigma": [8 / 255, 12 / 255, 16 / 255, 20 / 255], "penalty": [0.01, 0.03, 0.1],
                        "iterations": [20]}},
}


def validation_problems(problem: str, setup):
    from recon.bench.pnp_problems import ct_problem, deblur_problem

    if problem == "ct":
        from recon.datasets.phantoms import random_phantoms

        return [ct_problem(setup, truth=t[None]) for t in random_phantoms(setup.size, 3, seed=2)]
    from recon.datasets.heldout_problems import natural_squares

    images = natural_squares("validation", setup.size).values()
    return [deblur_problem(setup, truth=image[None, None]) for image in images]


def score(problems, denoiser, algorithm: str, values: dict) -> tuple[float, float]:
    from recon.bench.trace import psnr_db
    from recon.solvers.common import Stopping
    from recon.solvers.hqs import hqs
    from recon.solvers.pnp_admm import pnp_admm

    finals, bests = [], []
    for p in problems:
        scores = []
        callback = lambda k, x: scores.append(psnr_db(x, p.truth))   # noqa: E731
        stopping = Stopping(max_iter=values["iterations"])
        if algorithm == "hqs":
            hqs(p.y, p.operator, denoiser, sigma_start=p.hqs.sigma_start, sigma_end=values["sigma_end"],
                strength=values["strength"], x0=p.x0, stopping=stopping, callback=callback)
        else:
            pnp_admm(p.y, p.operator, denoiser, sigma=values["sigma"], penalty=values["penalty"], x0=p.x0,
                     stopping=stopping, callback=callback)
        finals.append(scores[-1])
        bests.append(max(scores))
    return sum(finals) / len(finals), sum(bests) / len(bests)


def main() -> None:
    from recon.bench.pnp_problems import PnPSetup
    from recon.priors.denoisers import load_denoiser

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--denoisers", nargs=2, default=["drunet-small-general", "drunet-small-phantom"],
                        metavar=("DEBLUR", "PHANTOM"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    setup = PnPSetup(size=args.size, deblur_denoiser=args.denoisers[0], phantom_denoiser=args.denoisers[1])
    for problem, algorithms in GRIDS.items():
        problems = validation_problems(problem, setup)
        denoiser = load_denoiser(problems[0].denoiser)
        for algorithm, grid in algorithms.items():
            results = []
            for combination in itertools.product(*grid.values()):
                values = dict(zip(grid, combination))
                final, best = score(problems, denoiser, algorithm, values)
                shown = ", ".join(f"{k} {v * 255:.3g}/255" if k.startswith("sigma") else f"{k} {v:g}"
                                  for k, v in values.items())
                print(f"{problem} {algorithm}: {shown}: final {final:.2f} dB, best {best:.2f} dB", flush=True)
                results.append((final, shown))
            print(f"== {problem} {algorithm}: chosen {max(results)[1]} ({max(results)[0]:.2f} dB)", flush=True)


if __name__ == "__main__":
    main()
