r"""Tikhonov regularisation :math:`\tfrac\lambda2 \|Lx\|_2^2` with :math:`L = I` or :math:`L = \nabla`.

:math:`\nabla` is :class:`recon.priors.FiniteDifference` (forward differences,
Neumann boundary), so :math:`\|\nabla x\|^2` penalises roughness and leaves
constants free. The prox solves :math:`(I + \gamma\lambda L^\top L)\,p = x`:

* :math:`L = I`: :math:`p = x / (1 + \gamma\lambda)`;
* :math:`L = \nabla`: the screened Poisson equation, solved exactly by
  :func:`solve_screened_poisson`. :math:`\nabla^\top\nabla` with this boundary is
  the Neumann Laplacian, which the DCT-II diagonalises
  (:mod:`recon.priors.cosine_transform`): a DCT along each axis, a division by
  :math:`1 + c\sum_d 4\sin^2(\pi k_d / 2n_d)` and the inverse DCTs give :math:`p`.

:meth:`Tikhonov.split` returns :math:`(L, \tfrac\lambda2\|\cdot\|^2)` for primal–dual solvers.
"""

from __future__ import annotations

import math

import torch
from deepinv.optim import Prior

from recon.priors.cosine_transform import dct, idct
from recon.priors.finite_difference import FiniteDifference

OPERATORS = ("identity", "gradient")


def solve_screened_poisson(x: torch.Tensor, weight: float, ndim: int = 2) -> torch.Tensor:
    r"""Solve :math:`(I + c\,\nabla^\top\nabla)\,p = x` exactly, :math:`\nabla` = :class:`FiniteDifference` (Neumann).

    :param x: real or complex tensor shaped ``(batch, channel, *spatial)`` with ``ndim`` spatial axes.
    :param weight: :math:`c \ge 0`.

    The eigenvalues of :math:`\nabla^\top\nabla` are :math:`\sum_d 4\sin^2(\pi k_d / 2n_d)`,
    :math:`k_d = 0, \dots, n_d - 1`, with the DCT-II basis as eigenvectors.

    >>> import torch
    >>> x = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64)   # ∇ᵀ∇ = [[1, -1], [-1, 1]]
    >>> solve_screened_poisson(x, 1.0, ndim=1)                    # (I + ∇ᵀ∇)⁻¹ x
    tensor([[[0.6667, 0.3333]]], dtype=torch.float64)
    """
    if weight < 0:
        raise ValueError(f"solve_screened_poisson: weight must be >= 0, got {weight}")
    if x.dim() != ndim + 2:
        raise ValueError(f"solve_screened_poisson: expected x shaped (batch, channel, then {ndim} spatial axes), "
                         f"got {tuple(x.shape)}")
    if weight == 0:
        return x.clone()
    axes = tuple(range(2, 2 + ndim))
    coefficients = x
    for axis in axes:
        coefficients = dct(coefficients, axis)
    real_dtype = x.real.dtype
    denominator = torch.ones((), dtype=real_dtype, device=x.device)
    for n in x.shape[2:]:
        k = torch.arange(n, dtype=real_dtype, device=x.device)
        denominator = denominator.unsqueeze(-1) + weight * 4 * torch.sin(math.pi * k / (2 * n)) ** 2
    solution = coefficients / denominator
    for axis in axes:
        solution = idct(solution, axis)
    return solution


class Identity:
    r"""The identity map :math:`L = I` with ``A``, ``A_adjoint`` and ``norm() = 1``.

    >>> import torch
    >>> Identity().A(torch.ones(2)).tolist(), Identity().norm()
    ([1.0, 1.0], 1.0)
    """

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def norm(self) -> float:
        return 1.0

    def __repr__(self):
        return "Identity()"


class SquaredNorm:
    r""":math:`g(z) = \tfrac\lambda2 \|z\|_2^2`, one value per batch element.

    :meth:`prox` is :math:`z / (1 + \gamma\lambda)`; :meth:`prox_conjugate` is that of
    :math:`g^*(u) = \|u\|^2 / (2\lambda)`, :math:`u / (1 + \sigma/\lambda)`.

    >>> import torch
    >>> g = SquaredNorm(2.0)
    >>> z = torch.tensor([[3.0, 4.0]])
    >>> g.fn(z).item(), g.prox(z, 0.5).tolist(), g.prox_conjugate(z, 2.0).tolist()
    (25.0, [[1.5, 2.0]], [[1.5, 2.0]])
    """

    def __init__(self, strength: float):
        self.strength = float(strength)

    def fn(self, z: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.strength * (z.abs() ** 2).reshape(z.shape[0], -1).sum(dim=1)

    def prox(self, z: torch.Tensor, gamma=1.0) -> torch.Tensor:
        return z / (1 + gamma * self.strength)

    def prox_conjugate(self, u: torch.Tensor, sigma=1.0) -> torch.Tensor:
        if self.strength == 0:
            # g = 0: g* is the indicator of {0}.
            return torch.zeros_like(u)
        return u / (1 + sigma / self.strength)


class Tikhonov(Prior):
    r"""Tikhonov regularisation :math:`\tfrac\lambda2\|Lx\|_2^2`, a :class:`deepinv.optim.Prior`.

    :param strength: :math:`\lambda \ge 0`.
    :param operator: ``"identity"`` (:math:`L = I`) or ``"gradient"`` (:math:`L = \nabla`, Neumann forward differences).
    :param ndim: spatial axes of the gradient: 2 for ``(batch, channel, H, W)``, 3 for volumes.

    >>> import torch
    >>> x = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]], dtype=torch.float64)
    >>> Tikhonov(2.0, "gradient")(x).item()          # (2/2) * (1 + 1)
    2.0
    >>> Tikhonov(1.0).prox(x, gamma=1.0)[0, 0, 0].tolist()
    [0.0, 0.5]
    """

    def __init__(self, strength: float = 1.0, operator: str = "identity", ndim: int = 2):
        super().__init__()
        if strength < 0:
            raise ValueError(f"{type(self).__name__}: strength must be >= 0, got {strength}")
        if operator not in OPERATORS:
            raise ValueError(f"{type(self).__name__}: operator must be one of {', '.join(OPERATORS)}, got {operator!r}")
        self.explicit_prior = True
        self.strength = float(strength)
        self.operator = operator
        self.ndim = ndim
        self.linear = FiniteDifference(ndim) if operator == "gradient" else Identity()

    def split(self):
        """:math:`(K, g) = (L, \\tfrac\\lambda2\\|\\cdot\\|^2)` for primal–dual solvers."""
        return self.linear, SquaredNorm(self.strength)

    def fn(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return SquaredNorm(self.strength).fn(self.linear.A(x))

    def prox(self, x: torch.Tensor, *args, gamma: float = 1.0, **kwargs) -> torch.Tensor:
        r"""Solve :math:`(I + \gamma\lambda L^\top L)\,p = x`, the minimiser of
        :math:`\tfrac12\|p-x\|^2 + \gamma\tfrac\lambda2\|Lp\|^2`.
        """
        if self.operator == "identity":
            return x / (1 + gamma * self.strength)
        return solve_screened_poisson(x, float(gamma) * self.strength, self.ndim)

    def __repr__(self):
        return f"{type(self).__name__}(strength={self.strength}, operator={self.operator!r}, ndim={self.ndim})"
