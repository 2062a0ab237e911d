"""The LPN paper's 1D Laplacian experiment: what proximal matching and l2 training learn.

    python scripts/lpn_laplace.py [--json docs/lpn_laplace.json] [--figure docs/lpn_laplace.png]
                                  [--models lpn-laplace-pm lpn-laplace-l2]

x ~ Laplace(0, 1), y = x + n, n ~ N(0, 1). The MAP denoiser is the prox of -log p = |x| (up to a
constant): soft-thresholding at 1. The MMSE denoiser E[x | y] (here by quadrature) is a smooth
shrinkage. The two shipped models (recon train lpn lpn-laplace, with training.loss proximal-matching
or l2) are measured against both on y in [-4, 4], and the prior R of each, evaluated by inverting
the network (recon.priors.LearnedProximal), against |x| on [-3.5, 3.5], each shifted to its minimum
(the paper's plot). No torch threads beyond one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

PROX_GRID = np.linspace(-4, 4, 161)
PRIOR_GRID = np.linspace(-3.5, 3.5, 141)


def soft_threshold(y: np.ndarray, threshold: float = 1.0) -> np.ndarray:
    return np.sign(y) * np.maximum(np.abs(y) - threshold, 0.0)


def mmse_denoiser(y: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """E[x | y] for x ~ Laplace(0, 1), y = x + sigma n, by quadrature on x in [-40, 40]."""
    x = np.linspace(-40, 40, 160001)
    log_weights = -np.abs(x)[None, :] - (y[:, None] - x[None, :]) ** 2 / (2 * sigma**2)
    weights = np.exp(log_weights - log_weights.max(axis=1, keepdims=True))
    return (weights * x).sum(axis=1) / weights.sum(axis=1)


def measure(model: str) -> dict:
    """One model's prox curve, prior curve and their distances to soft-thresholding, the MMSE and |x|."""
    from recon.priors.learned_proximal import LearnedProximal
    from recon.weights.registry import load_network

    network, entry = load_network(model)
    network = network.double()
    prior = LearnedProximal(network, inversion_steps=2000, tolerance=1e-9)
    y = torch.from_numpy(PROX_GRID)[:, None]
    with torch.no_grad():
        prox = network(y)[:, 0].numpy()
    x = torch.from_numpy(PRIOR_GRID)[:, None]
    values = prior.fn(x).numpy()
    residual = prior.last_residual
    shifted = values - values.min()
    soft, mmse = soft_threshold(PROX_GRID), mmse_denoiser(PROX_GRID)
    absolute = np.abs(PRIOR_GRID)
    return {"model": entry.get("name", model), "loss": entry.get("training", {}).get("config", {}).get(
                "training", {}).get("loss"),
            "prox": prox.tolist(), "prior": shifted.tolist(), "inversion_residual": residual,
            "max_distance_to_soft_threshold": float(np.abs(prox - soft).max()),
            "mean_distance_to_soft_threshold": float(np.abs(prox - soft).mean()),
            "max_distance_to_mmse": float(np.abs(prox - mmse).max()),
            "max_distance_of_prior_to_abs": float(np.abs(shifted - absolute).max()),
            "mean_distance_of_prior_to_abs": float(np.abs(shifted - absolute).mean())}


def report(models=("lpn-laplace-pm", "lpn-laplace-l2")) -> dict:
    return {"prox_grid": PROX_GRID.tolist(), "prior_grid": PRIOR_GRID.tolist(),
            "soft_threshold": soft_threshold(PROX_GRID).tolist(), "mmse": mmse_denoiser(PROX_GRID).tolist(),
            "models": {model: measure(model) for model in models}}


def figure(result: dict, path: Path) -> None:
    from recon.figures import pyplot

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    grid, prior_grid = np.asarray(result["prox_grid"]), np.asarray(result["prior_grid"])
    left.plot(grid, result["soft_threshold"], "k--", label="soft-threshold at 1 (MAP)")
    left.plot(grid, result["mmse"], "k:", label="E[x | y] (MMSE)")
    right.plot(prior_grid, np.abs(prior_grid), "k--", label="|x|")
    for name, entry in result["models"].items():
        left.plot(grid, entry["prox"], label=f"{name} ({entry['loss']})")
        right.plot(prior_grid, entry["prior"], label=f"{name} ({entry['loss']})")
    left.set(xlabel="y", ylabel="f(y)", title="learned proximal operator")
    right.set(xlabel="x", ylabel="R(x) - min R", title="learned prior")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["lpn-laplace-pm", "lpn-laplace-l2"],
                        help="shipped names or .safetensors paths")
    parser.add_argument("--json", help="write the curves and distances")
    parser.add_argument("--figure", help="write the two-panel figure (PNG)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = report(args.models)
    for name, entry in result["models"].items():
        print(f"{name}: prox to soft-threshold max {entry['max_distance_to_soft_threshold']:.3f} mean "
              f"{entry['mean_distance_to_soft_threshold']:.3f}; to MMSE max {entry['max_distance_to_mmse']:.3f}; "
              f"prior to |x| max {entry['max_distance_of_prior_to_abs']:.3f} mean "
              f"{entry['mean_distance_of_prior_to_abs']:.3f} (inversion residual {entry['inversion_residual']:.1e})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.figure:
        figure(result, Path(args.figure))
    return 0


if __name__ == "__main__":
    sys.exit(main())
