r"""ADMM in scaled form (Boyd et al., 2011) for :math:`\min_x f(Ax) + w\,g(x)`, with CG for the x-update.

The problem is split into :math:`\min_x q(x) + \sum_i f_i(z_i)` subject to
:math:`M_i x = z_i`, and with the penalty :math:`\rho` one iteration is

.. math::
    x^+ &= \arg\min_x\; q(x) + \tfrac\rho2 \textstyle\sum_i \|M_i x - z_i + u_i\|^2
          \quad\text{(conjugate gradients, warm-started at } x\text{)}, \\
    z_i^+ &= \operatorname{prox}_{f_i/\rho}(M_i x^+ + u_i), \qquad u_i^+ = u_i + M_i x^+ - z_i^+.

The splits:

* ``split="prox"``: :math:`M = I`, :math:`f = w\,g`, so :math:`z = \operatorname{prox}_{w g/\rho}(x + u)`
  through the prior's own ``prox``; any prior with a prox works (deepinv's
  ``TVPrior``, ``L1Prior``, recon's constraints...).
* ``split="linear"``: for a prior with ``split()`` :math:`= (K, g)` (TV), :math:`M = K`,
  :math:`f = w\,g`; :math:`z = \operatorname{prox}_{w g/\rho}(Kx + u)` is a shrinkage
  with no inner iterations, and the x-update solves
  :math:`(A^\mathsf{H}A + \rho K^\mathsf{H}K)\,x = A^\mathsf{H}y + \rho K^\mathsf{H}(z - u)`:
  the classical fast TV-ADMM.
* ``"auto"``: ``"linear"`` when the prior has ``split()``, else ``"prox"``.

With :class:`~recon.solvers.data_terms.LeastSquares` the data term stays in the
x-update, :math:`q(x) = \tfrac12\|Ax - y\|^2`. Any other data term (Poisson,
weighted least squares) gets a split of its own, :math:`v = Ax` with
:math:`v^+ = \operatorname{prox}_{f/\rho}(Ax^+ + u_v)` from its ``prox`` (SALSA,
Afonso, Bioucas-Dias & Figueiredo, 2011); then :math:`q = 0` and the x-update is
:math:`(A^\mathsf{H}A + M^\mathsf{H}M)\,x = A^\mathsf{H}(v - u_v) + M^\mathsf{H}(z - u_z)`.
With no prior, an identity split with a zero prior keeps that system definite
(the proximal-point method).

**Residuals** (Boyd §3.3): primal :math:`r = \|Mx - z\|`, dual
:math:`s = \rho\|M^\mathsf{H}(z - z_{\text{prev}})\|` over all splits. The recorded
residual is :math:`\max\big(r/\max(\|Mx\|, \|z\|),\; s/(\rho\max(\|M^\mathsf{H}u\|, \|M^\mathsf{H}z\|))\big)`
(Boyd's scale :math:`\|\rho M^\mathsf{H}u\|` alone vanishes when the prior is flat at the optimum), and
``residual_tol`` stops on it (Boyd's relative criterion). ``balance_penalty``
applies Boyd's residual balancing (§3.4.1): :math:`\rho \leftarrow 2\rho` when
:math:`r > 10 s`, :math:`\rho/2` when :math:`s > 10 r`, rescaling :math:`u`.

**Estimate.** ``"linear"`` returns :math:`x`; ``"prox"`` returns :math:`z`, the
output of the prior's prox, so a constraint used as the prior holds exactly. The
objective :math:`f(A\hat x) + w\,g(\hat x)` and the relative change are those of
that estimate :math:`\hat x`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from recon.euclidean import euclidean_norm
from recon.solvers.common import IterationLoop, Result, Stopping
from recon.solvers.conjugate_gradient import conjugate_gradient, real_inner
from recon.solvers.data_terms import LeastSquares
from recon.solvers.fista import prior_value

SPLITS = ("auto", "prox", "linear")

_STEP_HINT = "the penalty rho is badly scaled or the CG inner solves are too inexact (raise cg_max_iter)"


@dataclass
class _Split:
    """One constraint :math:`Mx = z` and the prox of the function on :math:`z`."""

    forward: Callable      # x -> M x
    adjoint: Callable      # z -> Mᴴ z
    prox: Callable         # (v, gamma) -> prox_{gamma f}(v)
    z: torch.Tensor | None = None
    u: torch.Tensor | None = None


def _identity(t):
    return t


def _choose_split(requested: str, prior) -> str:
    if requested not in SPLITS:
        raise ValueError(f"admm: split must be one of {', '.join(SPLITS)}, got {requested!r}")
    has_split = prior is not None and hasattr(prior, "split")
    if requested == "linear" and not has_split:
        raise ValueError(f"admm: split='linear' needs a prior with split() -> (K, g); "
                         f"{type(prior).__name__} has none, use split='prox'")
    if requested == "auto":
        return "linear" if has_split else "prox"
    return requested


def admm(y: torch.Tensor, operator, prior=None, *, data=None, penalty: float = 1.0, prior_weight: float = 1.0,
         split: str = "auto", cg_max_iter: int = 20, cg_tol: float = 1e-6, balance_penalty: bool = False,
         x0: torch.Tensor | None = None, stopping: Stopping = Stopping(), callback=None) -> Result:
    r"""Minimise ``data(A x, y) + prior_weight * prior(x)`` by scaled ADMM with CG inner solves.

    :param y: measurement, shaped like ``operator.A(x)``.
    :param operator: a linear operator with ``A`` and ``A_adjoint``.
    :param prior: a prior with ``prox(x, gamma=...)`` (recon or deepinv), or with ``split()`` for
        ``split="linear"``, or ``None``.
    :param data: a data term with ``fn`` and ``prox`` (default :class:`~recon.solvers.data_terms.LeastSquares`).
    :param penalty: :math:`\rho > 0`.
    :param prior_weight: :math:`w \ge 0` (deepinv priors carry no strength of their own).
    :param split: ``"auto"``, ``"prox"`` or ``"linear"`` (module text).
    :param cg_max_iter, cg_tol: the conjugate-gradient x-update's step cap and relative tolerance
        :math:`\|b - Mx\| \le \text{tol}\,\|b\|`; it bounds how close ADMM can get (on a 16² CT
        least-squares problem the default 1e-6 stalled at 3e-3 of the lstsq solution, 1e-12 with ρ = 0.01 reached 1e-8).
    :param balance_penalty: adapt :math:`\rho` by residual balancing.
    :param x0: start (default zeros).
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.

    Example: TV denoising of a noisy square.

    >>> import torch
    >>> from recon.priors import TV, Identity
    >>> truth = torch.zeros(1, 1, 32, 32); truth[..., 8:24, 8:24] = 1.0
    >>> noisy = truth + 0.2 * torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    >>> result = admm(noisy, Identity(), TV(0.15), penalty=2.0, stopping=Stopping(max_iter=30))
    >>> bool(((result.x - truth).norm() < 0.5 * (noisy - truth).norm()).item())
    True
    """
    if not penalty > 0:
        raise ValueError(f"admm: penalty must be positive, got {penalty}")
    if prior_weight < 0:
        raise ValueError(f"admm: prior_weight must be >= 0, got {prior_weight}")
    mode = _choose_split(split, prior)
    data = LeastSquares() if data is None else data
    loop = IterationLoop("admm", stopping, step_hint=_STEP_HINT, callback=callback)  # setup time counts too
    x = torch.zeros_like(operator.A_adjoint(y)) if x0 is None else x0.clone()

    folded = type(data) is LeastSquares
    splits = [] if folded else [_Split(operator.A, operator.A_adjoint, lambda v, g: data.prox(v, y, g))]
    if mode == "linear":
        K, norm = prior.split()
        splits.append(_Split(K.A, K.A_adjoint, lambda v, gamma: norm.prox(v, gamma=gamma * prior_weight)))
    elif prior is None or prior_weight == 0:
        splits.append(_Split(_identity, _identity, lambda v, gamma: v))
    else:
        splits.append(_Split(_identity, _identity, lambda v, gamma: prior.prox(v, gamma=gamma * prior_weight)))
    for s in splits:
        s.z = s.forward(x)
        s.u = torch.zeros_like(s.z)
    data_rhs = operator.A_adjoint(y) if folded else 0.0
    rho = penalty

    def normal(p):  # reads the current rho, which residual balancing may change
        out = rho * sum(s.adjoint(s.forward(p)) for s in splits)
        return out + operator.A_adjoint(operator.A(p)) if folded else out

    adjoint_z = sum(s.adjoint(s.z) for s in splits)
    adjoint_u = torch.zeros_like(adjoint_z)
    estimate = x if mode == "linear" else splits[-1].z
    while not loop.done:
        x = conjugate_gradient(normal, data_rhs + rho * (adjoint_z - adjoint_u), x,
                               max_iter=cg_max_iter, tol=cg_tol).x
        primal_sq = forward_sq = z_sq = 0.0
        forwards = []
        for s in splits:
            mx = s.forward(x)
            z_new = s.prox(mx + s.u, 1.0 / rho)
            gap = mx - z_new
            s.u, s.z = s.u + gap, z_new
            forwards.append(mx)
            primal_sq += real_inner(gap, gap)
            forward_sq += real_inner(mx, mx)
            z_sq += real_inner(z_new, z_new)
        adjoint_z_new = sum(s.adjoint(s.z) for s in splits)
        adjoint_u = sum(s.adjoint(s.u) for s in splits)
        primal = math.sqrt(primal_sq)
        dual = rho * float(euclidean_norm(adjoint_z_new - adjoint_z))
        adjoint_z = adjoint_z_new
        # ρ‖Mᴴz‖ as well: with no prior (or a prior flat at the optimum) u tends to 0.
        dual_scale = rho * max(float(euclidean_norm(adjoint_u)), float(euclidean_norm(adjoint_z)))
        residual = max(primal / max(math.sqrt(max(forward_sq, z_sq)), 1e-30), dual / max(dual_scale, 1e-30))

        if mode == "linear":
            new_estimate = x
            ax = operator.A(x) if folded else forwards[0]
            objective = float(data.fn(ax, y).sum()) + prior_weight * float(norm.fn(forwards[-1]).sum())
        else:
            new_estimate = splits[-1].z
            objective = (float(data.fn(operator.A(new_estimate), y).sum())
                         + prior_weight * prior_value(prior, new_estimate))
        change = _relative_change(new_estimate, estimate)
        estimate = new_estimate
        if balance_penalty:
            factor = _balance_factor(primal, dual)
            if factor != 1.0:
                # The scaled duals u = λ/ρ follow ρ.
                rho *= factor
                for s in splits:
                    s.u = s.u / factor
                adjoint_u = adjoint_u / factor
        loop.record(objective=objective, residual=residual, change=change, x=estimate)
    return loop.result(estimate)


def _balance_factor(primal: float, dual: float) -> float:
    """Boyd's residual balancing with μ = 10, τ = 2: the factor to multiply ρ by."""
    if primal > 10 * dual:
        return 2.0
    if dual > 10 * primal:
        return 0.5
    return 1.0


def _relative_change(new: torch.Tensor, old: torch.Tensor) -> float:
    numerator = float(euclidean_norm(new - old))
    denominator = float(euclidean_norm(new))
    return numerator / denominator if denominator > 0 else (0.0 if numerator == 0 else math.inf)
