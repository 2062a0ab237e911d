r"""The upper level of bilevel learning as the outer methods see it: inexact values and hypergradients, counted.

:class:`UpperLevel` ties a lower-level energy (:mod:`recon.training.bilevel_problems`) to the clean
images and keeps the books both MAID and HOAG are compared by: lower-level iterations (gradients
of :math:`g`), CG iterations (Hessian–vector products), and a history with one row per outer
iteration. Values and hypergradients are *inexact*: the lower level is solved to
:math:`\|\tilde x - \hat x\| \le \varepsilon` and the adjoint system to residual :math:`\delta`, and
:meth:`UpperLevel.value_error` bounds the value's error,

.. math:: |f(\tilde x) - f(\hat x)| \le \|\nabla f(\tilde x)\|\,\varepsilon + \tfrac12 L_f\,\varepsilon^2.

For comparisons, :meth:`UpperLevel.exact_loss` solves to a tight tolerance without counting.

>>> import torch
>>> from recon.training.bilevel_problems import SmoothedTVDenoising
>>> clean = torch.zeros(2, 1, 8, 8)
>>> noisy = clean + 0.1 * torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
>>> upper = UpperLevel(SmoothedTVDenoising(noisy), clean)
>>> x = upper.solve(torch.tensor([-5.0, -5.0]), 1e-3)
>>> upper.lower_iterations > 0, upper.cg_iterations
(True, 0)
"""

from __future__ import annotations

import math

import torch

from recon.training.bilevel_problems import upper_loss
from recon.training.hypergradient import hypergradient, hypergradient_error_bound
from recon.training.lower_level import solve_lower_level


def _finite(value: float, what: str, theta) -> float:
    if not math.isfinite(value):
        raise ValueError(f"bilevel: the {what} is not finite at theta = {[round(float(t), 4) for t in theta]} "
                         "(diverged; take a shorter upper-level step)")
    return value


class UpperLevel:
    """Inexact upper-level values and hypergradients of ``problem`` against ``clean``, with warm starts and counts."""

    def __init__(self, problem, clean: torch.Tensor, *, lower_max_iter: int = 20_000, cg_max_iter: int = 1000):
        self.problem = problem
        self.clean = clean
        self.lower_max_iter = lower_max_iter
        self.cg_max_iter = cg_max_iter
        self.upper_lipschitz = 1.0 / clean.shape[0]
        self.lower_iterations = 0
        self.cg_iterations = 0
        self.x = problem.noisy.clone()
        self.adjoint = None

    @property
    def total_iterations(self) -> int:
        """Lower-level gradients plus CG iterations: the cost both methods are compared by."""
        return self.lower_iterations + self.cg_iterations

    def solve(self, theta: torch.Tensor, epsilon: float, x0: torch.Tensor | None = None) -> torch.Tensor:
        """The lower-level solution to ``epsilon`` from ``x0`` (default: the last solution), counted."""
        x, iterations = solve_lower_level(self.problem, theta, self.x if x0 is None else x0, epsilon,
                                          max_iter=self.lower_max_iter)
        self.lower_iterations += iterations
        return x

    def loss(self, x: torch.Tensor, theta) -> float:
        return _finite(float(upper_loss(x, self.clean)), "upper-level loss", theta)

    def loss_gradient(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.clean) / x.shape[0]

    def value_error(self, x: torch.Tensor, epsilon: float) -> float:
        """The bound on :math:`|f(\\tilde x) - f(\\hat x)|` of the module text."""
        gradient_norm = float(torch.linalg.vector_norm(self.loss_gradient(x)))
        return gradient_norm * epsilon + 0.5 * self.upper_lipschitz * epsilon**2

    def hypergradient(self, theta: torch.Tensor, x: torch.Tensor, delta: float) -> torch.Tensor:
        """The inexact hypergradient at ``x`` (CG to ``delta``, warm-started from the last adjoint), counted."""
        result = hypergradient(self.problem, theta, x, self.loss_gradient(x), delta, self.adjoint,
                               cg_max_iter=self.cg_max_iter)
        self.cg_iterations += result.cg_iterations
        self.adjoint = result.adjoint
        for value in result.gradient.tolist():
            _finite(value, "hypergradient", theta)
        return result.gradient

    def hypergradient_error(self, theta: torch.Tensor, x: torch.Tensor, epsilon: float, delta: float) -> float:
        """The bound on the hypergradient's error (:func:`~recon.training.hypergradient.hypergradient_error_bound`)."""
        return hypergradient_error_bound(self.problem, theta, x, self.adjoint, self.loss_gradient(x),
                                         self.upper_lipschitz, epsilon, delta)

    def exact_loss(self, theta: torch.Tensor, tol: float = 1e-6) -> tuple[float, torch.Tensor]:
        """``(f, x)`` at a tightly solved lower level, warm-started from the last solution, *not* counted."""
        x, _ = solve_lower_level(self.problem, theta, self.x, tol, max_iter=self.lower_max_iter * 10)
        return self.loss(x, theta), x
