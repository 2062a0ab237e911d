r"""Per-iteration time and PSNR of one solver run, with the PSNR evaluation left out of the time.

A benchmark asks two things of a run: how long one iteration takes, and when
the iterate first reaches a target PSNR. :class:`Trace` answers both. The
solver calls :meth:`Trace.mark` at the end of each iteration (through a
callback, or a wrapper around a peer library's iteration); the clock stops
while the PSNR is computed, so the measurement costs the solver nothing.
Everything the solver does before its first iteration (norm estimates,
preconditioners) counts towards its time.

A run that exceeds its time budget is cut short: :meth:`Trace.mark` raises
:class:`BudgetExhausted`, which the caller catches, keeping what was traced.
"""

from __future__ import annotations

import math
import time

import torch


class BudgetExhausted(Exception):
    """The traced run has used up its time budget."""


def psnr_db(estimate: torch.Tensor, truth: torch.Tensor, data_range: float = 1.0) -> float:
    r""":math:`10\log_{10}(R^2/\mathrm{MSE})` of the real part of ``estimate`` against ``truth``.

    >>> import torch
    >>> round(psnr_db(torch.full((4,), 0.1), torch.zeros(4)), 6)
    20.0
    """
    error = (estimate.detach().real.to(torch.float64) - truth.to(torch.float64)).reshape(-1)
    mse = float(torch.mean(error * error))
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


class Trace:
    """Cumulative solver seconds and PSNR after each iteration.

    :param truth: the reference image the PSNR is measured against.
    :param budget_s: stop the run (raise :class:`BudgetExhausted`) once this many solver seconds have passed.
    :param magnitude: score :math:`|x|` instead of the real part (MRI, whose images are complex).

    >>> import torch
    >>> trace = Trace(torch.zeros(2, 2))
    >>> trace.start()
    >>> for k in range(3):
    ...     trace.mark(torch.full((2, 2), 0.1 / (k + 1)))
    >>> [round(p, 2) for p in trace.psnr_db]
    [20.0, 26.02, 29.54]
    >>> trace.first_reaching(25.0)
    1
    """

    def __init__(self, truth: torch.Tensor, budget_s: float | None = None, *, magnitude: bool = False):
        self.truth = truth
        self.budget_s = budget_s
        self.magnitude = magnitude
        self.seconds: list[float] = []
        self.psnr_db: list[float] = []
        self._elapsed = 0.0
        self._started: float | None = None

    def start(self) -> None:
        """Start (or restart) the clock: call it just before the solver is called."""
        self._started = time.perf_counter()

    def mark(self, estimate: torch.Tensor) -> None:
        """End of an iteration: stop the clock, score ``estimate``, restart the clock."""
        if self._started is None:
            raise RuntimeError("Trace.mark: call start() before the first iteration")
        self._elapsed += time.perf_counter() - self._started
        self.seconds.append(self._elapsed)
        self.psnr_db.append(psnr_db(estimate.detach().abs() if self.magnitude else estimate, self.truth))
        if self.budget_s is not None and self._elapsed >= self.budget_s:
            raise BudgetExhausted(f"time budget of {self.budget_s:g} s used after {len(self.seconds)} iterations")
        self._started = time.perf_counter()

    @property
    def iterations(self) -> int:
        return len(self.seconds)

    def first_reaching(self, target_db: float) -> int | None:
        """Index of the first iteration whose PSNR is at least ``target_db`` (``None`` if never)."""
        for k, value in enumerate(self.psnr_db):
            if value >= target_db:
                return k
        return None


def run_traced(trace: Trace, solve) -> None:
    """Run ``solve()`` under ``trace``; a run cut short by the budget keeps what it traced."""
    trace.start()
    try:
        solve()
    except BudgetExhausted:
        return   # the budget ran out mid-run: what the trace holds is the result
