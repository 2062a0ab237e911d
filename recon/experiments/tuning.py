r"""Held-out evaluation: a config with overrides scored on a measurement, and parameters chosen on validation.

The harness of the comparison scripts (``scripts/pnp_vs_tv.py``, ``diffusion_vs_tv.py``,
``weighted_tv_table.py``, ``lpn_vs_tv.py``): every candidate runs through a shipped config with
``--set``-style overrides, so a chosen setting is exactly what a user would pass; it is scored as
``recon run`` scores it; the best on validation (mean PSNR; among candidates within 0.05 dB of it,
the fastest) is then run once on the test data. The measurements are those of
:mod:`recon.datasets.heldout_problems`.

>>> validation = heldout_measurements("ct")[0]
>>> outcome = evaluate("ct-fbp", {}, validation)
>>> sorted(outcome)[:4], len(outcome["per_image_psnr_db"])
(['iterations', 'mean_posterior_std', 'per_image_psnr_db', 'psnr_db'], 5)
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

def heldout_measurements(problem: str, testdata: Path = Path(".")):
    """``(validation, test)`` measurements of a problem."""
    from recon.datasets import heldout_problems as h

    if problem == "ct":
        return h.few_view_ct("validation", count=5), h.few_view_ct("test", count=10)
    if problem == "deblur":
        return h.gaussian_deblur("validation")[0], h.gaussian_deblur("test")[0]
    brain = testdata / "mri" / "brain_alias_8ch.mat"
    if not brain.exists():
        raise FileNotFoundError(f"mri: {brain} not found (set --testdata)")
    return h.mri_validation(), h.brain_mri(brain)


def evaluate(config_name: str, overrides: dict, measurement) -> dict:
    """PSNR per image and seconds of one config with ``overrides`` on ``measurement`` (or a list of them)."""
    if isinstance(measurement, list):
        parts = [evaluate(config_name, overrides, one) for one in measurement]
        per_image = [p for part in parts for p in part["per_image_psnr_db"]]
        spreads = [p["mean_posterior_std"] for p in parts if p["mean_posterior_std"] is not None]
        return {"psnr_db": sum(per_image) / len(per_image), "ssim": sum(p["ssim"] for p in parts) / len(parts),
                "per_image_psnr_db": per_image, "seconds": sum(p["seconds"] for p in parts),
                "iterations": parts[-1]["iterations"],
                "mean_posterior_std": sum(spreads) / len(spreads) if spreads else None}
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement

    config = load_experiment(config_name, [f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                                           for k, v in overrides.items()])
    started = time.perf_counter()
    result, _ = reconstruct_measurement(config, measurement)
    return outcome(result.image, measurement, time.perf_counter() - started, result.iterations, result.std)


def outcome(image, measurement, seconds: float, iterations: int, std=None) -> dict:
    """The scores of one reconstruction as ``recon run`` computes them, with its time and iterations."""
    from recon.experiments.solve_measurement import score

    image = image.detach().cpu()
    if measurement.modality == "deblur":
        from recon.experiments.deblur_stacks import as_stacks

        image, measurement, _ = as_stacks(image, measurement)
    means, per_image = score(image, measurement)
    return {"psnr_db": means["psnr_db"], "ssim": means["ssim"], "per_image_psnr_db": per_image["psnr_db"],
            "seconds": seconds, "iterations": iterations,
            # posterior samplers: the per-pixel spread of their samples (sample k from seed + k)
            "mean_posterior_std": None if std is None else float(std.mean())}


def grid_scores(config_name: str, grid: dict, validation, echo=print, label: str = "") -> list[dict]:
    """The score of every combination of ``grid`` (``{key: [values]}``) on ``validation``."""
    keys, scores = list(grid), []
    for values in itertools.product(*(grid[k] for k in keys)):
        overrides = dict(zip(keys, values))
        outcome = evaluate(config_name, overrides, validation)
        scores.append({"config": config_name, "overrides": overrides, **outcome})
        echo(f"  {label} validation {overrides}: {outcome['psnr_db']:.2f} dB ({outcome['seconds']:.1f} s)")
    return scores


def best_of(scores: list[dict]) -> dict:
    """The highest mean PSNR, or the fastest within 0.05 dB of it (a difference that small is not worth the time)."""
    top = max(s["psnr_db"] for s in scores)
    return min((s for s in scores if s["psnr_db"] >= top - 0.05), key=lambda s: s["seconds"])
