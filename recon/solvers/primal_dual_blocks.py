r"""The row blocks of :math:`M = [A; K]` in :func:`recon.solvers.pdhg`, each with its dual variable and steps.

A block knows its linear map (``forward``, ``adjoint``), its dual step size
:math:`\Sigma_B`, its share of the inverse primal step (``column_sums``, so that
:math:`T^{-1} = \sum_B \text{column\_sums}_B`), how to take a dual step
:math:`u^+ = \operatorname{prox}_{\Sigma_B F_B^*}(u + \Sigma_B B\bar x)`, and the norm
of its dual residual :math:`\Sigma_B^{-1}(u - u^+) - B(x - x^+)`.

Steps are valid when :math:`\|\Sigma^{1/2} M T^{1/2}\| \le 1`. By Cauchy–Schwarz
(Pock & Chambolle, 2011) that holds when every block either uses
:math:`\Sigma_i = 1/\sum_j |B_{ij}|` and adds :math:`\sum_i |B_{ij}|` to column
:math:`j`, or uses a scalar :math:`\sigma = s/\|B\|` and adds :math:`s\|B\|` to every
column (any :math:`s > 0`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import torch

from recon.euclidean import euclidean_norm

log = logging.getLogger(__name__)


@dataclass
class DualBlock:
    """One row block :math:`B` of :math:`M` with a diagonal (or scalar) dual step."""

    name: str
    forward: Callable            # x -> B x
    adjoint: Callable            # u -> Bᵀ u
    prox_conjugate: Callable     # (v, sigma) -> prox_{sigma F*}(v)
    sigma: object                # float or tensor shaped like B x
    column_sums: object          # float or tensor shaped like x
    value: Callable              # B x -> F(B x), one value per batch element

    def dual_step(self, u: torch.Tensor, forward_bar: torch.Tensor, ratio: float) -> torch.Tensor:
        r""":math:`\operatorname{prox}_{\Sigma F^*}(u + \Sigma B\bar x)` with :math:`\Sigma` divided by ``ratio``."""
        sigma = self.sigma / ratio
        return self.prox_conjugate(u + sigma * forward_bar, sigma)

    def dual_residual_norm(self, u, u_new, forward_x, forward_new, ratio: float) -> float:
        r""":math:`\|\Sigma^{-1}(u - u^+) - B(x - x^+)\|`."""
        return float(euclidean_norm((u - u_new).div_(self.sigma / ratio).add_(forward_new - forward_x)))


def operator_norm(operator, x_like: torch.Tensor) -> float:
    """:math:`\\|A\\|_2` from the operator's cached ``norm()`` (in the dtype and device of ``x_like``)."""
    from recon.operators.base import Operator

    if isinstance(operator, Operator):
        return float(operator.norm(dtype=x_like.real.dtype, device=x_like.device))
    return float(operator.norm())


def _absolute_sums(operator, x_like: torch.Tensor):
    """Σ = 1/(A 1) and column sums Aᵀ 1, exact for an operator with non-negative entries."""
    row_sums = operator.A(torch.ones_like(x_like))
    column_sums = operator.A_adjoint(torch.ones_like(row_sums))
    # A ray that misses the image has a zero row; any finite step works there.
    sigma = torch.where(row_sums > 0, 1.0 / row_sums.clamp_min(torch.finfo(row_sums.dtype).tiny), 1.0)
    return sigma, column_sums


def data_block(operator, data, y: torch.Tensor, x_like: torch.Tensor, diagonal: bool) -> DualBlock:
    """The block of :math:`f(Ax)`: diagonal steps when :math:`A \\ge 0` entrywise and asked for, else 1/‖A‖."""
    if diagonal and getattr(operator, "has_nonnegative_entries", False):
        sigma, column_sums = _absolute_sums(operator, x_like)
    else:
        if diagonal:
            log.info("pdhg: %s does not declare non-negative entries; using 1/||A|| for its dual step",
                     type(operator).__name__)
        norm = operator_norm(operator, x_like)
        sigma, column_sums = 1.0 / norm, norm
    return DualBlock("data", operator.A, operator.A_adjoint, lambda v, s: data.prox_conjugate(v, y, s),
                     sigma, column_sums, lambda v: data.fn(v, y))


def prior_block(prior, diagonal: bool, scale: float) -> DualBlock:
    """The block of :math:`g(Kx)` from ``prior.split()``; ``scale`` is :math:`s` of the module text."""
    if not hasattr(prior, "split"):
        raise ValueError(f"pdhg: the prior {type(prior).__name__} has no split() into (K, g); "
                         "use fista or admm, which need only its prox")
    K, g = prior.split()
    if diagonal and type(K).__name__ == "FiniteDifference":
        # Each row of ∇ holds +1 and -1; each column meets 2 rows per axis.
        sigma, column_sums = 0.5, 2.0 * K.ndim
    else:
        norm = float(K.norm())
        sigma, column_sums = 1.0 / norm, norm
    return DualBlock("prior", K.A, K.A_adjoint, g.prox_conjugate, scale * sigma, scale * column_sums, g.fn)
