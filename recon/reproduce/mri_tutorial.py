"""The MRI tutorial on a real scan: zero-filled, CG-SENSE, ℓ1-wavelet and TV on the 8-coil brain.

The 168 filled phase-encode columns (44–211) of ``testdata/mri/brain_alias_8ch.mat`` are the fully
sampled reference; their root-sum-of-squares image is what each reconstruction is scored against
(PSNR and SSIM with the reference's range, as fastMRI's evaluation does). Undersampling: 4× with an
8 % fully sampled centre, equispaced (fastMRI's, offset 0) or random columns (seed 0)
(:func:`recon.datasets.heldout_problems.brain_mri`). Each method is the shipped config, run as
``recon run`` runs it (:func:`recon.experiments.tuning.evaluate`): ``mri-zf`` (root-sum-of-squares
of the zero-filled coils), ``mri-sense`` (CG-SENSE with ESPIRiT maps), ``mri-wavelet`` (ℓ1 of db4
wavelets) and ``mri-tv`` (TV by coil-split ADMM). ``tests/test_mri_brain.py`` runs the same configs
through ``recon run`` on fastMRI and BART files.

The quick table is the random mask alone. The data is found under ``$RECON_TESTDATA`` or
``../shared/testdata`` beside the repository.

>>> sorted(cells(True, {}))
['random mri-sense', 'random mri-tv', 'random mri-wavelet', 'random mri-zf']
"""

from __future__ import annotations

import os
from pathlib import Path

from recon.reproduce.report import Claim, Report, signed

EXPERIMENTS = {"mri-zf": "zero-filled", "mri-sense": "CG-SENSE", "mri-wavelet": "ℓ1-wavelet", "mri-tv": "TV"}
MASKS = ("equispaced", "random")
BRAIN = Path("mri") / "brain_alias_8ch.mat"


def testdata_root() -> Path:
    """``$RECON_TESTDATA``, else ``../shared/testdata`` beside the repository."""
    return Path(os.environ.get("RECON_TESTDATA", Path(__file__).resolve().parents[3] / "shared" / "testdata"))


def brain_path() -> Path:
    """The brain scan; :class:`FileNotFoundError` naming where it was looked for."""
    path = testdata_root() / BRAIN
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (set RECON_TESTDATA to the folder holding mri/)")
    return path


def method_cell(mask: str, experiment: str) -> dict:
    """PSNR, SSIM, iterations and the magnitude image of a shipped MRI config on the brain with ``mask``."""
    import numpy as np

    from recon.datasets.heldout_problems import brain_mri
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement, score

    measurement = brain_mri(brain_path(), equispaced=mask == "equispaced")
    result, _ = reconstruct_measurement(load_experiment(experiment), measurement)
    means, _ = score(result.image.detach().cpu(), measurement)
    image = result.image.detach().cpu().abs()[0, 0].numpy().astype(np.float32)
    return {"psnr_db": means["psnr_db"], "ssim": means["ssim"], "iterations": result.iterations, "image": image}


def cells(quick: bool, done: dict) -> dict:
    return {f"{mask} {experiment}": (method_cell, (mask, experiment), {})
            for mask in (("random",) if quick else MASKS) for experiment in EXPERIMENTS}


def report(quick: bool, values: dict) -> Report:
    rows, claims = [], []
    for mask in ("random",) if quick else MASKS:
        zero_filled = values[f"{mask} mri-zf"]
        for experiment, label in EXPERIMENTS.items():
            found = values[f"{mask} {experiment}"]
            gain = found["psnr_db"] - zero_filled["psnr_db"]
            rows.append({"mask, method": f"{mask}, {label}", "config": experiment, "PSNR (dB)": found["psnr_db"],
                         "SSIM": found["ssim"], "iterations": found["iterations"],
                         "PSNR − zero-filled": None if experiment == "mri-zf" else gain,
                         "SSIM − zero-filled": None if experiment == "mri-zf" else found["ssim"] - zero_filled["ssim"],
                         "beats zero-filled": None if experiment == "mri-zf" else (
                             gain > 0 and found["ssim"] > zero_filled["ssim"])})
        for experiment in ("mri-sense", "mri-wavelet", "mri-tv"):
            found = values[f"{mask} {experiment}"]
            claims.append(Claim(f"{mask}: {EXPERIMENTS[experiment]} beats zero-filled in PSNR and SSIM",
                                f"{signed(found['psnr_db'] - zero_filled['psnr_db'])}, SSIM "
                                f"{found['ssim'] - zero_filled['ssim']:+.3f}", "",
                                found["psnr_db"] > zero_filled["psnr_db"] and found["ssim"] > zero_filled["ssim"]))
        sense, wavelet, tv = (values[f"{mask} {e}"]["psnr_db"] for e in ("mri-sense", "mri-wavelet", "mri-tv"))
        claims.append(Claim(f"{mask}: compressed sensing (ℓ1-wavelet, TV) beats CG-SENSE",
                            f"{signed(wavelet - sense)}, {signed(tv - sense)}", "", min(wavelet, tv) > sense))
    return Report(
        title="The MRI tutorial: zero-filled, CG-SENSE, ℓ1-wavelet and TV on the 8-coil brain",
        source="the MRI tutorial of recon's README (zero-filled, CG-SENSE, then compressed sensing) on a real "
               "8-coil scan",
        setup="brain_alias_8ch: the 168 filled columns are the reference (root-sum-of-squares); 4× undersampling "
              "with an 8 % centre, equispaced (fastMRI's) and random (seed 0). Each method is the shipped config "
              "as `recon run` runs it; PSNR and SSIM against the reference, with its range.",
        columns=["mask, method", "config", "PSNR (dB)", "SSIM", "iterations", "PSNR − zero-filled",
                 "SSIM − zero-filled", "beats zero-filled"],
        rows=rows, claims=claims,
        formats={"SSIM": ".4f", "PSNR − zero-filled": "+.2f", "SSIM − zero-filled": "+.3f"})


def figure(quick: bool, values: dict, report: Report):
    from recon.reproduce.charts import panels

    figure, axes = panels(len(EXPERIMENTS), width=2.6, height=4.4)
    images = [values[f"random {e}"]["image"] for e in EXPERIMENTS]
    top = max(float(image.max()) for image in images)
    for axis, (experiment, label), image in zip(axes, EXPERIMENTS.items(), images):
        axis.imshow(image, cmap="gray", vmin=0, vmax=top)
        axis.set_title(f"{label}\n{values[f'random {experiment}']['psnr_db']:.2f} dB", fontsize=9)
        axis.axis("off")
    figure.suptitle("8-coil brain, 4× random columns", fontsize=10)
    return figure
