r"""Benchmark problem ``ct-tv``: few-view CT of Shepp–Logan, :math:`\min_x \tfrac12\|Ax - y\|^2 + 0.1\,\mathrm{TV}(x)`.

The set-up of the variational issue: a 256² Shepp–Logan phantom (values in
[0, 1]), 60 parallel-beam views over 180°, 1 % Gaussian noise, :math:`x_0 = 0`,
isotropic TV with weight 0.1, target 33 dB PSNR. "1 % noise" is read as
deepinv's ``GaussianNoise(sigma=0.01)`` (the library the issue's peer figures
were measured with): :math:`\sigma = 0.01` per detector bin, 1 % of the
phantom's range. ``noise_kind="relative"`` reads it as
:math:`\|n\| = 0.01\|Ax\|` instead (recon's :func:`add_gaussian_noise`),
about 30 times more noise here; the optimum of the λ = 0.1 problem then has
only about 34 dB, whatever the solver.

Each library reconstructs with its own discretisation of the ray transform, so
each gets its own noisy sinogram of the same phantom (same noise level, same
seed); all are scored against the same phantom. Building an operator (recon's
projection matrix, deepinv's ``Tomography``, ODL's ``RayTransform``) is left out
of every time; everything after it — norm estimates, preconditioners — is in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

PROBLEM = "ct-tv"
STRENGTH = 0.1
TARGET_DB = 33.0


@dataclass(frozen=True)
class CTTVSetup:
    """Sizes of the problem; the defaults are the issue's, smaller ones serve smoke tests."""

    size: int = 256
    n_views: int = 60
    noise: float = 0.01
    noise_kind: str = "absolute"
    strength: float = STRENGTH
    target_db: float = TARGET_DB
    max_iter: int = 300
    budget_s: float = 60.0
    seed: int = 0
    repeats: int = 1                 # runs per method; the fastest is reported

    @property
    def angles(self) -> torch.Tensor:
        return torch.linspace(0, math.pi, self.n_views + 1, dtype=torch.float64)[:-1]

    @property
    def n_detectors(self) -> int:
        return int(math.ceil(self.size * math.sqrt(2))) + 2

    def truth(self) -> torch.Tensor:
        from recon.datasets.phantoms import shepp_logan

        return shepp_logan(self.size)

    def noisy(self, clean: torch.Tensor) -> torch.Tensor:
        from recon.datasets.simulate import add_gaussian_noise

        if self.noise_kind == "relative":
            return add_gaussian_noise(clean, self.noise, seed=self.seed)
        if self.noise_kind != "absolute":
            raise ValueError(f"ct-tv: noise_kind must be 'absolute' or 'relative', got {self.noise_kind!r}")
        generator = torch.Generator().manual_seed(self.seed)
        return clean + self.noise * torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
