r"""How a plug-and-play run is measured: PSNR against time, and where the time went.

:class:`Tally` counts, during one run, the calls of the denoiser and the seconds spent in
them (through forward hooks on the denoiser module, so the very object the solvers call
is measured, whoever calls it), and the products :math:`A^\top A x` of the operator (the
data steps' CG iterations, one more per solve for the first residual). Its overhead is
a few microseconds a call.

The common target of a problem is the lowest best PSNR of its methods less
``TARGET_MARGIN_DB`` (0.1 dB), over the methods that improve on the input at all: every
method reaches it, and the table's times to it compare like with like.

>>> import torch
>>> denoiser = torch.nn.Identity()
>>> with Tally(denoiser) as tally:
...     _ = denoiser(torch.zeros(3)); _ = denoiser(torch.zeros(3))
>>> tally.calls
2
"""

from __future__ import annotations

import math
import time

from recon.bench.records import BenchRecord, fastest
from recon.bench.trace import Trace, run_traced

TARGET_MARGIN_DB = 0.1


class Tally:
    """Denoiser calls and seconds, and ``A_adjoint_A`` products, inside a ``with`` block."""

    def __init__(self, denoiser, operator=None):
        self.denoiser, self.operator = denoiser, operator
        self.calls, self.denoiser_s, self.normal_products = 0, 0.0, 0
        self._handles, self._started = [], 0.0

    def __enter__(self) -> "Tally":
        def before(module, args):
            self._started = time.perf_counter()

        def after(module, args, output):
            self.denoiser_s += time.perf_counter() - self._started
            self.calls += 1

        self._handles = [self.denoiser.register_forward_pre_hook(before), self.denoiser.register_forward_hook(after)]
        if self.operator is not None:
            normal = self.operator.A_adjoint_A

            def counted(x, **kwargs):
                self.normal_products += 1
                return normal(x, **kwargs)

            self.operator.A_adjoint_A = counted       # an instance attribute, removed on exit
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        if self.operator is not None:
            del self.operator.A_adjoint_A

    def note(self, iterations: int, seconds: float) -> str:
        """``denoiser 8 calls 0.52 s of 0.71 s; 11.0 AᵀA per iteration``."""
        text = f"denoiser {self.calls} calls {self.denoiser_s:.2f} s of {seconds:.2f} s"
        if self.operator is not None and iterations:
            text += f"; {self.normal_products / iterations:.1f} AᵀA per iteration"
        return text


def traced_record(problem, method: str, library: str, solve, setup, *, denoiser, operator=None,
                  note: str = "") -> BenchRecord:
    """The fastest of ``setup.repeats`` traced runs of ``solve(mark)``, its note saying where its time went.

    The target is left unset (NaN) until :func:`with_common_target` knows every method's best.
    """
    tries = []
    for _ in range(setup.repeats):
        trace = Trace(problem.truth, setup.budget_s)
        with Tally(denoiser, operator) as tally:
            run_traced(trace, lambda trace=trace: solve(trace.mark))
        seconds = trace.seconds[-1] if trace.iterations else 0.0
        tally_note = tally.note(trace.iterations, seconds)
        tries.append(BenchRecord.from_trace(problem.name, method, library, trace, math.nan,
                                            note=f"{note}; {tally_note}" if note else tally_note))
    return fastest(tries)


def common_target(records: list[BenchRecord], baseline_db: float) -> float:
    """The lowest best PSNR, over the records that beat ``baseline_db``, less ``TARGET_MARGIN_DB``.

    >>> r = lambda best: BenchRecord("p", "m", "lib", 1.0, None, math.nan, best, 1, 1.0)
    >>> round(common_target([r(30.0), r(29.5), r(12.0)], baseline_db=25.0), 2)
    29.4
    """
    bests = [r.best_psnr_db for r in records if r.best_psnr_db is not None and r.best_psnr_db > baseline_db]
    return (min(bests) if bests else baseline_db) - TARGET_MARGIN_DB


def with_common_target(records: list[BenchRecord], target_db: float) -> list[BenchRecord]:
    """The records re-scored against ``target_db`` (from their traces; records without one keep theirs)."""
    out = []
    for r in records:
        if r.trace is None:
            out.append(BenchRecord(**{**r.__dict__, "target_psnr_db": target_db}))
        else:
            out.append(BenchRecord.from_trace(r.problem, r.method, r.library, r.trace, target_db, note=r.note))
    return out


def pair_ratios(records: list[BenchRecord], pairs) -> list[tuple[str, float, float | None, float | None]]:
    """For each ``(recon's method, peer's method)`` of ``pairs`` that both ran: ``(method, target, recon_s, peer_s)``.

    The target is the lower of the two bests less ``TARGET_MARGIN_DB``; a time is ``None`` if never reached.
    """
    out = []
    traced = {r.method: r for r in records if r.trace is not None and r.best_psnr_db is not None}
    for mine, theirs in pairs:
        own, peer = traced.get(mine), traced.get(theirs)
        if own is None or peer is None:
            continue
        target = min(own.best_psnr_db, peer.best_psnr_db) - TARGET_MARGIN_DB
        times = []
        for r in (own, peer):
            hit = r.trace.first_reaching(target)
            times.append(None if hit is None else r.trace.seconds[hit])
        out.append((mine, target, times[0], times[1]))
    return out
