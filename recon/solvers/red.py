r"""Regularisation by denoising (RED), gradient form (Romano, Elad & Milanfar, 2017).

RED's regulariser has the gradient :math:`\lambda\,(x - D(x, \sigma))`, so

.. math::

    x_{k+1} = v_k - \tau\big(A^{\mathsf H}(Av_k - y) + \lambda\,(v_k - D(v_k, \sigma))\big),
    \qquad \lambda = \text{strength}\cdot\|A\|^2,\quad \tau = \text{step}/(\|A\|^2 + \lambda),

with Nesterov's momentum on :math:`v` (``momentum=False``: plain steepest descent).
Its fixed points satisfy :math:`A^{\mathsf H}(Ax - y) + \lambda(x - D(x)) = 0`, the
first-order condition the residual in the history measures (relative to
:math:`\|A^{\mathsf H}y\|`).

>>> import torch
>>> from recon.operators.blur import Blur
>>> from recon.operators.psf import gaussian_psf
>>> blur = Blur(gaussian_psf(5, 1.0), (16, 16), "circular")
>>> truth = torch.zeros(1, 1, 16, 16); truth[..., 4:12, 4:12] = 1
>>> result = red(blur.A(truth), blur, lambda x, s: x.clamp(0, 1), sigma=0.05, strength=0.01)
>>> float((result.x - truth).abs().mean()) < 0.05
True
"""

from __future__ import annotations

import torch

from recon.euclidean import euclidean_norm
from recon.solvers.common import IterationLoop, Result, Stopping, relative_change
from recon.solvers.data_consistency import QuadraticDataStep
from recon.solvers.pnp_common import (check_positive, denoiser_call, momentum_step, operator_norm_squared,
                                      project)

_STEP_HINT = "lower the step or the strength"


def red(y: torch.Tensor, operator, denoiser, *, sigma: float, strength: float = 0.1, step: float = 1.0,
        momentum: bool = True, x0=None, nonnegative: bool = False, stopping: Stopping | None = None,
        callback=None) -> Result:
    """RED by (accelerated) gradient descent; see the module text."""
    check_positive("red", sigma=sigma, strength=strength, step=step)
    stopping = Stopping(max_iter=100) if stopping is None else stopping
    data = QuadraticDataStep(operator, y)
    norm2 = operator_norm_squared(operator, y)
    weight = strength * norm2
    tau = step / (norm2 + weight)
    denoise = denoiser_call(denoiser)
    scale = max(float(euclidean_norm(data.Aty)), 1e-30)
    x = (data.Aty if x0 is None else x0.to(data.Aty)).clone()
    v, t = x, 1.0
    loop = IterationLoop("red", stopping, step_hint=_STEP_HINT, callback=callback)
    while not loop.done:
        gradient = data.gradient(v) + weight * (v - denoise(v, sigma))
        new = project(v - tau * gradient, nonnegative)
        v, t = momentum_step(new, x, t, momentum)
        change = relative_change(new, x)
        x = new
        loop.record(objective=data.misfit(x), residual=float(euclidean_norm(gradient)) / scale, change=change, x=x)
    return loop.result(x)
