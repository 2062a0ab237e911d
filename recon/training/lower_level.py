r"""The lower-level solver of bilevel learning: accelerated gradient to a certified accuracy :math:`\varepsilon`.

For a :math:`\mu`-strongly convex, :math:`L`-smooth :math:`g(\cdot, \theta)` (FISTA with the
strong-convexity momentum, Nesterov's constant-step scheme):

.. math:: z_k = x_k + \beta (x_k - x_{k-1}), \qquad x_{k+1} = z_k - \tfrac1L \nabla g(z_k),
          \qquad \beta = \frac{\sqrt{L} - \sqrt{\mu}}{\sqrt{L} + \sqrt{\mu}}.

It stops when :math:`\|\nabla g(z_k)\| \le \mu\varepsilon` and returns :math:`x_{k+1}`: strong
convexity gives :math:`\|z_k - \hat x\| \le \|\nabla g(z_k)\|/\mu \le \varepsilon`, and a gradient step
of length :math:`1/L` moves no farther from :math:`\hat x`, so :math:`\|x_{k+1} - \hat x\| \le \varepsilon`
— the bound MAID's error estimates rest on. A warm start that is already accurate costs one
gradient. The count returned is the number of gradients taken; a solve that reaches ``max_iter``
returns its last iterate without that certificate.

>>> import torch
>>> from recon.training.bilevel_problems import SmoothedTVDenoising
>>> problem = SmoothedTVDenoising(torch.zeros(1, 1, 8, 8))
>>> x, iterations = solve_lower_level(problem, torch.tensor([0.0, 0.0]), torch.ones(1, 1, 8, 8), 1e-6)
>>> round(x.abs().max().item(), 6), iterations < 100       # the minimiser of ½‖x‖² + TV is 0
(0.0, True)
"""

from __future__ import annotations

import math

import torch


def energy_gradient(problem, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    r""":math:`\nabla_x g(x, \theta)` by autograd, detached."""
    with torch.enable_grad():
        variable = x.detach().requires_grad_(True)
        return torch.autograd.grad(problem.energy(variable, theta.detach()), variable)[0]


def solve_lower_level(problem, theta: torch.Tensor, x0: torch.Tensor, tol: float, *,
                      max_iter: int = 100_000) -> tuple[torch.Tensor, int]:
    r"""``(x, gradients taken)`` with :math:`\|x - \hat x(\theta)\| \le` ``tol`` (module text).

    Raises ``ValueError`` when a gradient is not finite (a diverging :math:`\theta`).
    """
    mu = problem.strong_convexity
    try:
        lipschitz = problem.lipschitz(theta)
    except OverflowError:
        lipschitz = float("inf")
    if not math.isfinite(lipschitz):
        raise ValueError(f"lower level: the energy is not finite at theta = {[round(float(t), 4) for t in theta]} "
                         "(its Lipschitz constant overflows); the upper-level step is too long")
    momentum = (lipschitz**0.5 - mu**0.5) / (lipschitz**0.5 + mu**0.5)
    x, previous = x0.detach(), x0.detach()
    for k in range(1, max_iter + 1):
        z = x + momentum * (x - previous) if k > 1 else x
        gradient = energy_gradient(problem, z, theta)
        norm = float(torch.linalg.vector_norm(gradient))
        if norm != norm or norm == float("inf"):
            raise ValueError(f"lower level: the gradient is not finite at iteration {k} (theta = "
                             f"{[round(float(t), 4) for t in theta]}); the upper-level step is too long")
        previous, x = x, z - gradient / lipschitz
        if norm <= mu * tol:
            return x, k
    return x, max_iter
