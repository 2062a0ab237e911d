"""recon's methods on the ``mri-tv`` benchmark and the run of all of them, recon's and its peers'.

The problem, its sizes and why: :mod:`recon.bench.mri_tv_problem`; the peers: :mod:`recon.bench.mri_tv_peers`.
"""

from __future__ import annotations

from recon.bench import mri_tv_peers
from recon.bench.mri_tv_problem import PROBLEM, MRITVSetup
from recon.bench.records import BenchRecord, peer_records, recon_records


def recon_methods(setup: MRITVSetup, echo=print) -> list[BenchRecord]:
    """recon's coil-split ADMM (every step closed form), and its generic ADMM with CG x-updates for contrast."""
    from recon.operators import MultiCoilMRI
    from recon.priors import TV
    from recon.solvers.admm import admm
    from recon.solvers.coil_split_admm import coil_split_admm
    from recon.solvers.common import Stopping

    truth, mask, maps, y = setup.problem()
    operator = MultiCoilMRI(mask, maps)
    lam = setup.absolute_strength(operator, y)
    stopping = Stopping(max_iter=setup.max_iter)
    runs = (
        ("coil-split ADMM", lambda mark: coil_split_admm(y, operator, TV(lam), stopping=stopping,
                                                         callback=lambda k, x: mark(x))),
        ("ADMM, 4 CG steps per x-update", lambda mark: admm(y, operator, TV(lam), penalty=0.5, cg_max_iter=4,
                                                             stopping=stopping, callback=lambda k, x: mark(x))),
    )
    return recon_records(PROBLEM, runs, truth, setup, note=f"lambda = {lam:.3g}", magnitude=True, echo=echo)


def run(setup: MRITVSetup | None = None, echo=print) -> list[BenchRecord]:
    """All methods on ``mri-tv``: recon's, then deepinv's, SigPy's and BART's when they are installed."""
    setup = MRITVSetup() if setup is None else setup
    echo(f"{PROBLEM}: {setup.size}² camera, {setup.n_coils} birdcage coils, {setup.acceleration:g}x random "
         f"columns with a {100 * setup.centre_fraction:g} % centre, noise {setup.noise:g}, relative lambda "
         f"{setup.strength}, target {setup.target_db} dB, at most {setup.max_iter} iterations or "
         f"{setup.budget_s:g} s per method")
    return recon_methods(setup, echo) + peer_records(mri_tv_peers.PEERS, setup, echo)

