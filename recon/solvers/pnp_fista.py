r"""Plug-and-play proximal gradient in FISTA form: a gradient step on the data, then the denoiser.

.. math::

    x_{k+1} &= D\big(v_k - \tau A^{\mathsf H}(Av_k - y),\ \sigma\big), \qquad \tau = \text{step}/\|A\|^2 \\
    t_{k+1} &= \tfrac12\big(1 + \sqrt{1 + 4t_k^2}\big), \qquad
    v_{k+1} = x_{k+1} + \tfrac{t_k - 1}{t_{k+1}}(x_{k+1} - x_k)

(Beck & Teboulle's momentum around the PnP-PGD step of Kamilov et al., 2017;
``momentum=False`` gives plain PnP-PGD, which converges for averaged denoisers).
No linear system is solved, so it suits operators without a fast x-step. History:
objective :math:`\tfrac12\|Ax - y\|^2`.

>>> import torch
>>> from recon.operators.blur import Blur
>>> from recon.operators.psf import gaussian_psf
>>> blur = Blur(gaussian_psf(5, 1.0), (16, 16), "circular")
>>> truth = torch.zeros(1, 1, 16, 16); truth[..., 4:12, 4:12] = 1
>>> result = pnp_fista(blur.A(truth), blur, lambda x, s: x.clamp(0, 1), sigma=0.05)
>>> float((result.x - truth).abs().mean()) < 0.05
True
"""

from __future__ import annotations

import torch

from recon.solvers.common import IterationLoop, Result, Stopping, relative_change
from recon.solvers.data_consistency import QuadraticDataStep
from recon.solvers.pnp_common import (check_positive, denoiser_call, momentum_step, operator_norm_squared,
                                      project)

_STEP_HINT = "lower the step (below 1) or turn momentum off"


def pnp_fista(y: torch.Tensor, operator, denoiser, *, sigma: float, step: float = 1.0, momentum: bool = True,
              x0=None, nonnegative: bool = False, stopping: Stopping | None = None, callback=None) -> Result:
    """PnP-FISTA (see the module text); ``sigma`` in the units of the image, ``step`` in units of 1/‖A‖²."""
    check_positive("pnp_fista", sigma=sigma, step=step)
    stopping = Stopping(max_iter=100) if stopping is None else stopping
    data = QuadraticDataStep(operator, y)
    tau = step / operator_norm_squared(operator, y)
    denoise = denoiser_call(denoiser)
    x = (data.Aty if x0 is None else x0.to(data.Aty)).clone()
    v, t = x, 1.0
    loop = IterationLoop("pnp_fista", stopping, step_hint=_STEP_HINT, callback=callback)
    while not loop.done:
        new = project(denoise(v - tau * data.gradient(v), sigma), nonnegative)
        v, t = momentum_step(new, x, t, momentum)
        change = relative_change(new, x)
        x = new
        loop.record(objective=data.misfit(x), change=change, x=x)
    return loop.result(x)
