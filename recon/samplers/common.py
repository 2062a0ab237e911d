"""What every sampler shares: seeded Gaussian draws and the check of the measurement's noise level."""

from __future__ import annotations

import torch


def gaussian(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, drawn on the CPU from ``generator`` (same samples on any device)."""
    return torch.randn(like.shape, generator=generator, dtype=like.dtype).to(like.device)


def check_noise_sigma(noise_sigma: float, name: str) -> float:
    if not noise_sigma > 0:
        raise ValueError(f"{name}: noise_sigma (the measurement's noise level) must be positive, got {noise_sigma}")
    return float(noise_sigma)
