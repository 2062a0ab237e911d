r"""FISTA (Beck & Teboulle, 2009) for :math:`\min_x f(Ax) + w\,g(x) + \iota_C(x)`, with backtracking.

:math:`f` is a smooth data term (:mod:`recon.solvers.data_terms`), :math:`g` any
prior with ``prox(x, gamma=...)`` (recon's TV, weighted TV, constraints, and
deepinv's ``TVPrior``, ``L1Prior``...), :math:`w` its weight and :math:`C` an
optional constraint set. With :math:`F(x) = f(Ax)`,
:math:`\nabla F(x) = A^\mathsf{H}\nabla f(Ax)` and :math:`h = w\,g + \iota_C`, one
iteration with step :math:`1/L_k` is

.. math::
    x_k = \operatorname{prox}_{h/L_k}\big(z_k - \nabla F(z_k)/L_k\big), \qquad
    t_k = \tfrac12\Big(1 + \sqrt{1 + 4\,(L_k/L_{k-1})\,t_{k-1}^2}\Big), \qquad
    z_{k+1} = x_k + \frac{t_k - 1}{t_{k+1}}\,(x_k - x_{k-1}).

With a constant :math:`L` this is Beck & Teboulle's FISTA; the factor
:math:`L_k/L_{k-1}` (Scheinberg, Goldfarb & Bai, 2014) keeps the
:math:`O(1/k^2)` rate when :math:`L` also *decreases*, which lets the step grow
back after a cautious phase.

**Step.** Without backtracking the step is ``step`` or :math:`1/L` with
:math:`L = \text{data.lipschitz}\cdot\|A\|^2`. With backtracking (the default)
each iteration raises :math:`L`, by at least :math:`\eta = 2` (to the local
estimate of the test below when that is larger), until the descent condition

.. math:: F(x_k) \le F(z_k) + \operatorname{Re}\langle\nabla F(z_k), x_k - z_k\rangle + \tfrac{L_k}{2}\|x_k - z_k\|^2

holds; an infinite :math:`F(x_k)` (a Poisson mean that left its domain) fails
it. When the two values of :math:`F` agree to within :math:`10^6` machine
epsilons (ten digits in float64) their difference is rounding noise, and the
stricter but exact test
:math:`\operatorname{Re}\langle\nabla F(x_k) - \nabla F(z_k), x_k - z_k\rangle \le \tfrac{L_k}{2}\|x_k - z_k\|^2`
(it implies the one above for convex :math:`F`) is used instead, as TFOCS does;
it is computed in measurement space, at no extra cost in :math:`A`.

:math:`L` is also lowered by 10 % at the start of each iteration, so that the
step follows the local curvature rather than the worst case, and never exceeds
the global bound :math:`\text{data.lipschitz}\cdot\|A\|^2` when there is one. A
data term without a Lipschitz constant
(:class:`~recon.solvers.data_terms.PoissonLikelihood`) starts from the curvature
of :math:`F` along :math:`\nabla F(x_0)`; there the lowering matters most, as a
likelihood's curvature changes by orders of magnitude between :math:`x_0` and the
solution (on a photon-count CT problem 300 iterations ended
:math:`5\cdot10^{-2}` from the optimum without it, :math:`2\cdot10^{-7}` with it).
An *inexact* prox (deepinv's ``TVPrior`` runs its own truncated inner
iterations) is better served by a fixed step, ``backtracking=False``: with
backtracking its objective wandered between :math:`10^{-5}` and :math:`10^{-4}`
of the optimum, with the fixed step :math:`1/L` it converged to :math:`10^{-8}`.

**Restart.** With ``restart=True`` (the default) the momentum is dropped
(:math:`t_k \leftarrow 0`, :math:`x_{k-1} \leftarrow x_k`) whenever the objective
rises, the function-value scheme of O'Donoghue & Candès (2015). It restores
linear convergence near a well-conditioned solution: on a 16² least-squares CT
problem 1500 iterations end :math:`4\cdot10^{-6}` from the lstsq solution with
it and :math:`4\cdot10^{-4}` without.

**A prior and a constraint together.** FISTA needs the prox of their sum,
which is not the projection of the prior's prox. For a prior with ``split()``
:math:`= (K, g)` (TV, weighted TV) it is computed exactly, by the fast dual
gradient projection of Beck & Teboulle's constrained TV denoising,
:math:`x = P_C(v - K^\mathsf{H} q)` with :math:`q` warm-started across iterations,
using the prior's ``prox_max_iter`` and ``prox_tol``. Any other prior with a
constraint is refused: fold the constraint into the prior.

**History.** The objective :math:`f(Ax_k) + w\,g(x_k)`; the residual
:math:`\|x_k - z_k\|/\|x_k\|`, the step-scaled gradient mapping, zero exactly
at a minimiser; the relative change :math:`\|x_k - x_{k-1}\|/\|x_k\|`.
"""

from __future__ import annotations

import math

import torch

from recon.euclidean import euclidean_norm
from recon.solvers.common import DivergenceError, IterationLoop, Result, Stopping
from recon.solvers.conjugate_gradient import real_inner
from recon.solvers.data_terms import LeastSquares
from recon.solvers.primal_dual_blocks import operator_norm

_INCREASE = 2.0          # η of the backtracking
_DECREASE = 0.9          # L shrinks by this at the start of each iteration
_ROUNDING = 1e6          # machine epsilons: a relative gap of two F values below it is rounding noise
_MAX_TRIALS = 100


def prior_value(prior, x: torch.Tensor) -> float:
    """The prior's value summed over the batch, from ``prior.fn(x)`` or ``prior(x)`` (0 for no prior).

    >>> import torch
    >>> from deepinv.optim import L1Prior
    >>> prior_value(L1Prior(), torch.tensor([[[1.0, -2.0]], [[3.0, 0.0]]]))
    6.0
    """
    if prior is None:
        return 0.0
    fn = getattr(prior, "fn", None) or prior
    return float(torch.as_tensor(fn(x)).sum().real)


class ConstrainedSplitProx:
    r""":math:`\operatorname{prox}_{s g\circ K + \iota_C}(v) = \arg\min_x \tfrac12\|x - v\|^2 + s\,g(Kx) + \iota_C(x)`.

    Fast gradient projection on the dual :math:`q` (Beck & Teboulle, 2009,
    constrained TV): :math:`x(q) = P_C(v - K^\mathsf{H}q)` and, with
    :math:`\sigma = 1/\|K\|^2`, :math:`q \leftarrow \operatorname{prox}_{\sigma (sg)^*}(q + \sigma K x(q))`,
    accelerated. :math:`q` is kept between calls, so inside FISTA a few inner
    iterations suffice.

    :param prior: a prior with ``split() -> (K, g)``; its ``prox_max_iter``, ``prox_tol`` set the inner loop.
    :param constraint: a prior whose ``prox`` is the projection :math:`P_C`.
    :param weight: :math:`w`; ``prox(v, step)`` uses :math:`s = w \cdot` step.

    >>> import torch
    >>> from recon.priors import TV, NonNegativity
    >>> v = torch.tensor([[[[-1.0, 2.0], [0.5, 3.0]]]])
    >>> p = ConstrainedSplitProx(TV(0.0), NonNegativity(), 1.0)(v, 1.0)   # no TV: the projection
    >>> p.flatten().tolist()
    [0.0, 2.0, 0.5, 3.0]
    """

    def __init__(self, prior, constraint, weight: float):
        self.K, self.g = prior.split()
        self.constraint = constraint
        self.weight = weight
        self.max_iter = int(getattr(prior, "prox_max_iter", 200))
        self.tol = float(getattr(prior, "prox_tol", 1e-5))
        self.sigma = 1.0 / float(self.K.norm()) ** 2
        self.dual: torch.Tensor | None = None
        self._shape = None

    def _conjugate_prox(self, q: torch.Tensor, scale: float) -> torch.Tensor:
        # prox_{σ(s g)*}(q) = s prox_{(σ/s) g*}(q / s).
        return scale * self.g.prox_conjugate(q / scale, self.sigma / scale)

    def __call__(self, v: torch.Tensor, step: float) -> torch.Tensor:
        scale = step * self.weight
        project = lambda t: self.constraint.prox(t, gamma=step)  # noqa: E731
        if scale == 0:
            return project(v)
        K = self.K
        if self.dual is None or self._shape != (v.shape, v.dtype):
            self.dual, self._shape = torch.zeros_like(K.A(v)), (v.shape, v.dtype)
        dual = self.dual
        extrapolated, t = dual, 1.0
        estimate = project(v - K.A_adjoint(dual))
        for k in range(self.max_iter):
            new_dual = self._conjugate_prox(extrapolated + self.sigma * K.A(project(v - K.A_adjoint(extrapolated))),
                                            scale)
            t_next = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
            extrapolated = new_dual + ((t - 1) / t_next) * (new_dual - dual)
            dual, t = new_dual, t_next
            if k % 5 == 4 or k == self.max_iter - 1:
                new_estimate = project(v - K.A_adjoint(dual))
                change = euclidean_norm(new_estimate - estimate)
                estimate = new_estimate
                if change <= self.tol * euclidean_norm(estimate):
                    break
        self.dual = dual
        return project(v - K.A_adjoint(dual))


def composite_prox(prior, constraint, weight: float, solver: str = "fista"):
    r"""``prox(v, step)`` of :math:`\text{step}\cdot(w\,g + \iota_C)` (a prior with a constraint: module text).

    >>> import torch
    >>> from deepinv.optim import L1Prior
    >>> composite_prox(L1Prior(), None, 2.0)(torch.tensor([3.0, -0.5]), 0.5).tolist()   # soft threshold at 1
    [2.0, -0.0]
    """
    if prior is None and constraint is None:
        return lambda v, step: v
    if constraint is None:
        return lambda v, step: prior.prox(v, gamma=step * weight)
    if prior is None or weight == 0:
        return lambda v, step: constraint.prox(v, gamma=step)
    if not hasattr(prior, "split"):
        raise ValueError(f"{solver}: a constraint together with the prior {type(prior).__name__} needs the prox "
                         "of their sum; use a prior with split() (TV, WeightedTV) or fold the constraint into it")
    return ConstrainedSplitProx(prior, constraint, weight)


def fista(y: torch.Tensor, operator, prior=None, *, data=None, constraint=None, prior_weight: float = 1.0,
          x0: torch.Tensor | None = None, step: float | None = None, backtracking: bool = True,
          restart: bool = True, stopping: Stopping = Stopping(), callback=None) -> Result:
    r"""Minimise ``data(A x, y) + prior_weight * prior(x)`` subject to ``constraint`` by FISTA.

    :param y: measurement, shaped like ``operator.A(x)``.
    :param operator: a linear operator with ``A``, ``A_adjoint`` and ``norm()``.
    :param prior: anything with ``prox(x, gamma=...)`` and ``fn(x)`` (or callable): recon or deepinv priors.
    :param data: a smooth data term (default :class:`~recon.solvers.data_terms.LeastSquares`).
    :param constraint: a prior whose prox is a projection (``NonNegativity``, ``Box``) or ``None``.
    :param prior_weight: :math:`w \ge 0`; the prox is called as ``prior.prox(v, gamma=step * w)``
        (deepinv priors carry no strength of their own).
    :param x0: start (default zeros).
    :param step: the fixed step, or the first one with backtracking (default :math:`1/L`).
    :param backtracking: adapt :math:`L` by the descent condition (module text); needed when the
        data term has no Lipschitz constant and no ``step`` is given.
    :param restart: drop the momentum whenever the objective rises (module text).
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.

    Example: TV denoising of a noisy square.

    >>> import torch
    >>> from recon.priors import TV, Identity
    >>> truth = torch.zeros(1, 1, 32, 32); truth[..., 8:24, 8:24] = 1.0
    >>> noisy = truth + 0.2 * torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    >>> result = fista(noisy, Identity(), TV(0.15), stopping=Stopping(max_iter=5))
    >>> bool(((result.x - truth).norm() < 0.5 * (noisy - truth).norm()).item())
    True
    """
    if prior_weight < 0:
        raise ValueError(f"fista: prior_weight must be >= 0, got {prior_weight}")
    if step is not None and not step > 0:
        raise ValueError(f"fista: step must be positive, got {step}")
    data = LeastSquares() if data is None else data
    loop = IterationLoop("fista", stopping, step_hint="", callback=callback)  # setup time counts too
    prox = composite_prox(prior, constraint, prior_weight)
    x = torch.zeros_like(operator.A_adjoint(y)) if x0 is None else x0.clone()
    ax = operator.A(x)
    f_x = float(data.fn(ax, y).sum())
    if not math.isfinite(f_x):
        raise ValueError("fista: the data term is infinite at x0; start from a point inside its domain")

    lipschitz = None if data.lipschitz is None else data.lipschitz * operator_norm(operator, x) ** 2
    if step is not None:
        L = 1.0 / step
    elif lipschitz is not None:
        L = lipschitz
    elif backtracking:
        L = _curvature_along_gradient(operator, data, y, ax)
    else:
        raise ValueError(f"fista: {data!r} has no Lipschitz constant; pass step= or use backtracking=True")
    bound = f"1/L = {1 / lipschitz:.3g}" if lipschitz is not None else "1/L"
    loop.step_hint = (f"the step {1 / L:.3g} is too long (it must not exceed {bound}); "
                      "pass a smaller step or use backtracking=True")

    x_prev, ax_prev, t_prev, L_prev = x, ax, 0.0, L
    previous_objective = math.inf
    while not loop.done:
        L_try = _DECREASE * L_prev if backtracking and loop.iteration > 0 else L_prev
        for _ in range(_MAX_TRIALS):
            t = 0.5 * (1 + math.sqrt(1 + 4 * (L_try / L_prev) * t_prev**2))
            momentum = (t_prev - 1) / t
            z, az = x + momentum * (x - x_prev), ax + momentum * (ax - ax_prev)  # A z by linearity
            gradient_v = data.grad(az, y)
            gradient = operator.A_adjoint(gradient_v)
            p = prox(z - gradient / L_try, 1.0 / L_try)
            ap = operator.A(p)
            f_p = float(data.fn(ap, y).sum())
            if not backtracking or (lipschitz is not None and L_try >= lipschitz):
                break
            local = _local_lipschitz(data, y, p - z, ap, az, f_p, float(data.fn(az, y).sum()), gradient,
                                     gradient_v)
            if local <= L_try:
                break
            L_try = _INCREASE * L_try if not math.isfinite(local) else max(_INCREASE * L_try, local)
            if lipschitz is not None:
                L_try = min(L_try, lipschitz)
        else:
            raise DivergenceError(f"fista: backtracking found no step at iteration {loop.iteration + 1} "
                                  f"(L reached {L_try:.3g}); the prox or the data term returns non-finite values")
        objective = f_p + prior_weight * prior_value(prior, p)
        residual = _relative(p - z, p)
        change = _relative(p - x, p)
        if restart and objective > previous_objective:
            x_prev, ax_prev, t_prev = p, ap, 0.0  # no momentum into the next step
        else:
            x_prev, ax_prev, t_prev = x, ax, t
        x, ax, L_prev, previous_objective = p, ap, L_try, objective
        loop.record(objective=objective, residual=residual, change=change, x=x)
    return loop.result(x)


def _local_lipschitz(data, y, difference, ap, az, f_p, f_z, gradient, gradient_v) -> float:
    """The smallest L passing the descent test at this trial (module text); inf when F(p) is infinite."""
    squared = real_inner(difference, difference)
    if squared == 0.0:
        return 0.0
    if not math.isfinite(f_p):
        return math.inf
    if abs(f_p - f_z) >= _ROUNDING * torch.finfo(ap.dtype).eps * max(abs(f_p), abs(f_z)):
        return 2.0 * (f_p - f_z - real_inner(gradient, difference)) / squared
    local = 2.0 * real_inner(data.grad(ap, y) - gradient_v, ap - az) / squared
    return local if math.isfinite(local) else math.inf


def _curvature_along_gradient(operator, data, y, ax) -> float:
    r"""The curvature of :math:`F` along its gradient :math:`g = A^\mathsf{H}\nabla f(v)`, by a secant.

    :math:`\operatorname{Re}\langle\nabla f(v - \epsilon Ag) - \nabla f(v), -Ag\rangle / (\epsilon\|g\|^2)`,
    with :math:`\epsilon` moving :math:`v` by :math:`10^{-6}\max(\|y\|, \|v\|)`, small enough to stay
    inside the data term's domain. Falls back to :math:`\|A\|^2`.
    """
    gradient_v = data.grad(ax, y)
    gradient = operator.A_adjoint(gradient_v)
    direction = operator.A(gradient)
    size = math.sqrt(real_inner(direction, direction))
    fallback = operator_norm(operator, gradient) ** 2
    if size == 0.0:
        return fallback
    epsilon = 1e-6 * max(math.sqrt(real_inner(y, y)), math.sqrt(real_inner(ax, ax)), 1e-30) / size
    curvature = real_inner(data.grad(ax - epsilon * direction, y) - gradient_v, -direction) / (
        epsilon * real_inner(gradient, gradient))
    return curvature if math.isfinite(curvature) and curvature > 0 else fallback


def _relative(difference: torch.Tensor, reference: torch.Tensor) -> float:
    numerator = float(euclidean_norm(difference))
    denominator = float(euclidean_norm(reference))
    return numerator / denominator if denominator > 0 else (0.0 if numerator == 0 else math.inf)
