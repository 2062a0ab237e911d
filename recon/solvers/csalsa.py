r"""C-SALSA: ADMM for the constrained problem :math:`\min_x R(x)` subject to :math:`\|Ax - y\|_2 \le \varepsilon`.

Afonso, Bioucas-Dias & Figueiredo (IEEE TIP 2011, "An augmented Lagrangian
approach to the constrained optimization formulation of imaging inverse
problems") split the two terms apart, :math:`v_1 = x` carrying :math:`R` and
:math:`v_2 = Ax` carrying the indicator of the ball
:math:`E = \{v : \|v - y\| \le \varepsilon\}`. With the penalty :math:`\mu` on the
first split and :math:`\mu/\kappa` on the second, and scaled duals
:math:`d_1, d_2`, one iteration is

.. math::
    x^+ &= (\kappa I + A^\mathsf{H}A)^{-1}\big(\kappa(v_1 + d_1) + A^\mathsf{H}(v_2 + d_2)\big)
          \quad\text{(a few CG steps, warm-started at } x\text{)}, \\
    v_1^+ &= \operatorname{prox}_{R/\mu}(x^+ - d_1), \\
    v_2^+ &= P_E(Ax^+ - d_2), \qquad P_E(s) = y + (s - y)\min\big(1, \varepsilon / \|s - y\|\big), \\
    d_1^+ &= d_1 - (x^+ - v_1^+), \qquad d_2^+ = d_2 - (Ax^+ - v_2^+).

**Over-relaxation** (Eckstein & Bertsekas 1992), ``relaxation`` :math:`\alpha \in (0, 2)`: steps 2–4
see :math:`h_1 = \alpha x^+ + (1 - \alpha) v_1` in place of :math:`x^+` and
:math:`h_2 = \alpha Ax^+ + (1 - \alpha) v_2` in place of :math:`Ax^+` (the relaxed split of
:math:`[I; A]\,x = v`); :math:`\alpha = 1` is the iteration above. The fixed points are the same.

This is the form Oral & Öktem (IEEE TCI 2024) use for near-field MIMO radar with
:math:`R(|x|)` (:class:`recon.priors.OnMagnitude`): step 2 is then the prox on
the magnitude. Any prior with ``prox(x, gamma=...)`` works, including one applied
to the complex :math:`x` itself (``TV(ndim=3)``), for comparison.

**Start and scale.** :math:`x_0 = A^\mathsf{H}y / \max|A^\mathsf{H}y|` (per batch element), :math:`v_1 = x_0`,
:math:`v_2 = Ax_0`, :math:`d_1 = d_2 = 0`. The solution's scale follows :math:`y` through the
constraint, but the prox threshold :math:`\lambda/\mu` is in units of :math:`|x|`, and so is the
relative-change rule's notion of "small": run on raw data, a fixed :math:`\mu` that works for
:math:`y` stops far from the solution for :math:`10^3 y` (measured: 63 % error against 0.1 %). So,
as the paper normalises its data, ``normalise=True`` (default) runs the iterations on
:math:`y/s`, :math:`\varepsilon/s` with :math:`s = \operatorname{Re}\langle Ax_0, y\rangle / \|Ax_0\|^2 > 0`,
the multiple of :math:`x_0` that best fits :math:`y`, and returns :math:`s` times the result: the
normalised image has a peak near 1 whatever the units of :math:`y`, and the whole run is
scale-equivariant (for :math:`y \to cy`, :math:`\varepsilon \to c\varepsilon` it returns :math:`c\,x`
exactly). For a positively homogeneous :math:`R` (ℓ1, TV) the minimiser is unchanged; for a
denoiser prior, it puts :math:`|x|` on the scale it was trained for. Scaling :math:`R` by
:math:`c > 0` does not change the minimiser either, only the path (like :math:`\mu \to \mu / c`).

**Convergence.** For a convex :math:`R` (ℓ1 on :math:`|x|` is the convex :math:`\|x\|_1`; TV on the
complex :math:`x`) ADMM converges for every :math:`\mu, \kappa > 0`. TV on :math:`|x|` is not convex
in :math:`x`, and then nothing is guaranteed: with :math:`\varepsilon = 0` and an invertible
:math:`A` (a single feasible point) it converged for :math:`\lambda/\mu = 0.005` but was still 5 %
off after 3000 iterations for :math:`\lambda/\mu = 0.05` (normalised units). Keep the prox
threshold :math:`\lambda/\mu` small against the peak of :math:`|x|`. TV on :math:`|x|` also cannot see
a background of constant magnitude and random phase (its TV is 0): where the ε-ball leaves
room for one, it appears.

**Stopping and history.** ``change`` is the relative change of the magnitude,
:math:`\||x^+| - |x|\| / \||x^+|\|`, and the default rule stops when it falls below
:math:`5\cdot10^{-4}` (the paper's). The objective is :math:`R(x)` (when the prior has an
explicit value); the residual is the relative constraint violation
:math:`\max(0, \|Ax - y\| - \varepsilon) / \|y\|` (largest over the batch). The estimate
returned is :math:`x`, which meets the constraint only up to the ADMM gap
:math:`\|Ax - v_2\|`, small at convergence.
"""

from __future__ import annotations

import math

import torch

from recon.solvers.common import IterationLoop, Result, Stopping, over_relaxed, relative_change
from recon.solvers.conjugate_gradient import conjugate_gradient
from recon.solvers.fista import prior_value

_STEP_HINT = ("the penalty mu or kappa is badly scaled for this operator and data, "
              "or the CG x-update is too inexact (raise cg_max_iter)")

PAPER_STOPPING = Stopping(max_iter=500, tol=5e-4)


def noise_ball_radius(sigma: float, n_measurements: int) -> float:
    r""":math:`\varepsilon = \sigma\sqrt{M}`, the expected norm of the noise in :math:`M` measurements.

    :param sigma: the noise's per-sample standard deviation in the sense
        :math:`\mathbb{E}|n_i|^2 = \sigma^2`. For complex circular noise that means
        real and imaginary parts of variance :math:`\sigma^2/2` each, i.e.
        ``sigma * (randn + 1j * randn) / sqrt(2)``; noise drawn as ``sigma * (randn + 1j * randn)``
        has :math:`\mathbb{E}|n_i|^2 = 2\sigma^2` and needs :math:`\sqrt2\,\sigma` here.
    :param n_measurements: :math:`M`, the number of (complex) samples in :math:`y`.

    >>> noise_ball_radius(0.1, 400)
    2.0
    """
    if not (sigma >= 0 and math.isfinite(sigma)):
        raise ValueError(f"noise_ball_radius: sigma must be finite and >= 0, got {sigma}")
    if n_measurements < 1:
        raise ValueError(f"noise_ball_radius: n_measurements must be >= 1, got {n_measurements}")
    return float(sigma) * math.sqrt(n_measurements)


def _batch_norms(t: torch.Tensor) -> torch.Tensor:
    """‖t_b‖₂ for each batch element b, as a real tensor shaped (batch,)."""
    flat = torch.view_as_real(t.resolve_conj()) if t.is_complex() else t
    return flat.reshape(t.shape[0], -1).square().sum(dim=1).sqrt()


def _per_batch(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape (batch,) values to broadcast against ``like``."""
    return values.reshape(-1, *([1] * (like.dim() - 1))).to(like.real.dtype)


def _radius(epsilon, y: torch.Tensor) -> torch.Tensor:
    radius = torch.as_tensor(epsilon, dtype=y.real.dtype, device=y.device).reshape(-1)
    if radius.numel() == 1:
        radius = radius.expand(y.shape[0])
    if radius.numel() != y.shape[0]:
        raise ValueError(f"csalsa: epsilon needs one value or one per batch element ({y.shape[0]}), "
                         f"got {radius.numel()}")
    if not bool(torch.isfinite(radius).all()) or bool((radius < 0).any()):
        raise ValueError(f"csalsa: epsilon must be finite and >= 0, got {epsilon}")
    return radius


def project_onto_ball(s: torch.Tensor, y: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    r""":math:`P_E(s) = y + (s - y)\min(1, \varepsilon/\|s - y\|)`, per batch element.

    >>> import torch
    >>> project_onto_ball(torch.tensor([[3.0, 4.0]]), torch.zeros(1, 2), torch.tensor([1.0])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    offset = s - y
    distance = _batch_norms(offset)
    factor = torch.where(distance > radius, radius / distance.clamp_min(torch.finfo(distance.dtype).tiny),
                         torch.ones_like(distance))
    return y + offset * _per_batch(factor, offset)


def normalised_backprojection(y: torch.Tensor, operator) -> torch.Tensor:
    r""":math:`A^\mathsf{H}y / \max|A^\mathsf{H}y|` per batch element (zero where :math:`A^\mathsf{H}y = 0`): C-SALSA's start."""
    back = operator.A_adjoint(y)
    peak = back.abs().reshape(back.shape[0], -1).amax(dim=1)
    return back / _per_batch(torch.where(peak > 0, peak, torch.ones_like(peak)), back)


def _fitted_scale(fitted: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r""":math:`s_b = \operatorname{Re}\langle f_b, y_b\rangle / \|f_b\|^2` (1 where that is not positive and finite)."""
    inner = (fitted.conj() * y).real.reshape(y.shape[0], -1).sum(dim=1)
    scale = inner / _batch_norms(fitted).square()
    return torch.where(torch.isfinite(scale) & (scale > 0), scale, torch.ones_like(scale))


def csalsa(y: torch.Tensor, operator, prior, *, epsilon, penalty: float = 1.0, kappa: float = 1.0,
           cg_max_iter: int = 5, cg_tol: float = 1e-6, relaxation: float = 1.0, x0: torch.Tensor | None = None,
           normalise: bool = True, stopping: Stopping = PAPER_STOPPING, callback=None) -> Result:
    r"""Minimise :math:`R(x)` subject to :math:`\|Ax - y\|_2 \le \varepsilon` by C-SALSA (module text).

    :param y: measurement, shaped like ``operator.A(x)``.
    :param operator: a linear operator with ``A`` and ``A_adjoint``.
    :param prior: :math:`R`, anything with ``prox(x, gamma=...)``: e.g. ``OnMagnitude(TV(λ, ndim=3))``,
        ``OnMagnitude(L1(λ))``, or ``TV(λ, ndim=3)`` on the complex :math:`x`.
    :param epsilon: :math:`\varepsilon \ge 0`, one value or one per batch element; for noise of
        per-sample level :math:`\sigma`, :func:`noise_ball_radius` gives :math:`\sigma\sqrt M`.
    :param penalty: :math:`\mu > 0`; the prox step is :math:`\operatorname{prox}_{R/\mu}`.
    :param kappa: :math:`\kappa > 0`, the weight of the :math:`v_1 = x` split relative to
        :math:`v_2 = Ax`; comparable to :math:`\|A\|^2` balances the two.
    :param cg_max_iter, cg_tol: the CG steps of the x-update and their relative tolerance.
    :param relaxation: over-relaxation :math:`\alpha \in (0, 2)` (module text); 1 is plain C-SALSA.
    :param x0: start, in the units of :math:`x` (default :math:`A^\mathsf{H}y / \max|A^\mathsf{H}y|`).
    :param normalise: iterate on :math:`y/s` and return :math:`s` times the result (module text); the
        objective, the callback's iterate and the estimate are all in the units of :math:`y`.
    :param stopping: default: relative change of :math:`|x|` below 5e-4, at most 500 iterations.
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.

    Example: a sparse complex vector from 24 random measurements of 32 unknowns.

    >>> import torch
    >>> from deepinv.physics import LinearPhysics
    >>> from recon.priors import L1, OnMagnitude
    >>> g = torch.Generator().manual_seed(0)
    >>> matrix = torch.randn(24, 32, dtype=torch.complex128, generator=g) / 24 ** 0.5
    >>> physics = LinearPhysics(A=lambda x: x @ matrix.T, A_adjoint=lambda v: v @ matrix.conj())
    >>> truth = torch.zeros(1, 1, 32, dtype=torch.complex128); truth[..., [3, 17, 25]] = torch.tensor([2, -1j, 1 + 1j], dtype=torch.complex128)
    >>> y = physics.A(truth)
    >>> result = csalsa(y, physics, OnMagnitude(L1(1.0)), epsilon=1e-3, stopping=Stopping(max_iter=2000, tol=1e-7))
    >>> bool(((result.x - truth).abs().max() < 1e-2).item())
    True
    """
    if not (penalty > 0 and math.isfinite(penalty)):
        raise ValueError(f"csalsa: penalty must be positive and finite, got {penalty}")
    if not (kappa > 0 and math.isfinite(kappa)):
        raise ValueError(f"csalsa: kappa must be positive and finite, got {kappa}")
    if not 0 < relaxation < 2:
        raise ValueError(f"csalsa: relaxation must lie in (0, 2), got {relaxation}")
    if not callable(getattr(prior, "prox", None)):
        raise TypeError(f"csalsa: the prior needs a prox(x, gamma=...), {type(prior).__name__} has none")
    radius = _radius(epsilon, y)
    loop = IterationLoop("csalsa", stopping, step_hint=_STEP_HINT, callback=callback)
    start = normalised_backprojection(y, operator)
    fitted = operator.A(start)
    scale = _fitted_scale(fitted, y) if normalise else y.real.new_ones(y.shape[0])
    y = y / _per_batch(scale, y)
    radius = radius / scale
    scale = _per_batch(scale, start)
    x = start if x0 is None else x0 / scale
    explicit = bool(getattr(prior, "explicit_prior", True))
    data_norm = _batch_norms(y).clamp_min(torch.finfo(y.real.dtype).tiny)
    gamma = 1.0 / penalty

    def normal(p):
        return kappa * p + operator.A_adjoint(operator.A(p))

    v1, v2 = x, (fitted if x0 is None else operator.A(x))
    d1, d2 = torch.zeros_like(v1), torch.zeros_like(v2)
    magnitude = x.abs()
    while not loop.done:
        rhs = kappa * (v1 + d1) + operator.A_adjoint(v2 + d2)
        x = conjugate_gradient(normal, rhs, x, max_iter=cg_max_iter, tol=cg_tol).x
        ax = operator.A(x)
        h1, h2 = over_relaxed(x, v1, relaxation), over_relaxed(ax, v2, relaxation)
        v1 = prior.prox(h1 - d1, gamma=gamma)
        v2 = project_onto_ball(h2 - d2, y, radius)
        d1 = d1 - (h1 - v1)
        d2 = d2 - (h2 - v2)

        new_magnitude = x.abs()
        change = relative_change(new_magnitude, magnitude)
        magnitude = new_magnitude
        violation = (_batch_norms(ax - y) - radius).clamp_min(0) / data_norm
        estimate = scale * x
        objective = prior_value(prior, estimate) if explicit else None
        loop.record(objective=objective, residual=float(violation.max()), change=change, x=estimate)
    return loop.result(scale * x)

