r"""What ``recon train unrolled`` trains on: one task per ``problem.kind``, each its model, batches, loss and splits.

* ``galaxy-deconvolution``: Li & Alexander's unrolled ADMM
  (:class:`~recon.solvers.unrolled_deconvolution.UnrolledDeconvolutionADMM`) on galaxy stamps
  (:mod:`recon.training.galaxy_stamps`), the authors' multi-scale L1 in flux units.
* ``limited-angle-ct``: a learned primal–dual (:class:`~recon.solvers.limited_angle.LimitedAngleLPD`)
  on synthetic HTC2022 discs (:mod:`recon.datasets.disc_phantoms`) scanned over an arc of
  ``problem.arc_range`` degrees (one per step, one view per degree, always starting at 0: the
  canonical arc) with the real scans' Poisson noise, four detector cells binned into one
  (:math:`4 N_0` counts); MSE in the network's units (``image_scale`` × attenuation).

A task gives :meth:`batch` ``(model inputs, truth, scale)`` for a step, :meth:`validation` the fixed
validation batches, :meth:`loss`, and :meth:`data_manifest` (which seeds are which split).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _multiscale_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    total = a.new_zeros(())
    for level in range(3):
        if level:
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        total = total + F.l1_loss(a, b) / 2**level
    return total


def scaled_loss(estimate: torch.Tensor, truth: torch.Tensor, scale: torch.Tensor, kind: str) -> torch.Tensor:
    """``kind`` (``multiscale-l1`` or ``mse``) of ``estimate`` against ``truth``, both divided by ``scale`` ``(batch,)``.

    >>> x = torch.ones(2, 1, 8, 8)
    >>> float(scaled_loss(x + 0.5, x, torch.ones(2), "multiscale-l1"))      # 0.5 · (1 + 1/2 + 1/4)
    0.875
    """
    scale = scale.reshape(-1, 1, 1, 1)
    a, b = estimate / scale, truth / scale
    return F.mse_loss(a, b) if kind == "mse" else _multiscale_l1(a, b)


class GalaxyTask:
    """``galaxy-deconvolution`` (module text)."""

    architecture = "unrolled-deconvolution-admm"

    def __init__(self, config: dict, device):
        from recon.training.galaxy_stamps import split_stamps

        problem, self.training = config["problem"], config["training"]
        self.problem, self.device = problem, device
        network = config["network"]
        channels = [network["width"] * 2**level for level in range(network["levels"])]
        self.arguments = {"iterations": network["iterations"],
                          "prox": {"in_channels": 1, "out_channels": 1, "channels": channels,
                                   "blocks": network["blocks"]},
                          "penalties": {"iterations": network["iterations"], "width": network["penalty_width"]}}
        self.train = split_stamps("train", problem["train_count"], problem["snr_range"], problem["snr_power"],
                                  self.training["seed"])
        self._validation = split_stamps("validation", problem["validation_count"], problem["snr_range"],
                                        problem["snr_power"], self.training["seed"]).to(device)

    def model(self):
        from recon.solvers.unrolled_deconvolution import UnrolledDeconvolutionADMM

        return UnrolledDeconvolutionADMM.from_arguments(self.arguments)

    def _inputs(self, stamps):
        from recon.solvers.unrolled_deconvolution import flux_scale

        return ((stamps.observations, stamps.transfers, stamps.noise_sigmas), stamps.truths,
                flux_scale(stamps.observations))

    def batch(self, generator: torch.Generator, size: int, rank: int, world: int):
        chosen = torch.randint(len(self.train), (size,), generator=generator)[rank::world]
        return self._inputs(self.train.subset(chosen).to(self.device))

    def validation(self):
        count = len(self._validation)
        return [self._inputs(self._validation.subset(torch.arange(start, min(start + 64, count),
                                                                  device=self.device)))
                for start in range(0, count, 64)]

    def loss(self, estimate, truth, scale):
        return scaled_loss(estimate, truth, scale, self.training["loss"])

    def data_manifest(self) -> dict:
        from recon.training.galaxy_stamps import SEEDS

        p = self.problem
        return {"kind": p["kind"],
                "train": f"shear_galaxy(seed, snr), seeds {SEEDS['train']} to {SEEDS['train'] + p['train_count'] - 1}, "
                         f"SNR ∝ SNR^{p['snr_power']} on {p['snr_range']}",
                "validation": f"seeds {SEEDS['validation']} to {SEEDS['validation'] + p['validation_count'] - 1}",
                "test": "seeds 0 and up (scripts/galaxy_shear_baselines.py); 10000-10039 chose its baselines"}


class LimitedAngleTask:
    """``limited-angle-ct`` (module text)."""

    architecture = "limited-angle-lpd"
    SEEDS = {"train": 3_000_000, "validation": 4_000_000}
    VALIDATION_ARCS = (30, 60, 90)

    def __init__(self, config: dict, device):
        from recon.datasets.disc_phantoms import disc_phantom

        problem, self.training = config["problem"], config["training"]
        self.problem, self.device = problem, device
        network, grid = config["network"], problem["grid"]
        block = {"width": network["width"], "layers": 3}
        self.arguments = {"iterations": network["iterations"], "grid": grid, "image_scale": 30.0,
                          "primal_channels": 5, "dual_channels": 5,
                          "primal": {"in_channels": 6, "out_channels": 5, **block},
                          "dual": {"in_channels": 7, "out_channels": 5, **block}}

        every = round(1 / problem["cells_share"]) if problem["cells_share"] > 0 else 0

        def phantoms(first: int, count: int) -> torch.Tensor:
            images = [disc_phantom(first + k, size=2 * grid,
                                   pattern="cells" if every and k % every == every - 1 else "holes").image
                      for k in range(count)]
            return F.avg_pool2d(torch.stack(images)[:, None], 2)              # rendered at 2×, then pooled

        self.train = phantoms(self.SEEDS["train"], problem["train_count"])
        validation = phantoms(self.SEEDS["validation"], problem["validation_count"]).to(device)
        self._operators: dict[int, object] = {}
        noise = torch.Generator().manual_seed(self.training["seed"] + 1)
        self._validation = []
        for arc in self.VALIDATION_ARCS:
            operator = self.operator(arc)
            clean = operator.A(validation.cpu())
            y = self._noisy(clean, noise).to(device)
            self._validation.append(((y, operator), validation, torch.ones(len(validation), device=device)))

    def operator(self, arc_degrees: int):
        """The canonical arc's operator (one view per degree from 0), built once per arc length."""
        import math

        from recon.solvers.limited_angle import coarse_operator

        if arc_degrees not in self._operators:
            angles = torch.arange(arc_degrees + 1, dtype=torch.float64) * math.pi / 180
            self._operators[arc_degrees] = coarse_operator(angles, grid=self.problem["grid"]).to(self.device)
        return self._operators[arc_degrees]

    @staticmethod
    def _noisy(clean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        from recon.datasets.disc_phantoms import COUNTS, noisy_sinogram

        return noisy_sinogram(clean, generator, counts=4 * COUNTS)           # four detector cells binned

    def model(self):
        from recon.solvers.limited_angle import LimitedAngleLPD

        return LimitedAngleLPD.from_arguments(self.arguments)

    def batch(self, generator: torch.Generator, size: int, rank: int, world: int):
        low, high = (int(round(v)) for v in self.problem["arc_range"])
        arc = int(torch.randint(low, high + 1, (), generator=generator))
        chosen = torch.randint(len(self.train), (size,), generator=generator)
        truth = self.train[chosen]
        flips = torch.rand(size, generator=generator) < 0.5                 # mirrored discs: more variety
        truth = torch.where(flips.view(-1, 1, 1, 1), truth.flip(-1), truth)
        operator = self.operator(arc)
        y = self._noisy(operator.A(truth), generator)
        part = slice(rank, None, world)
        truth, y = truth[part].to(self.device), y[part].to(self.device)
        return (y, operator), truth, torch.ones(truth.shape[0], device=self.device)

    def validation(self):
        return self._validation

    def loss(self, estimate, truth, scale):
        image_scale = self.arguments["image_scale"]
        return scaled_loss(estimate * image_scale, truth * image_scale, scale, self.training["loss"])

    def data_manifest(self) -> dict:
        p, seeds = self.problem, self.SEEDS
        return {"kind": p["kind"],
                "train": f"disc_phantom(seed, size={2 * p['grid']}) pooled to {p['grid']}², seeds {seeds['train']} to "
                         f"{seeds['train'] + p['train_count'] - 1} ({p['cells_share']:g} of them Voronoi cells), arcs "
                         f"{p['arc_range']} degrees from 0, Poisson noise of the real scans",
                "validation": f"seeds {seeds['validation']} to {seeds['validation'] + p['validation_count'] - 1}, "
                              f"arcs {list(self.VALIDATION_ARCS)}",
                "test": "the real HTC2022 training scans (ta, tb, tc, td, solid_disc): never trained on"}


TASKS = {"galaxy-deconvolution": GalaxyTask, "limited-angle-ct": LimitedAngleTask}
