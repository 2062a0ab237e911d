r"""What every solver shares: the result it returns, its history, and its stopping rules.

A solver knows one iteration; :class:`IterationLoop` runs the loop. It times
each iteration (leaving out the time spent in a user's callback), records the
objective and a residual, and stops on the first rule that fires:

* ``max_iter`` iterations;
* relative change :math:`\|x_{k+1} - x_k\| / \|x_{k+1}\| <` ``tol``, from the second
  iteration on (primal–dual methods cannot move on their first);
* a residual (primal–dual residual, gap, normal-equation residual) below
  ``residual_tol`` where the solver defines one;
* a wall-clock budget ``time_limit`` in seconds.

A NaN, or an objective that grows past ``divergence_factor`` times its first
value, raises :class:`DivergenceError` naming the solver, the iteration and the
step size to blame.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from recon.euclidean import euclidean_norm


class DivergenceError(RuntimeError):
    """A solver's iterates became NaN or its objective blew up."""


@dataclass(frozen=True)
class Stopping:
    r"""When to stop iterating; the first rule that holds ends the run.

    :param max_iter: iteration cap.
    :param tol: stop when :math:`\|x_{k+1}-x_k\|_2 / \|x_{k+1}\|_2 <` tol (0 disables it).
    :param residual_tol: stop when the solver's own residual falls below it (0 disables it).
    :param time_limit: stop after this many seconds of solver time (``None``: no limit).
    :param divergence_factor: raise :class:`DivergenceError` when the objective exceeds
        this multiple of its first finite value (``None`` disables the check).

    >>> Stopping(max_iter=50, tol=1e-6).max_iter
    50
    """

    max_iter: int = 500
    tol: float = 0.0
    residual_tol: float = 0.0
    time_limit: float | None = None
    divergence_factor: float | None = 1e6

    def __post_init__(self):
        if self.max_iter < 0:
            raise ValueError(f"Stopping: max_iter must be >= 0, got {self.max_iter}")
        if self.tol < 0 or self.residual_tol < 0:
            raise ValueError("Stopping: tol and residual_tol must be >= 0")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ValueError(f"Stopping: time_limit must be positive seconds, got {self.time_limit}")


@dataclass
class History:
    """Per-iteration record: objective, residual, relative change, and cumulative solver seconds."""

    objective: list[float] = field(default_factory=list)
    residual: list[float] = field(default_factory=list)
    relative_change: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.seconds)

    def as_dict(self) -> dict[str, list[float]]:
        """The columns as plain lists, ready for HDF5 or JSON."""
        return {"objective": list(self.objective), "residual": list(self.residual),
                "relative_change": list(self.relative_change), "seconds": list(self.seconds)}


@dataclass
class Result:
    """What a solver returns: the estimate, its history, and why it stopped."""

    x: torch.Tensor
    history: History
    stop_reason: str
    iterations: int

    @property
    def seconds(self) -> float:
        """Solver time in seconds, callbacks excluded."""
        return self.history.seconds[-1] if self.history.seconds else 0.0


def over_relaxed(value: torch.Tensor, previous: torch.Tensor, alpha: float) -> torch.Tensor:
    r""":math:`\alpha\,value + (1 - \alpha)\,previous`, the argument an over-relaxed ADMM split sees; a fresh
    tensor (``value`` is kept), so callers may work on it in place.

    >>> over_relaxed(torch.tensor([1.0]), torch.tensor([3.0]), 1.5).tolist()
    [0.0]
    """
    if alpha == 1.0:
        return value.clone()
    return torch.mul(value, alpha).add_(previous, alpha=1.0 - alpha)


def relative_change(new: torch.Tensor, old: torch.Tensor) -> float:
    r""":math:`\|x_{new} - x_{old}\|_2 / \|x_{new}\|_2` (0 when both are zero)."""
    denominator = float(euclidean_norm(new))
    difference = float(euclidean_norm(new - old))
    if denominator == 0.0:
        return 0.0 if difference == 0.0 else math.inf
    return difference / denominator


class IterationLoop:
    """Book-keeping for a solver's loop: timing, history, stopping, divergence.

    >>> loop = IterationLoop("demo", Stopping(max_iter=3), step_hint="lower the step")
    >>> while not loop.done:
    ...     loop.record(objective=1.0, change=0.5)
    >>> loop.stop_reason, len(loop.history)
    ('max_iter', 3)
    """

    def __init__(self, solver: str, stopping: Stopping, *, step_hint: str, callback=None):
        self.solver = solver
        self.stopping = stopping
        self.step_hint = step_hint
        self.callback = callback
        self.history = History()
        if callback is not None and hasattr(callback, "watch"):
            callback.watch(self.history)   # e.g. a progress bar that shows the latest objective
        self.stop_reason = "max_iter" if stopping.max_iter == 0 else ""
        self._first_objective: float | None = None
        self._elapsed = 0.0
        self._started = time.perf_counter()

    @property
    def done(self) -> bool:
        return bool(self.stop_reason)

    @property
    def iteration(self) -> int:
        return len(self.history)

    def record(self, *, objective: float | None = None, residual: float | None = None, change: float | None = None,
               x: torch.Tensor | None = None) -> None:
        """Close one iteration: check for divergence, store its figures, run the callback, decide to stop.

        A figure left ``None`` was not computed (SIRT has no objective) and is stored as NaN.
        """
        self._elapsed += time.perf_counter() - self._started
        k = self.iteration + 1
        self._check_divergence(k, objective, change)
        history = self.history
        history.objective.append(math.nan if objective is None else float(objective))
        history.residual.append(math.nan if residual is None else float(residual))
        history.relative_change.append(math.nan if change is None else float(change))
        history.seconds.append(self._elapsed)
        if self.callback is not None and x is not None:
            if self.callback(k, x) is False:
                self.stop_reason = "callback"
        rules = self.stopping
        if self.stop_reason:
            pass
        elif rules.tol > 0 and k > 1 and change is not None and change < rules.tol:
            self.stop_reason = "tol"
        elif rules.residual_tol > 0 and residual is not None and residual < rules.residual_tol:
            self.stop_reason = "residual_tol"
        elif rules.time_limit is not None and self._elapsed >= rules.time_limit:
            self.stop_reason = "time_limit"
        elif k >= rules.max_iter:
            self.stop_reason = "max_iter"
        self._started = time.perf_counter()

    def _check_divergence(self, k: int, objective: float | None, change: float | None) -> None:
        bad_change = change is not None and not math.isfinite(change)
        if (objective is not None and math.isnan(objective)) or bad_change:
            raise DivergenceError(
                f"{self.solver}: the iterate became NaN or infinite at iteration {k}; {self.step_hint}")
        factor = self.stopping.divergence_factor
        if objective is None:
            return
        if math.isfinite(objective):
            if self._first_objective is None:
                self._first_objective = abs(objective)
            elif factor is not None and abs(objective) > factor * max(self._first_objective, 1e-30):
                raise DivergenceError(
                    f"{self.solver}: the objective grew from {self._first_objective:.3g} to {objective:.3g} "
                    f"by iteration {k}; {self.step_hint}")

    def result(self, x: torch.Tensor) -> Result:
        return Result(x=x, history=self.history, stop_reason=self.stop_reason, iterations=self.iteration)


def batch_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over every axis but the first: one value per batch element."""
    return t.reshape(t.shape[0], -1).sum(dim=1)
