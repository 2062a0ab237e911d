"""The built-in CT demo: simulate a few-view scan of a phantom, then reconstruct that file like any other.

Nothing is downloaded: the Shepp–Logan phantom is computed and the scan
simulated. The scan is written as an input file in recon's own layout
(``scan.h5``), then reconstructed by the shipped experiments ``ct-fbp``,
``ct-tv`` and ``ct-wtv`` through the same code path as ``recon run``; each
writes its HDF5 and PNG, and ``comparison.png`` puts them side by side.
"""

from __future__ import annotations

import math
from pathlib import Path

EXPERIMENTS = (("FBP", "ct-fbp"), ("TV", "ct-tv"), ("weighted TV", "ct-wtv"))


def demo_paths(output_dir: Path) -> list[Path]:
    """Every file the demo writes, in ``output_dir``."""
    names = ["scan.h5", "comparison.png"]
    for _, experiment in EXPERIMENTS:
        names += [f"{experiment}.h5", f"{experiment}.png"]
    return [output_dir / name for name in names]


def write_demo_scan(path, *, size: int = 256, n_views: int = 60, noise: float = 0.01, seed: int = 0,
                    overwrite: bool = False):
    """``(path, truth)``: the demo's simulated scan written to ``path`` in recon's layout, and its phantom.

    >>> import tempfile, pathlib
    >>> path, truth = write_demo_scan(pathlib.Path(tempfile.mkdtemp()) / "scan.h5", size=32, n_views=10)
    >>> path.name, tuple(truth.shape)
    ('scan.h5', (1, 1, 32, 32))
    """
    import torch

    from recon.datasets.measurement import Measurement
    from recon.datasets.phantoms import shepp_logan
    from recon.datasets.recon_format import write_measurement
    from recon.datasets.simulate import add_gaussian_noise, relative_noise_sigmas
    from recon.operators import ParallelBeamCT
    from recon.operators.ct_geometry import ParallelBeamGeometry

    truth = shepp_logan(size)
    angles = torch.linspace(0, math.pi, n_views + 1, dtype=torch.float64)[:-1]
    geometry = ParallelBeamGeometry(angles.numpy(), int(math.ceil(size * math.sqrt(2))) + 2, image_shape=(size, size))
    operator = ParallelBeamCT(geometry.angles, geometry.n_detectors, image_shape=geometry.image_shape)
    clean = operator(truth)
    sinogram = add_gaussian_noise(clean, noise, seed=seed)
    scan = Measurement("ct", sinogram.float(), geometry, "recon", None, ground_truth=truth.float(),
                       metadata={"description": "simulated few-view scan of the Shepp-Logan phantom",
                                 "noise_relative": noise, "noise_sigma": relative_noise_sigmas(clean, noise)[0],
                                 "seed": seed, "units": "pixel lengths"})
    return write_measurement(path, scan, overwrite=overwrite), truth


def run_ct_demo(output_dir, *, size: int = 256, n_views: int = 60, noise: float = 0.01, seed: int = 0,
                overwrite: bool = False, quiet: bool = False, echo=print) -> dict:
    """Simulate, write ``scan.h5``, reconstruct it three ways; return ``{method: metrics}``.

    >>> import tempfile
    >>> scores = run_ct_demo(tempfile.mkdtemp(), size=64, n_views=30, quiet=True, echo=lambda *a: None)
    >>> scores["TV"]["psnr_db"] > scores["FBP"]["psnr_db"]
    True
    """
    from recon.datasets.atomic import atomic_output
    from recon.experiments.config import load_experiment
    from recon.experiments.run import run_experiment
    from recon.figures import image_row

    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output-dir {output_dir}: expected a folder, got a file")
    for path in demo_paths(output_dir):
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists (pass --overwrite to replace it)")
    output_dir.mkdir(parents=True, exist_ok=True)

    echo(f"simulating {n_views} parallel-beam views of a {size}x{size} Shepp-Logan phantom, "
         f"{noise:.1%} Gaussian noise")
    scan_path, truth = write_demo_scan(output_dir / "scan.h5", size=size, n_views=n_views, noise=noise, seed=seed,
                                       overwrite=overwrite)
    echo(f"wrote {scan_path}")

    scores, images = {}, {"ground truth": truth}
    for label, experiment in EXPERIMENTS:
        summary = run_experiment(load_experiment(experiment), input_path=scan_path,
                                 output_path=output_dir / f"{experiment}.h5", overwrite=overwrite, quiet=quiet,
                                 echo=echo)
        scores[label] = {**summary.metrics, "seconds": summary.seconds, "iterations": summary.iterations}
        import h5py

        with h5py.File(summary.output) as f:
            # One display window, the phantom's range, for every panel: FBP's streaks fall outside it.
            images[f"{label}  {summary.metrics['psnr_db']:.2f} dB"] = f["reconstruction"][0].clip(0.0, 1.0)
    with atomic_output(output_dir / "comparison.png", overwrite=overwrite) as tmp:
        image_row(images, tmp, shared_range=tuple(images),
                  title=f"{n_views} parallel views, {noise:.1%} noise (display window [0, 1])")

    echo(f"{'method':<12} {'PSNR [dB]':>10} {'SSIM':>7} {'NRMSE':>7} {'iterations':>10} {'time [s]':>9}")
    for label, s in scores.items():
        echo(f"{label:<12} {s['psnr_db']:>10.2f} {s['ssim']:>7.3f} {s['nrmse']:>7.3f} {s['iterations']:>10d} "
             f"{s['seconds']:>9.2f}")
    echo(f"wrote {output_dir / 'comparison.png'}")
    return scores
