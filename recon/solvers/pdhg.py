r"""Primal–dual hybrid gradient (Chambolle–Pock) for :math:`\min_x f(Ax) + g(Kx) + h(x)`.

:math:`f` is a data term (:mod:`recon.solvers.data_terms`), :math:`g \circ K` a
prior's :meth:`split` (TV: :math:`K = \nabla`), and :math:`h` a simple
constraint with a prox (non-negativity, a box). With the stacked operator
:math:`M = [A; K]` and dual variables :math:`u = (u_A, u_K)`, one iteration is

.. math::
    x^+ &= \operatorname{prox}_{T h}\big(x - T M^\top u\big), \qquad \bar x = 2x^+ - x, \\
    u^+ &= \operatorname{prox}_{\Sigma (f \oplus g)^*}\big(u + \Sigma M \bar x\big),

followed by over-relaxation :math:`(x, u) \leftarrow (x, u) + \rho\,((x^+, u^+) - (x, u))`,
:math:`\rho \in (0, 2)`. :math:`M\bar x = 2Mx^+ - Mx` by linearity, so an iteration
costs one :math:`A`, one :math:`A^\top`, one :math:`K` and one :math:`K^\top`, and the
objective at :math:`x^+` comes free.

**Step sizes** (see :mod:`recon.solvers.primal_dual_blocks` for why they are valid):

* ``"ramp"``: for CT with a least-squares data term, the dual step of the data
  block is a ramp filter, :math:`\Sigma_A = H/\|H^{1/2}A\|`
  (:mod:`recon.solvers.ramp_preconditioner`); the data part then converges
  like iterated FBP. The fastest choice for CT, and what ``"auto"`` picks there.
* ``"diagonal"``: Pock & Chambolle's (2011) :math:`\Sigma_i = 1/\sum_j |M_{ij}|`,
  :math:`T_j = 1/\sum_i |M_{ij}|` for blocks known to be non-negative (CT
  projectors) or bounded row by row (:math:`\nabla`); any other block :math:`B`
  takes :math:`\sigma_B = 1/\|B\|`. ``"auto"`` picks it for other data terms on CT.
* ``"scalar"``:  :math:`\sigma = \tau = 1/\|M\|` with
:math:`\|M\|^2 \le \|A\|^2 + \|K\|^2`. ``step_ratio`` :math:`c` scales
:math:`T \to cT`, :math:`\Sigma \to \Sigma / c`, which keeps convergence, and
``adaptive=True`` tunes :math:`c` on the fly so that primal and dual residuals
stay balanced (Goldstein, Li & Yuan, 2015).

**Stopping.** The residual is the primal–dual residual of Goldstein et al.,
relative to :math:`\|M^\top u\| + \|M x\|`; stop on it with ``residual_tol``, on the
relative change with ``tol``, or on iterations or time (:class:`Stopping`).
"""

from __future__ import annotations

import math

import torch

from recon.euclidean import euclidean_norm
from recon.solvers.common import IterationLoop, Result, Stopping
from recon.solvers.data_terms import LeastSquares
from recon.solvers.primal_dual_blocks import data_block, prior_block
from recon.solvers.ramp_preconditioner import RampPreconditionedData

PRECONDITIONERS = ("auto", "ramp", "diagonal", "scalar")

_STEP_HINT = ("the step sizes violate sigma*tau*||M||^2 <= 1 (an operator norm or its row/column sums are "
              "wrong?); try preconditioning='scalar' or a smaller step_ratio")


def _choose_preconditioner(requested: str, operator, data) -> str:
    if requested not in PRECONDITIONERS:
        raise ValueError(f"pdhg: preconditioning must be one of {', '.join(PRECONDITIONERS)}, got {requested!r}")
    ramp_possible = getattr(operator, "supports_ramp_preconditioning", False) and type(data) is LeastSquares
    if requested == "ramp" and not ramp_possible:
        raise ValueError("pdhg: preconditioning='ramp' needs a CT operator and the LeastSquares data term")
    if requested != "auto":
        return requested
    if ramp_possible:
        return "ramp"
    return "diagonal" if getattr(operator, "has_nonnegative_entries", False) else "scalar"


def pdhg(y: torch.Tensor, operator, prior=None, *, data=None, constraint=None, x0: torch.Tensor | None = None,
         stopping: Stopping = Stopping(), preconditioning: str = "auto", step_ratio: float = 1.0,
         adaptive: bool = False, relaxation: float = 1.0, prior_scale: float = 1.0, ramp_window: str = "hann",
         primal_step: float | None = None, callback=None) -> Result:
    r"""Minimise ``data(A x, y) + prior(x)`` subject to ``constraint`` by Chambolle–Pock.

    :param y: measurement, shaped like ``operator.A(x)``.
    :param operator: a linear operator with ``A`` and ``A_adjoint`` (any :class:`recon.operators.Operator`).
    :param prior: a prior with ``split()`` (``TV``, ``WeightedTV``, ``L1Wavelet``) or ``None``.
    :param data: a data term (default :class:`LeastSquares`).
    :param constraint: a prior with a cheap ``prox`` (``NonNegativity``, ``Box``) or ``None``.
    :param x0: start (default zeros).
    :param preconditioning: ``"auto"`` (default), ``"ramp"``, ``"diagonal"`` or ``"scalar"``, see the module text.
    :param step_ratio: :math:`c` in :math:`T \to cT, \Sigma \to \Sigma/c`.
    :param adaptive: balance primal and dual residuals by adapting :math:`c`.
    :param relaxation: over-relaxation :math:`\rho \in (0, 2)`; 1 is plain Chambolle–Pock.
    :param prior_scale: :math:`s`, the weight of the prior's block in the primal step.
    :param ramp_window: window of the ramp preconditioner (``"ramp"``, ``"shepp-logan"``, ``"cosine"``, ``"hann"``).
    :param primal_step: with ``preconditioning="scalar"``, fixes :math:`\tau` (the dual step becomes
        :math:`1/(\tau\|M\|^2)`); for a constraint whose prox is exact at one step only (a learned prox).
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.

    Example: TV denoising of a noisy square.

    >>> import torch
    >>> from recon.priors import TV, Identity
    >>> truth = torch.zeros(1, 1, 32, 32); truth[..., 8:24, 8:24] = 1.0
    >>> noisy = truth + 0.2 * torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    >>> result = pdhg(noisy, Identity(), TV(0.15), stopping=Stopping(max_iter=300))
    >>> bool(((result.x - truth).norm() < 0.5 * (noisy - truth).norm()).item())
    True
    """
    if not 0 < relaxation < 2:
        raise ValueError(f"pdhg: relaxation must lie in (0, 2), got {relaxation}")
    if step_ratio <= 0 or prior_scale <= 0:
        raise ValueError(f"pdhg: step_ratio and prior_scale must be positive, got {step_ratio}, {prior_scale}")
    data = LeastSquares() if data is None else data
    mode = _choose_preconditioner(preconditioning, operator, data)
    loop = IterationLoop("pdhg", stopping, step_hint=_STEP_HINT, callback=callback)  # setup time counts too
    x = torch.zeros_like(operator.A_adjoint(y)) if x0 is None else x0.clone()

    if mode == "ramp":
        blocks = [RampPreconditionedData(operator, y, x, ramp_window)]
    else:
        blocks = [data_block(operator, data, y, x, diagonal=mode == "diagonal")]
    if prior is not None:
        blocks.append(prior_block(prior, diagonal=mode == "diagonal", scale=prior_scale))
    if mode == "scalar":
        # sigma = tau = 1/||M|| with ||M||² <= Σ ||B||².
        norm_m = math.sqrt(sum(b.column_sums**2 for b in blocks))
        for b in blocks:
            b.sigma, b.column_sums = 1.0 / norm_m, norm_m / len(blocks)
    if primal_step is not None:
        if mode != "scalar" or not primal_step > 0:
            raise ValueError(f"pdhg: primal_step needs preconditioning='scalar' and a positive value, got "
                             f"{preconditioning!r} and {primal_step}")
        step_ratio = primal_step * norm_m
    tau_base = 1.0 / sum(b.column_sums for b in blocks)
    if isinstance(tau_base, torch.Tensor):
        tau_base = torch.where(torch.isfinite(tau_base), tau_base, torch.zeros_like(tau_base))
    project = (lambda t, step: t) if constraint is None else (lambda t, step: constraint.prox(t, gamma=step))

    ratio = step_ratio
    balance = _AdaptiveBalance() if adaptive else None
    forward_x = [b.forward(x) for b in blocks]
    duals = [torch.zeros_like(k) for k in forward_x]
    adjoint_total = torch.zeros_like(x)
    while not loop.done:
        tau = ratio * tau_base
        x_new = project(x - tau * adjoint_total, tau)
        forward_new = [b.forward(x_new) for b in blocks]
        # B x̄ = 2 B x⁺ - B x, with both already known.
        duals_new = [b.dual_step(u, kx_new + (kx_new - kx), ratio)
                     for b, u, kx, kx_new in zip(blocks, duals, forward_x, forward_new)]
        adjoint_total_new = sum(b.adjoint(u) for b, u in zip(blocks, duals_new))

        objective = sum(float(b.value(kx).sum()) for b, kx in zip(blocks, forward_new))
        step = x_new - x
        primal_norm = _primal_residual_norm(step, tau, adjoint_total, adjoint_total_new)
        dual_norm = math.sqrt(sum(b.dual_residual_norm(u, un, kx, kxn, ratio) ** 2 for b, u, un, kx, kxn
                                  in zip(blocks, duals, duals_new, forward_x, forward_new)))
        scale = float(euclidean_norm(adjoint_total_new)) + math.sqrt(
            sum(float(euclidean_norm(k)) ** 2 for k in forward_new))
        change = _change(step, x_new)

        if relaxation == 1.0:
            x, duals, forward_x, adjoint_total = x_new, duals_new, forward_new, adjoint_total_new
        else:
            rho = relaxation
            x = x + rho * step
            duals = [u + rho * (un - u) for u, un in zip(duals, duals_new)]
            forward_x = [k + rho * (kn - k) for k, kn in zip(forward_x, forward_new)]
            adjoint_total = adjoint_total + rho * (adjoint_total_new - adjoint_total)
        if balance is not None:
            ratio = balance.update(ratio, primal_norm, dual_norm)
        loop.record(objective=objective, residual=(primal_norm + dual_norm) / max(scale, 1e-30), change=change, x=x)
    return loop.result(x)


def _change(step: torch.Tensor, x_new: torch.Tensor) -> float:
    """Relative change ‖x⁺ - x‖ / ‖x⁺‖ of one step."""
    denominator = float(euclidean_norm(x_new))
    numerator = float(euclidean_norm(step))
    return numerator / denominator if denominator > 0 else (0.0 if numerator == 0 else math.inf)


def _primal_residual_norm(step, tau, adjoint_total, adjoint_total_new) -> float:
    """Goldstein et al.'s primal residual ‖(x - x⁺)/T - Mᵀ(u - u⁺)‖."""
    primal = (adjoint_total_new - adjoint_total).sub_(step / tau)
    if isinstance(tau, torch.Tensor):
        primal = primal.masked_fill_(tau == 0, 0.0)
    return float(euclidean_norm(primal))


class _AdaptiveBalance:
    """Goldstein, Li & Yuan (2015): grow the primal step when the primal residual dominates, and vice versa."""

    def __init__(self, alpha: float = 0.5, eta: float = 0.95, delta: float = 1.5):
        self.alpha, self.eta, self.delta = alpha, eta, delta

    def update(self, ratio: float, primal_norm: float, dual_norm: float) -> float:
        if primal_norm > self.delta * dual_norm:
            ratio /= 1 - self.alpha
            self.alpha *= self.eta
        elif primal_norm < dual_norm / self.delta:
            ratio *= 1 - self.alpha
            self.alpha *= self.eta
        return ratio
