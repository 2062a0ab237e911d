"""``recon bench pnp`` or ``diffusion`` with one PSNR-against-time figure per problem (``--figure`` draws all in one).

    python scripts/bench_figures.py pnp [--repeats 3] [--folder docs]
    python scripts/bench_figures.py diffusion [--samples 3] [--folder docs]

Writes FOLDER/bench_BENCH.json (the records, as ``recon bench BENCH --json``) and one
FOLDER/bench_BENCH_PART.png per problem with traced runs (``pnp-deblur`` → bench_pnp_deblur.png,
``diffusion-ct`` → bench_diffusion_ct.png) from the same run, and prints the bench's table.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from recon.bench.figure import psnr_against_time
    from recon.bench.runner import run_benchmarks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", choices=("pnp", "diffusion"))
    parser.add_argument("--repeats", type=int, default=3, help="pnp: runs per method, the fastest kept")
    parser.add_argument("--samples", type=int, default=3, help="diffusion: samples per sampler")
    parser.add_argument("--folder", default="docs")
    args = parser.parse_args()
    folder = Path(args.folder)
    records = run_benchmarks([args.bench], json_path=folder / f"bench_{args.bench}.json", overwrite=True,
                             options={"repeats": args.repeats, "samples": args.samples})
    for problem in dict.fromkeys(r.problem for r in records):
        traced = [r for r in records if r.problem == problem and r.trace is not None and r.trace.iterations]
        if traced:
            part = problem.split("-", 1)[1]
            path = psnr_against_time(traced, folder / f"bench_{args.bench}_{part}.png")
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
