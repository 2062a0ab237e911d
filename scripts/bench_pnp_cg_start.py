"""Where ``recon bench pnp``'s CT HQS loses time: the start of the data step's conjugate gradients.

    python scripts/bench_pnp_cg_start.py [--repeats 3] [--channels-last]

recon's ``QuadraticDataStep`` starts each CG solve of :math:`(A^\\top A + \\alpha_k I)x = A^\\top y + \\alpha_k v`
at its previous solution. In HQS that is the un-denoised iterate :math:`x_{k-1}`, streaks and noise included,
and 10 CG steps from there keep much of them; deepinv starts at :math:`v = z_{k-1}`, the denoised image.
This script runs the bench's CT problem (same set-up, same denoiser object, one torch thread) with recon's
``hqs`` as it is and with the CG started at :math:`v` (10 and 5 steps; ``QuadraticDataStep.prox`` patched
here, nothing in recon changed), against deepinv's DPIR iteration, and prints the time each takes to the
lower of its and deepinv's best PSNR less 0.1 dB. ``--channels-last`` also converts the shared
denoiser to channels-last memory (both libraries call that same object).
"""

from __future__ import annotations

import argparse
from unittest import mock

import torch


def main() -> None:
    from recon.bench.pnp_measure import TARGET_MARGIN_DB, traced_record
    from recon.bench.pnp_peers import deepinv_hqs
    from recon.bench.pnp_problems import PnPSetup, ct_problem
    from recon.priors.denoisers import load_denoiser
    from recon.solvers.common import Stopping
    from recon.solvers.data_consistency import QuadraticDataStep
    from recon.solvers.hqs import hqs

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    setup = PnPSetup(repeats=args.repeats)
    problem = ct_problem(setup)
    denoiser = load_denoiser(problem.denoiser)
    if args.channels_last:
        denoiser.network = denoiser.network.to(memory_format=torch.channels_last)
    with torch.no_grad():
        denoiser(problem.x0, problem.hqs.sigma_start)        # untimed first call
    h = problem.hqs
    prox = QuadraticDataStep.prox

    def prox_from_v(self, v, alpha):
        self._previous = None                                # CG starts at v
        return prox(self, v, alpha)

    def variant(cg_steps: int, from_v: bool):
        def solve(mark):
            with mock.patch.object(QuadraticDataStep, "prox", prox_from_v if from_v else prox):
                hqs(problem.y, problem.operator, denoiser, sigma_start=h.sigma_start, sigma_end=h.sigma_end,
                    strength=h.strength, x0=problem.x0, cg_steps=cg_steps, stopping=Stopping(max_iter=h.iterations),
                    callback=lambda k, x: mark(x))
        return solve

    peer = deepinv_hqs(problem, denoiser, setup)
    rows = [("deepinv DPIR iteration (CG from v, tol 1e-4)", peer)]
    for label, steps, from_v in (("recon hqs as is (10 CG from previous x)", 10, False),
                                 ("recon hqs, 10 CG from v", 10, True), ("recon hqs, 5 CG from v", 5, True)):
        rows.append((label, traced_record(problem, label, "recon", variant(steps, from_v), setup, denoiser=denoiser,
                                          operator=problem.operator)))
    print(f"{problem.description}; denoiser {problem.denoiser}{', channels-last' if args.channels_last else ''}")
    print(f"{'method':<46} {'ms/it':>6} {'best':>6} {'at it.':>6} {'target':>6} {'to it [s]':>9} {'ratio':>6}  note")
    for label, record in rows:
        trace = record.trace
        target = min(record.best_psnr_db, peer.best_psnr_db) - TARGET_MARGIN_DB
        mine, theirs = trace.first_reaching(target), peer.trace.first_reaching(target)
        seconds, peer_seconds = trace.seconds[mine], peer.trace.seconds[theirs]
        best_at = trace.psnr_db.index(record.best_psnr_db) + 1
        print(f"{label:<46} {record.ms_per_iter:6.1f} {record.best_psnr_db:6.2f} {best_at:6d} {target:6.2f} "
              f"{seconds:9.3f} {peer_seconds / seconds:5.2f}×  {record.note}")


if __name__ == "__main__":
    main()
