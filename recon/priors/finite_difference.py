r"""The discrete gradient :math:`\nabla` of total variation, and its adjoint :math:`\nabla^\top = -\operatorname{div}`.

Forward differences with a Neumann boundary: along each of the last ``ndim``
axes,

.. math:: (\nabla_d x)_i = x_{i+1} - x_i \quad (i < n-1), \qquad (\nabla_d x)_{n-1} = 0.

An image shaped ``(batch, channel, *spatial)`` maps to a gradient shaped
``(batch, channel, ndim, *spatial)``. :math:`\|\nabla\|_2^2 < 4\,\text{ndim}`,
and the bound is tight for large images, so :meth:`FiniteDifference.norm`
returns :math:`2\sqrt{\text{ndim}}` without iterating.
"""

from __future__ import annotations

import math

import torch


class FiniteDifference:
    r"""Forward-difference gradient over the last ``ndim`` axes (2 for images, 3 for volumes).

    >>> import torch
    >>> grad = FiniteDifference(ndim=2)
    >>> x = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    >>> grad.A(x)[0, 0]            # (axis, row, column)
    tensor([[[2., 3.],
             [0., 0.]],
    <BLANKLINE>
            [[1., 0.],
             [2., 0.]]])
    >>> float(grad.norm())
    2.8284271247461903
    """

    def __init__(self, ndim: int = 2):
        if ndim not in (1, 2, 3):
            raise ValueError(f"FiniteDifference: ndim must be 1, 2 or 3, got {ndim}")
        self.ndim = ndim

    def _check(self, t: torch.Tensor, extra: int, what: str) -> None:
        if t.dim() != self.ndim + 2 + extra or (extra and t.shape[2] != self.ndim):
            axes = f"{self.ndim}, " if extra else ""
            expected = f"(batch, channel, {axes}then {self.ndim} spatial axes)"
            raise ValueError(f"FiniteDifference(ndim={self.ndim}): expected {what} shaped {expected}, "
                             f"got {tuple(t.shape)}")

    def A(self, x: torch.Tensor) -> torch.Tensor:
        """The gradient :math:`\\nabla x`, shaped ``(batch, channel, ndim, *spatial)``."""
        self._check(x, 0, "an image")
        out = x.new_zeros((x.shape[0], x.shape[1], self.ndim, *x.shape[2:]))
        for d in range(self.ndim):
            axis = 2 + d
            n = x.shape[axis]
            out[:, :, d].narrow(axis, 0, n - 1).copy_(torch.diff(x, dim=axis))
        return out

    def A_adjoint(self, z: torch.Tensor) -> torch.Tensor:
        r"""The adjoint :math:`\nabla^\top z = -\operatorname{div} z`, shaped like the image."""
        self._check(z, 1, "a gradient field")
        out = None
        for d in range(self.ndim):
            component = z[:, :, d]
            axis = 2 + d
            n = component.shape[axis]
            # (∇ᵀp)_i = p_{i-1} - p_i, with p_{-1} = 0 and the unused p_{n-1} treated as 0.
            inner = component.narrow(axis, 0, n - 1)
            term = torch.zeros_like(component)
            term.narrow(axis, 0, n - 1).sub_(inner)
            term.narrow(axis, 1, n - 1).add_(inner)
            out = term if out is None else out.add_(term)
        return out

    def norm(self) -> float:
        r"""Upper bound :math:`2\sqrt{\text{ndim}}` on :math:`\|\nabla\|_2`, tight as the image grows."""
        return 2.0 * math.sqrt(self.ndim)

    def __repr__(self):
        return f"FiniteDifference(ndim={self.ndim})"
