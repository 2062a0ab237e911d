r"""The plain ℓ1 norm :math:`\lambda\|x\|_1 = \lambda \sum_i |x_i|` on the pixels, real or complex.

Its prox is the soft threshold, exact and in closed form:

.. math::
    \operatorname{prox}_{\gamma\lambda\|\cdot\|_1}(x)_i = x_i \max\big(0,\; 1 - \gamma\lambda / |x_i|\big),

which for a real :math:`x` is :math:`\operatorname{sign}(x_i)\max(|x_i| - \gamma\lambda, 0)` and for a
complex one shrinks the modulus and keeps the phase. Wavelet-domain ℓ1 is
:class:`recon.priors.L1Wavelet`.
"""

from __future__ import annotations

import torch
from deepinv.optim import Prior


def soft_threshold(x: torch.Tensor, threshold) -> torch.Tensor:
    r""":math:`x_i \max(0, 1 - t / |x_i|)` for real or complex ``x`` (0 where :math:`x_i = 0`).

    >>> import torch
    >>> soft_threshold(torch.tensor([-3.0, 0.5, 2.0]), 1.0).tolist()
    [-2.0, 0.0, 1.0]
    >>> soft_threshold(torch.tensor([3 + 4j, 0.5j]), 1.0).abs().tolist()
    [4.0, 0.0]
    """
    magnitude = x.abs()
    shrunk = torch.clamp(magnitude - threshold, min=0.0)
    if not x.is_complex():
        return torch.sign(x) * shrunk
    return x * (shrunk / magnitude.clamp_min(torch.finfo(magnitude.dtype).tiny))


class L1(Prior):
    r""":math:`\lambda\|x\|_1`, a :class:`deepinv.optim.Prior`; ``fn`` is one value per batch element.

    :param strength: :math:`\lambda \ge 0`.

    >>> import torch
    >>> prior = L1(strength=0.5)
    >>> prior(torch.tensor([[[1.0, -2.0]]])).item()
    1.5
    >>> prior.prox(torch.tensor([1.0, -2.0, 0.2]), gamma=2.0).tolist()
    [0.0, -1.0, 0.0]
    """

    def __init__(self, strength: float = 1.0):
        super().__init__()
        if strength < 0:
            raise ValueError(f"{type(self).__name__}: strength must be >= 0, got {strength}")
        self.explicit_prior = True
        self.strength = float(strength)

    def fn(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return self.strength * x.abs().reshape(x.shape[0], -1).sum(dim=1)

    def prox(self, x: torch.Tensor, *args, gamma: float = 1.0, **kwargs) -> torch.Tensor:
        r""":math:`\operatorname{prox}_{\gamma\lambda\|\cdot\|_1}(x)`, the soft threshold at :math:`\gamma\lambda`."""
        return soft_threshold(x, gamma * self.strength)

    def __repr__(self):
        return f"{type(self).__name__}(strength={self.strength})"
