r"""A prior on the magnitude of a complex image: :math:`R(|x|)` for any prior :math:`R` on real images.

Radar, SAR and holography reconstruct a complex reflectivity whose phase is
random from pixel to pixel; only :math:`|x|` has structure. Oral & Öktem (IEEE
TCI 2024, "Plug-and-play regularization on magnitude with deep priors for 3D
near-field MIMO imaging") show that its prox needs nothing but the prox of
:math:`R` on the real magnitude:

.. math::
    \operatorname{prox}_{\gamma R(|\cdot|)}(z) = \operatorname{prox}_{\gamma R}(|z|) \odot e^{\,j\angle z},
    \qquad \angle 0 := 0.

Why: write :math:`p = r \odot e^{j\theta}` with :math:`r \ge 0`. Then
:math:`\tfrac12\|p - z\|^2 = \tfrac12\|r\|^2 + \tfrac12\|z\|^2 - \sum_i r_i |z_i| \cos(\theta_i - \angle z_i)`
and :math:`R(|p|) = R(r)` does not see :math:`\theta`, so :math:`\theta = \angle z` is
optimal for every :math:`r`, and what is left is

.. math::
    \min_{r \ge 0}\; \tfrac12\|r - |z|\|^2 + \gamma R(r) = \operatorname{prox}_{\gamma R + \iota_{\ge 0}}(|z|).

**The condition.** That equals :math:`\operatorname{prox}_{\gamma R}(|z|)` when the latter is
non-negative, which holds for the soft threshold (ℓ1) and for TV (its prox obeys a
maximum principle: the output lies in :math:`[\min|z|, \max|z|]`). :meth:`OnMagnitude.prox`
clamps the output at 0 all the same: for a separable convex :math:`R` the clamp
*is* the exact :math:`\iota_{\ge 0}` correction (in 1D the constrained minimiser of a
convex function is the projection of the unconstrained one), for an inexact TV prox
it removes round-off below 0, and for a denoiser, which obeys no maximum principle,
it keeps :math:`r \ge 0` so that the phase stays :math:`\angle z` and is not flipped.

The inner prior is anything with ``prox(x, gamma=...)`` on real tensors: recon's
:class:`~recon.priors.L1` and :class:`~recon.priors.TV` (``ndim=3`` for volumes), or a
denoiser wrapper (the learned 3D prior); ``fn`` is used when the inner prior has one.
A real input works too (its "phase" is the sign).

:math:`R(|x|)` is not convex in :math:`x` even for a convex :math:`R` (ℓ1 is the exception:
:math:`\|\,|x|\,\|_1 = \|x\|_1`), so a solver using it has no convergence guarantee; and TV on
:math:`|x|` is 0 on a background of constant magnitude and random phase
(:func:`recon.solvers.csalsa.csalsa` says what that means in practice).
"""

from __future__ import annotations

import torch
from deepinv.optim import Prior


def unit_phase(x: torch.Tensor, magnitude: torch.Tensor | None = None) -> torch.Tensor:
    r""":math:`e^{j\angle x} = x / |x|`, with :math:`\angle 0 := 0` (so 1 where :math:`x = 0`); the sign for real ``x``.

    >>> import torch
    >>> unit_phase(torch.tensor([3 + 4j, 0j])).tolist()
    [(0.6000000238418579+0.800000011920929j), (1+0j)]
    """
    magnitude = x.abs() if magnitude is None else magnitude
    tiny = torch.finfo(magnitude.dtype).tiny
    return torch.where(magnitude > 0, x / magnitude.clamp_min(tiny), torch.ones((), dtype=x.dtype, device=x.device))


class OnMagnitude(Prior):
    r""":math:`R(|x|)`: the prior ``prior`` applied to the magnitude of ``x``, a :class:`deepinv.optim.Prior`.

    :param prior: a prior on real images with ``prox(x, gamma=...)``; ``fn(x)`` (or calling it)
        gives :math:`R` when it has an explicit value.

    Example: ℓ1 on the magnitude is the complex soft threshold; TV on the magnitude
    smooths :math:`|x|` and keeps every pixel's phase.

    >>> import torch
    >>> from recon.priors import L1, TV
    >>> z = torch.tensor([[[3 + 4j, -1j, 0.5 + 0j]]])
    >>> OnMagnitude(L1(1.0)).prox(z, gamma=1.0).abs().flatten().tolist()
    [4.0, 0.0, 0.0]
    >>> OnMagnitude(L1(1.0))(z).item()
    6.5
    >>> volume = torch.randn(1, 1, 4, 8, 8, dtype=torch.complex64)
    >>> smoothed = OnMagnitude(TV(0.1, ndim=3)).prox(volume, gamma=1.0)
    >>> bool(torch.allclose(torch.angle(smoothed), torch.angle(volume), atol=1e-5))
    True
    """

    def __init__(self, prior):
        super().__init__()
        if not callable(getattr(prior, "prox", None)):
            raise TypeError(f"OnMagnitude: the inner prior needs a prox(x, gamma=...), {type(prior).__name__} has none")
        self.prior = prior
        self.explicit_prior = bool(getattr(prior, "explicit_prior", hasattr(prior, "fn")))

    def fn(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        r""":math:`R(|x|)`, one value per batch element."""
        value = getattr(self.prior, "fn", None)
        if value is None:
            if not self.explicit_prior or not callable(self.prior):
                raise ValueError(f"OnMagnitude: {type(self.prior).__name__} has no explicit value R(x) (only a prox); "
                                 "the objective R(|x|) cannot be evaluated")
            value = self.prior
        return value(x.abs())

    def prox(self, x: torch.Tensor, *args, gamma: float = 1.0, **kwargs) -> torch.Tensor:
        r""":math:`\max(\operatorname{prox}_{\gamma R}(|x|), 0) \odot e^{j\angle x}` (module text for the clamp)."""
        magnitude = x.abs()
        shrunk = self.prior.prox(magnitude, gamma=gamma).clamp_min(0)
        return shrunk.to(x.dtype) * unit_phase(x, magnitude)

    def __repr__(self):
        return f"{type(self).__name__}({self.prior!r})"
