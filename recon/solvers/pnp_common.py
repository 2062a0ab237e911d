"""What the plug-and-play solvers share: the squared operator norm and the denoiser call.

>>> import torch
>>> denoise = denoiser_call(lambda x, sigma: x * 0 + sigma)
>>> denoise(torch.zeros(1), 0.5).item()
0.5
"""

from __future__ import annotations

import math

import torch


def operator_norm_squared(operator, like: torch.Tensor) -> float:
    r""":math:`\|A\|_2^2` in the precision of ``like`` (cached by the operator), 1 if the operator has no ``norm``."""
    norm = getattr(operator, "norm", None)
    if norm is None:
        return 1.0
    try:
        value = norm(dtype=like.real.dtype if like.is_complex() else like.dtype, device=like.device)
    except TypeError:
        value = norm()
    return float(value) ** 2


def denoiser_call(denoiser):
    """``(x, sigma) -> x_hat`` without autograd, for a denoiser or a :class:`~recon.priors.pnp.DenoiserPrior`."""
    denoise = getattr(denoiser, "denoise", None)
    if denoise is not None:
        return denoise

    def call(x, sigma):
        with torch.no_grad():
            return denoiser(x, sigma)

    return call


def check_positive(solver: str, **values) -> None:
    """A one-line ``ValueError`` naming the first parameter that is not a positive number."""
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"{solver}: {name} must be a positive number, got {value!r}")


def momentum_step(new: torch.Tensor, previous: torch.Tensor, t: float, momentum: bool) -> tuple[torch.Tensor, float]:
    r"""FISTA's extrapolation :math:`v = x_{k+1} + \tfrac{t_k - 1}{t_{k+1}}(x_{k+1} - x_k)` and :math:`t_{k+1}`;
    ``(new, t)`` unchanged without momentum.

    >>> v, t = momentum_step(torch.tensor([2.0]), torch.tensor([1.0]), 2.0, True)
    >>> round(t, 4), round(v.item(), 4)
    (2.5616, 2.3904)
    """
    if not momentum:
        return new, t
    t_next = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
    return new + ((t - 1) / t_next) * (new - previous), t_next


def project(x: torch.Tensor, nonnegative: bool) -> torch.Tensor:
    """``max(x, 0)`` when asked (real images), else ``x``."""
    return x.clamp_min(0) if nonnegative and not x.is_complex() else x
