"""The rules of ``prior.strength: auto`` and their constants, chosen per modality on validation data only.

    python scripts/auto_strength_tau.py ct|deblur|mri [--json docs/auto_strength_tau_MODALITY.json] [--reuse OLD]

For each validation dataset the config is solved to the end at a grid of strengths, and each solve's PSNR
and residual ratio ρ = ‖Ax_λ − y‖ / (σ√m) are recorded (σ the true noise level). The discrepancy principle
with τ picks the grid strength whose ρ is nearest τ; the τ printed is the one whose picks have the best mean
PSNR over the datasets. The noise-proportional rule, relative strength κν^p + c·α, is scored the same way
over (κ, p, c): ν = σg / max|Aᴴy| with g the gain of Aᴴ on white noise, α the aliasing level of undersampled
k-space taken alike (recon.datasets.noise_estimation.kspace_aliasing_sigma; MRI only). The rule kept is the
one with the fewest free constants (κ; then κ with p or c; then all three) within 0.05 dB of the best. These are the
converged residuals and the true σ: the ideal that ``auto`` approximates. The validation data never meets the
test data of ``scripts/auto_strength_table.py``: CT the validation phantoms, deblurring the validation
photographs, MRI the s1045 slice and a validation phantom (band-limited). One torch thread.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

CONFIGS = {"ct": ("ct-tv", ["solver.max_iter=300"]), "deblur": ("deblur-tv", []), "mri": ("mri-tv", [])}
GRIDS = {"ct": np.logspace(-4.5, -1.5, 19), "deblur": np.logspace(-5, -2, 19), "mri": np.logspace(-4, -1, 13)}
TAUS = [round(t, 2) for t in np.arange(0.5, 1.21, 0.02)]
KAPPAS = [float(k) for k in np.round(np.logspace(-3, 3, 121), 5)]
POWERS = (1.0, 1.25, 1.5, 1.75, 2.0)
SIMPLER_WITHIN_DB = 0.05
ALIAS_CS = [0.0] + [float(c) for c in np.round(np.logspace(-3, 0, 31), 5)]


def validation_datasets(modality: str) -> dict:
    if modality == "ct":
        from recon.datasets.heldout_problems import few_view_ct

        out = {f"phantoms-30views-{int(n * 100)}pct": few_view_ct("validation", count=4, noise=n)
               for n in (0.01, 0.02, 0.05)}
        out["phantoms-120views-1pct"] = few_view_ct("validation", count=4, views=120, noise=0.01)
        return out
    if modality == "deblur":
        from recon.datasets.heldout_problems import gaussian_deblur

        out = {f"photographs-blur2-noise{n:g}": gaussian_deblur("validation", noise=n)[0] for n in (0.003, 0.01, 0.03)}
        out["photographs-blur1-noise0.01"] = gaussian_deblur("validation", psf_sigma=1.0)[0]
        return out
    from scipy.ndimage import gaussian_filter

    from recon.datasets.heldout_problems import band_limited_mri
    from recon.datasets.image_sources import phantom_batch

    image = s1045_band_limited()
    out = {f"s1045-{int(n * 100)}pct": band_limited_mri(image, "s1045", noise=n) for n in (0.02, 0.05, 0.1)}
    phantom = torch.from_numpy(gaussian_filter(phantom_batch("validation", 1, 256)[0, 0].double().numpy(), 1.5))
    out.update({f"phantom-{int(n * 100)}pct": band_limited_mri(phantom, "validation phantom", noise=n)
                for n in (0.01, 0.03, 0.1)})
    return out


def s1045_band_limited() -> torch.Tensor:
    """matplotlib's MR slice ``s1045`` (256²), normalised to peak 1 and smoothed by a 1-pixel Gaussian."""
    import gzip

    import matplotlib.cbook
    from scipy.ndimage import gaussian_filter

    with matplotlib.cbook.get_sample_data("s1045.ima.gz") as handle:
        raw = handle.read()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    image = np.frombuffer(raw, np.uint16).astype(np.float64).reshape(256, 256)
    return torch.from_numpy(gaussian_filter(image / image.max(), 1.0))


def noise_levels(modality: str, measurement) -> tuple[float, float | None]:
    """(ν, α) of the true σ, as recon.experiments.auto_strength computes them from its estimate (α: MRI's
    aliasing level, else None)."""
    from recon.experiments.auto_strength import noise_level, rms_sigma
    from recon.experiments.config import load_experiment

    config = load_experiment(*CONFIGS[modality])
    sigmas = measurement.metadata["noise_sigma"]
    sigmas = sigmas if isinstance(sigmas, list) else [sigmas] * measurement.n_slices
    if modality == "mri":
        from recon.experiments import build_mri

        built = build_mri._problems(config, measurement.data, measurement.geometry.mask, None, "cpu")
        return build_mri.mri_noise_levels(built, sigmas)
    return noise_level(_adjoint(modality, config, measurement), measurement.data, rms_sigma(sigmas)), None


def _adjoint(modality: str, config: dict, measurement):
    if modality == "ct":
        from recon.experiments.build import build_operator

        return build_operator(config, measurement).A_adjoint
    from recon.experiments.build_deblur import deblur_setup

    return deblur_setup(config, measurement).operator().A_adjoint


def solve(modality: str, strength: float, measurement) -> tuple[float, float]:
    """(PSNR, ‖Ax − y‖ / (σ√m)) of the config at ``strength``, solved to its end."""
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import score

    name, fixed = CONFIGS[modality]
    config = load_experiment(name, fixed + [f"prior.strength={strength}"])
    sigmas = measurement.metadata["noise_sigma"]
    sigmas = sigmas if isinstance(sigmas, list) else [sigmas] * measurement.n_slices
    if modality == "mri":
        from recon.experiments import build_mri

        built = build_mri._problems(config, measurement.data, measurement.geometry.mask, None, "cpu")
        solutions, _, _ = build_mri._slices(config, built, None, None)
        residual = math.sqrt(sum(float((op.A(x) - y).abs().pow(2).sum()) for x, (y, op, _) in zip(solutions, built)))
        samples = [int(mask.bool().sum()) * y.shape[1] for y, _, mask in built]
        image = torch.cat([x.abs().float() for x in solutions])
        return score(image, measurement)[0]["psnr_db"], residual / math.sqrt(sum(
            m * s * s for m, s in zip(samples, sigmas)))
    from recon.experiments.solve_measurement import reconstruct_measurement

    result, _ = reconstruct_measurement(config, measurement)
    if modality == "ct":
        from recon.experiments.build import build_operator

        forward = build_operator(config, measurement).A
        shown = measurement
    else:
        from recon.experiments.build_deblur import deblur_setup
        from recon.experiments.deblur_stacks import as_stacks

        forward = deblur_setup(config, measurement).operator().A
    residual = float(torch.linalg.vector_norm((forward(result.image) - measurement.data).flatten()))
    image = result.image
    if modality == "deblur":
        image, shown, _ = as_stacks(result.image, measurement)
    samples = measurement.data[0].numel()
    return score(image, shown)[0]["psnr_db"], residual / math.sqrt(samples * sum(s * s for s in sigmas))


def _loss(report: dict, strength_of) -> float:
    """The mean loss to each dataset's best PSNR of the grid strengths nearest (in log) to ``strength_of(row)``."""
    grid = np.asarray(report["grid"])
    rows = report["datasets"].values()
    return float(np.mean([row["psnr_db"][int(np.argmin(np.abs(np.log(grid / strength_of(row)))))] - max(row["psnr_db"])
                          for row in rows]))


def calibrate(modality: str, echo=print, reuse: dict | None = None) -> dict:
    """The grid on each validation dataset (or ``reuse``'s, the same grid's solves from an earlier report),
    then the constants of each rule."""
    grid = [float(v) for v in GRIDS[modality]]
    report = {"config": CONFIGS[modality][0], "grid": grid, "datasets": {}}
    for name, measurement in validation_datasets(modality).items():
        earlier = (reuse or {}).get("datasets", {}).get(name)
        if earlier is not None and reuse["grid"] == grid:
            psnrs, ratios = earlier["psnr_db"], earlier["residual_ratio"]
        else:
            rows = [solve(modality, s, measurement) for s in grid]
            psnrs, ratios = [r[0] for r in rows], [r[1] for r in rows]
        best = int(np.argmax(psnrs))
        noise, aliasing = noise_levels(modality, measurement)
        report["datasets"][name] = {"psnr_db": psnrs, "residual_ratio": ratios, "best_strength": grid[best],
                                    "ratio_at_best": ratios[best], "noise_level": noise, "aliasing_level": aliasing}
        echo(f"{name}: best {psnrs[best]:.2f} dB at strength {grid[best]:.3g}, residual ratio there "
             f"{ratios[best]:.3f}, noise level {noise:.3g}")
    rows = report["datasets"].values()
    scores = {tau: float(np.mean([row["psnr_db"][int(np.argmin(np.abs(np.log(np.asarray(row["residual_ratio"]) / tau))))]
                                  - max(row["psnr_db"]) for row in rows])) for tau in TAUS}
    tau = max(scores, key=scores.get)
    aliasing_weights = ALIAS_CS if modality == "mri" else [0.0]
    rules = {(kappa, power, c): _loss(report, lambda row: kappa * row["noise_level"] ** power
                                      + c * (row["aliasing_level"] or 0.0))
             for kappa in KAPPAS for power in POWERS for c in aliasing_weights}
    best_loss = max(rules.values())
    # the rule with the fewest free constants within SIMPLER_WITHIN_DB of the best: κ; κ and p, or κ and c; all three
    families = [lambda k: k[1] == 1.0 and k[2] == 0.0, lambda k: k[2] == 0.0 or k[1] == 1.0, lambda k: True]
    for family in families:
        members = {k: v for k, v in rules.items() if family(k)}
        chosen = max(members, key=members.get)
        if members[chosen] >= best_loss - SIMPLER_WITHIN_DB:
            break
    linear = max((k for k in rules if families[0](k)), key=rules.get)
    report.update({"tau_scores_db": {str(k): v for k, v in scores.items()}, "tau": tau,
                   "linear": {"kappa": linear[0], "loss_db": rules[linear]}, "best_loss_db": best_loss,
                   "rule": {"kappa": chosen[0], "power": chosen[1], "aliasing_weight": chosen[2],
                            "loss_db": rules[chosen]}})
    echo(f"discrepancy: tau {tau} (mean loss to each dataset's best {scores[tau]:.2f} dB); lambda = kappa nu: kappa "
         f"{linear[0]} ({rules[linear]:.2f} dB); chosen lambda = kappa nu^p + c alpha: kappa {chosen[0]}, p "
         f"{chosen[1]}, c {chosen[2]} ({rules[chosen]:.2f} dB; the best of all {best_loss:.2f})")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modality", choices=list(CONFIGS))
    parser.add_argument("--json")
    parser.add_argument("--reuse", help="an earlier report of the same grid: its solves are taken, not redone")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = calibrate(args.modality, reuse=json.loads(Path(args.reuse).read_text()) if args.reuse else None)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
