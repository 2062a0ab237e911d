r"""A plug-and-play prior: a denoiser in the place of a proximal operator, as a ``deepinv.optim.Prior``.

The proximal operator of a regulariser :math:`\lambda R` with step :math:`\gamma`,
:math:`\arg\min_p \tfrac12\|p - x\|^2 + \gamma\lambda R(p)`, is a MAP denoiser for
Gaussian noise of variance :math:`\gamma\lambda`; plug-and-play replaces it with a
trained denoiser :math:`D(x, \sigma)` (Venkatakrishnan et al., 2013). RED uses the
same denoiser as a gradient, :math:`\nabla R(x) = x - D(x, \sigma)` (Romano et al., 2017).
There is no explicit :math:`R` for plug-and-play; :meth:`fn` gives RED's
:math:`\tfrac\lambda2\langle x, x - D(x)\rangle`.

``prox(x, sigma)`` takes the denoiser's σ as its second argument, as deepinv's ``PnP``
prior does, so the prior drops into deepinv's optimisers (``optim_builder(..., prior=...,
params_algo={"g_param": sigma, ...})``); with ``gamma=`` only, σ = √(γλ) with λ the
``strength``; with neither, the prior's own ``sigma``.

>>> import torch
>>> prior = DenoiserPrior(lambda x, sigma: x * 0 + sigma, sigma=0.2)
>>> prior.prox(torch.zeros(1, 1, 2, 2)).flatten().tolist()
[0.20000000298023224, 0.20000000298023224, 0.20000000298023224, 0.20000000298023224]
>>> round(prior.prox(torch.zeros(1, 1, 1, 1), gamma=0.0025).item(), 6)    # sigma = sqrt(gamma * strength)
0.05
"""

from __future__ import annotations

import math

import torch
from deepinv.optim import Prior


class DenoiserPrior(Prior):
    """Plug-and-play prior around ``denoiser(x, sigma)`` (recon's, deepinv's, or a ScaledDenoiser).

    :param denoiser: the denoiser.
    :param sigma: the default σ of :meth:`prox` (in the units of ``x``).
    :param strength: λ, so that ``prox(x, gamma=γ)`` denoises at σ = √(γλ).
    """

    def __init__(self, denoiser, *, sigma: float | None = None, strength: float = 1.0):
        super().__init__()
        self.denoiser = denoiser
        self.sigma = sigma
        self.strength = float(strength)
        self.explicit_prior = False

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """:math:`D(x, \\sigma)` without building a graph (solvers never differentiate through it)."""
        with torch.no_grad():
            return self.denoiser(x, sigma)

    def prox(self, x: torch.Tensor, sigma=None, *args, gamma=None, **kwargs) -> torch.Tensor:
        if sigma is None:
            if gamma is not None:
                sigma = math.sqrt(float(gamma) * self.strength)
            elif self.sigma is not None:
                sigma = self.sigma
            else:
                raise ValueError("DenoiserPrior.prox: give sigma (the denoiser's noise level) or gamma, "
                                 "or build the prior with sigma=")
        return self.denoise(x, sigma)

    def grad(self, x: torch.Tensor, sigma=None, *args, **kwargs) -> torch.Tensor:
        r"""RED's gradient :math:`\lambda\,(x - D(x, \sigma))`."""
        sigma = self.sigma if sigma is None else sigma
        return self.strength * (x - self.denoise(x, sigma))

    def fn(self, x: torch.Tensor, sigma=None, *args, **kwargs) -> torch.Tensor:
        r"""RED's regulariser :math:`\tfrac\lambda2\langle x, x - D(x, \sigma)\rangle`, one value per batch element.

        Its gradient is :meth:`grad` when :math:`D` is locally homogeneous with a symmetric
        Jacobian (Romano et al., 2017); for plug-and-play it is a diagnostic, not an objective.
        """
        sigma = self.sigma if sigma is None else sigma
        if sigma is None:
            raise ValueError("DenoiserPrior.fn: give sigma, or build the prior with sigma=")
        residual = x - self.denoise(x, sigma)
        product = (x.conj() * residual).real if x.is_complex() else x * residual
        return 0.5 * self.strength * product.reshape(x.shape[0], -1).sum(dim=1)

    def __repr__(self):
        return f"DenoiserPrior({self.denoiser!r}, sigma={self.sigma})"
