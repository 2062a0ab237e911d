r"""deepinv's plug-and-play runs of ``recon bench pnp``: DPIR's HQS and PnP-ADMM, on the problem's denoiser object.

* **HQS, DPIR schedule**: ``optim_builder("HQS", prior=PnP(denoiser), data_fidelity=L2())``
  with ``params_algo = {"stepsize": [1/α_k], "g_param": [σ_k]}`` — what
  ``deepinv.optim.DPIR`` builds (the same iterator, ``g_first=False``, no early stop), with the
  problem's schedule; for deblurring that schedule is ``DPIR(sigma=0.01)``'s own
  (``get_DPIR_params``).
* **PnP-ADMM**: ``optim_builder("ADMM", ...)`` with ``stepsize`` :math:`1/\alpha`,
  ``g_param`` σ, ``beta`` 1: :math:`u = \mathrm{prox}_{f/\alpha}(x - z)`,
  :math:`x = D(u + z, \sigma)`, :math:`z \leftarrow z + u - x`, recon's iteration with the
  roles of the names swapped.

The data step is deepinv's ``L2.prox`` → ``physics.prox_l2``. For deblurring the physics
is deepinv's own ``BlurFFT`` with the problem's PSF (its prox is closed form, by FFT). For CT
it is recon's ``ParallelBeamCT`` itself: a generic ``LinearPhysics``, whose ``prox_l2`` runs
deepinv's conjugate gradients (``least_squares``, ``solver="CG"``) from the point the prox
is taken at, up to ``physics.max_iter`` = 50 iterations or relative residual
``physics.tol`` = 1e-4 (deepinv's defaults). Both start where recon starts
(``init = x0``, the dual at zero); each iteration is traced through deepinv's
``single_iteration``.
"""

from __future__ import annotations

import warnings

import torch

from recon.bench.pnp_measure import traced_record
from recon.bench.pnp_problems import ADMM_PAIR, CT, HQS_PAIR, PnPProblem, PnPSetup, hqs_schedule
from recon.bench.records import BenchRecord


def _physics(problem: PnPProblem):
    """deepinv's ``BlurFFT`` with the same PSF for deblurring, recon's operator itself otherwise."""
    if problem.name == CT:
        return problem.operator
    from deepinv.physics import BlurFFT

    return BlurFFT(img_size=tuple(problem.truth.shape[1:]), filter=problem.operator.psf.to(problem.y.dtype)[None, None])


def _traced(model, mark) -> None:
    """Make deepinv's fixed-point loop call ``mark`` on the estimate after every iteration."""
    single_iteration = model.fixed_point.single_iteration

    def traced(X, it, *args, **kwargs):
        X = single_iteration(X, it, *args, **kwargs)
        mark(X["est"][0])
        return X

    model.fixed_point.single_iteration = traced


def _run(problem: PnPProblem, method: str, build, init, denoiser, setup: PnPSetup, note: str) -> BenchRecord:
    physics = _physics(problem)

    def solve(mark):
        model = build()
        _traced(model, mark)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model(problem.y, physics, init=init)

    return traced_record(problem, method, "deepinv", solve, setup, denoiser=denoiser,
                         operator=physics if problem.name == CT else None, note=note)


def deepinv_hqs(problem: PnPProblem, denoiser, setup: PnPSetup) -> BenchRecord:
    """deepinv's DPIR iteration (HQS + PnP) with the problem's σ schedule and weights."""
    from deepinv.optim import optim_builder
    from deepinv.optim.data_fidelity import L2
    from deepinv.optim.prior import PnP

    sigmas, weights = hqs_schedule(problem.hqs)
    stepsizes = [1.0 / (w * problem.norm_squared) for w in weights]

    def build():
        return optim_builder("HQS", prior=PnP(denoiser=denoiser), data_fidelity=L2(), max_iter=problem.hqs.iterations,
                             early_stop=False, verbose=False, params_algo={"stepsize": stepsizes, "g_param": sigmas})

    return _run(problem, HQS_PAIR[1], build, problem.x0, denoiser, setup, _cg_note(problem))


def deepinv_admm(problem: PnPProblem, denoiser, setup: PnPSetup) -> BenchRecord:
    """deepinv's ADMM with the PnP prior, fixed σ, stepsize 1/α."""
    from deepinv.optim import optim_builder
    from deepinv.optim.data_fidelity import L2
    from deepinv.optim.prior import PnP

    a = problem.admm
    stepsize = 1.0 / (a.penalty * problem.norm_squared)

    def build():
        return optim_builder("ADMM", prior=PnP(denoiser=denoiser), data_fidelity=L2(), max_iter=a.iterations,
                             early_stop=False, verbose=False,
                             params_algo={"stepsize": stepsize, "g_param": a.sigma, "beta": 1.0})

    return _run(problem, ADMM_PAIR[1], build, (problem.x0, torch.zeros_like(problem.x0)), denoiser, setup,
                _cg_note(problem))


def _cg_note(problem: PnPProblem) -> str:
    if problem.name != CT:
        return "BlurFFT, closed-form prox"
    operator = problem.operator
    return f"prox_l2 by CG, max_iter {operator.max_iter}, tol {operator.tol:g}"


PEERS = (deepinv_hqs, deepinv_admm)
