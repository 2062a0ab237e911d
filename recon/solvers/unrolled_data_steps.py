r"""The least-squares data term of an unrolled solver, differentiable end to end: gradient and proximal step.

For :math:`f(x) = \tfrac12\|Ax - y\|^2` and a penalty :math:`\rho > 0` per batch element,

.. math::
    \nabla f(x) = A^{\mathsf H}(Ax - y), \qquad
    \operatorname{prox}_{f/\rho}(v) = (A^{\mathsf H}A + \rho I)^{-1}(A^{\mathsf H}y + \rho v).

:class:`OperatorDataStep` works with any recon operator: products go through
:mod:`recon.operators.differentiable` (gradients by the explicit adjoint), and the proximal step
is a fixed number of conjugate-gradient steps from ``v``, differentiated through the iterations
(unrolled CG, as learned solvers commonly do). :class:`FourierDataStep` is the closed form for
circular blurs, one per batch element (each galaxy its own PSF):

.. math:: \operatorname{prox}_{f/\rho}(v) = \mathcal F^{-1}\Big[\frac{\overline{\hat h}\,\hat y + \rho \hat v}
          {|\hat h|^2 + \rho}\Big].

>>> import torch
>>> from recon.operators.blur import Blur
>>> from recon.operators.psf import gaussian_psf
>>> blur = Blur(gaussian_psf(5, 1.0).double(), (12, 12), "circular")
>>> y = blur.A(torch.rand(2, 1, 12, 12, dtype=torch.float64))
>>> v, rho = torch.rand(2, 1, 12, 12, dtype=torch.float64), torch.tensor([0.1, 2.0], dtype=torch.float64)
>>> by_fft = FourierDataStep.from_blur(blur, y).prox(v, rho)
>>> by_cg = OperatorDataStep(blur, y, cg_steps=200).prox(v, rho)
>>> float((by_fft - by_cg).abs().max()) < 1e-8
True
"""

from __future__ import annotations

import torch

from recon.operators.differentiable import apply_A, apply_A_adjoint, apply_normal


def per_batch(value, like: torch.Tensor) -> torch.Tensor:
    """A float or ``(batch,)`` tensor as ``(batch, 1, ..., 1)``, broadcastable against ``like``."""
    value = torch.as_tensor(value, dtype=like.real.dtype if like.is_complex() else like.dtype, device=like.device)
    if value.ndim == 0:
        value = value.expand(like.shape[0])
    return value.reshape(-1, *([1] * (like.ndim - 1)))


class OperatorDataStep:
    """``gradient`` and ``prox`` of :math:`\\tfrac12\\|Ax - y\\|^2` for any recon operator (module text)."""

    def __init__(self, operator, y: torch.Tensor, *, cg_steps: int = 10):
        if cg_steps < 1:
            raise ValueError(f"OperatorDataStep: cg_steps must be >= 1, got {cg_steps}")
        self.operator, self.y, self.cg_steps = operator, y, int(cg_steps)
        self._Aty = None

    @property
    def Aty(self) -> torch.Tensor:
        r""":math:`A^{\mathsf H}y`, computed on first use (a learned primal–dual never needs it)."""
        if self._Aty is None:
            self._Aty = apply_A_adjoint(self.operator, self.y)
        return self._Aty

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return apply_A(self.operator, x)

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return apply_A_adjoint(self.operator, y)

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        return apply_normal(self.operator, x) - self.Aty

    def prox(self, v: torch.Tensor, rho) -> torch.Tensor:
        """``cg_steps`` CG steps on :math:`(A^{\\mathsf H}A + \\rho I)x = A^{\\mathsf H}y + \\rho v` from ``v``."""
        rho = per_batch(rho, v)
        x = v
        residual = self.Aty + rho * v - (apply_normal(self.operator, x) + rho * x)
        direction = residual
        power = _batch_dot(residual, residual)
        for _ in range(self.cg_steps):
            product = apply_normal(self.operator, direction) + rho * direction
            step = power / _batch_dot(direction, product).clamp_min(torch.finfo(power.dtype).tiny)
            x = x + step * direction
            residual = residual - step * product
            new_power = _batch_dot(residual, residual)
            direction = residual + (new_power / power.clamp_min(torch.finfo(power.dtype).tiny)) * direction
            power = new_power
        return x


def _batch_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """:math:`\\mathrm{Re}\\langle a_b, b_b\\rangle` per batch element, shaped ``(batch, 1, ..., 1)``."""
    product = (a.conj() * b).real if a.is_complex() else a * b
    return product.sum(dim=tuple(range(1, a.ndim)), keepdim=True)


class FourierDataStep:
    """``gradient`` and ``prox`` for circular blurs with one transfer function per batch element (module text).

    :param transfer: :math:`\\hat h`, the ``rfft2`` of each PSF on the image grid, ``(batch, 1, H, W // 2 + 1)``.
    :param y: the blurred images ``(batch, 1, H, W)``.
    """

    def __init__(self, transfer: torch.Tensor, y: torch.Tensor):
        self.transfer, self.y = transfer, y
        self.shape = tuple(y.shape[-2:])
        self._y_hat = torch.fft.rfft2(y)
        self._gram = transfer.real ** 2 + transfer.imag ** 2          # |ĥ|²

    @classmethod
    def from_blur(cls, blur, y: torch.Tensor) -> "FourierDataStep":
        """The step of a circular :class:`~recon.operators.blur.Blur` (one PSF for the batch)."""
        if blur.boundary != "circular":
            raise ValueError(f"FourierDataStep needs a circular blur, got boundary {blur.boundary!r}")
        return cls(blur._spectrum(y).expand(y.shape[0], 1, -1, -1), y)

    @property
    def gram_symbol(self) -> torch.Tensor:
        """:math:`|\\hat h|^2`, ``(batch, 1, H, W // 2 + 1)``."""
        return self._gram

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return torch.fft.irfft2(self.transfer * torch.fft.rfft2(x), s=self.shape)

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return torch.fft.irfft2(self.transfer.conj() * torch.fft.rfft2(y), s=self.shape)

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        residual_hat = self.transfer * torch.fft.rfft2(x) - self._y_hat
        return torch.fft.irfft2(self.transfer.conj() * residual_hat, s=self.shape)

    def prox(self, v: torch.Tensor, rho) -> torch.Tensor:
        rho = per_batch(rho, v)
        numerator = self.transfer.conj() * self._y_hat + rho * torch.fft.rfft2(v)
        return torch.fft.irfft2(numerator / (self._gram + rho), s=self.shape)
