r"""Hypergradients by the implicit function theorem, with conjugate gradients and autograd.

At the lower-level minimiser :math:`\hat x(\theta)`, :math:`\nabla_x g(\hat x, \theta) = 0`; differentiating,

.. math:: \nabla f(\theta) = -\,\partial^2_{\theta x} g\; q, \qquad H q = \nabla_x f(\hat x),
          \quad H = \nabla^2_{xx} g(\hat x, \theta).

:func:`hypergradient` evaluates this at an approximate :math:`\tilde x` (``x``): :math:`q` by conjugate
gradients to a residual :math:`\|Hq - \nabla f\| \le \delta`, each Hessian–vector product by autograd
(the gradient of :math:`\langle \nabla_x g, v\rangle`), and the mixed product by autograd too.

:func:`hypergradient_error_bound` bounds its error from :math:`\varepsilon` (``‖x̃ − x̂‖``) and
:math:`\delta` as in Salehi et al. (MAID, section 3):

.. math:: \|\tilde h - h\| \le \frac{\|B\|}{\mu}\,\delta
          + \Big(\frac{\|B\| L_f}{\mu} + \frac{\|B\| L_H \|\nabla f\|}{\mu^2} + L_B\|q\|\Big)\varepsilon,

with :math:`B = \partial^2_{\theta x} g` at :math:`\tilde x` (its norm exact: :math:`\theta` is small) and the
Lipschitz constants :math:`L_H\|q\|`, :math:`L_B\|q\|` of :math:`H q` and :math:`B q` in :math:`x` estimated by a
difference along one random direction of length :math:`\varepsilon` (the authors estimate them by
perturbation too; they are not certified bounds).

>>> import torch
>>> from recon.training.bilevel_problems import SmoothedTVDenoising, upper_loss
>>> noisy = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
>>> problem, theta = SmoothedTVDenoising(noisy), torch.tensor([-1.0, -2.0], dtype=torch.float64)
>>> from recon.training.lower_level import solve_lower_level
>>> x, _ = solve_lower_level(problem, theta, noisy, 1e-8)
>>> result = hypergradient(problem, theta, x, x, 1e-8)       # f = ½‖x‖², ∇f = x
>>> result.gradient.shape, result.cg_iterations > 0
(torch.Size([2]), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Hypergradient:
    """The hypergradient, the adjoint solution ``q`` (a warm start for the next) and the CG iterations taken."""

    gradient: torch.Tensor
    adjoint: torch.Tensor
    cg_iterations: int


def _gradient_graph(problem, x: torch.Tensor, theta: torch.Tensor):
    """``(x, θ, ∇_x g)`` with the graph kept for second derivatives."""
    x = x.detach().requires_grad_(True)
    theta = theta.detach().requires_grad_(True)
    return x, theta, torch.autograd.grad(problem.energy(x, theta), x, create_graph=True)[0]


def conjugate_gradient(apply, b: torch.Tensor, tol: float, x0: torch.Tensor | None = None, *,
                       max_iter: int = 1000) -> tuple[torch.Tensor, int]:
    r"""``(q, iterations)`` with :math:`\|\mathrm{apply}(q) - b\| \le` ``tol`` for a symmetric positive definite
    ``apply``, from ``x0`` (zero if None). A start that is accurate already costs no iteration.

    >>> import torch
    >>> q, k = conjugate_gradient(lambda v: torch.tensor([2.0, 4.0]) * v, torch.tensor([2.0, 2.0]), 1e-6)
    >>> q.tolist(), k
    ([1.0, 0.5], 2)
    """
    q = torch.zeros_like(b) if x0 is None else x0.detach().clone()
    residual = b - apply(q) if x0 is not None else b.clone()
    direction = residual.clone()
    squared = residual.square().sum()
    for k in range(max_iter):
        if float(squared) ** 0.5 <= tol:
            return q, k
        product = apply(direction)
        curvature = (direction * product).sum()
        if not bool(torch.isfinite(curvature)) or float(curvature) <= 0:
            raise ValueError(f"hypergradient: conjugate gradients met a curvature of {float(curvature):g} at "
                             f"iteration {k}; the lower-level Hessian is not positive definite there")
        alpha = squared / curvature
        q = q + alpha * direction
        residual = residual - alpha * product
        new_squared = residual.square().sum()
        direction = residual + (new_squared / squared) * direction
        squared = new_squared
    return q, max_iter


def hypergradient(problem, theta: torch.Tensor, x: torch.Tensor, upper_gradient: torch.Tensor, tol: float,
                  adjoint: torch.Tensor | None = None, *, cg_max_iter: int = 1000) -> Hypergradient:
    r""":math:`-\partial^2_{\theta x} g\, q` with :math:`Hq = \nabla f` solved to ``tol`` (module text)."""
    with torch.enable_grad():
        x, theta, gradient = _gradient_graph(problem, x, theta)

        def hessian_vector(v):
            return torch.autograd.grad(gradient, x, grad_outputs=v, retain_graph=True)[0]

        q, iterations = conjugate_gradient(hessian_vector, upper_gradient.detach(), tol, adjoint,
                                           max_iter=cg_max_iter)
        mixed = torch.autograd.grad(gradient, theta, grad_outputs=q, retain_graph=False)[0]
    return Hypergradient(-mixed.detach(), q.detach(), iterations)


def _mixed_rows(problem, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    r"""The rows :math:`\partial_{\theta_k} \nabla_x g` of :math:`B`, one per hyperparameter (double backward)."""
    with torch.enable_grad():
        x, theta, gradient = _gradient_graph(problem, x, theta)
        probe = torch.zeros_like(gradient, requires_grad=True)
        products = torch.autograd.grad(gradient, theta, grad_outputs=probe, create_graph=True)[0]
        rows = [torch.autograd.grad(products[k], probe, retain_graph=True)[0].flatten()
                for k in range(theta.numel())]
    return torch.stack(rows)


def hypergradient_error_bound(problem, theta: torch.Tensor, x: torch.Tensor, adjoint: torch.Tensor,
                              upper_gradient: torch.Tensor, upper_lipschitz: float, epsilon: float,
                              delta: float, *, seed: int = 0) -> float:
    r"""The bound on :math:`\|\tilde h - h\|` of the module text, from ``epsilon`` and ``delta``."""
    mu = problem.strong_convexity
    rows = _mixed_rows(problem, x, theta)
    mixed_norm = float(torch.linalg.matrix_norm(rows, ord=2))
    direction = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype).to(x.device)
    step = max(epsilon, 1e-6)
    direction = direction * (step / float(torch.linalg.vector_norm(direction)))
    with torch.enable_grad():
        changes = []
        for point in (x, x + direction):
            point, th, gradient = _gradient_graph(problem, point, theta)
            hessian_q = torch.autograd.grad(gradient, point, grad_outputs=adjoint, retain_graph=True)[0]
            mixed_q = torch.autograd.grad(gradient, th, grad_outputs=adjoint)[0]
            changes.append((hessian_q.detach(), mixed_q.detach()))
    hessian_lipschitz_q = float(torch.linalg.vector_norm(changes[1][0] - changes[0][0])) / step
    mixed_lipschitz_q = float(torch.linalg.vector_norm(changes[1][1] - changes[0][1])) / step
    upper_norm = float(torch.linalg.vector_norm(upper_gradient))
    adjoint_norm = max(float(torch.linalg.vector_norm(adjoint)), 1e-30)
    epsilon_constant = (mixed_norm * upper_lipschitz / mu
                        + mixed_norm * hessian_lipschitz_q / adjoint_norm * upper_norm / mu**2
                        + mixed_lipschitz_q)
    return mixed_norm / mu * delta + epsilon_constant * epsilon
