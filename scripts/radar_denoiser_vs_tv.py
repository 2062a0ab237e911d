"""The 3D radar denoiser against 3D TV denoising on held-out magnitude volumes, at σ = 0.05 and 0.1.

    python scripts/radar_denoiser_vs_tv.py [--denoiser drunet3d-small-radar] [--json FILE]

Volumes are the magnitudes of `extended_targets((25, 25, 49), seed)`: TV's λ is chosen per σ on the
validation seeds (90000-90003) from a grid, then both are measured on the test seeds 0-4 (the radar
tests' scenes, never trained on). PSNR with peak 1. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

LAMBDAS = (0.01, 0.02, 0.04, 0.06, 0.08, 0.12, 0.16)


def volumes(split: str, count: int) -> torch.Tensor:
    from recon.datasets.image_sources import radar_volumes

    return torch.from_numpy(np.stack(list(radar_volumes(split, count).values())))[:, None]


def psnr(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    """Mean over volumes of the PSNR with peak 1, the estimate clipped to [0, 1]."""
    from recon.metrics import psnr as peak_snr

    clipped = estimate.clamp(0, 1)
    return float(np.mean([peak_snr(clipped[k], truth[k], data_range=1.0) for k in range(truth.shape[0])]))


def noisy(clean: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    return clean + sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))


def tv_denoise(x: torch.Tensor, strength: float) -> torch.Tensor:
    from recon.priors import TV

    return TV(strength, ndim=3, prox_max_iter=300, prox_tol=1e-6).prox(x, gamma=1.0)


def compare(denoiser_name: str = "drunet3d-small-radar", sigmas=(0.05, 0.1), echo=print) -> dict:
    from recon.priors.denoisers import load_denoiser

    denoiser = load_denoiser(denoiser_name)
    validation, test = volumes("validation", 4), volumes("test", 5)
    report = {}
    for sigma in sigmas:
        noisy_validation = noisy(validation, sigma, seed=int(1000 * sigma))
        scores = {lam: psnr(tv_denoise(noisy_validation, lam), validation) for lam in LAMBDAS}
        best = max(scores, key=scores.get)
        noisy_test = noisy(test, sigma, seed=int(1000 * sigma) + 1)
        with torch.no_grad():
            network = psnr(denoiser(noisy_test, sigma), test)
        report[str(sigma)] = {"noisy": psnr(noisy_test, test), "tv_lambda": best, "tv_validation": scores,
                              "tv": psnr(tv_denoise(noisy_test, best), test), "network": network}
        echo(f"sigma {sigma}: noisy {report[str(sigma)]['noisy']:.2f} dB, 3D TV (lambda {best}) "
             f"{report[str(sigma)]['tv']:.2f} dB, {denoiser_name} {network:.2f} dB")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--denoiser", default="drunet3d-small-radar")
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = compare(args.denoiser)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
