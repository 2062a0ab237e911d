r"""Joint (vectorial) total variation across bands: :math:`\lambda \sum_i \big(\sum_k \sum_d |\nabla_d x_k|_i^2\big)^{1/2}`.

For a multiband image :math:`x = (x_1, \dots, x_N)` shaped ``(batch, channel, N, H, W)``
(the layout of :class:`~recon.operators.multiband.MultibandImaging`), the gradient magnitude
at pixel :math:`i` is taken jointly over the :math:`N` bands and the 2 directions (Sapiro &
Ringach 1996; Bresson & Chan 2008). The bands then share their edges: an edge that is
certain in one band (or in their sum) costs little more where the others jump too, so
the sharp information of one band passes to the others. :class:`recon.priors.TV` on
``(batch, N, H, W)`` is the uncoupled alternative: it sums one TV per channel.

:math:`K = \nabla` acts on each band (forward differences, Neumann boundary,
:class:`~recon.priors.finite_difference.FiniteDifference`) and gives
``(batch, channel, N, 2, H, W)``; :math:`g` is the mixed norm over axes (N, 2), whose conjugate's
prox is the projection onto :math:`\{z : |z_i| \le \lambda\}`. :meth:`JointTV.prox` solves the
denoising problem by FGP on the dual (Beck & Teboulle 2009), like :class:`~recon.priors.TV`.

>>> import torch
>>> x = torch.zeros(1, 1, 2, 8, 8); x[..., 2:6, 2:6] = 1.0          # the same square in two bands
>>> round(JointTV(1.0)(x).item(), 3)                                   # sqrt(2) x one band's TV
21.799
>>> round(JointTV(1.0, coupled=False)(x).item(), 3)                    # two uncoupled TVs
30.828
"""

from __future__ import annotations

import math

import torch
from deepinv.optim import Prior

from recon.priors.finite_difference import FiniteDifference
from recon.priors.tv import dual_gradient_projection


class BandGradient:
    r""":math:`\nabla` of each band of ``(batch, channel, N, H, W)``, giving ``(batch, channel, N, 2, H, W)``."""

    ndim = 2

    def __init__(self):
        self._gradient = FiniteDifference(2)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"BandGradient: expected images shaped (batch, channel, bands, H, W), got {tuple(x.shape)}")
        b, c, n, h, w = x.shape
        return self._gradient.A(x.reshape(b, c * n, h, w)).reshape(b, c, n, 2, h, w)

    def A_adjoint(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 6 or z.shape[3] != 2:
            raise ValueError(f"BandGradient: expected a gradient shaped (batch, channel, bands, 2, H, W), "
                             f"got {tuple(z.shape)}")
        b, c, n, _, h, w = z.shape
        return self._gradient.A_adjoint(z.reshape(b, c * n, 2, h, w)).reshape(b, c, n, h, w)

    def norm(self) -> float:
        """:math:`2\\sqrt 2`, the bound of each band's gradient (the bands do not mix)."""
        return 2.0 * math.sqrt(2.0)


class JointGradientNorm:
    r""":math:`g(z) = \lambda \sum_i |z_i|`, :math:`|z_i|` the Euclidean norm over bands and directions (axes 2, 3).

    ``coupled=False`` takes it over the directions only: one isotropic TV per band, summed.
    """

    def __init__(self, strength: float, coupled: bool = True):
        self.strength = float(strength)
        self.axes = (2, 3) if coupled else (3,)

    def _magnitude(self, z: torch.Tensor) -> torch.Tensor:
        return z.square().sum(dim=self.axes, keepdim=True).sqrt()

    def fn(self, z: torch.Tensor) -> torch.Tensor:
        return self.strength * self._magnitude(z).reshape(z.shape[0], -1).sum(dim=1)

    def prox_conjugate(self, z: torch.Tensor, sigma=1.0) -> torch.Tensor:
        return z / torch.clamp(self._magnitude(z) / self.strength, min=1.0)

    def prox(self, z: torch.Tensor, gamma=1.0) -> torch.Tensor:
        magnitude = self._magnitude(z)
        return z * torch.clamp(1 - gamma * self.strength / magnitude.clamp_min(torch.finfo(z.dtype).tiny), min=0.0)


class JointTV(Prior):
    r"""Joint TV across bands, :math:`\lambda\,\mathrm{JTV}(x)` (module text), a :class:`deepinv.optim.Prior`.

    :param strength: :math:`\lambda \ge 0`.
    :param coupled: ``True`` (default) couples the bands; ``False`` is the sum of one isotropic TV per band
        (the uncoupled control, on the same layout).
    :param prox_max_iter, prox_tol: FGP iterations of :meth:`prox` and their relative-change tolerance.
    """

    def __init__(self, strength: float = 1.0, *, coupled: bool = True, prox_max_iter: int = 200,
                 prox_tol: float = 1e-5):
        super().__init__()
        if not strength >= 0:
            raise ValueError(f"JointTV: strength must be >= 0, got {strength}")
        self.explicit_prior = True
        self.strength = float(strength)
        self.coupled = bool(coupled)
        self.gradient = BandGradient()
        self.prox_max_iter, self.prox_tol = prox_max_iter, prox_tol

    def split(self) -> tuple[BandGradient, JointGradientNorm]:
        """:math:`(K, g)` with :math:`\\lambda\\mathrm{JTV} = g \\circ K`, for primal–dual solvers."""
        return self.gradient, JointGradientNorm(self.strength, self.coupled)

    def fn(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return JointGradientNorm(self.strength, self.coupled).fn(self.gradient.A(x))

    def prox(self, x: torch.Tensor, *args, gamma: float = 1.0, **kwargs) -> torch.Tensor:
        r"""Solve :math:`\min_p \tfrac12\|p - x\|^2 + \gamma\lambda\,\mathrm{JTV}(p)` (FGP on the dual)."""
        if self.strength == 0 or gamma == 0:
            return x.clone()
        ball = JointGradientNorm(self.strength * gamma, self.coupled)
        return dual_gradient_projection(x, self.gradient, ball, self.prox_max_iter, self.prox_tol)

    def __repr__(self):
        return f"JointTV(strength={self.strength}{'' if self.coupled else ', uncoupled'})"
