"""prior.strength auto against the shipped fixed strength and the best of a fine grid, for CT, deblurring and MRI.

    python scripts/auto_strength_table.py ct     [--json docs/auto_strength_ct.json]
    python scripts/auto_strength_table.py deblur [--json docs/auto_strength_deblur.json]
    python scripts/auto_strength_table.py mri    [--json docs/auto_strength_mri.json]

ct-tv (300 PDHG iterations) on simulated scans with ground truth: the COULE-like test phantoms (128²) at 30
views with 1, 2 and 5 % noise and at 180 views with 1 %, and the modified Shepp–Logan phantom at 256² with 60
views and 2 % noise; and on the real HTC2022 fan-beam scans of ../shared/testdata (61 and 121 of 721 views,
scored against the organisers' full-data FBP; skipped when absent). deblur-tv on the four test photographs (256²) blurred by a Gaussian of σ = 2 with noise
0.003, 0.01 and 0.03, and of σ = 1 with noise 0.01. mri-tv on the real 8-coil brain of ../shared/testdata
(4× random and 4× equispaced columns; skipped when absent) and on the band-limited Shepp–Logan phantom through 8 simulated coils:
256² at 4× with 2, 5 and 10 % noise, and 192² at 6× with 5 %. Each dataset is solved with the shipped fixed strength
(prior.fixed_strength, what the config shipped with before auto became its default), with
auto (its default rule for TV, λ = κσ, σ estimated from the data, not read from the file), and on a fine
grid of strengths (10 per decade over two decades around the shipped one; MRI 8 per decade over 2.5). κ
(and MRI's c) were chosen on each modality's validation data (scripts/auto_strength_tau.py), which none of
these are. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

CONFIGS = {"ct": ("ct-tv", ["solver.max_iter=300"]), "deblur": ("deblur-tv", []), "mri": ("mri-tv", [])}
GRIDS = {"ct": [float(v) for v in np.round(np.logspace(-4, -2, 21), 7)],
         "deblur": [float(v) for v in np.round(np.logspace(-4.5, -2.5, 21), 8)],
         "mri": [float(v) for v in np.round(np.logspace(-4, -1.5, 21), 7)]}
TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
BRAIN = TESTDATA / "mri" / "brain_alias_8ch.mat"
HTC = TESTDATA / "ct" / "htc2022"


def datasets(modality: str):
    if modality == "deblur":
        return deblur_datasets()
    if modality == "mri":
        return mri_datasets()
    from recon.datasets.heldout_problems import few_view_ct_of
    from recon.datasets.image_sources import phantom_batch
    from recon.datasets.phantoms import shepp_logan

    phantoms = phantom_batch("test", 10, 128)
    out = {f"phantoms-30views-{int(n * 100)}pct": few_view_ct_of(phantoms, "test phantoms", noise=n)
           for n in (0.01, 0.02, 0.05)}
    out["phantoms-180views-1pct"] = few_view_ct_of(phantoms, "test phantoms", views=180, noise=0.01)
    out["shepp-logan-256-60views-2pct"] = few_view_ct_of(shepp_logan(256), "Shepp-Logan", views=60, noise=0.02)
    return {**out, **htc_datasets()}


def htc_datasets():
    """Real fan-beam scans of ../shared/testdata (skipped when absent): HTC2022 discs ta and tb, every 12th and
    every 6th of their 721 views (61 and 121 over 360°); scored against the organisers' full-data FBP."""
    from recon.datasets.formats import read_measurement
    from recon.datasets.view_selection import select_views

    out = {}
    for disc, step in (("ta", 12), ("tb", 6)):
        path = HTC / f"htc2022_{disc}_full.mat"
        if path.exists():
            scan = select_views(read_measurement(path), step=step, arc_deg=None)
            out[f"htc2022-{disc}-{scan.data.shape[-2]}views"] = scan
    return out


def deblur_datasets():
    from recon.datasets.heldout_problems import gaussian_deblur

    out = {f"photographs-blur2-noise{n:g}": gaussian_deblur("test", noise=n)[0] for n in (0.003, 0.01, 0.03)}
    out["photographs-blur1-noise0.01"] = gaussian_deblur("test", psf_sigma=1.0)[0]
    return out


def mri_datasets():
    from scipy.ndimage import gaussian_filter

    from recon.datasets.heldout_problems import band_limited_mri, brain_mri
    from recon.datasets.phantoms import shepp_logan

    def phantom(size: int) -> torch.Tensor:     # band-limited, as an acquisition makes an MR image
        return torch.from_numpy(gaussian_filter(shepp_logan(size)[0, 0].double().numpy(), 1.5))

    out = {"brain-8coil-4x": brain_mri(BRAIN), "brain-8coil-4x-equispaced": brain_mri(BRAIN, equispaced=True)} \
        if BRAIN.exists() else {}
    out.update({f"shepp-logan-256-4x-{int(n * 100)}pct": band_limited_mri(phantom(256), "Shepp-Logan", noise=n)
                for n in (0.02, 0.05, 0.1)})
    out["shepp-logan-192-6x-5pct"] = band_limited_mri(phantom(192), "Shepp-Logan", noise=0.05, acceleration=6)
    return out


def psnr_of(modality: str, overrides: list[str], measurement) -> tuple[float, float, object]:
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement, score

    name, fixed = CONFIGS[modality]
    started = time.perf_counter()
    result, _ = reconstruct_measurement(load_experiment(name, fixed + overrides), measurement)
    seconds = time.perf_counter() - started
    image, shown = result.image, measurement
    if modality == "deblur":
        from recon.experiments.deblur_stacks import as_stacks

        image, shown, _ = as_stacks(image, measurement)
    if modality == "ct" and measurement.ground_truth is None:        # a real scan: against its reference
        from recon.metrics import psnr

        reference = measurement.reference[0, 0]
        span = float(reference.max() - reference.min())
        return psnr(image[0, 0], reference, data_range=span), seconds, result
    return score(image, shown)[0]["psnr_db"], seconds, result


def shipped_fixed_strength(modality: str) -> float:
    """The config's fixed strength: its ``prior.strength``, or ``prior.fixed_strength`` (what it shipped with
    before auto became its default) when that is ``auto``."""
    from recon.experiments.config import load_experiment

    prior = load_experiment(*CONFIGS[modality])["prior"]
    return prior["fixed_strength"] if prior["strength"] == "auto" else prior["strength"]


def table(modality: str, echo=print, rule: str | None = None) -> dict:
    grid_values = GRIDS[modality]
    fixed_strength = shipped_fixed_strength(modality)
    report = {"config": CONFIGS[modality][0], "grid": grid_values, "fixed_strength": fixed_strength, "datasets": {}}
    for name, measurement in datasets(modality).items():
        blind = replace(measurement, metadata={k: v for k, v in measurement.metadata.items() if k != "noise_sigma"})
        fixed, fixed_seconds, _ = psnr_of(modality, [f"prior.strength={fixed_strength}"], blind)
        auto, auto_seconds, result = psnr_of(modality, ["prior.strength=auto"]
                                             + ([f"prior.auto_rule={rule}"] if rule else []), blind)
        grid = [psnr_of(modality, [f"prior.strength={s}"], blind)[0] for s in grid_values]
        best = int(np.argmax(grid))
        true_sigma = measurement.metadata.get("noise_sigma")
        entry = {"fixed_psnr_db": fixed, "auto_psnr_db": auto, "best_psnr_db": grid[best],
                 "best_strength": grid_values[best], "auto_strength": result.auto_strength.strength,
                 "auto_note": result.auto_strength.describe(), "estimated_sigma": result.auto_strength.sigmas,
                 "true_sigma": true_sigma if isinstance(true_sigma, list) or true_sigma is None else [true_sigma],
                 "grid_psnr_db": grid,
                 "auto_over_fixed_seconds": auto_seconds / fixed_seconds}
        report["datasets"][name] = entry
        echo(f"{name}: fixed {fixed:.2f}, auto {auto:.2f} (strength {entry['auto_strength']:.2g}), best {grid[best]:.2f} "
             f"(strength {grid_values[best]:g}); auto costs {entry['auto_over_fixed_seconds']:.1f}x")
    rows = report["datasets"].values()
    report["mean_auto_minus_fixed_db"] = float(np.mean([r["auto_psnr_db"] - r["fixed_psnr_db"] for r in rows]))
    report["worst_auto_minus_fixed_db"] = float(min(r["auto_psnr_db"] - r["fixed_psnr_db"] for r in rows))
    report["mean_best_minus_auto_db"] = float(np.mean([r["best_psnr_db"] - r["auto_psnr_db"] for r in rows]))
    echo(f"auto - fixed: mean {report['mean_auto_minus_fixed_db']:+.2f} dB, worst "
         f"{report['worst_auto_minus_fixed_db']:+.2f}; best grid - auto: mean {report['mean_best_minus_auto_db']:.2f} dB")
    return report


def markdown(report: dict) -> str:
    """The report as docs/auto_strength.md shows it: one row per dataset, then the three summary numbers."""
    fixed = report.get("fixed_strength")
    lines = [f"| dataset | fixed {fixed:g} | auto | best | auto λ | best λ | σ̂ / σ | time auto / fixed |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in report["datasets"].items():
        ratio = "—" if row["true_sigma"] is None else \
            f"{np.mean([e / t for e, t in zip(row['estimated_sigma'], row['true_sigma'])]):.3f}"
        lines.append(f"| {name} | {row['fixed_psnr_db']:.2f} | {row['auto_psnr_db']:.2f} | {row['best_psnr_db']:.2f} | "
                     f"{row['auto_strength']:.2g} | {row['best_strength']:.2g} | {ratio} | "
                     f"{row['auto_over_fixed_seconds']:.1f}× |")
    lines.append("")
    lines.append(f"auto − fixed: mean {report['mean_auto_minus_fixed_db']:+.2f} dB, worst "
                 f"{report['worst_auto_minus_fixed_db']:+.2f} dB; best − auto: mean {report['mean_best_minus_auto_db']:.2f} dB")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modality", choices=list(CONFIGS))
    parser.add_argument("--json")
    parser.add_argument("--markdown", metavar="JSON", help="print an earlier report as the docs' table, and stop")
    parser.add_argument("--rule", choices=("discrepancy", "noise-proportional"),
                        help="auto's rule (default: the config's, prior.auto_rule)")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return 0
    torch.set_num_threads(1)
    report = table(args.modality, rule=args.rule)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
