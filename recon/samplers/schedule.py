r"""Noise levels for diffusion samplers: Karras et al.'s (EDM) schedule, in the units of the image.

.. math::
    \sigma_i = \Big(\sigma_\max^{1/\rho} + \tfrac{i}{N-1}\big(\sigma_\min^{1/\rho} - \sigma_\max^{1/\rho}\big)\Big)^\rho,
    \qquad i = 0, \dots, N-1,

with :math:`\rho = 7`: dense steps at small σ, where the image's detail is decided. A diffusion model
in the variance-exploding form :math:`x_\sigma = x + \sigma n` (recon's score networks,
:class:`recon.networks.edm.EDMDenoiser`) is equivalent to the variance-preserving DDPM form
:math:`x_t = \sqrt{\bar\alpha_t}\,x + \sqrt{1 - \bar\alpha_t}\,n` through
:math:`\sigma^2 = (1 - \bar\alpha_t)/\bar\alpha_t`, which is how the papers' DDPM formulas are
translated here.

>>> [round(s, 4) for s in karras_sigmas(3, sigma_max=1.0, sigma_min=0.01).tolist()]
[1.0, 0.1451, 0.01]
"""

from __future__ import annotations

import torch


def karras_sigmas(steps: int, *, sigma_max: float, sigma_min: float, rho: float = 7.0) -> torch.Tensor:
    """The ``steps`` noise levels from ``sigma_max`` down to ``sigma_min`` (float64)."""
    if steps < 1:
        raise ValueError(f"karras_sigmas: steps must be >= 1, got {steps}")
    if not 0 < sigma_min <= sigma_max:
        raise ValueError(f"karras_sigmas: need 0 < sigma_min <= sigma_max, got {sigma_min}, {sigma_max}")
    if steps == 1:
        return torch.tensor([float(sigma_max)], dtype=torch.float64)
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    high, low = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return (high + ramp * (low - high)) ** rho
