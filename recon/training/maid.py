r"""MAID: the method of adaptive inexact descent (Salehi, Mukherjee, Roberts, Ehrhardt) for bilevel learning.

Each outer iteration at :math:`\theta_k`, with accuracies :math:`\varepsilon_k` (lower level) and
:math:`\delta_k` (adjoint CG) and a trial step :math:`\alpha_k`:

1. solve the lower level to :math:`\varepsilon_k` (warm start), the adjoint system to :math:`\delta_k`,
   giving :math:`\tilde h_k`; if the hypergradient error bound :math:`\omega_k` is not below
   :math:`(1-\eta)\|\tilde h_k\|` the direction may not descend: shrink :math:`\varepsilon, \delta` by
   :math:`\tau` and start the iteration again;
2. backtrack, :math:`\alpha = \alpha_k\rho^i`, :math:`i = 0, 1, \dots`, until the *inexact* sufficient
   decrease holds with the value errors :math:`e` of :class:`~recon.training.upper_level.UpperLevel`:

   .. math:: \tilde f(\theta_k - \alpha\tilde h_k) + e_{\text{new}} \le \tilde f(\theta_k) - e_{\text{old}}
             - \eta\,\alpha\,\|\tilde h_k\|^2

   — the true loss then certainly decreases;
3. on success accept, let the step grow (:math:`\alpha_{k+1} = \alpha\,\gamma`) and relax the accuracies
   (:math:`\times\nu`); when every backtrack fails, keep :math:`\theta_k` and shrink
   :math:`\varepsilon, \delta` by :math:`\tau` — the failure may be the inexactness, not the step.

The paper's constants: :math:`\rho = 0.5`, :math:`\eta = 10^{-4}`, :math:`\gamma = 1.05`; the authors'
code also grows the accuracies by :math:`\nu = 1.05` after a success and shrinks them by
:math:`\tau = 0.5`.

>>> import torch
>>> from recon.training.bilevel_problems import SmoothedTVDenoising
>>> from recon.training.upper_level import UpperLevel
>>> clean = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
>>> noisy = clean + 0.1 * torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
>>> upper = UpperLevel(SmoothedTVDenoising(noisy), clean)
>>> theta, history = maid(upper, torch.tensor([-5.0, -5.0], dtype=torch.float64), max_iterations=5)
>>> history[-1]["loss"] < history[0]["loss"]
True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class MaidSettings:
    """MAID's constants (module text); ``epsilon``, ``delta`` and ``step`` are the starting values."""

    epsilon: float = 1e-1
    delta: float = 1e-1
    step: float = 1e-2
    shrink: float = 0.5             # ρ, backtracking
    decrease: float = 1e-4          # η, sufficient decrease
    step_growth: float = 1.05       # γ, after a success
    accuracy_shrink: float = 0.5    # τ, after a failure
    accuracy_growth: float = 1.05   # ν, after a success
    max_backtracks: int = 10
    min_accuracy: float = 1e-10


def history_row(upper, iteration, theta, loss, settings_now, accepted, exact_tol):
    """One row of a run's history (MAID's and HOAG's): counts, loss, θ, accuracies, step; ``exact_loss`` with
    the lower level solved to ``exact_tol`` when that is set."""
    row = {"iteration": iteration, "lower_iterations": upper.lower_iterations, "cg_iterations": upper.cg_iterations,
           "total_iterations": upper.total_iterations, "loss": loss, "theta": [float(t) for t in theta],
           "epsilon": settings_now[0], "delta": settings_now[1], "step": settings_now[2], "accepted": accepted}
    if exact_tol is not None:
        row["exact_loss"] = upper.exact_loss(theta, exact_tol)[0]
    return row


def maid(upper, theta: torch.Tensor, settings: MaidSettings = MaidSettings(), *, max_iterations: int = 100,
         budget: int | None = None, exact_tol: float | None = None, progress=None):
    """``(θ, history)`` after ``max_iterations`` outer iterations or ``budget`` lower-level + CG iterations.

    ``upper`` is a :class:`~recon.training.upper_level.UpperLevel`; each history row holds the counts, the
    inexact loss at the current θ (and the tightly solved ``exact_loss`` if ``exact_tol`` is set).
    """
    epsilon, delta, step = settings.epsilon, settings.delta, settings.step
    theta = theta.detach().clone()
    x = upper.solve(theta, epsilon)
    loss = upper.loss(x, theta)
    history = [history_row(upper, 0, theta, loss, (epsilon, delta, step), True, exact_tol)]
    for iteration in range(1, max_iterations + 1):
        if budget is not None and upper.total_iterations >= budget:
            break
        if min(epsilon, delta) < settings.min_accuracy:
            break
        x = upper.solve(theta, epsilon, x)
        loss = upper.loss(x, theta)
        gradient = upper.hypergradient(theta, x, delta)
        gradient_norm = float(torch.linalg.vector_norm(gradient))
        error = upper.hypergradient_error(theta, x, epsilon, delta)
        accepted = False
        if error < (1 - settings.decrease) * gradient_norm:
            old_error = upper.value_error(x, epsilon)
            for i in range(settings.max_backtracks):
                trial_step = step * settings.shrink**i
                trial = theta - trial_step * gradient
                x_trial = upper.solve(trial, epsilon, x)
                trial_loss = upper.loss(x_trial, trial)
                new_error = upper.value_error(x_trial, epsilon)
                if trial_loss + new_error <= loss - old_error - settings.decrease * trial_step * gradient_norm**2:
                    theta, x, loss, accepted = trial, x_trial, trial_loss, True
                    step = trial_step * settings.step_growth
                    epsilon *= settings.accuracy_growth
                    delta *= settings.accuracy_growth
                    break
        upper.x = x
        if not accepted:
            epsilon *= settings.accuracy_shrink
            delta *= settings.accuracy_shrink
        history.append(history_row(upper, iteration, theta, loss, (epsilon, delta, step), accepted, exact_tol))
        if progress is not None:
            progress(history[-1])
    return theta, history
