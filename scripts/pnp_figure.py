"""Held-out examples of PnP against TV, as pictures: docs/pnp_ct.png and docs/pnp_deblur.png.

    python scripts/pnp_figure.py [--folder docs]

CT: the first test phantom (128², 30 views, 2 % noise): truth, FBP, the validation-chosen TV,
`ct-pnp`. Deblurring: the `camera` test image (Gaussian σ = 2, noise 0.01): blurred, TV, `deblur-pnp`,
truth. The PSNR of each panel is in its title. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _chosen_tv(problem: str) -> list[str]:
    chosen = json.loads((ROOT / "docs" / f"pnp_vs_tv_{problem}.json").read_text())["methods"]["tv"]["chosen"]
    return [f"{key}={value}" for key, value in chosen.items()]


def _image(config_name: str, overrides: list[str], measurement) -> torch.Tensor:
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement

    return reconstruct_measurement(load_experiment(config_name, overrides), measurement)[0].image[0, 0]


def main() -> int:
    from recon.datasets.heldout_problems import few_view_ct, gaussian_deblur
    from recon.figures import image_row
    from recon.metrics import psnr

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=str(ROOT / "docs"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    scan = few_view_ct("test", count=1)
    truth = scan.ground_truth[0, 0]
    panels = {"truth": truth}
    for label, name, overrides in (("FBP", "ct-fbp", []), ("TV", "ct-tv", _chosen_tv("ct")), ("ct-pnp", "ct-pnp", [])):
        image = _image(name, overrides, scan)
        panels[f"{label}  {psnr(image, truth, data_range=float(truth.max() - truth.min())):.2f} dB"] = image
    image_row(panels, Path(args.folder) / "pnp_ct.png", shared_range=(0.0, 1.0),
              title="few-view CT, held-out phantom (128², 30 views, 2 % noise)")

    blurred, _ = gaussian_deblur("test")
    truth = blurred.ground_truth[0, 0]
    one = blurred.select(0)
    panels = {f"blurred  {psnr(one.data[0, 0], truth, data_range=float(truth.max() - truth.min())):.2f} dB":
              one.data[0, 0]}
    for label, name, overrides in (("TV", "deblur-tv", _chosen_tv("deblur")), ("deblur-pnp", "deblur-pnp", [])):
        image = _image(name, overrides, one)
        panels[f"{label}  {psnr(image, truth, data_range=float(truth.max() - truth.min())):.2f} dB"] = image
    panels["truth"] = truth
    image_row(panels, Path(args.folder) / "pnp_deblur.png", shared_range=(0.0, 1.0),
              title="deblurring, held-out camera (Gaussian σ = 2, noise 0.01)")
    print(f"wrote {args.folder}/pnp_ct.png and {args.folder}/pnp_deblur.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
