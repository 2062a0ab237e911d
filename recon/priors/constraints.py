r"""Convex constraints as priors: the indicator :math:`\iota_C(x)` (0 on :math:`C`, :math:`+\infty` off it).

Their prox is the projection onto :math:`C` whatever the step, so solvers use
them as the simple term :math:`h` (``constraint=`` of :func:`recon.solvers.pdhg`).
"""

from __future__ import annotations

import torch
from deepinv.optim import Prior


def _real(x: torch.Tensor, name: str) -> None:
    if x.is_complex():
        raise ValueError(f"{name}: the constraint is defined on real images, got a {x.dtype} tensor")


class Box(Prior):
    r"""The box :math:`\{x : \text{lower} \le x_i \le \text{upper}\}`; either bound may be ``None``.

    >>> import torch
    >>> box = Box(0.0, 1.0)
    >>> box.prox(torch.tensor([-0.5, 0.3, 2.0])).tolist()
    [0.0, 0.30000001192092896, 1.0]
    >>> box(torch.tensor([[0.5, 2.0]])).item()
    inf
    """

    def __init__(self, lower: float | None = None, upper: float | None = None):
        super().__init__()
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"{type(self).__name__}: lower bound {lower} exceeds upper bound {upper}")
        self.explicit_prior = True
        self.lower, self.upper = lower, upper

    def fn(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        _real(x, type(self).__name__)
        inside = torch.ones_like(x, dtype=torch.bool)
        if self.lower is not None:
            inside &= x >= self.lower
        if self.upper is not None:
            inside &= x <= self.upper
        feasible = inside.reshape(x.shape[0], -1).all(dim=1)
        return torch.where(feasible, 0.0, float("inf")).to(x.dtype)

    def prox(self, x: torch.Tensor, *args, gamma: float = 1.0, **kwargs) -> torch.Tensor:
        _real(x, type(self).__name__)
        return torch.clamp(x, min=self.lower, max=self.upper)

    def __repr__(self):
        return f"{type(self).__name__}(lower={self.lower}, upper={self.upper})"


class NonNegativity(Box):
    r"""The non-negative orthant :math:`\{x : x_i \ge 0\}` (attenuation, emission and photon-count images).

    >>> import torch
    >>> NonNegativity().prox(torch.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self):
        super().__init__(lower=0.0)

    def __repr__(self):
        return "NonNegativity()"
