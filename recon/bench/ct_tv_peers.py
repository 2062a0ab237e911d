r"""The peers of recon on ``ct-tv``: deepinv (always) and ODL (when the ``bench`` extra is installed).

* **deepinv PGD + TVPrior**: ``optim_builder("PGD")`` with deepinv's ``TVPrior``
  (its prox runs up to 1,000 inner iterations, deepinv's default), step
  :math:`1/\|A\|^2`.
* **deepinv PDCP + TVPrior**: deepinv's Chambolle–Pock with the data term split
  through :math:`K = A` (as in deepinv's own tests), :math:`\sigma = \tau = 1/\|A\|`,
  and the TV prox in the primal step.
* **Chambolle–Pock by hand over deepinv's operator**: the textbook loop on the
  stacked operator :math:`M = [A; s\nabla]`, :math:`\sigma = \tau = 1/\|M\|`, one
  forward and one adjoint projection per iteration and no inner iterations.
* **ODL pdhg**: ``odl.solvers.pdhg`` on ``BroadcastOperator(RayTransform, s·Gradient)``
  with astra's CPU projector, :math:`\sigma = \tau = 1/\|M\|` (ODL's power iteration).

Both Chambolle–Pock peers scale the gradient by :math:`s = \|A\|/\|\nabla\|` (and TV's
weight by :math:`1/s`), which leaves the problem unchanged and balances the two
blocks; with :math:`s = 1` the TV block, 40 times smaller in norm than :math:`A`,
takes dual steps so small that both need several times more iterations.

deepinv's operator is ``Tomography(circle=False, adjoint_via_backprop=True)``,
whose adjoint is the exact transpose (its filtered back-projection is not).
Each iteration is traced through a wrapper of deepinv's ``single_iteration``
or ODL's ``callback``.
"""

from __future__ import annotations

import warnings

import torch

from recon.bench.ct_tv_problem import PROBLEM, CTTVSetup
from recon.bench.records import BenchRecord
from recon.bench.trace import Trace, run_traced


def _tomography(setup: CTTVSetup):
    from deepinv.physics import Tomography

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Tomography(angles=torch.rad2deg(setup.angles).float(), img_width=setup.size, circle=False,
                          normalize=False, adjoint_via_backprop=True)


def _deepinv_problem(setup: CTTVSetup):
    physics = _tomography(setup)
    truth = setup.truth()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = setup.noisy(physics.A(truth))
    return physics, truth, y


def _squared_norm(physics, x_like) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(physics.compute_norm(torch.randn_like(x_like), max_iter=100, tol=1e-4, verbose=False))


def _trace_iterations(model, trace: Trace, primal_index: int = 0) -> None:
    """Make deepinv's fixed-point loop call ``trace.mark`` after every iteration."""
    single_iteration = model.fixed_point.single_iteration

    def traced(X, it, *args, **kwargs):
        X = single_iteration(X, it, *args, **kwargs)
        trace.mark(X["est"][primal_index])
        return X

    model.fixed_point.single_iteration = traced


def deepinv_pgd(setup: CTTVSetup) -> BenchRecord:
    from deepinv.optim import optim_builder
    from deepinv.optim.data_fidelity import L2
    from deepinv.optim.prior import TVPrior

    physics, truth, y = _deepinv_problem(setup)
    trace = Trace(truth, setup.budget_s)

    def solve():
        x0 = torch.zeros_like(truth)
        step = 1.0 / _squared_norm(physics, x0)
        model = optim_builder("PGD", prior=TVPrior(), data_fidelity=L2(), max_iter=setup.max_iter,
                              early_stop=False, verbose=False,
                              params_algo={"stepsize": step, "lambda": setup.strength})
        _trace_iterations(model, trace)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model(y, physics, init=x0)

    run_traced(trace, solve)
    return BenchRecord.from_trace(PROBLEM, "PGD + TVPrior", "deepinv", trace, setup.target_db)


def deepinv_pdcp(setup: CTTVSetup) -> BenchRecord:
    from deepinv.optim import PDCP
    from deepinv.optim.data_fidelity import L2
    from deepinv.optim.prior import TVPrior
    from deepinv.physics import Denoising

    physics, truth, y = _deepinv_problem(setup)
    trace = Trace(truth, setup.budget_s)

    def solve():
        x0 = torch.zeros_like(truth)
        step = 1.0 / _squared_norm(physics, x0) ** 0.5
        # deepinv evaluates the objective after every iteration; with the data term split through K it must
        # be told that the objective uses the tomography operator, not the identity it is called with.
        def objective(x, data_fidelity, prior, params, y_, _physics):
            return data_fidelity(x, y_, physics) + params["lambda"] * prior(x)

        model = PDCP(prior=TVPrior(), data_fidelity=L2(), K=physics.A, K_adjoint=physics.A_adjoint,
                     stepsize=step, stepsize_dual=step, lambda_reg=setup.strength, g_param=None,
                     max_iter=setup.max_iter, early_stop=False, verbose=False, cost_fn=objective)
        _trace_iterations(model, trace)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model(y, Denoising(), init=(x0, x0, torch.zeros_like(y)))

    run_traced(trace, solve)
    return BenchRecord.from_trace(PROBLEM, "PDCP + TVPrior", "deepinv", trace, setup.target_db)


def chambolle_pock_by_hand(setup: CTTVSetup) -> BenchRecord:
    from deepinv.optim.prior import TVPrior

    physics, truth, y = _deepinv_problem(setup)
    trace = Trace(truth, setup.budget_s)
    tv = TVPrior()
    lam = setup.strength

    def solve():
        x = torch.zeros_like(truth)
        norm_a = _squared_norm(physics, x) ** 0.5
        scale = norm_a / 8.0**0.5                      # ||∇||² ≤ 8 in 2D
        step = 1.0 / (2.0**0.5 * norm_a)               # ||[A; s∇]|| ≤ √2 ||A||
        radius = lam / scale
        x_bar, u_data, u_grad = x.clone(), torch.zeros_like(y), torch.zeros_like(tv.nabla(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(setup.max_iter):
                u_data = (u_data + step * (physics.A(x_bar) - y)) / (1 + step)
                u_grad = u_grad + (step * scale) * tv.nabla(x_bar)
                u_grad = u_grad / torch.clamp(u_grad.pow(2).sum(dim=-1, keepdim=True).sqrt() / radius, min=1.0)
                x_new = x - step * (physics.A_adjoint(u_data) + scale * tv.nabla_adjoint(u_grad))
                x_bar = 2 * x_new - x
                x = x_new
                trace.mark(x)

    run_traced(trace, solve)
    return BenchRecord.from_trace(PROBLEM, "Chambolle-Pock by hand", "deepinv", trace, setup.target_db,
                                  note="deepinv's Tomography and gradient")


def odl_pdhg(setup: CTTVSetup) -> BenchRecord:
    try:
        import odl
        from odl.applications import tomo
    except ImportError:
        return BenchRecord.unavailable(PROBLEM, "pdhg", "odl", setup.target_db,
                                       "ODL not installed (pip install -e '.[bench]')")
    import numpy as np

    half = setup.size / 2
    space = odl.uniform_discr([-half, -half], [half, half], [setup.size, setup.size], dtype="float32")
    detector_half = setup.n_detectors / 2
    geometry = tomo.Parallel2dGeometry(odl.uniform_partition(0, np.pi, setup.n_views),
                                       odl.uniform_partition(-detector_half, detector_half, setup.n_detectors))
    ray = tomo.RayTransform(space, geometry, impl="astra_cpu")
    truth = setup.truth()
    # ODL's first image axis runs along x; recon's rows run along -y: transpose-flip keeps the same picture.
    truth_odl = np.rot90(truth[0, 0].numpy(), k=-1).copy()
    clean = torch.from_numpy(np.asarray(ray(space.element(truth_odl)).data)).reshape(1, 1, setup.n_views, -1)
    y = ray.range.element(setup.noisy(clean)[0, 0].numpy())
    truth_scored = torch.from_numpy(truth_odl)
    trace = Trace(truth_scored, setup.budget_s)

    def solve():
        norm_a = odl.power_method_opnorm(ray, maxiter=50)
        gradient = odl.Gradient(space)
        scale = norm_a / odl.power_method_opnorm(gradient, maxiter=50)
        stacked = odl.BroadcastOperator(ray, scale * gradient)
        # ODL's norms are weighted by the cell volume; divide it out so the problem is recon's.
        half_squares = (0.5 / ray.range.cell_volume) * odl.functionals.L2NormSquared(ray.range).translated(y)
        f = odl.functionals.SeparableSum(half_squares,
                                         (setup.strength / scale) * odl.functionals.GroupL1Norm(gradient.range))
        g = odl.functionals.ZeroFunctional(space)
        norm = odl.power_method_opnorm(stacked, maxiter=50)
        step = 1.0 / norm
        x = space.zero()
        odl.solvers.pdhg(x, g, f, stacked, niter=setup.max_iter, tau=step, sigma=step,
                         callback=lambda estimate: trace.mark(torch.from_numpy(np.asarray(estimate.data))))

    run_traced(trace, solve)
    return BenchRecord.from_trace(PROBLEM, "pdhg", "odl", trace, setup.target_db, note="astra_cpu projector")


PEERS = (chambolle_pock_by_hand, deepinv_pdcp, deepinv_pgd, odl_pdhg)
