r"""Benchmark problem ``pnp``: recon's plug-and-play solvers against deepinv's, with the very same denoiser.

For each problem of :mod:`recon.bench.pnp_problems` (deblurring, few-view CT), one
denoiser object is loaded and handed to every run, recon's and deepinv's:

* **HQS with DPIR's schedule** — recon's :func:`~recon.solvers.hqs.hqs` against deepinv's
  DPIR iteration (``optim_builder("HQS")`` with ``PnP``: what deepinv's ``DPIR`` class
  builds, with the problem's schedule);
* **PnP-ADMM** — recon's :func:`~recon.solvers.pnp_admm.pnp_admm` against deepinv's
  ``optim_builder("ADMM")`` with ``PnP``;
* **each as it ships** (deblurring) — recon's ``hqs`` with ``deblur-pnp``'s schedule (chosen on
  validation photographs) against the same DPIR run, the schedule deepinv's ``DPIR`` class ships.

Same start, same σs and weights, same number of iterations in the first two pairs; the records give PSNR
against cumulative solver time, the time to a common target (the lowest best PSNR of
the problem's methods less 0.1 dB) and, in the note, how much of the time the denoiser
took and (CT) how many :math:`A^\top A` products the data steps used. Then
:mod:`recon.bench.pnp_denoisers` times one call of each denoiser (``pnp-denoiser``).

>>> from recon.networks import SmallDRUNet
>>> from recon.priors.denoisers import NetworkDenoiser
>>> setup = PnPSetup(size=32, n_views=8, max_iter=2)
>>> denoiser = NetworkDenoiser(SmallDRUNet(channels=(8, 16)))     # untrained: the plumbing, not the PSNR
>>> records = solve_problem(ct_problem(setup), denoiser, setup, echo=lambda *_: None)
>>> [(r.library, r.method, r.iterations) for r in records]      # doctest: +NORMALIZE_WHITESPACE
[('recon', 'hqs, DPIR schedule', 2), ('recon', 'pnp_admm', 2),
 ('deepinv', 'DPIR iteration: HQS + PnP', 2), ('deepinv', 'ADMM + PnP', 2)]
"""

from __future__ import annotations

import math

import torch

from recon.bench.pnp_measure import common_target, pair_ratios, traced_record, with_common_target
from recon.bench.pnp_problems import (ADMM_PAIR, CT, DEBLUR, HQS_PAIR, SHIPPED_PAIR, HQSParameters, PnPProblem,
                                      PnPSetup, ct_problem, deblur_problem, shipped_deblur)
from recon.bench.records import BenchRecord
from recon.bench.trace import psnr_db


def recon_methods(problem: PnPProblem, denoiser, setup: PnPSetup) -> list[BenchRecord]:
    """recon's ``hqs`` (DPIR's schedule, and the shipped config's where the problem has one) and ``pnp_admm``."""
    from recon.solvers.common import Stopping
    from recon.solvers.hqs import hqs
    from recon.solvers.pnp_admm import pnp_admm

    h, a = problem.hqs, problem.admm
    counted = problem.operator if problem.name == CT else None   # deblurring's data step has no AᵀA

    def run_hqs(mark, h: HQSParameters = h):
        hqs(problem.y, problem.operator, denoiser, sigma_start=h.sigma_start, sigma_end=h.sigma_end,
            strength=h.strength, x0=problem.x0, nonnegative=h.nonnegative, stopping=Stopping(max_iter=h.iterations),
            callback=lambda k, x: mark(x))

    def run_admm(mark):
        pnp_admm(problem.y, problem.operator, denoiser, sigma=a.sigma, penalty=a.penalty, x0=problem.x0,
                 stopping=Stopping(max_iter=a.iterations), callback=lambda k, x: mark(x))

    records = [traced_record(problem, HQS_PAIR[0], "recon", run_hqs, setup, denoiser=denoiser, operator=counted,
                             note=_hqs_note(h)),
               traced_record(problem, ADMM_PAIR[0], "recon", run_admm, setup, denoiser=denoiser, operator=counted,
                             note=_admm_note(problem))]
    if problem.shipped is not None:
        records.append(traced_record(problem, SHIPPED_PAIR[0], "recon",
                                     lambda mark: run_hqs(mark, problem.shipped), setup, denoiser=denoiser,
                                     operator=counted, note=_hqs_note(problem.shipped)))
    return records


def _hqs_note(h: HQSParameters) -> str:
    return (f"sigma {255 * h.sigma_start:.0f}->{255 * h.sigma_end:.3g}/255, strength {h.strength:g}, "
            f"{h.iterations} it.{', nonnegative' if h.nonnegative else ''}")


def _admm_note(problem: PnPProblem) -> str:
    a = problem.admm
    return f"sigma {255 * a.sigma:.3g}/255, penalty {a.penalty:g}, {a.iterations} it."


def solve_problem(problem: PnPProblem, denoiser, setup: PnPSetup, echo=print) -> list[BenchRecord]:
    """recon's and deepinv's runs of one problem with one denoiser object, scored against a common target."""
    from recon.bench import pnp_peers

    echo(f"{problem.name}: {problem.description}; denoiser {problem.denoiser}; {problem.baseline} "
         f"{psnr_db(problem.baseline_image, problem.truth):.2f} dB")
    with torch.no_grad():       # untimed: the process's first call sets up kernels and buffers; no method pays it
        denoiser(problem.x0, problem.hqs.sigma_start)
    records = recon_methods(problem, denoiser, setup)
    for r in records:
        echo(f"  recon {r.method}: {r.iterations} iterations, best {r.best_psnr_db:.2f} dB")
    for peer in pnp_peers.PEERS:
        records.append(peer(problem, denoiser, setup))
        echo(f"  {records[-1].library} {records[-1].method}: {records[-1].iterations} iterations, "
             f"best {records[-1].best_psnr_db or float('nan'):.2f} dB")
    baseline = psnr_db(problem.baseline_image, problem.truth)
    records = with_common_target(records, common_target(records, baseline))
    for method, pair_target, mine, theirs in pair_ratios(records, (HQS_PAIR, ADMM_PAIR, SHIPPED_PAIR)):
        ratio = f"{theirs / mine:.2f}×" if mine and theirs else "—"
        echo(f"  recon {method} against deepinv: to {pair_target:.2f} dB in {_seconds(mine)} against "
             f"{_seconds(theirs)}: {ratio} sooner")
    return records


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def load_denoisers(setup: PnPSetup) -> dict[str, object]:
    """Each denoiser the set-up names, loaded once: ``{name: denoiser}``."""
    from recon.priors.denoisers import load_denoiser

    names = (shipped_deblur(setup)[0], setup.phantom_denoiser, setup.general_denoiser)
    return {name: load_denoiser(name) for name in dict.fromkeys(names)}


def run(setup: PnPSetup | None = None, echo=print, denoisers: dict | None = None) -> list[BenchRecord]:
    """Both problems (recon, then deepinv, on one denoiser object each), then the denoiser timings.

    ``denoisers`` maps the set-up's denoiser names to objects (default: loaded by name).
    """
    from recon.weights.registry import WeightsError

    setup = PnPSetup() if setup is None else setup
    try:
        denoisers = load_denoisers(setup) if denoisers is None else denoisers
    except WeightsError as error:         # e.g. the shipped models are not in this checkout
        echo(f"pnp: skipped: {error}")
        return [BenchRecord.unavailable(name, "all methods", "recon", math.nan, f"no denoiser: {error}")
                for name in (DEBLUR, CT)]
    echo(f"pnp: recon and deepinv with the same denoiser objects; at most {setup.budget_s:g} s per method, "
         f"{setup.repeats} run(s) each (the fastest is kept)")
    records = []
    for build in (deblur_problem, ct_problem):
        problem = build(setup)
        records += solve_problem(problem, denoisers[problem.denoiser], setup, echo)
    if setup.time_denoisers:
        from recon.bench.pnp_denoisers import denoiser_records

        records += denoiser_records(setup, denoisers[setup.general_denoiser], echo)
    return records
