r"""Per-iteration ADMM penalties from the blur and the noise level: the "SubNet" of Li & Alexander (2023).

An unrolled ADMM for deconvolution needs, at each iteration :math:`k`, the penalties
:math:`\rho_{1,k}` (of the split :math:`z = x`) and :math:`\rho_{2,k}` (of :math:`v = Hx`). How
hard to lean on the data depends on how much the PSF removes and on the noise, so they are
predicted per image: a small CNN reads the PSF's power spectrum :math:`|\hat h|^2` (centred,
on the image grid), three max-pool stages (1 → 4 → 8 → 16 channels, two 3×3 conv + ReLU each),
average pooling to a 4 × 4 map, and an MLP that also takes
:math:`\log(\sigma/\alpha)` (noise level over the image's flux scale) gives
:math:`2K` numbers, made positive by a softplus:

.. math:: (\rho_{1,1..K},\ \rho_{2,1..K}) = \operatorname{softplus}\big(\mathrm{MLP}([\mathrm{CNN}(|\hat h|^2),\ \log\sigma/\alpha])\big) + 10^{-6}.

The authors' SubNet reads :math:`|\hat h|^2` zero-padded to 128² and the flux alone (their noise
level was fixed), with batch normalisation; here the noise level is an input as well, the pooling
to 4 × 4 makes the network independent of the stamp size, and there is no batch normalisation, so
each image's penalties depend on that image alone (in training too, and over several processes).

>>> import torch
>>> net = PenaltyNet(iterations=8)
>>> rho = net(torch.rand(3, 1, 48, 48), torch.tensor([0.1, 0.5, 2.0]))
>>> tuple(rho.shape), bool((rho > 0).all())            # (ρ₁ or ρ₂, iteration, batch)
((2, 8, 3), True)
"""

from __future__ import annotations

import torch
from torch import nn


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())


class PenaltyNet(nn.Module):
    """``net(power_spectrum, noise_over_flux) -> (2, iterations, batch)``: :math:`\\rho_1` and :math:`\\rho_2` (module text)."""

    def __init__(self, iterations: int = 8, width: int = 64):
        super().__init__()
        self.iterations, self.width = int(iterations), int(width)
        self.features = nn.Sequential(_stage(1, 4), _stage(4, 8), _stage(8, 16), nn.AdaptiveAvgPool2d(4))
        self.head = nn.Sequential(nn.Linear(16 * 16 + 1, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                  nn.Linear(width, 2 * iterations), nn.Softplus())

    def architecture(self) -> dict:
        return {"iterations": self.iterations, "width": self.width}

    def forward(self, power_spectrum: torch.Tensor, noise_over_flux: torch.Tensor) -> torch.Tensor:
        """:param power_spectrum: :math:`|\\hat h|^2` centred, ``(batch, 1, H, W)``; :param noise_over_flux: ``(batch,)``."""
        features = self.features(power_spectrum).flatten(1)
        level = noise_over_flux.reshape(-1, 1).to(features.dtype).clamp_min(1e-8).log()
        rho = self.head(torch.cat([features, level], dim=1)) + 1e-6
        return rho.reshape(-1, 2, self.iterations).permute(1, 2, 0)
