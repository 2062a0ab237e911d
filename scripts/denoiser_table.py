"""Denoising on held-out images at σ = 15, 25 and 50 (of 255): the shipped networks against BM3D.

    python scripts/denoiser_table.py [--json docs/denoising.json] [--markdown]

Test images only (never trained on, see recon/weights/manifest.json): scikit-image's camera,
astronaut and coffee and matplotlib's Grace Hopper (central square resized to 256²), and 10
COULE-like phantoms of the test seed at 128². Noise is seeded per image and σ. One torch
thread; time per call is the median of 3 calls on a 256² image.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

SIGMAS = (15, 25, 50)
METHODS = ("drunet-small-general", "drunet-small-photo", "drunet-small-phantom", "bm3d")


def test_images() -> dict[str, dict[str, torch.Tensor]]:
    """``{"natural": {name: (1, 1, 256, 256)}, "phantom": {name: (1, 1, 128, 128)}}``."""
    from recon.datasets.heldout_problems import natural_squares
    from recon.datasets.image_sources import phantom_images

    natural = {name: image[None, None] for name, image in natural_squares("test", 256).items()}
    phantoms = {name: torch.from_numpy(image)[None, None] for name, image in phantom_images("test", 10, 128).items()}
    return {"natural": natural, "phantom": phantoms}


def psnr(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR with peak 1 of the estimate clipped to [0, 1]."""
    from recon.metrics import psnr as peak_snr

    return peak_snr(estimate.clamp(0, 1), truth, data_range=1.0)


def denoiser(name: str):
    from recon.priors.denoisers import BM3D, load_denoiser

    return BM3D() if name == "bm3d" else load_denoiser(name)


def seconds_per_call(method, size: int = 256, repeats: int = 3) -> float:
    x = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0))
    times = []
    with torch.no_grad():
        method(x, 25 / 255)
        for _ in range(repeats):
            started = time.perf_counter()
            method(x, 25 / 255)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def table(methods=METHODS, sigmas=SIGMAS, images=None, echo=print) -> dict:
    """Mean PSNR per (family, σ, method), the noisy input's, and seconds per 256² call."""
    images = images or test_images()
    built = {name: denoiser(name) for name in methods}
    report = {"sigmas_255": list(sigmas), "psnr_db": {}, "seconds_per_call_256": {}}
    for family, named in images.items():
        for sigma in sigmas:
            scores = {name: [] for name in ("noisy", *methods)}
            for index, (image_name, clean) in enumerate(named.items()):
                generator = torch.Generator().manual_seed(1000 * sigma + index)
                noisy = clean + sigma / 255 * torch.randn(clean.shape, generator=generator)
                scores["noisy"].append(psnr(noisy, clean))
                with torch.no_grad():
                    for name, method in built.items():
                        scores[name].append(psnr(method(noisy, sigma / 255), clean))
            means = {name: float(np.mean(values)) for name, values in scores.items()}
            report["psnr_db"][f"{family}/{sigma}"] = means
            echo(f"{family:8s} sigma {sigma:2d}: " + ", ".join(f"{k} {v:.2f}" for k, v in means.items()))
    for name, method in built.items():
        report["seconds_per_call_256"][name] = seconds_per_call(method)
        echo(f"{name}: {report['seconds_per_call_256'][name]:.3f} s per 256² call (one thread)")
    return report


def markdown(report: dict) -> str:
    methods = [m for m in METHODS if m in report["seconds_per_call_256"]]
    lines = ["| images | σ (/255) | noisy | " + " | ".join(methods) + " |",
             "|---|---|---|" + "---|" * len(methods)]
    for key, means in report["psnr_db"].items():
        family, sigma = key.split("/")
        lines.append(f"| {family} | {sigma} | {means['noisy']:.2f} | "
                     + " | ".join(f"{means[m]:.2f}" for m in methods) + " |")
    lines.append("| s per 256² call | | | " + " | ".join(f"{report['seconds_per_call_256'][m]:.3f}"
                                                     for m in methods) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the report as JSON")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = table()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
