"""A progress line on stderr for long runs: iteration, objective and time.

It appears only when stderr is a terminal, the run is not ``--quiet``, and the
run has lasted about a second (short runs print nothing), and it redraws at most
ten times a second so that drawing never costs the solver time.
"""

from __future__ import annotations

import math
import sys
import time


class ProgressBar:
    """``callback(iteration, x)`` for a solver, drawing ``[#####.....] 120/200  objective 3.1e+02  4.2 s``.

    :param total: the iteration cap.
    :param enabled: ``None`` decides from whether the stream is a terminal.
    :param objective: a function of no arguments giving the latest objective (e.g. from a history), or ``None``.

    >>> import io
    >>> bar = ProgressBar(10, enabled=True, stream=io.StringIO(), delay=0.0, interval=0.0)
    >>> bar(5, None); bar.close()
    >>> "5/10" in bar.stream.getvalue()
    True
    """

    def __init__(self, total: int, *, label: str = "", enabled: bool | None = None, objective=None,
                 stream=None, delay: float = 1.0, interval: float = 0.1, width: int = 24):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = (hasattr(self.stream, "isatty") and self.stream.isatty()) if enabled is None else enabled
        self.total = max(int(total), 1)
        self.label = label
        self.objective = objective
        self.delay, self.interval, self.width = delay, interval, width
        self.started = time.perf_counter()
        self._last_draw = -math.inf
        self._drawn = False

    def __call__(self, iteration: int, x=None):
        if not self.enabled:
            return None
        now = time.perf_counter()
        if now - self.started < self.delay or now - self._last_draw < self.interval:
            return None
        self._last_draw = now
        filled = int(self.width * min(iteration, self.total) / self.total)
        value = self.objective() if self.objective is not None else None
        objective = f"  objective {value:.4g}" if value is not None and math.isfinite(value) else ""
        self.stream.write(f"\r{self.label}[{'#' * filled}{'.' * (self.width - filled)}] {iteration}/{self.total}"
                          f"{objective}  {now - self.started:.1f} s ")
        self.stream.flush()
        self._drawn = True
        return None

    def watch(self, history) -> None:
        """Show the latest objective of a solver's live :class:`~recon.solvers.common.History`."""
        self.objective = lambda: history.objective[-1] if history.objective else None

    def close(self) -> None:
        """End the line (only if something was drawn)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
