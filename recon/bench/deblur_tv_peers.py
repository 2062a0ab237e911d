r"""The peers of recon on ``deblur-tv``: deepinv (always) and SCICO (when installed).

Both apply the same circular blur as recon (checked to float precision on the
problem's PSF), on the same data, with the same λ.

* **deepinv FISTA + TVPrior**: ``deepinv.optim.FISTA`` with deepinv's ``L2`` data
  term, ``BlurFFT`` physics and ``TVPrior`` (its prox runs up to 1,000 inner
  iterations, deepinv's default), step :math:`1/\|A\|^2` from deepinv's
  ``compute_norm``. deepinv's TV has a Neumann boundary, so its optimum
  differs a little from the periodic TV the others solve. Its default prox
  costs seconds an iteration at 256², so a second run cuts it to 20 inner
  iterations, which ``TVPrior`` warm-starts from the previous call.
* **SCICO ADMM**: ``scico.optimize.ADMM`` with ``SquaredL2Loss`` on a
  ``CircularConvolve``, :math:`\lambda` ``L21Norm`` on
  ``FiniteDifference(circular=True)`` and the ``CircularConvolveSolver``
  x-update (exact, FFT) — SCICO's own circulant-blur TV example, the same
  algorithm and penalty as recon's; run twice, with SCICO's default ``alpha = 1`` (plain ADMM)
  and with recon's over-relaxation ``alpha = 1.7``. JAX runs on the CPU pinned to one thread
  (``XLA_FLAGS``, set before JAX is first imported). Its just-in-time compilation
  is left out of its time: a three-iteration warm-up run on the same operators
  comes first, untimed (with compilation in, its first iteration takes seconds). The ``bench`` extra installs it.
"""

from __future__ import annotations

import os
import sys
import warnings

import torch

from recon.bench.deblur_tv_problem import PROBLEM, DeblurTVSetup
from recon.bench.records import BenchRecord
from recon.bench.trace import Trace, run_traced

ONE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def deepinv_fista(setup: DeblurTVSetup, inner_iterations: int = 1000) -> BenchRecord:
    from deepinv.optim import FISTA
    from deepinv.optim.data_fidelity import L2
    from deepinv.optim.prior import TVPrior
    from deepinv.physics import BlurFFT

    truth, psf, y = setup.problem()
    lam = setup.strength
    physics = BlurFFT(img_size=(1, setup.size, setup.size), filter=psf[None, None])
    trace = Trace(truth, setup.budget_s)

    def solve():
        x0 = physics.A_adjoint(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            squared_norm = float(physics.compute_norm(torch.randn_like(x0), max_iter=100, tol=1e-4, verbose=False))
            model = FISTA(prior=TVPrior(n_it_max=inner_iterations), data_fidelity=L2(), stepsize=1.0 / squared_norm, lambda_reg=lam,
                          max_iter=setup.max_iter, early_stop=False, verbose=False)
            single_iteration = model.fixed_point.single_iteration

            def traced(X, it, *args, **kwargs):
                X = single_iteration(X, it, *args, **kwargs)
                trace.mark(X["est"][0])
                return X

            model.fixed_point.single_iteration = traced
            model(y, physics, init=(x0, x0.clone()))

    run_traced(trace, solve)
    method = "FISTA + TVPrior" if inner_iterations == 1000 else f"FISTA + TVPrior({inner_iterations} inner)"
    return BenchRecord.from_trace(PROBLEM, method, "deepinv", trace, setup.target_db,
                                  note=f"lambda = {lam:g}, Neumann TV")


def deepinv_fista_short_prox(setup: DeblurTVSetup) -> BenchRecord:
    """deepinv FISTA with the TV prox cut to 20 inner iterations (its TVPrior warm-starts them across calls)."""
    return deepinv_fista(setup, inner_iterations=20)


def scico_admm(setup: DeblurTVSetup, alpha: float = 1.0) -> BenchRecord:
    if "jax" not in sys.modules:
        os.environ.setdefault("XLA_FLAGS", ONE_THREAD_XLA)
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax.numpy as jnp
        from scico import functional, linop, loss
        from scico.optimize.admm import ADMM, CircularConvolveSolver
    except ImportError:
        return BenchRecord.unavailable(PROBLEM, "ADMM", "scico", setup.target_db,
                                       "SCICO not installed (pip install -e '.[bench]')")
    import numpy as np

    truth, psf, y = setup.problem()
    lam = setup.strength
    rho = 10.0 * lam                      # recon's default penalty, the same algorithm
    half = setup.kernel_size // 2
    trace = Trace(truth, setup.budget_s)

    shape = (setup.size, setup.size)
    y_jax = jnp.asarray(y[0, 0].numpy())
    A = linop.CircularConvolve(h=jnp.asarray(psf.numpy()), input_shape=shape, h_center=jnp.array([half, half]))
    C = linop.FiniteDifference(input_shape=shape, circular=True)
    f, g = loss.SquaredL2Loss(y=y_jax, A=A), lam * functional.L21Norm()

    def solver(iterations: int):
        return ADMM(f=f, g_list=[g], C_list=[C], rho_list=[rho], alpha=alpha, x0=A.adj(y_jax), maxiter=iterations,
                    subproblem_solver=CircularConvolveSolver())

    warm_up = solver(3)                   # JAX compiles on first use: done here, untimed, as part of the set-up
    for _ in range(3):
        warm_up.step()
    warm_up.x.block_until_ready()

    def solve():
        admm = solver(setup.max_iter)
        for _ in range(setup.max_iter):
            admm.step()
            x = admm.x.block_until_ready()
            trace.mark(torch.from_numpy(np.array(x)))

    run_traced(trace, solve)
    label = "ADMM (CircularConvolveSolver)" + ("" if alpha == 1.0 else f", alpha {alpha:g}")
    return BenchRecord.from_trace(PROBLEM, label, "scico", trace, setup.target_db,
                                  note=f"lambda = {lam:g}, rho = {rho:g}, periodic TV")


def scico_admm_relaxed(setup: DeblurTVSetup) -> BenchRecord:
    """SCICO's ADMM with the over-relaxation recon uses by default (``alpha`` = 1.7)."""
    return scico_admm(setup, alpha=1.7)


PEERS = (deepinv_fista, deepinv_fista_short_prox, scico_admm, scico_admm_relaxed)
