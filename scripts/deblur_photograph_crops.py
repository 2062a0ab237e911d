r"""TV against Wiener and Richardson–Lucy on ``hubble_deep_field`` and ``camera``: does the sign depend on the crop?

``tests/test_deblur_photographs.py`` measures one 128² view of each photograph (the top-left
square, resized). This script repeats that comparison on other views of the same photograph, so
a margin can be told apart from an accident of one crop:

``resized<N>``
    the top-left square resized to N² (anti-aliased), as the test does;
``native<N>@r,c``
    an N² crop at full resolution, top-left corner (r, c).

Each view is scaled to [0, 1], blurred with a reflected boundary by the test's PSFs (Gaussian
σ = 2, 13 × 13; motion 9 pixels at 30°, 15 × 15), noise σ = 0.01 (seed 1). TV is
:func:`~recon.solvers.deconvolution_admm.deconvolution_admm` with x ≥ 0, 150 iterations, best λ of
``--strengths``; Wiener the best of four strengths with each regulariser; Richardson–Lucy its best
iterate of 150 (an oracle stop). It prints one line per view and PSF and, with ``--json``, writes
them. One torch thread. ``recon reproduce deblur-photographs`` runs the same comparison on both
photographs as one table (:mod:`recon.reproduce.deblur_photographs`).

    python scripts/deblur_photograph_crops.py --image hubble_deep_field --json crops.json
"""

from __future__ import annotations

import argparse
import json

import torch

# The comparison itself lives in the library, where `recon reproduce deblur-photographs` runs it.
from recon.reproduce.deblur_photographs import (PSFS, WIENER_STRENGTHS, best_richardson_lucy,  # noqa: F401
                                                compare, grey_photograph, resized_square, views)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="hubble_deep_field", help="a scikit-image photograph")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--corners", default="0,0;300,300;600,600;0,700;700,0",
                        help="top-left corners of the native crops, 'r,c;r,c;...'")
    parser.add_argument("--strengths", default="1e-4,3e-4,1e-3,3e-3", help="TV's λ grid")
    parser.add_argument("--json", help="write the table here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    corners = [tuple(int(v) for v in pair.split(",")) for pair in args.corners.split(";") if pair]
    strengths = [float(s) for s in args.strengths.split(",")]
    table = {}
    for label, truth in views(grey_photograph(args.image), args.size, corners).items():
        for psf in PSFS:
            row = compare(truth, psf, strengths)
            table[f"{label} {psf}"] = row
            print(f"{label:20s} {psf:8s} TV {row['tv']:6.2f}  Wiener {row['wiener']:6.2f}  "
                  f"RL {row['richardson_lucy']:6.2f}  TV margin {row['tv_margin']:+.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"image": args.image, "size": args.size, "noise": 0.01, "views": table}, handle, indent=1)


if __name__ == "__main__":
    main()
