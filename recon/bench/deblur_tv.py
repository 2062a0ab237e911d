"""recon's methods on the ``deblur-tv`` benchmark and the run of all of them, recon's and its peers'.

The problem, its sizes and why: :mod:`recon.bench.deblur_tv_problem`; the peers: :mod:`recon.bench.deblur_tv_peers`.
"""

from __future__ import annotations

from recon.bench import deblur_tv_peers
from recon.bench.deblur_tv_problem import PROBLEM, DeblurTVSetup
from recon.bench.records import BenchRecord, peer_records, recon_records


def recon_methods(setup: DeblurTVSetup, echo=print) -> list[BenchRecord]:
    """recon's deconvolution ADMM (FFT x-updates, periodic TV; over-relaxed, its default, and plain), its Neumann-TV
    variant (PCG), and PDHG for contrast."""
    from recon.priors import TV
    from recon.solvers.common import Stopping
    from recon.solvers.deconvolution_admm import deconvolution_admm
    from recon.solvers.deconvolution_transforms import PeriodicTV
    from recon.solvers.pdhg import pdhg

    truth, _, y = setup.problem()
    blur = setup.blur()                     # built once, outside the timed runs
    lam = setup.strength
    stopping = Stopping(max_iter=setup.max_iter)
    runs = (
        ("deconvolution ADMM (FFT, periodic TV)",
         lambda mark: deconvolution_admm(y, blur, PeriodicTV(lam), stopping=stopping,
                                         callback=lambda k, x: mark(x))),
        ("deconvolution ADMM (FFT, no relaxation)",
         lambda mark: deconvolution_admm(y, blur, PeriodicTV(lam), relaxation=1.0, stopping=stopping,
                                         callback=lambda k, x: mark(x))),
        ("deconvolution ADMM (Neumann TV, 3 PCG)",
         lambda mark: deconvolution_admm(y, blur, TV(lam), stopping=stopping,
                                         callback=lambda k, x: mark(x))),
        ("PDHG (periodic TV)",
         lambda mark: pdhg(y, blur, PeriodicTV(lam), preconditioning="scalar", stopping=stopping,
                           callback=lambda k, x: mark(x))),
    )
    return recon_records(PROBLEM, runs, truth, setup, note=f"lambda = {lam:g}", echo=echo)


def run(setup: DeblurTVSetup | None = None, echo=print) -> list[BenchRecord]:
    """All methods on ``deblur-tv``: recon's, then deepinv's and SCICO's (when installed)."""
    setup = DeblurTVSetup() if setup is None else setup
    echo(f"{PROBLEM}: {setup.size}² camera, Gaussian sigma {setup.sigma:g} in a {setup.kernel_size}² kernel, "
         f"circular, noise {setup.noise:g}, lambda {setup.strength:g}, target {setup.target_db} dB, at most "
         f"{setup.max_iter} iterations or {setup.budget_s:g} s per method")
    return recon_methods(setup, echo) + peer_records(deblur_tv_peers.PEERS, setup, echo)
