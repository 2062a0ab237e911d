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
them. One torch thread.

    python scripts/deblur_photograph_crops.py --image hubble_deep_field --json crops.json
"""

from __future__ import annotations

import argparse
import json

import torch

from recon.bench.trace import psnr_db
from recon.operators.blur import Blur
from recon.operators.psf import gaussian_psf, motion_psf
from recon.priors import TV
from recon.solvers.common import Stopping
from recon.solvers.deconvolution_admm import deconvolution_admm
from recon.solvers.richardson_lucy import richardson_lucy
from recon.solvers.wiener import wiener_deconvolution

PSFS = {"gaussian": lambda: gaussian_psf(13, 2.0), "motion": lambda: motion_psf(15, 9, 30)}
WIENER_STRENGTHS = (0.001, 0.003, 0.01, 0.03)


def grey_photograph(name: str):
    """A scikit-image photograph as a grey float array."""
    from skimage import color, data

    image = getattr(data, name)()
    return color.rgb2gray(image) if image.ndim == 3 else image / 255.0


def _unit_range(view) -> torch.Tensor:
    view = torch.tensor(view, dtype=torch.float64)
    return ((view - view.min()) / (view.max() - view.min()))[None, None]


def resized_square(image, size: int) -> torch.Tensor:
    """The top-left square of ``image`` resized to ``size``² (anti-aliased), ``(1, 1, N, N)`` in [0, 1]."""
    from skimage.transform import resize

    side = min(image.shape)
    return _unit_range(resize(image[:side, :side], (size, size), anti_aliasing=True))


def views(image, size: int, corners) -> dict[str, torch.Tensor]:
    """The resized top-left square and the native crops of the module text, each ``(1, 1, N, N)`` in [0, 1]."""
    found = {f"resized{size}": resized_square(image, size)}
    for row, column in corners:
        crop = image[row:row + size, column:column + size]
        if crop.shape == (size, size):
            found[f"native{size}@{row},{column}"] = _unit_range(crop)
    return found


def best_richardson_lucy(y: torch.Tensor, blur, truth: torch.Tensor, scale: float = 1.0,
                         iterations: int = 150) -> float:
    """Richardson–Lucy's best PSNR [dB] over its first ``iterations`` iterates (an oracle stop), of ``x / scale``."""
    scores = []
    richardson_lucy(y.clamp_min(0), blur, stopping=Stopping(max_iter=iterations),
                    callback=lambda k, x: scores.append(psnr_db(x / scale, truth)))
    return max(scores)


def compare(truth: torch.Tensor, psf: str, strengths) -> dict[str, float]:
    """Best PSNR [dB] of TV, Wiener and Richardson–Lucy on one view, and TV's margin over the better of the two."""
    blur = Blur(PSFS[psf](), tuple(truth.shape[-2:]), "reflect")
    noise = torch.randn(truth.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = blur.A(truth) + 0.01 * noise
    tv = max(psnr_db(deconvolution_admm(y, blur, TV(s), nonnegative=True, stopping=Stopping(max_iter=150)).x, truth)
             for s in strengths)
    wiener = max(psnr_db(wiener_deconvolution(y, blur, s, regulariser=r), truth)
                 for s in WIENER_STRENGTHS for r in ("identity", "gradient"))
    rl = best_richardson_lucy(y, blur, truth)
    return {"tv": tv, "wiener": wiener, "richardson_lucy": rl, "tv_margin": tv - max(wiener, rl)}


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
