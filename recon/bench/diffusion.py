r"""Benchmark problem ``diffusion``: recon's posterior samplers against deepinv's, with the very same score network.

For each problem of :mod:`recon.bench.diffusion_problems` (128² few-view CT, 128² deblurring),
one score network (an EDM denoiser, :mod:`recon.networks.edm`) is loaded and handed to every
sampler, recon's and deepinv's (:mod:`recon.bench.diffusion_peers`):

* **DPS**: recon's :func:`~recon.samplers.dps.dps` against ``deepinv.sampling.DPS``;
* **DiffPIR**: recon's :func:`~recon.samplers.diffpir.diffpir` against ``deepinv.sampling.DiffPIR``;
* **RED-diff**: recon's :func:`~recon.samplers.red_diff.red_diff` (deepinv has none), for the
  issue's "a 128² CT reconstruction in at most 10 s".

Every sampler takes the problem's ``steps`` network evaluations per sample. Each draws
``samples`` samples (seeds 0, 1, ...); a record's time is the fastest sample's (timeit's rule:
the slower ones were slowed by something else on the machine), its PSNR the mean over the samples
of the final sample's PSNR. The clock stops while PSNRs are computed: a forward hook on the
network marks the PSNR of each clean estimate :math:`D(x_t, \sigma_t)` (the figure's curves), and
the returned sample is marked last. ``ms/iter`` is the time per network evaluation, sampler
overhead and data steps included. The common target is the lowest mean PSNR of the samplers that
beat the start, less 0.1 dB; a sampler reaches it in its sample time or never.

>>> import torch
>>> from recon.networks import EDMDenoiser
>>> from recon.priors.denoisers import NetworkDenoiser
>>> torch.manual_seed(0) and None
>>> denoiser = NetworkDenoiser(EDMDenoiser(channels=(8, 16)))     # untrained: the plumbing, not the PSNR
>>> setup = DiffusionSetup(size=32, n_views=8, steps=3, samples=1)
>>> records = solve_problem(ct_problem(setup), denoiser, setup, echo=lambda *_: None)
>>> [(r.library, r.method, r.iterations) for r in records]      # doctest: +NORMALIZE_WHITESPACE
[('recon', 'dps', 3), ('recon', 'diffpir', 3), ('recon', 'red-diff', 3), ('deepinv', 'DPS', 3),
 ('deepinv', 'DiffPIR', 3)]
"""

from __future__ import annotations

import math
import statistics

import torch

from recon.bench.diffusion_problems import (CT, DEBLUR, DIFFPIR_PAIR, DPS_PAIR, PROBLEMS, RED_DIFF, DiffusionProblem,
                                            DiffusionSetup, ct_problem, deblur_problem, seconds_text)
from recon.bench.pnp_measure import common_target
from recon.bench.records import BenchRecord
from recon.bench.trace import Trace, psnr_db, run_traced

__all__ = ["DiffusionSetup", "ct_problem", "deblur_problem", "recon_samplers", "solve_problem", "run"]


def recon_samplers(problem: DiffusionProblem, denoiser) -> dict:
    """recon's samplers on ``problem`` with ``denoiser``: ``{method: draw(seed) -> sample}``."""
    from recon.samplers import diffpir, dps, red_diff

    common = dict(noise_sigma=problem.noise_sigma, steps=problem.steps)
    d, g, r = problem.dps, problem.diffpir, problem.red_diff

    def seeded(seed):
        return torch.Generator().manual_seed(seed)

    return {
        DPS_PAIR[0]: lambda seed: dps(problem.y, problem.operator, denoiser, sigma_max=d.sigma_max,
                                           step_size=d.step, generator=seeded(seed), **common),
        DIFFPIR_PAIR[0]: lambda seed: diffpir(problem.y, problem.operator, denoiser, sigma_max=g.sigma_max, lam=g.lam,
                                                   zeta=g.zeta, cg_steps=g.cg_steps, generator=seeded(seed), **common),
        RED_DIFF: lambda seed: red_diff(problem.y, problem.operator, denoiser, sigma_max=r.sigma_max, lam=r.lam,
                                             learning_rate=r.learning_rate, cg_steps=r.cg_steps,
                                             generator=seeded(seed), **common),
    }


def _notes(problem: DiffusionProblem) -> dict[tuple[str, str], str]:
    d, g, r = problem.dps, problem.diffpir, problem.red_diff
    cg = "CG by deepinv (max 50, tol 1e-4)" if problem.name == CT else "FFT prox"
    own_data = f"CG {g.cg_steps}" if problem.name == CT else "FFT prox"
    return {
        ("recon", DPS_PAIR[0]): f"zeta {d.step:g}/||A||², sigma_max {d.sigma_max:g}, explicit adjoint",
        ("recon", DIFFPIR_PAIR[0]): f"lambda {g.lam:g}, zeta {g.zeta:g}, sigma_max {g.sigma_max:g}, {own_data}",
        ("recon", RED_DIFF): f"lambda {r.lam:g}, lr {r.learning_rate:g}, sigma_max {r.sigma_max:g}",
        ("deepinv", DPS_PAIR[1]): f"weight {d.deepinv_weight:g}, VP/DDPM, float32, autograd through A",
        ("deepinv", DIFFPIR_PAIR[1]): f"lambda {problem.deepinv_diffpir_lambda:g}, zeta {g.zeta:g}, VP schedule, {cg}",
    }


def measure(problem: DiffusionProblem, method: str, library: str, draw, denoiser, setup: DiffusionSetup,
            note: str = "") -> BenchRecord:
    """``setup.samples`` timed samples of ``draw(seed)``: the fastest one's time, their mean PSNR (module text)."""
    traces = []
    for seed in range(setup.samples):
        trace = Trace(problem.truth, setup.budget_s)
        drawn = []
        handle = denoiser.register_forward_hook(lambda module, args, output, trace=trace: trace.mark(output))
        try:
            run_traced(trace, lambda seed=seed: drawn.append(draw(seed)))
        finally:
            handle.remove()
        if not drawn:
            return BenchRecord.unavailable(problem.name, method, library, math.nan,
                                           f"over the budget of {setup.budget_s:g} s per sample")
        trace.mark(drawn[0])                          # the end of the sample: its time and PSNR
        traces.append(trace)
    fastest = min(traces, key=lambda t: t.seconds[-1])
    evaluations = fastest.iterations - 1
    seconds = fastest.seconds[-1]
    mean_psnr = statistics.fmean(t.psnr_db[-1] for t in traces)
    spread = f", PSNR spread {statistics.pstdev([t.psnr_db[-1] for t in traces]):.2f} dB" if len(traces) > 1 else ""
    note = f"{note}; {len(traces)} sample(s){spread}" if note else f"{len(traces)} sample(s){spread}"
    return BenchRecord(problem.name, method, library, 1e3 * seconds / max(evaluations, 1), None, math.nan, mean_psnr,
                       evaluations, seconds, note, seconds, fastest)


def with_sample_target(records: list[BenchRecord], target_db: float) -> list[BenchRecord]:
    """The records with ``target_db``: a sampler whose mean PSNR reaches it does so in its sample time."""
    out = []
    for r in records:
        reached = r.best_psnr_db is not None and r.best_psnr_db >= target_db
        out.append(BenchRecord(**{**r.__dict__, "target_psnr_db": target_db,
                                  "time_to_target_s": r.seconds if reached else None}))
    return out


def per_sample_ratios(records: list[BenchRecord]) -> list[tuple[str, BenchRecord, BenchRecord, float]]:
    """``(recon's method, recon's record, deepinv's record, deepinv's seconds / recon's)`` for each pair that ran."""
    by_method = {(r.library, r.method): r for r in records if r.best_psnr_db is not None}
    out = []
    for mine, theirs in (DPS_PAIR, DIFFPIR_PAIR):
        own, peer = by_method.get(("recon", mine)), by_method.get(("deepinv", theirs))
        if own is not None and peer is not None:
            out.append((mine, own, peer, peer.seconds / own.seconds))
    return out


def solve_problem(problem: DiffusionProblem, denoiser, setup: DiffusionSetup, echo=print) -> list[BenchRecord]:
    """recon's and deepinv's samplers on one problem with one network object, scored against a common target."""
    from recon.bench.diffusion_peers import PEERS

    baseline = psnr_db(problem.baseline_image, problem.truth)
    echo(f"{problem.name}: {problem.description}; score network {problem.score}; {problem.steps} steps; "
         f"{problem.baseline} {baseline:.2f} dB")
    with torch.no_grad():       # untimed: the process's first call sets up kernels and buffers; no sampler pays it
        denoiser(problem.x0, 0.1)
    notes = _notes(problem)
    runs = [("recon", method, draw) for method, draw in recon_samplers(problem, denoiser).items()]
    runs += [("deepinv", method, lambda seed, peer=peer: peer(problem, denoiser, seed)) for method, peer in PEERS.items()]
    records = []
    for library, method, draw in runs:
        records.append(measure(problem, method, library, draw, denoiser, setup, notes[(library, method)]))
        r = records[-1]
        echo(f"  {library} {method}: {seconds_text(r.seconds if r.best_psnr_db is not None else None)} per sample, "
             f"{r.best_psnr_db or float('nan'):.2f} dB ({r.note})")
    records = with_sample_target(records, common_target(records, baseline))
    for method, own, peer, ratio in per_sample_ratios(records):
        echo(f"  recon {method} against deepinv {peer.method}: {own.seconds:.2f} s against {peer.seconds:.2f} s "
             f"per sample: {ratio:.2f}× faster ({own.best_psnr_db:.2f} dB against {peer.best_psnr_db:.2f} dB)")
    return records


def load_scores(setup: DiffusionSetup) -> dict[str, object]:
    """Each score network the set-up names, loaded once: ``{name: denoiser}``."""
    from recon.priors.denoisers import load_denoiser

    return {name: load_denoiser(name) for name in dict.fromkeys((setup.phantom_score, setup.natural_score))}


def run(setup: DiffusionSetup | None = None, echo=print, denoisers: dict | None = None) -> list[BenchRecord]:
    """Both problems, recon's samplers then deepinv's, on one network object each.

    ``denoisers`` maps the set-up's network names to objects (default: loaded by name).
    """
    from recon.weights.registry import WeightsError

    setup = DiffusionSetup() if setup is None else setup
    try:
        denoisers = load_scores(setup) if denoisers is None else denoisers
    except WeightsError as error:
        echo(f"diffusion: skipped: {error}")
        return [BenchRecord.unavailable(name, "all samplers", "recon", math.nan, f"no network: {error}")
                for name in (CT, DEBLUR)]
    echo(f"diffusion: recon's and deepinv's samplers with the same network objects; {setup.samples} sample(s) "
         f"each, at most {setup.budget_s:g} s per sample")
    records = []
    for build in PROBLEMS:
        problem = build(setup)
        records += solve_problem(problem, denoisers[problem.score], setup, echo)
    return records
