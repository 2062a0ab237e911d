r"""Simulated receive-coil sensitivities of a birdcage array, for MRI tests and benchmarks.

Coil :math:`c` of :math:`N` sits at angle :math:`\theta_c = 2\pi c/N` on a circle of
radius :math:`r` around the field of view :math:`[-1, 1]^2`; its sensitivity at a
point :math:`p` falls off as the inverse distance and turns its phase with the
direction from the coil, as a loop's field does:

.. math:: s_c(p) = \frac{e^{\,i(\varphi_c(p) - \theta_c)}}{|p - q_c|}, \qquad
          q_c = r(\cos\theta_c, \sin\theta_c),

normalised so that :math:`\sum_c |s_c|^2 = 1` at every pixel.
"""

from __future__ import annotations

import math

import torch


def birdcage_coil_maps(n_coils: int, shape: tuple[int, int], *, radius: float = 1.5,
                       dtype=torch.complex64) -> torch.Tensor:
    """Sensitivities ``(n_coils, rows, cols)`` with :math:`\\sum_c |s_c|^2 = 1`.

    >>> maps = birdcage_coil_maps(8, (16, 16))
    >>> maps.shape, round(float((maps.abs() ** 2).sum(0).mean()), 5)
    (torch.Size([8, 16, 16]), 1.0)
    """
    if n_coils < 1 or radius <= 1.0:
        raise ValueError(f"birdcage_coil_maps: need n_coils >= 1 and radius > 1 (outside the field of view), "
                         f"got {n_coils} and {radius}")
    rows, cols = shape
    y = torch.linspace(1, -1, rows, dtype=torch.float64)[:, None].expand(rows, cols)
    x = torch.linspace(-1, 1, cols, dtype=torch.float64)[None, :].expand(rows, cols)
    maps = []
    for c in range(n_coils):
        theta = 2 * math.pi * c / n_coils
        dx, dy = x - radius * math.cos(theta), y - radius * math.sin(theta)
        distance = torch.sqrt(dx * dx + dy * dy)
        phase = torch.atan2(dy, dx) - theta
        maps.append(torch.polar(1.0 / distance, phase))
    maps = torch.stack(maps)
    maps = maps / torch.sqrt((maps.abs() ** 2).sum(0, keepdim=True))
    return maps.to(dtype)
