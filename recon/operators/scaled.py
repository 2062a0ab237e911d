r"""An operator times a positive number, :math:`cA`, sharing :math:`A`'s projection matrix and cached norm.

The experiments solve CT problems in pixel units: with lengths in millimetres
or metres the entries of :math:`A` (intersection lengths) are that small, and
step-size rules that balance :math:`A` against the unit-free gradient of TV
need many more iterations. Since

.. math:: \tfrac12\|Ax - y\|^2 + \lambda R(x) = p^2\Big(\tfrac12\|\tfrac{1}{p}Ax - \tfrac{y}{p}\|^2
          + \tfrac{\lambda}{p^2} R(x)\Big),

solving with :math:`A/p`, :math:`y/p` and :math:`\lambda/p^2` (:math:`p` the pixel size)
gives the same minimiser :math:`x`, in the original units.
"""

from __future__ import annotations

import torch

from recon.operators.base import Operator


class ScaledOperator(Operator):
    r""":math:`cA` for an operator :math:`A` and a number :math:`c > 0`.

    >>> import math, torch
    >>> from recon.operators import ParallelBeamCT
    >>> A = ParallelBeamCT(torch.linspace(0, math.pi, 9)[:-1], 12, image_shape=(8, 8), pixel_size=0.5)
    >>> B = ScaledOperator(A, 2.0)
    >>> x = torch.rand(1, 1, 8, 8)
    >>> bool(torch.allclose(B.A(x), 2 * A.A(x))), round(float(B.norm()) / float(A.norm()), 6)
    (True, 2.0)
    """

    def __init__(self, operator, factor: float):
        factor = float(factor)
        if not factor > 0:
            raise ValueError(f"ScaledOperator: factor must be positive, got {factor}")
        super().__init__(operator.domain_shape, operator.range_shape)
        self.inner = operator
        self.factor = factor
        self.has_nonnegative_entries = getattr(operator, "has_nonnegative_entries", False)
        self.supports_ramp_preconditioning = getattr(operator, "supports_ramp_preconditioning", False)

    def A(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return self.factor * self.inner.A(x)

    def A_adjoint(self, y: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return self.factor * self.inner.A_adjoint(y)

    def norm(self, *, dtype: torch.dtype = torch.float32, device="cpu", **kwargs) -> torch.Tensor:
        return self.factor * self.inner.norm(dtype=dtype, device=device, **kwargs)

    def __repr__(self):
        return f"{self.factor:g} * {self.inner!r}"
