r"""Benchmark problem ``mri-tv``: 8-coil Cartesian MRI, :math:`\min_x \tfrac12\|M\mathcal F S x - y\|^2 + \lambda\,\mathrm{TV}(x)`.

The set-up of the MRI issue: scikit-image's ``camera`` resized to 256² (values in
[0, 1]) as a real image, 8 simulated birdcage coils
(:func:`recon.datasets.coil_simulation.birdcage_coil_maps`, :math:`\sum_c|S_c|^2 = 1`),
4× random phase-encode columns with an 8 % fully sampled centre
(:func:`recon.operators.mri_masks.random_mask`), complex Gaussian noise with
:math:`\sigma = 0.01` on the real and on the imaginary part of every sampled
k-space value (deepinv's ``GaussianNoise`` on its two-channel data), target 28 dB.
Every method is scored by the PSNR of :math:`|x|` against the image (peak 1).

λ is relative, :math:`\lambda = s\max|A^{\mathsf H}y|` with :math:`s` = ``strength``
(0.005, where recon's best PSNR is highest, 30.2 dB; 0.006 and 0.008 give
30.1 and 29.9). Every peer solves with the same absolute λ on the same k-space
and the same maps; SigPy's and BART's TV are the anisotropic
:math:`\ell_1` norm of the differences (recon's and deepinv's are isotropic), so their
optimum differs a little. Building the problem is left out of every time;
everything after it — norm estimates, step sizes, set-up of the splits — is in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

PROBLEM = "mri-tv"
STRENGTH = 0.005
TARGET_DB = 28.0


@dataclass(frozen=True)
class MRITVSetup:
    """Sizes of the problem; the defaults are the issue's, smaller ones serve smoke tests."""

    size: int = 256
    n_coils: int = 8
    acceleration: float = 4.0
    centre_fraction: float = 0.08
    noise: float = 0.01
    strength: float = STRENGTH
    target_db: float = TARGET_DB
    max_iter: int = 300
    budget_s: float = 60.0
    seed: int = 0
    repeats: int = 1                 # runs per method; the fastest is reported

    def truth(self) -> torch.Tensor:
        """``camera`` at ``size``², values in [0, 1], shaped ``(1, 1, size, size)``."""
        from recon.datasets.phantoms import camera

        return camera(self.size)

    def mask(self) -> torch.Tensor:
        from recon.operators.mri_masks import random_mask

        return random_mask((self.size, self.size), self.acceleration, self.centre_fraction, seed=self.seed)

    def coil_maps(self) -> torch.Tensor:
        from recon.datasets.coil_simulation import birdcage_coil_maps

        return birdcage_coil_maps(self.n_coils, (self.size, self.size))

    def problem(self):
        """``(truth, mask, coil_maps, y)``: k-space ``(1, coils, size, size)`` complex64, zero off the mask."""
        from recon.operators import MultiCoilMRI

        truth, mask, maps = self.truth(), self.mask(), self.coil_maps()
        clean = MultiCoilMRI(mask, maps).A(truth)
        generator = torch.Generator().manual_seed(self.seed)
        noise = torch.complex(torch.randn(clean.shape, generator=generator),
                              torch.randn(clean.shape, generator=generator))
        return truth, mask, maps, (clean + self.noise * noise * mask).to(torch.complex64)

    def absolute_strength(self, operator, y: torch.Tensor) -> float:
        """:math:`\\lambda = s\\max|A^{\\mathsf H}y|`."""
        return self.strength * float(operator.A_adjoint(y).abs().max())
