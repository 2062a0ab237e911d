r"""Benchmark results: one record per (problem, method), a table for people and JSON for machines.

The JSON keys are fixed (``problem``, ``method``, ``library``, ``ms_per_iter``,
``time_to_target_s``, ``target_psnr_db``, ``best_psnr_db``, ``time_to_best_s``, plus ``iterations``,
``seconds`` and ``note``); ``time_to_target_s`` is ``null`` when the target is never reached.
``time_to_best_s`` is when the run first comes within ``BEST_TOLERANCE_DB`` (0.01 dB) of its own best
PSNR: the time it takes to "reach its best", without counting the last hundredths of a dB a slowly
converging method may still creep up by.

``ms_per_iter`` is the steady cost of one iteration, :math:`(t_n - t_1)/(n - 1)`:
it leaves out the set-up before the first iteration, which ``time_to_target_s``
includes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields

from recon.bench.trace import Trace

BEST_TOLERANCE_DB = 0.01


@dataclass
class BenchRecord:
    """The figures of one method on one problem."""

    problem: str
    method: str
    library: str
    ms_per_iter: float | None
    time_to_target_s: float | None
    target_psnr_db: float
    best_psnr_db: float | None
    iterations: int
    seconds: float
    note: str = ""
    time_to_best_s: float | None = None
    trace: Trace | None = field(default=None, repr=False, compare=False)  # for figures, not for JSON

    @classmethod
    def from_trace(cls, problem: str, method: str, library: str, trace: Trace, target_psnr_db: float,
                   note: str = "") -> "BenchRecord":
        """Summarise a traced run.

        >>> import torch
        >>> trace = Trace(torch.zeros(1)); trace.start()
        >>> for v in (0.1, 0.01): trace.mark(torch.full((1,), v))
        >>> record = BenchRecord.from_trace("p", "m", "lib", trace, target_psnr_db=30.0)
        >>> round(record.best_psnr_db, 4), record.iterations, record.time_to_target_s is not None
        (40.0, 2, True)
        >>> record.time_to_best_s == trace.seconds[1]
        True
        """
        n = trace.iterations
        per_iter = None
        if n >= 2:
            per_iter = 1e3 * (trace.seconds[-1] - trace.seconds[0]) / (n - 1)
        elif n == 1:
            per_iter = 1e3 * trace.seconds[0]
        hit = trace.first_reaching(target_psnr_db)
        best = max(trace.psnr_db) if n else None
        near_best = None if best is None else trace.seconds[trace.first_reaching(best - BEST_TOLERANCE_DB)]
        return cls(problem, method, library, per_iter, None if hit is None else trace.seconds[hit], target_psnr_db,
                   best, n, trace.seconds[-1] if n else 0.0, note, near_best, trace)

    @classmethod
    def unavailable(cls, problem: str, method: str, library: str, target_psnr_db: float, why: str) -> "BenchRecord":
        """A peer that could not run here (not installed, failed): kept in the table with the reason."""
        return cls(problem, method, library, None, None, target_psnr_db, None, 0, 0.0, why, None)


def _number(value, spec: str, empty: str = "—") -> str:
    return empty if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def format_table(records: list[BenchRecord]) -> str:
    """A plain-text table; ``vs best peer`` is each time-to-target divided by recon's fastest on that problem."""
    width = max([10] + [len(r.problem) for r in records])
    header = (f"{'problem':<{width}} {'method':<34} {'ms/iter':>8} {'iters':>6} {'to target [s]':>13} "
              f"{'best [dB]':>9} {'to best [s]':>11} {'ratio':>7}  note")
    lines = [header, "-" * len(header)]
    fastest_recon = {}
    for r in records:
        if r.library == "recon" and r.time_to_target_s is not None:
            fastest_recon[r.problem] = min(fastest_recon.get(r.problem, math.inf), r.time_to_target_s)
    for r in records:
        reference = fastest_recon.get(r.problem)
        ratio = (r.time_to_target_s / reference) if (reference and r.time_to_target_s is not None) else None
        lines.append(f"{r.problem:<{width}} {r.method:<34} {_number(r.ms_per_iter, '8.1f'):>8} {r.iterations:>6} "
                     f"{_number(r.time_to_target_s, '13.2f'):>13} {_number(r.best_psnr_db, '9.2f'):>9} "
                     f"{_number(r.time_to_best_s, '11.3f'):>11} "
                     f"{_number(ratio, '6.1f') + '×' if ratio is not None else '—':>7}  {r.note}")
    return "\n".join(lines)


def speedups(records: list[BenchRecord]) -> dict[str, float | None]:
    """Per problem: the fastest peer's time to target over recon's fastest (``None`` if either never gets there)."""
    out = {}
    for problem in dict.fromkeys(r.problem for r in records):
        mine = [r.time_to_target_s for r in records if r.problem == problem and r.library == "recon"
                and r.time_to_target_s is not None]
        peers = [r.time_to_target_s for r in records if r.problem == problem and r.library != "recon"
                 and r.time_to_target_s is not None]
        out[problem] = (min(peers) / min(mine)) if mine and peers else None
    return out


def best_speedups(records: list[BenchRecord]) -> dict[str, tuple[float, str] | None]:
    """Per problem: how much sooner recon reaches a peer's best than that peer does, for the hardest peer.

    For each peer, recon's time is its fastest run whose best is at least the peer's best (within
    ``BEST_TOLERANCE_DB``); the ratio is the peer's ``time_to_best_s`` over it. Returned: the smallest
    ratio over the peers with their name, or ``None`` where no pair qualifies.

    >>> r = lambda lib, best, t: BenchRecord("p", lib, lib, 1.0, None, 28.0, best, 10, 1.0, "", t)
    >>> best_speedups([r("recon", 28.2, 0.05), r("scico", 28.19, 0.125), r("deepinv", 27.5, 5.0)])
    {'p': (2.5, 'scico scico')}
    """
    out = {}
    for problem in dict.fromkeys(r.problem for r in records):
        runs = [r for r in records if r.problem == problem and r.time_to_best_s is not None]
        mine = [r for r in runs if r.library == "recon"]
        found = []
        for peer in (r for r in runs if r.library != "recon"):
            matching = [r.time_to_best_s for r in mine if r.best_psnr_db >= peer.best_psnr_db - BEST_TOLERANCE_DB]
            if matching:
                found.append((peer.time_to_best_s / min(matching), f"{peer.library} {peer.method}"))
        out[problem] = min(found) if found else None
    return out


def to_json(records: list[BenchRecord]) -> str:
    """The records as a JSON list (NaN and infinities become ``null``)."""
    def clean(value):
        return None if isinstance(value, float) and not math.isfinite(value) else value

    keys = [f.name for f in fields(BenchRecord) if f.name != "trace"]
    return json.dumps([{k: clean(getattr(r, k)) for k in keys} for r in records], indent=2)


def recon_records(problem: str, runs, truth, setup, *, note: str = "", magnitude: bool = False,
                  echo=print) -> list[BenchRecord]:
    """Trace each of recon's ``runs`` — ``(label, solve(mark))`` pairs — on one problem, each within the budget.

    ``solve`` calls ``mark(x)`` after every iteration (through the solver's callback);
    ``setup`` gives ``budget_s``, ``target_db`` and ``repeats`` (the fastest of that many runs is kept).
    """
    from recon.bench.trace import run_traced

    records = []
    for label, solve in runs:
        tries = []
        for _ in range(setup.repeats):
            trace = Trace(truth, setup.budget_s, magnitude=magnitude)
            run_traced(trace, lambda solve=solve, trace=trace: solve(trace.mark))
            tries.append(BenchRecord.from_trace(problem, label, "recon", trace, setup.target_db, note=note))
        records.append(fastest(tries))
        echo(f"  recon {label}: {records[-1].iterations} iterations")
    return records


def fastest(tries: list[BenchRecord]) -> BenchRecord:
    """Of repeated runs of one method, the one with the least time per iteration (timeit's rule: the others
    were slowed by something else on the machine).

    >>> a = BenchRecord("p", "m", "lib", 2.0, None, 28.0, 28.1, 10, 0.02)
    >>> fastest([a, BenchRecord("p", "m", "lib", 1.5, None, 28.0, 28.1, 10, 0.015)]).ms_per_iter
    1.5
    """
    timed = [r for r in tries if r.ms_per_iter is not None]
    return min(timed, key=lambda r: r.ms_per_iter) if timed else tries[0]


def peer_records(peers, setup, echo=print) -> list[BenchRecord]:
    """One record per peer function ``peer(setup) -> BenchRecord``, in order (the fastest of ``setup.repeats``)."""
    records = []
    for peer in peers:
        records.append(fastest([peer(setup) for _ in range(setup.repeats)]))
        echo(f"  {records[-1].library} {records[-1].method}: {records[-1].iterations} iterations")
    return records
