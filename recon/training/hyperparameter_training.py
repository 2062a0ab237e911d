r"""``recon train hyperparameters CONFIG``: bilevel learning of θ, then a ``recon run`` config that uses it.

The steps, as the config (:mod:`recon.training.hyperparameter_config`) says:

1. the training pairs (scikit-image photographs with seeded noise, or an ``.npz`` file) and the
   test pairs (other photographs, other seeds) — :mod:`recon.training.bilevel_pairs`;
2. the lower-level energy (:mod:`recon.training.bilevel_problems`) and MAID
   (:mod:`recon.training.maid`) or HOAG (:mod:`recon.training.hoag`) from ``problem.theta_start``;
3. the test PSNR of the learned model, and for ``smoothed-tv`` the recon run config
   ``NAME.yaml``: ``deblur-tv``'s TV-ADMM with an identity blur (a 1 × 1 PSF),
   :math:`\lambda = \tfrac12 e^{\theta_0}` with ``strength_scale: absolute``, no constraint. recon's TV has no
   smoothing: it is the :math:`e^{\theta_1} \to 0` limit, and the test PSNR of ``recon run`` with that
   config on the test pairs (written as a deblur file) is recorded beside the bilevel model's
   (``recon_run_gap_db``; small when :math:`e^{\theta_1}` is small against the images' gradients);
4. ``NAME.json`` (θ, the learned values, PSNRs, counts, the loss history) and ``NAME.png`` (loss
   against lower-level + CG iterations).

Everything is computed before anything is written, and the three files are written to temporary
names and renamed, so a run that fails (no pairs, a diverging θ) leaves no output behind.
``recon run`` cannot deblur with weighted TV, so ``weighted-tv`` writes the JSON and the figure
with the learned ``prior.strength`` and ``prior.eta`` in it, and no YAML.

>>> config = load_hyperparameter_config("bilevel-tv", ["problem.size=16", "problem.train_images=camera",
...     "problem.test_images=coins", "method.max_iterations=2", "output.exact_loss=false"])
>>> record = learn_hyperparameters(config)
>>> len(record["theta"]), record["method"]["kind"], "run_config" in record
(2, 'maid', True)
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import time
from pathlib import Path

import torch

from recon.datasets.atomic import atomic_output
from recon.training.bilevel_pairs import file_pairs, image_names, photograph_pairs
from recon.training.bilevel_problems import SmoothedTVDenoising, WeightedTVDenoising
from recon.training.hyperparameter_config import load_hyperparameter_config  # noqa: F401  (doctest, callers)
from recon.training.lower_level import solve_lower_level

TEST_SEED_OFFSET = 1000
SOLVE_TOL = 1e-6


def training_pairs(config: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """``(clean, noisy)`` to learn from: ``problem.pairs`` if set, else the ``train_images``."""
    section = config["problem"]
    if section["pairs"] is not None:
        return file_pairs(section["pairs"])
    names = image_names(section["train_images"])
    if not names:
        raise ValueError("problem.train_images: no training pairs (the image list is empty; or set problem.pairs)")
    return photograph_pairs(names, size=section["size"], sigma=section["sigma"], seed=section["seed"])


def test_pairs(config: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """``(clean, noisy)`` of the ``test_images``, noise seeded apart from the training set's."""
    section = config["problem"]
    return photograph_pairs(image_names(section["test_images"]), size=section["size"], sigma=section["sigma"],
                            seed=section["seed"] + TEST_SEED_OFFSET, key="problem.test_images")


def lower_level_problem(config: dict, noisy: torch.Tensor):
    """The energy of ``problem.kind`` for ``noisy``; weighted TV first solves its smoothed-TV pilot."""
    section = config["problem"]
    if section["kind"] == "smoothed-tv":
        return SmoothedTVDenoising(noisy)
    pilot_theta = torch.tensor([math.log(2 * section["pilot_strength"]), math.log(section["smoothing"])],
                               dtype=noisy.dtype, device=noisy.device)
    pilot, _ = solve_lower_level(SmoothedTVDenoising(noisy), pilot_theta, noisy, 1e-4)
    return WeightedTVDenoising(noisy, pilot, smoothing=section["smoothing"])


def mean_psnr(x: torch.Tensor, clean: torch.Tensor) -> float:
    """Mean over images of :math:`10\\log_{10}(1/\\mathrm{MSE})` (images in [0, 1])."""
    mse = (x.double() - clean.double()).square().mean(dim=tuple(range(1, x.dim())))
    return float((-10 * torch.log10(mse)).mean())


def model_psnr(config: dict, theta, clean: torch.Tensor, noisy: torch.Tensor) -> float:
    """The mean PSNR of the lower-level solution at ``theta`` (solved to 1e-6) on the pairs."""
    problem = lower_level_problem(config, noisy)
    x, _ = solve_lower_level(problem, torch.as_tensor(theta, dtype=noisy.dtype, device=noisy.device), noisy,
                             SOLVE_TOL)
    return mean_psnr(x, clean)


def run_config_text(config: dict, theta) -> str:
    """The recon run YAML of a learned smoothed-TV θ (module text)."""
    strength = SmoothedTVDenoising.strength(theta)
    return "\n".join([
        f"# {config['name']}: TV denoising with the strength learned by bilevel learning "
        f"(recon train hyperparameters, {config['method']['kind']}).",
        f"#   theta = ({float(theta[0]):.6g}, {float(theta[1]):.6g}) in ½‖x − y‖² + ½e^θ₀ Σ√(|∇x|² + e^2θ₁);",
        f"#   recon's TV is the e^θ₁ → 0 limit (e^θ₁ = {math.exp(float(theta[1])):.3g}): strength = ½e^θ₀.",
        "#   Denoising is deblurring by a 1 × 1 PSF [[1]]: write the noisy images with write_deblur(path, noisy, "
        "torch.ones(1, 1)).",
        f"name: {config['name']}",
        f"description: TV denoising, strength learned by bilevel learning ({config['method']['kind']})",
        "modality: deblur",
        "",
        "prior:",
        "  kind: tv",
        f"  strength: {strength:.8g}",
        "  strength_scale: absolute",
        "  isotropic: true",
        "",
        "solver:",
        "  kind: deconvolution-admm",
        "  constraint: none",
        "  max_iter: 300",
        "  tol: 1e-6",
        "",
        "output:",
        "  figure: false",
        "  history: true",
        "",
    ])


def recon_run_psnr(run_yaml: str, clean: torch.Tensor, noisy: torch.Tensor) -> float:
    """The mean PSNR ``recon run`` gets with ``run_yaml`` on the pairs, written as an identity-blur deblur file."""
    from recon.datasets.deblur_format import write_deblur
    from recon.datasets.formats import read_measurement
    from recon.experiments.config import load_experiment_text
    from recon.experiments.solve_measurement import reconstruct_measurement

    with tempfile.TemporaryDirectory() as folder:
        path = write_deblur(Path(folder) / "noisy.h5", noisy.float().cpu(), torch.ones(1, 1),
                            ground_truth=clean.float().cpu())
        measurement = read_measurement(path)
        result, _ = reconstruct_measurement(load_experiment_text(run_yaml, "learned.yaml"), measurement)
    return mean_psnr(result.image, clean.cpu())


def run_method(config: dict, upper, progress=None):
    """``(θ, history)`` of ``method.kind`` on the :class:`~recon.training.upper_level.UpperLevel` ``upper``."""
    from recon.training.hoag import hoag
    from recon.training.maid import MaidSettings, maid

    method = config["method"]
    theta = torch.tensor(config["problem"]["theta_start"], dtype=upper.clean.dtype, device=upper.clean.device)
    common = {"max_iterations": method["max_iterations"], "budget": method["budget"], "progress": progress,
              "exact_tol": SOLVE_TOL if config["output"]["exact_loss"] else None}
    if method["kind"] == "hoag":
        return hoag(upper, theta, step=method["step"], epsilon=method["epsilon"], delta=method["delta"],
                    decay=method["decay"], rate=method["rate"], **common)
    settings = MaidSettings(epsilon=method["epsilon"], delta=method["delta"], step=method["step"],
                            shrink=method["shrink"], decrease=method["decrease"], step_growth=method["step_growth"],
                            accuracy_shrink=method["accuracy_shrink"], accuracy_growth=method["accuracy_growth"],
                            max_backtracks=method["max_backtracks"])
    return maid(upper, theta, settings, **common)


def learn_hyperparameters(config: dict, progress=None, device: str | None = None) -> dict:
    """Learn θ as ``config`` says and return the record (module text); writes nothing. ``device``: where the
    images and solves live (default: CUDA when there is one)."""
    from recon.training.upper_level import UpperLevel

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    started = time.perf_counter()
    clean, noisy = (t.to(device) for t in training_pairs(config))
    test_clean, test_noisy = (t.to(device) for t in test_pairs(config))
    upper = UpperLevel(lower_level_problem(config, noisy), clean)
    theta, history = run_method(config, upper, progress)
    theta = [float(t) for t in theta]
    record = {
        "name": config["name"], "problem": config["problem"], "method": config["method"], "theta": theta,
        "learned": upper.problem.describe(theta), "train_count": int(clean.shape[0]),
        "lower_iterations": upper.lower_iterations, "cg_iterations": upper.cg_iterations,
        "train_psnr_db": model_psnr(config, theta, clean, noisy),
        "test_psnr_db": model_psnr(config, theta, test_clean, test_noisy),
        "noisy_test_psnr_db": mean_psnr(test_noisy, test_clean), "history": history,
    }
    if config["problem"]["kind"] == "smoothed-tv":
        text = run_config_text(config, theta)
        run_psnr = recon_run_psnr(text, test_clean, test_noisy)
        record.update(run_config=text, recon_run_test_psnr_db=run_psnr,
                      recon_run_gap_db=run_psnr - record["test_psnr_db"])
    record["seconds"] = time.perf_counter() - started
    return record


def loss_figure(path, curves: dict, title: str) -> None:
    """Upper-level loss against lower-level + CG iterations, one curve per ``{label: history}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for label, history in curves.items():
        key = "exact_loss" if "exact_loss" in history[0] else "loss"
        axes.plot([row["total_iterations"] for row in history], [row[key] for row in history], label=label)
    axes.set_xlabel("lower-level iterations (FISTA gradients + CG)")
    axes.set_ylabel("upper-level loss ½ mean ‖x̂(θ) − x†‖²")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def _write_atomically(files: dict) -> None:
    """Write ``{path: writer(temporary path)}``; every file is renamed into place only once all are written, so a
    failure leaves none (:func:`recon.datasets.atomic.atomic_output`, one per file)."""
    with contextlib.ExitStack() as stack:
        for path, writer in files.items():
            writer(stack.enter_context(atomic_output(path, overwrite=True)))


def train_hyperparameters(config: dict, output_dir, *, progress=None, command: str | None = None,
                          device: str | None = None) -> dict:
    """Learn θ and write ``NAME.json``, ``NAME.png`` and (smoothed TV) ``NAME.yaml`` into ``output_dir``."""
    record = learn_hyperparameters(config, progress, device)
    record["command"] = command
    output_dir = Path(output_dir)
    name = config["name"]
    files = {output_dir / f"{name}.json": lambda p: p.write_text(json.dumps(record, indent=1) + "\n"),
             output_dir / f"{name}.png": lambda p: loss_figure(p, {config["method"]["kind"]: record["history"]},
                                                               f"{name}: bilevel learning")}
    if "run_config" in record:
        files[output_dir / f"{name}.yaml"] = lambda p: p.write_text(record["run_config"])
    output_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(files)
    record["files"] = [str(path) for path in files]
    return record
