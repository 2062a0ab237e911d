r"""The peers of recon on ``mri-tv``: deepinv (always), SigPy and BART (when installed).

All three apply the same forward model as recon (checked to float precision:
centred orthonormal FFT, :math:`y_c = M\mathcal F(S_c x)`), on the same k-space
and maps, with the same absolute λ.

* **deepinv FISTA + TVPrior**: ``deepinv.optim.FISTA`` (:math:`a = 3`) with deepinv's ``L2``
  data term and ``TVPrior`` (its prox runs up to 1,000 inner iterations,
  deepinv's default), step :math:`1/\|A\|^2` from deepinv's ``compute_norm``; the
  image is deepinv's two-channel (real, imaginary) tensor, and its TV acts on
  each channel separately. With the default prox every iteration costs
  seconds at 256² (the inner loop rarely meets its 1e-8 criterion in float32),
  so a second run cuts the prox to 20 inner iterations, which ``TVPrior``
  warm-starts from the previous call.
* **SigPy TotalVariationRecon**: ``sigpy.mri.app.TotalVariationRecon`` (its
  primal–dual hybrid gradient, steps from its own power iteration), traced by
  running its app loop one update at a time. The ``bench`` extra installs it.
* **BART pics -R T**: Debian's ``bart pics`` run as a process on files
  (:mod:`recon.bench.bart_pics`); BART reports no iterates, so it is run once
  per iteration count in a sweep and each run's wall time, process start and
  file input/output included, is a point of its trace.
"""

from __future__ import annotations

import warnings

import torch

from recon.bench.mri_tv_problem import PROBLEM, MRITVSetup
from recon.bench.records import BenchRecord
from recon.bench.trace import Trace, run_traced


def _two_channels(t: torch.Tensor) -> torch.Tensor:
    """deepinv's layout: a complex ``(B, C, H, W)`` as real ``(B, 2, C, H, W)`` (images: ``(B, 2, H, W)``)."""
    return torch.stack((t.real, t.imag), dim=1) if t.shape[1] > 1 else torch.cat((t.real, t.imag), dim=1)


def deepinv_fista(setup: MRITVSetup, inner_iterations: int = 1000) -> BenchRecord:
    from deepinv.optim import FISTA
    from deepinv.optim.data_fidelity import L2
    from deepinv.optim.prior import TVPrior
    from deepinv.physics import MultiCoilMRI as DeepinvMultiCoilMRI

    from recon.operators import MultiCoilMRI

    truth, mask, maps, y = setup.problem()
    lam = setup.absolute_strength(MultiCoilMRI(mask, maps), y)
    physics = DeepinvMultiCoilMRI(mask=mask, coil_maps=maps, img_size=(1, 2, setup.size, setup.size))
    y_two = _two_channels(y)
    trace = Trace(truth, setup.budget_s, magnitude=True)

    def solve():
        x0 = torch.zeros(1, 2, setup.size, setup.size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            squared_norm = float(physics.compute_norm(torch.randn_like(x0), max_iter=100, tol=1e-4, verbose=False))
            model = FISTA(prior=TVPrior(n_it_max=inner_iterations), data_fidelity=L2(),
                          stepsize=1.0 / squared_norm, lambda_reg=lam, max_iter=setup.max_iter, early_stop=False,
                          verbose=False)
            single_iteration = model.fixed_point.single_iteration

            def traced(X, it, *args, **kwargs):
                X = single_iteration(X, it, *args, **kwargs)
                estimate = X["est"][0]
                trace.mark(torch.complex(estimate[:, :1], estimate[:, 1:]))
                return X

            model.fixed_point.single_iteration = traced
            model(y_two, physics, init=(x0, x0.clone()))

    run_traced(trace, solve)
    method = "FISTA + TVPrior" if inner_iterations == 1000 else f"FISTA + TVPrior({inner_iterations} inner)"
    return BenchRecord.from_trace(PROBLEM, method, "deepinv", trace, setup.target_db, note=f"lambda = {lam:.3g}")


def deepinv_fista_short_prox(setup: MRITVSetup) -> BenchRecord:
    """deepinv FISTA with the TV prox cut to 20 inner iterations (its TVPrior warm-starts them across calls)."""
    return deepinv_fista(setup, inner_iterations=20)


def sigpy_total_variation(setup: MRITVSetup) -> BenchRecord:
    try:
        import sigpy.mri.app as sigpy_apps
    except ImportError:
        return BenchRecord.unavailable(PROBLEM, "TotalVariationRecon", "sigpy", setup.target_db,
                                       "SigPy not installed (pip install -e '.[bench]')")
    import numpy as np

    from recon.operators import MultiCoilMRI

    truth, mask, maps, y = setup.problem()
    lam = setup.absolute_strength(MultiCoilMRI(mask, maps), y)
    trace = Trace(truth, setup.budget_s, magnitude=True)

    def solve():
        app = sigpy_apps.TotalVariationRecon(y[0].numpy(), maps.numpy(), lam, weights=mask.numpy(),
                                             max_iter=setup.max_iter, show_pbar=False)
        while not app.alg.done():
            app._pre_update()
            app.alg.update()
            app._post_update()
            trace.mark(torch.from_numpy(np.asarray(app.x)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_traced(trace, solve)
    return BenchRecord.from_trace(PROBLEM, "TotalVariationRecon", "sigpy", trace, setup.target_db,
                                  note="anisotropic TV, primal-dual")


BART_SWEEP = (5, 10, 15, 20, 30, 40, 60, 80, 120, 160, 240, 320)   # bart's -i: CG steps over all its ADMM iterations


def bart_pics_tv(setup: MRITVSetup) -> BenchRecord:
    from recon.bench.bart_pics import bart_available, run_bart_pics
    from recon.bench.trace import psnr_db
    from recon.operators import MultiCoilMRI

    if not bart_available():
        return BenchRecord.unavailable(PROBLEM, "pics -R T", "bart", setup.target_db,
                                       "bart not installed (Debian: apt-get install bart)")
    truth, mask, maps, y = setup.problem()
    lam = setup.absolute_strength(MultiCoilMRI(mask, maps), y)
    trace = Trace(truth, setup.budget_s, magnitude=True)
    for steps in BART_SWEEP:
        result = run_bart_pics(y[0], maps, lam, steps, mask=mask, threads=1, extra_args=("-u", "0.1"))
        trace.seconds.append(result.seconds)
        trace.psnr_db.append(psnr_db(result.image.abs(), truth[0, 0]))
        if result.seconds >= setup.budget_s:
            break
    return BenchRecord.from_trace(PROBLEM, "pics -R T (-u 0.1)", "bart", trace, setup.target_db,
                                  note=f"one process per -i in {BART_SWEEP}; ms/iter is per sweep step")


PEERS = (deepinv_fista, deepinv_fista_short_prox, sigpy_total_variation, bart_pics_tv)
