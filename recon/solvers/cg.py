r"""Regularised least squares :math:`\min_x \tfrac12\|Ax - y\|^2 + \tfrac12\lambda\|x\|^2` by conjugate gradients.

The minimiser solves the normal equations
:math:`(A^\mathsf{H}A + \lambda I)\,x = A^\mathsf{H}y`. Two ways to run CG on them:

* :func:`cgls` (Hestenes–Stiefel / Björck) keeps the residual :math:`s = y - Ax`
  in measurement space and never forms :math:`A^\mathsf{H}A`: the same iterates in
  exact arithmetic, but better conditioned in floating point, so it is the
  default for CT and deblurring.
* :func:`cg_normal` runs plain CG on the normal operator
  :math:`M = A^\mathsf{H}A + \lambda I`, through the operator's own
  ``A_adjoint_A`` where it has one (a Toeplitz-embedded MRI normal operator is
  cheaper than :math:`A` then :math:`A^\mathsf{H}`); this is CG-SENSE.

Both take one :math:`A` and one :math:`A^\mathsf{H}` per iteration, work for real
and complex data (inner products :math:`\operatorname{Re}\langle u, v\rangle`), and
record per iteration the objective, the normal-equation residual
:math:`\|A^\mathsf{H}(y - Ax) - \lambda x\| / \|A^\mathsf{H}y\|` (``residual_tol``
stops on it) and the relative change. When the residual is exactly zero there is
no direction left and the run stops with ``stop_reason == "converged"``.
"""

from __future__ import annotations

import math

import torch

from recon.euclidean import euclidean_norm
from recon.solvers.common import IterationLoop, Result, Stopping
from recon.solvers.conjugate_gradient import ConjugateGradientState, real_inner

_STEP_HINT = ("CG has no step size to blame: check that A_adjoint is the adjoint of A (dot-product test), "
              "that damping >= 0 and that y is finite")


def _check_damping(solver: str, damping: float) -> None:
    if not damping >= 0:
        raise ValueError(f"{solver}: damping must be >= 0, got {damping}")


def _norm(t: torch.Tensor) -> float:
    return float(euclidean_norm(t))


def _step_change(step_norm: float, x: torch.Tensor) -> float:
    """Relative change ‖x⁺ − x‖ / ‖x⁺‖ from the length of the step just taken."""
    denominator = _norm(x)
    if denominator == 0.0:
        return 0.0 if step_norm == 0.0 else math.inf
    return step_norm / denominator


def cgls(y: torch.Tensor, operator, *, damping: float = 0.0, x0: torch.Tensor | None = None,
         stopping: Stopping = Stopping(), callback=None) -> Result:
    r"""Minimise :math:`\tfrac12\|Ax - y\|^2 + \tfrac12\lambda\|x\|^2` by CGLS.

    With :math:`s_0 = y - Ax_0`, :math:`r_0 = A^\mathsf{H}s_0 - \lambda x_0`, :math:`p_0 = r_0`:

    .. math::
        q_k = Ap_k,\quad \alpha_k = \frac{\|r_k\|^2}{\|q_k\|^2 + \lambda\|p_k\|^2},\quad
        x_{k+1} = x_k + \alpha_k p_k,\quad s_{k+1} = s_k - \alpha_k q_k,

        r_{k+1} = A^\mathsf{H}s_{k+1} - \lambda x_{k+1},\quad
        p_{k+1} = r_{k+1} + \frac{\|r_{k+1}\|^2}{\|r_k\|^2}\,p_k.

    The objective :math:`\tfrac12\|s_k\|^2 + \tfrac12\lambda\|x_k\|^2` comes free from :math:`s_k`.

    :param y: measurement, shaped like ``operator.A(x)``; real or complex.
    :param operator: a linear operator with ``A`` and ``A_adjoint`` (:math:`A^\mathsf{H}` for complex data).
    :param damping: :math:`\lambda \ge 0` (Tikhonov / ridge weight).
    :param x0: start (default zeros).
    :param stopping: stopping rules; ``residual_tol`` applies to the normal-equation residual.
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.

    Example: an overdetermined 3×2 system, solved in two steps.

    >>> import torch
    >>> class Matrix:
    ...     def __init__(self, m): self.m = m
    ...     def A(self, x): return x @ self.m.T
    ...     def A_adjoint(self, y): return y @ self.m
    >>> A = Matrix(torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=torch.float64))
    >>> y = torch.tensor([[[1.0, 2.0, 3.0]]], dtype=torch.float64)
    >>> result = cgls(y, A, stopping=Stopping(max_iter=2))
    >>> [round(v, 6) for v in result.x.flatten().tolist()], result.history.residual[-1] < 1e-12
    ([1.444444, 1.111111], True)
    """
    _check_damping("cgls", damping)
    loop = IterationLoop("cgls", stopping, step_hint=_STEP_HINT, callback=callback)  # setup time counts too
    normal_rhs = operator.A_adjoint(y)
    scale = _norm(normal_rhs) or 1.0  # Aᴴy = 0: report the absolute residual
    if x0 is None:
        x, measurement_residual, gradient = torch.zeros_like(normal_rhs), y.clone(), normal_rhs
    else:
        x = x0.clone()
        measurement_residual = y - operator.A(x)
        gradient = operator.A_adjoint(measurement_residual) - damping * x
    direction = gradient.clone()
    gradient_sq = real_inner(gradient, gradient)
    while not loop.done:
        image = operator.A(direction)
        direction_sq = real_inner(direction, direction)
        curvature = real_inner(image, image) + damping * direction_sq
        if not curvature > 0.0:
            loop.stop_reason = "converged"  # r_k = 0: x_k is the exact minimiser
            break
        alpha = gradient_sq / curvature
        x = x + alpha * direction  # a new tensor, so an iterate given to a callback stays as it was
        measurement_residual.sub_(image, alpha=alpha)
        gradient = operator.A_adjoint(measurement_residual)
        if damping:
            gradient = gradient - damping * x
        new_gradient_sq = real_inner(gradient, gradient)
        direction.mul_(new_gradient_sq / gradient_sq).add_(gradient)
        gradient_sq = new_gradient_sq
        objective = 0.5 * real_inner(measurement_residual, measurement_residual) + 0.5 * damping * real_inner(x, x)
        loop.record(objective=objective, residual=math.sqrt(gradient_sq) / scale,
                    change=_step_change(alpha * math.sqrt(direction_sq), x), x=x)
    return loop.result(x)


def _normal_operator(operator, damping: float):
    r""":math:`x \mapsto A^\mathsf{H}Ax + \lambda x`, through ``A_adjoint_A`` when the operator has it."""
    gram = getattr(operator, "A_adjoint_A", None)
    if gram is None:
        def gram(x):
            return operator.A_adjoint(operator.A(x))
    if not damping:
        return gram
    # Not in place: an operator's A_adjoint_A may hand back its input (the identity does).
    return lambda x: gram(x) + damping * x


def cg_normal(y: torch.Tensor, operator, *, damping: float = 0.0, x0: torch.Tensor | None = None,
              stopping: Stopping = Stopping(), callback=None) -> Result:
    r"""Solve :math:`(A^\mathsf{H}A + \lambda I)\,x = A^\mathsf{H}y` by CG on the normal operator (CG-SENSE).

    One loop iteration is one step of :class:`~recon.solvers.conjugate_gradient.ConjugateGradientState`
    on :math:`M = A^\mathsf{H}A + \lambda I`, :math:`b = A^\mathsf{H}y`. The objective
    :math:`\tfrac12\|Ax - y\|^2 + \tfrac12\lambda\|x\|^2` is recorded without another
    :math:`A`, from the CG residual :math:`r = b - Mx`:

    .. math::
        \tfrac12\|Ax - y\|^2 + \tfrac12\lambda\|x\|^2
        = \tfrac12\|y\|^2 - \tfrac12\operatorname{Re}\langle x, b\rangle - \tfrac12\operatorname{Re}\langle x, r\rangle,

    and the residual is :math:`\|r\| / \|b\|`.

    :param y: measurement, shaped like ``operator.A(x)``; real or complex (multi-coil k-space).
    :param operator: a linear operator with ``A`` and ``A_adjoint``; ``A_adjoint_A`` is used if present.
    :param damping: :math:`\lambda \ge 0`.
    :param x0: start (default zeros).
    :param stopping: stopping rules; ``residual_tol`` applies to :math:`\|r\|/\|b\|`.
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.

    Example: a complex diagonal system with damping, :math:`x_i = \bar d_i y_i / (|d_i|^2 + \lambda)`.

    >>> import torch
    >>> d = torch.tensor([1 + 1j, 2.0, -1j], dtype=torch.complex128)
    >>> class Diagonal:
    ...     def A(self, x): return d * x
    ...     def A_adjoint(self, y): return d.conj() * y
    >>> y = torch.tensor([[[2j, 4.0, 1.0]]], dtype=torch.complex128)
    >>> result = cg_normal(y, Diagonal(), damping=1.0, stopping=Stopping(max_iter=3))
    >>> torch.allclose(result.x, d.conj() * y / (d.abs() ** 2 + 1.0)), result.stop_reason
    (True, 'max_iter')
    """
    _check_damping("cg_normal", damping)
    loop = IterationLoop("cg_normal", stopping, step_hint=_STEP_HINT, callback=callback)  # setup time counts too
    rhs = operator.A_adjoint(y)
    scale = _norm(rhs) or 1.0
    half_y_sq = 0.5 * real_inner(y, y)
    state = ConjugateGradientState(_normal_operator(operator, damping), rhs, x0)
    while not loop.done:
        direction_norm = _norm(state.direction)
        if not state.step():
            loop.stop_reason = "converged"
            break
        x = state.x
        # Cancellation can push it a rounding error below its true value, which is >= 0.
        objective = max(half_y_sq - 0.5 * real_inner(x, rhs) - 0.5 * real_inner(x, state.residual), 0.0)
        loop.record(objective=objective, residual=state.residual_norm / scale,
                    change=_step_change(state.alpha * direction_norm, x), x=x)
    return loop.result(state.x)
