"""recon's methods on the ``ct-tv`` benchmark and the run of all of them, recon's and its peers'.

The problem, its sizes and why: :mod:`recon.bench.ct_tv_problem`; the peers: :mod:`recon.bench.ct_tv_peers`.
"""

from __future__ import annotations

from recon.bench import ct_tv_peers
from recon.bench.ct_tv_problem import PROBLEM, CTTVSetup
from recon.bench.records import BenchRecord, peer_records, recon_records


def recon_methods(setup: CTTVSetup, echo=print) -> list[BenchRecord]:
    """recon's PDHG with the ramp preconditioner (the default for CT), and with diagonal steps for contrast."""
    import time

    from recon.operators import ParallelBeamCT
    from recon.priors import TV
    from recon.solvers.common import Stopping
    from recon.solvers.pdhg import pdhg

    truth = setup.truth()
    started = time.perf_counter()
    operator = ParallelBeamCT(setup.angles, setup.n_detectors, image_shape=(setup.size, setup.size))
    build_s = time.perf_counter() - started
    y = setup.noisy(operator.A(truth))
    runs = [(label, lambda mark, preconditioning=preconditioning: pdhg(
                 y, operator, TV(setup.strength), preconditioning=preconditioning,
                 stopping=Stopping(max_iter=setup.max_iter), callback=lambda k, x: mark(x)))
            for label, preconditioning in (("pdhg, ramp preconditioner", "ramp"), ("pdhg, diagonal steps", "diagonal"))]
    return recon_records(PROBLEM, runs, truth, setup, note=f"matrix built once in {build_s:.1f} s, not timed",
                         echo=echo)


def run(setup: CTTVSetup | None = None, echo=print) -> list[BenchRecord]:
    """All methods on ``ct-tv``: recon's, then deepinv's, then ODL's when it is installed."""
    setup = CTTVSetup() if setup is None else setup
    echo(f"{PROBLEM}: {setup.size}² Shepp-Logan, {setup.n_views} parallel views, {setup.noise_kind} noise "
         f"{setup.noise:g}, "
         f"lambda = {setup.strength}, target {setup.target_db} dB, at most {setup.max_iter} iterations "
         f"or {setup.budget_s:g} s per method")
    return recon_methods(setup, echo) + peer_records(ct_tv_peers.PEERS, setup, echo)
