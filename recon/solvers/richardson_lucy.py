r"""Richardson–Lucy: maximum-likelihood deconvolution of Poisson counts, with a stopping rule.

For counts :math:`y \ge 0` with mean :math:`Ax` (a non-negative operator: a blur by
a non-negative PSF, a downsampling), the update

.. math:: x_{k+1} = x_k \odot \frac{A^\top\big(y / A x_k\big)}{A^\top \mathbf 1}

is the EM algorithm for the Poisson likelihood (Richardson 1972, Lucy 1974): it
keeps :math:`x \ge 0` and never increases the negative log-likelihood, recorded
as the objective in the form of the Kullback–Leibler divergence

.. math:: \ell(x) = \sum_i \Big[y_i \log\frac{y_i}{(Ax)_i} - y_i + (Ax)_i\Big] \;\ge 0

(the negative log-likelihood up to a constant in :math:`y`; :math:`0\log 0 = 0`).
Run long, RL fits the noise; it is stopped early by the usual rules of
:class:`~recon.solvers.common.Stopping` (``max_iter``, relative change ``tol``,
``time_limit``) and by the **discrepancy principle**, when the misfit reaches the
level the noise alone would leave (:math:`N` = the number of measurements,
:math:`\tau` = ``tau``, 1 by default):

``discrepancy="poisson"``
    stop at the first :math:`k` with the Poisson deviance :math:`2\,\ell(x_k) \le \tau N`
    (for Poisson data of mean :math:`\mu`, :math:`E[2\ell]` is about 1 per
    measurement when :math:`\mu \gtrsim 10`, less at lower counts);
``discrepancy="gaussian"``
    stop at the first :math:`k` with :math:`\|Ax_k - y\|^2 \le \tau N \sigma^2`,
    ``noise_sigma`` = :math:`\sigma`.

Measured on a 32² phantom (counts 10–400) blurred by a Gaussian of
:math:`\sigma = 1.5` with reflection, three noise draws: the truth's deviance is
0.98–1.03 :math:`N`; :math:`\tau = 1` stops at iteration 11–14 with a relative error
21–29 % above that of the best iterate (iteration 60–72), :math:`\tau = 0.9` at 19–29,
5–14 % above. So :math:`\tau = 1` errs on the side of stopping early.

The history's ``residual`` is that misfit over its threshold (the stop fires when
it reaches 1), or the deviance per measurement without a discrepancy rule.
"""

from __future__ import annotations

import torch

from recon.solvers.common import IterationLoop, Result, Stopping, relative_change

DISCREPANCIES = (None, "poisson", "gaussian")


def poisson_divergence(y: torch.Tensor, mean: torch.Tensor) -> float:
    r""":math:`\sum_i y_i\log(y_i/\mu_i) - y_i + \mu_i` (infinite where :math:`\mu_i = 0 < y_i`).

    >>> import torch
    >>> poisson_divergence(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 2.0]))
    2.0
    """
    log_term = torch.where(y > 0, y * (torch.log(y) - torch.log(mean)), torch.zeros_like(y))
    return float((log_term - y + mean).sum())


def richardson_lucy(y: torch.Tensor, operator, *, stopping: Stopping | None = None,
                    x0: torch.Tensor | None = None, callback=None, discrepancy: str | None = None,
                    noise_sigma: float | None = None, tau: float = 1.0) -> Result:
    r"""Richardson–Lucy iterations for :math:`y \sim \text{Poisson}(Ax)`, stopped by ``stopping`` or the discrepancy principle.

    :param y: non-negative measurement, shaped like ``operator.A(x)``.
    :param operator: a non-negative linear operator (:math:`A^\top\mathbf 1 > 0` everywhere) with ``A``, ``A_adjoint``.
    :param stopping: ``max_iter``, ``tol`` (relative change), ``time_limit`` (default ``Stopping(max_iter=100)``).
    :param x0: positive start (default: the constant :math:`\sum y / \sum A^\top \mathbf 1`).
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.
    :param discrepancy: ``None``, ``"poisson"`` or ``"gaussian"`` (module text).
    :param noise_sigma: :math:`\sigma` for ``discrepancy="gaussian"``.
    :param tau: the discrepancy threshold factor :math:`\tau`.

    ``stop_reason`` is ``"discrepancy"`` when that rule ended the run.

    >>> import torch
    >>> from recon.operators.blur import Blur
    >>> from recon.operators.psf import gaussian_psf
    >>> blur = Blur(gaussian_psf(7, 1.0), (24, 24))
    >>> x = torch.zeros(1, 1, 24, 24, dtype=torch.float64); x[..., 6:18, 8:12] = 100.0
    >>> result = richardson_lucy(blur.A(x) + 1.0, blur, stopping=Stopping(max_iter=50))
    >>> h = result.history.objective
    >>> result.iterations, all(b <= a for a, b in zip(h, h[1:])), bool((result.x >= 0).all())
    (50, True, True)
    """
    if y.is_complex():
        raise ValueError("richardson_lucy: y must be real counts, got a complex tensor")
    if not bool(torch.isfinite(y).all()):
        raise ValueError("richardson_lucy: y has NaN or infinite entries")
    if float(y.min()) < 0:
        raise ValueError(f"richardson_lucy: y must be non-negative (Poisson counts), got a minimum of {float(y.min()):g}")
    if discrepancy not in DISCREPANCIES:
        raise ValueError(f"richardson_lucy: discrepancy must be None, 'poisson' or 'gaussian', got {discrepancy!r}")
    if discrepancy == "gaussian" and not (noise_sigma is not None and noise_sigma > 0):
        raise ValueError("richardson_lucy: discrepancy='gaussian' needs noise_sigma > 0")
    if not tau > 0:
        raise ValueError(f"richardson_lucy: tau must be positive, got {tau}")
    stopping = Stopping(max_iter=100) if stopping is None else stopping
    loop = IterationLoop("richardson_lucy", stopping, callback=callback,
                         step_hint="the operator or the data are not non-negative")
    sensitivity = operator.A_adjoint(torch.ones_like(y))
    if float(sensitivity.min()) <= 0:
        raise ValueError("richardson_lucy: A^T 1 has zero or negative entries; the operator must be non-negative "
                         "and see every pixel (a PSF with negative values, or pixels no measurement depends on)")
    if x0 is None:
        x = torch.full_like(sensitivity, float(y.sum()) / float(sensitivity.sum()))
    else:
        if float(x0.min()) < 0:
            raise ValueError("richardson_lucy: x0 must be non-negative")
        x = x0.clone()
    count = y.numel()
    threshold = {None: count, "poisson": tau * count,
                 "gaussian": tau * count * (noise_sigma or 0.0) ** 2}[discrepancy]
    tiny = torch.finfo(y.dtype).tiny
    mean = operator.A(x)
    while not loop.done:
        ratio = torch.where(y > 0, y / mean.clamp_min(tiny), torch.zeros_like(y))
        new_x = x * operator.A_adjoint(ratio) / sensitivity
        new_mean = operator.A(new_x)
        objective = poisson_divergence(y, new_mean)
        misfit = 2 * objective if discrepancy != "gaussian" else float(((new_mean - y) ** 2).sum())
        change = relative_change(new_x, x)
        x, mean = new_x, new_mean
        loop.record(objective=objective, residual=misfit / threshold, change=change, x=x)
        if discrepancy is not None and misfit <= threshold and loop.stop_reason in ("", "max_iter"):
            loop.stop_reason = "discrepancy"
    return loop.result(x)
