r"""Conjugate gradients for a Hermitian positive (semi-)definite system :math:`Mx = b`.

The building block of CGLS, CG-SENSE and of the x-updates of ADMM, where
:math:`M` is a normal operator such as :math:`A^\mathsf{H}A + \rho I` and is only
available as a function. Inner products are :math:`\operatorname{Re}\langle u, v\rangle`
summed over the whole tensor, so real and complex images and any
``(batch, channel, *spatial)`` shape work alike; a batch is solved as one big
block-diagonal system.

From :math:`x_0` and :math:`r_0 = b - Mx_0`, :math:`p_0 = r_0`, each step is

.. math::
    \alpha_k = \frac{\langle r_k, r_k\rangle}{\langle p_k, M p_k\rangle},\quad
    x_{k+1} = x_k + \alpha_k p_k,\quad r_{k+1} = r_k - \alpha_k M p_k,\quad
    p_{k+1} = r_{k+1} + \frac{\langle r_{k+1}, r_{k+1}\rangle}{\langle r_k, r_k\rangle} p_k,

and it stops when :math:`\|r_k\| \le \text{tol}\,\|b\|` or after ``max_iter`` steps.
:class:`ConjugateGradientState` holds :math:`(x_k, r_k, p_k)` and takes one step at
a time, for solvers that record every step (:func:`recon.solvers.cg.cg_normal`);
:func:`conjugate_gradient` runs it to the tolerance, for inner solves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class CGOutcome:
    """The solution, the number of steps taken, and the final relative residual ‖b − Mx‖/‖b‖."""

    x: torch.Tensor
    iterations: int
    relative_residual: float


def real_inner(u: torch.Tensor, v: torch.Tensor) -> float:
    r""":math:`\operatorname{Re}\langle u, v\rangle = \operatorname{Re}\sum_i \bar u_i v_i` over the whole tensor.

    >>> import torch
    >>> real_inner(torch.tensor([1 + 1j, 2j]), torch.tensor([1j, 1.0 + 0j]))
    1.0
    """
    if u.is_complex():
        return float(torch.vdot(u.reshape(-1), v.reshape(-1)).real)
    return float(torch.dot(u.reshape(-1), v.reshape(-1)))


class ConjugateGradientState:
    r"""CG on :math:`Mx = b` as a state :math:`(x_k, r_k, p_k)` that :meth:`step` advances by one step.

    :param apply: the map :math:`x \mapsto Mx`.
    :param rhs: :math:`b`.
    :param x0: start (default zeros; then :math:`r_0 = b` costs no application of :math:`M`).

    ``residual`` (:math:`r_k`, updated by recursion, not recomputed) and ``direction``
    (:math:`p_k`) are updated in place; ``x`` is a new tensor after every step, so an
    iterate handed to a callback stays as it was.

    >>> import torch
    >>> M = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> state = ConjugateGradientState(lambda x: M @ x, torch.tensor([2.0, 1.0], dtype=torch.float64))
    >>> state.step(), state.step(), state.x.tolist(), state.residual_norm < 1e-12
    (True, True, [1.0, 1.0], True)
    """

    def __init__(self, apply: Callable[[torch.Tensor], torch.Tensor], rhs: torch.Tensor,
                 x0: torch.Tensor | None = None):
        self.apply = apply
        self.x = torch.zeros_like(rhs) if x0 is None else x0.clone()
        self.residual = rhs.clone() if x0 is None else rhs - apply(self.x)
        self.direction = self.residual.clone()
        self.residual_sq = real_inner(self.residual, self.residual)
        self.alpha = 0.0

    @property
    def residual_norm(self) -> float:
        r""":math:`\|r_k\|`."""
        return self.residual_sq ** 0.5

    def step(self) -> bool:
        r"""Take one step; ``False`` (and no change) when :math:`\langle p_k, Mp_k\rangle \le 0`.

        That happens once :math:`r_k = 0` (solved exactly) or when :math:`M` is only
        semi-definite and :math:`p_k` lies in its null space: there is nothing more to gain.
        The step size taken is left in ``alpha``.
        """
        image = self.apply(self.direction)
        curvature = real_inner(self.direction, image)
        if not curvature > 0.0:
            self.alpha = 0.0
            return False
        alpha = self.residual_sq / curvature
        self.x = self.x + alpha * self.direction
        self.residual.sub_(image, alpha=alpha)
        new_residual_sq = real_inner(self.residual, self.residual)
        self.direction.mul_(new_residual_sq / self.residual_sq).add_(self.residual)
        self.residual_sq = new_residual_sq
        self.alpha = alpha
        return True


def conjugate_gradient(apply: Callable[[torch.Tensor], torch.Tensor], rhs: torch.Tensor,
                       x0: torch.Tensor | None = None, *, max_iter: int = 50, tol: float = 1e-6) -> CGOutcome:
    r"""Solve :math:`Mx = b` for Hermitian positive definite :math:`M` given as ``apply(x) = M x``.

    :param apply: the map :math:`x \mapsto Mx`.
    :param rhs: :math:`b`.
    :param x0: start (default zeros); a warm start from the previous outer iteration saves steps.
    :param max_iter: step cap.
    :param tol: stop when :math:`\|b - Mx\| \le \text{tol}\,\|b\|`.

    >>> import torch
    >>> M = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    >>> out = conjugate_gradient(lambda x: M @ x, torch.tensor([1.0, 2.0], dtype=torch.float64), tol=1e-12)
    >>> [round(v, 6) for v in out.x.tolist()], out.iterations
    ([0.090909, 0.636364], 2)
    """
    if max_iter < 0:
        raise ValueError(f"conjugate_gradient: max_iter must be >= 0, got {max_iter}")
    rhs_norm = real_inner(rhs, rhs) ** 0.5
    if rhs_norm == 0.0:
        # M is definite, so x = 0 solves it exactly whatever the start.
        return CGOutcome(torch.zeros_like(rhs), 0, 0.0)
    state = ConjugateGradientState(apply, rhs, x0)
    steps = 0
    while steps < max_iter and state.residual_norm > tol * rhs_norm and state.step():
        steps += 1
    return CGOutcome(state.x, steps, state.residual_norm / rhs_norm)
