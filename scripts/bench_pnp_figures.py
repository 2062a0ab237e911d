"""``recon bench pnp`` with one PSNR-against-time figure per problem (the bench's ``--figure`` draws all in one).

    python scripts/bench_pnp_figures.py [--repeats 3] [--folder docs]

Writes FOLDER/bench_pnp.json (the records, as ``recon bench pnp --json``) and
FOLDER/bench_pnp_deblur.png, FOLDER/bench_pnp_ct.png from the same run, and prints the bench's table.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from recon.bench.figure import psnr_against_time
    from recon.bench.pnp_problems import CT, DEBLUR
    from recon.bench.runner import run_benchmarks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", default="docs")
    args = parser.parse_args()
    folder = Path(args.folder)
    records = run_benchmarks(["pnp"], json_path=folder / "bench_pnp.json", overwrite=True,
                             options={"repeats": args.repeats})
    for problem, name in ((DEBLUR, "deblur"), (CT, "ct")):
        path = psnr_against_time([r for r in records if r.problem == problem], folder / f"bench_pnp_{name}.png")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
