"""What every sampler shares: seeded Gaussian draws and the check of the measurement's noise level."""

from __future__ import annotations

import torch


def gaussian(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, drawn on the CPU from ``generator`` (same samples on any device).

    For a complex ``like`` the real and imaginary parts are each standard normal (a complex image is a
    pair of real images, as complex images are denoised part by part), not ``torch.randn``'s
    circular normal of variance 1 in total, which would put σ/√2 of noise on each part.

    >>> z = gaussian(torch.zeros(20000, dtype=torch.complex128), torch.Generator().manual_seed(0))
    >>> round(float(z.real.var()), 1), round(float(z.imag.var()), 1)
    (1.0, 1.0)
    """
    if like.is_complex():
        real = like.real.dtype
        parts = torch.randn((2, *like.shape), generator=generator, dtype=real)
        return torch.complex(parts[0], parts[1]).to(like.device)
    return torch.randn(like.shape, generator=generator, dtype=like.dtype).to(like.device)


def check_noise_sigma(noise_sigma: float, name: str) -> float:
    if not noise_sigma > 0:
        raise ValueError(f"{name}: noise_sigma (the measurement's noise level) must be positive, got {noise_sigma}")
    return float(noise_sigma)
