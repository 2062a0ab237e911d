r"""SIRT: the simultaneous iterative reconstruction technique, with an optional convex constraint.

.. math::
    x_{k+1} = P_C\big(x_k + \omega\, C A^\top R\,(y - Ax_k)\big),\qquad
    R = \operatorname{diag}\frac{1}{A\mathbf 1},\quad C = \operatorname{diag}\frac{1}{A^\top\mathbf 1},

with relaxation :math:`\omega \in (0, 2)` and :math:`P_C` a projection (``constraint.prox``:
:class:`~recon.priors.NonNegativity`, :class:`~recon.priors.Box`). For a matrix with
non-negative entries :math:`\|R^{1/2}AC^{1/2}\| \le 1`, so this is projected gradient
descent on the weighted least-squares objective
:math:`\tfrac12\|Ax - y\|_R^2 = \tfrac12\sum_i R_i\,(Ax - y)_i^2` in the metric
:math:`C^{-1}`, with a step that needs no norm estimate; without a constraint it
converges to the minimiser of :math:`\|R^{1/2}(Ax - y)\|^2`.

Rows or columns whose sum is zero (a ray that misses the image, a pixel no ray
sees) get weight 0, as in astra-toolbox, which also drops sums below :math:`10^{-6}`
in its unit-pixel scale; here a sum counts as zero below :math:`10^{-6}` times the
largest one, which is the same rule free of the pixel size. Such pixels keep their
starting value.

An operator that does not declare ``has_nonnegative_entries`` (the row sums of
:math:`|A|` are then not :math:`A\mathbf 1`) gets Landweber's iteration instead:
:math:`CA^\top R` becomes :math:`A^\mathsf{H}/\|A\|^2` (logged at INFO), which
converges to the least-squares solution for real or complex data.
"""

from __future__ import annotations

import logging

import torch

from recon.euclidean import euclidean_norm
from recon.solvers.common import IterationLoop, Result, Stopping, relative_change
from recon.solvers.primal_dual_blocks import operator_norm

log = logging.getLogger(__name__)

#: A row or column sum at most this fraction of the largest one counts as zero (astra: 1e-6 absolute).
NEGLIGIBLE_SUM = 1e-6

_STEP_HINT = ("SIRT's step is stable for relaxation in (0, 2) when A has non-negative entries and A_adjoint "
              "is its transpose; check both (dot-product test), or that the operator's norm() is not too small")


def inverse_sums(sums: torch.Tensor) -> torch.Tensor:
    r""":math:`1/s` elementwise, and 0 where :math:`s \le 10^{-6}\max s` (a ray missing the image, an unseen pixel).

    >>> import torch
    >>> inverse_sums(torch.tensor([2.0, 0.0, 4.0])).tolist()
    [0.5, 0.0, 0.25]
    """
    sums = sums.real if sums.is_complex() else sums
    threshold = NEGLIGIBLE_SUM * float(sums.max()) if sums.numel() else 0.0
    kept = sums > threshold
    return torch.where(kept, 1.0 / torch.where(kept, sums, torch.ones_like(sums)), torch.zeros_like(sums))


def sirt_weights(operator, x_like: torch.Tensor):
    r"""SIRT's :math:`(R, C) = (1/(A\mathbf 1), 1/(A^\top\mathbf 1))`, or Landweber's :math:`(1, 1/\|A\|^2)`.

    :param operator: the forward operator; ``has_nonnegative_entries`` decides which pair.
    :param x_like: an image with the shape, dtype and device of the iterates.

    >>> import torch
    >>> class Sum:
    ...     has_nonnegative_entries = True
    ...     def A(self, x): return x.sum(dim=-1, keepdim=True)
    ...     def A_adjoint(self, y): return y.expand(*y.shape[:-1], 4)
    >>> R, C = sirt_weights(Sum(), torch.zeros(1, 1, 4))
    >>> R.flatten().tolist(), C.flatten().tolist()
    ([0.25], [1.0, 1.0, 1.0, 1.0])
    """
    if getattr(operator, "has_nonnegative_entries", False):
        # One batch element is enough: the sums are the same for all of them.
        row_sums = operator.A(torch.ones_like(x_like[:1]))
        column_sums = operator.A_adjoint(torch.ones_like(row_sums))
        return inverse_sums(row_sums), inverse_sums(column_sums)
    log.info("sirt: %s does not declare non-negative entries; running Landweber with step 1/||A||^2",
             type(operator).__name__)
    return 1.0, 1.0 / operator_norm(operator, x_like) ** 2


def sirt(y: torch.Tensor, operator, *, x0: torch.Tensor | None = None, constraint=None, relaxation: float = 1.0,
         stopping: Stopping = Stopping(), callback=None) -> Result:
    r"""Reconstruct by SIRT, :math:`x \leftarrow P_C(x + \omega\, C A^\top R\,(y - Ax))`, see the module text.

    Each iteration costs one :math:`A` and one :math:`A^\top`; the objective
    :math:`\tfrac12\|Ax - y\|_R^2` and the residual :math:`\|Ax - y\| / \|y\|` of the new
    iterate come from the same forward projection.

    :param y: measurement, shaped like ``operator.A(x)``.
    :param operator: a linear operator; SIRT weights if it declares ``has_nonnegative_entries``, else Landweber.
    :param x0: start (default zeros).
    :param constraint: a prior whose ``prox`` projects (``NonNegativity()``, ``Box(0, 1)``) or ``None``.
    :param relaxation: :math:`\omega \in (0, 2)`.
    :param stopping: stopping rules; ``residual_tol`` applies to :math:`\|Ax - y\| / \|y\|`.
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.

    Example: non-negative SIRT of a square from 30 views.

    >>> import math, torch
    >>> from recon.operators import ParallelBeamCT
    >>> from recon.priors import NonNegativity
    >>> op = ParallelBeamCT(torch.linspace(0, math.pi, 31)[:-1], 32, image_shape=(24, 24))
    >>> truth = torch.zeros(1, 1, 24, 24); truth[..., 8:16, 8:16] = 1.0
    >>> result = sirt(op(truth), op, constraint=NonNegativity(), stopping=Stopping(max_iter=100))
    >>> bool((result.x >= 0).all()), float((result.x - truth).norm() / truth.norm()) < 0.1
    (True, True)
    """
    if not 0 < relaxation < 2:
        raise ValueError(f"sirt: relaxation must lie in (0, 2), got {relaxation}")
    loop = IterationLoop("sirt", stopping, step_hint=_STEP_HINT, callback=callback)  # setup time counts too
    x = torch.zeros_like(operator.A_adjoint(y)) if x0 is None else x0.clone()
    row_weights, column_weights = sirt_weights(operator, x)
    step_weights = relaxation * column_weights
    y_norm = float(euclidean_norm(y)) or 1.0
    misfit = y - operator.A(x)
    while not loop.done:
        x_new = x + step_weights * operator.A_adjoint(row_weights * misfit)
        if constraint is not None:
            x_new = constraint.prox(x_new, gamma=1.0)
        misfit = y - operator.A(x_new)
        objective = 0.5 * float((row_weights * misfit.abs() ** 2).sum())
        change = relative_change(x_new, x)
        x = x_new
        loop.record(objective=objective, residual=float(euclidean_norm(misfit)) / y_norm,
                    change=change, x=x)
    return loop.result(x)
