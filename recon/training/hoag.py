r"""HOAG (Pedregosa, ICML 2016): hypergradient descent with a fixed step and a-priori accuracies.

Each outer iteration :math:`k = 1, 2, \dots` solves the lower level to :math:`\varepsilon_k` and the
adjoint system to :math:`\delta_k = \varepsilon_k\,\delta_0/\varepsilon_0`, both warm-started from
the previous solutions, then steps

.. math:: \theta_{k+1} = \theta_k - \tfrac1L\,\tilde h_k,

with a fixed step :math:`1/L` (an estimate of the upper level's Lipschitz constant) and a summable
accuracy sequence fixed in advance: :math:`\varepsilon_k = \varepsilon_0 k^{-2}` (``decay="quadratic"``),
:math:`\varepsilon_0 q^k` (``"geometric"``) or :math:`\varepsilon_0 k^{-1.1}` (``"power"``). No line
search: a step too long for the curvature met later diverges (the command stops with an error).

>>> import torch
>>> from recon.training.bilevel_problems import SmoothedTVDenoising
>>> from recon.training.upper_level import UpperLevel
>>> clean = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
>>> noisy = clean + 0.1 * torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
>>> upper = UpperLevel(SmoothedTVDenoising(noisy), clean)
>>> theta, history = hoag(upper, torch.tensor([-5.0, -5.0], dtype=torch.float64), max_iterations=5, step=0.5)
>>> len(history), history[-1]["loss"] < history[0]["loss"]
(6, True)
"""

from __future__ import annotations

import torch

from recon.training.maid import history_row

DECAYS = ("quadratic", "geometric", "power")


def accuracy(k: int, start: float, decay: str = "quadratic", rate: float = 0.9) -> float:
    """The a-priori accuracy :math:`\\varepsilon_k` of outer iteration ``k >= 1`` (module text).

    >>> [accuracy(k, 1.0) for k in (1, 2, 4)], round(accuracy(2, 1.0, "geometric", 0.5), 3)
    ([1.0, 0.25, 0.0625], 0.25)
    """
    if decay == "quadratic":
        return start / k**2
    if decay == "geometric":
        return start * rate**k
    if decay == "power":
        return start / k**1.1
    raise ValueError(f"hoag: decay must be one of {', '.join(DECAYS)}, got {decay!r}")


def hoag(upper, theta: torch.Tensor, *, step: float, epsilon: float = 1e-1, delta: float = 1e-1,
         decay: str = "quadratic", rate: float = 0.9, max_iterations: int = 100, budget: int | None = None,
         exact_tol: float | None = None, progress=None):
    """``(θ, history)`` of HOAG from ``theta`` (module text); history rows as :func:`recon.training.maid.maid`'s,
    except that a row's inexact ``loss`` is at the θ its hypergradient was taken at (``theta`` and
    ``exact_loss`` are after the step): HOAG never evaluates the loss at the new θ."""
    theta = theta.detach().clone()
    x = upper.solve(theta, epsilon)
    history = [history_row(upper, 0, theta, upper.loss(x, theta), (epsilon, delta, step), True, exact_tol)]
    for k in range(1, max_iterations + 1):
        if budget is not None and upper.total_iterations >= budget:
            break
        epsilon_k = accuracy(k, epsilon, decay, rate)
        delta_k = epsilon_k * delta / epsilon
        x = upper.solve(theta, epsilon_k, x)
        upper.x = x
        gradient = upper.hypergradient(theta, x, delta_k)
        loss = upper.loss(x, theta)
        theta = theta - step * gradient
        history.append(history_row(upper, k, theta, loss, (epsilon_k, delta_k, step), True, exact_tol))
        if progress is not None:
            progress(history[-1])
    return theta, history
