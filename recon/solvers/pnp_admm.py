r"""Plug-and-play ADMM: ADMM on :math:`\tfrac12\|Ax-y\|^2 + R(x)` with the prox of :math:`R` replaced by a denoiser.

Venkatakrishnan, Bouman & Wohlberg (2013); with the scaled dual :math:`u`,

.. math::

    x_{k+1} &= (A^{\mathsf H}A + \alpha I)^{-1}\big(A^{\mathsf H}y + \alpha (z_k - u_k)\big) \\
    z_{k+1} &= D(x_{k+1} + u_k,\ \sigma) \\
    u_{k+1} &= u_k + x_{k+1} - z_{k+1},

:math:`\alpha = \text{penalty}\cdot\|A\|^2`, so one penalty suits operators of any
scale. The x-step is closed form where :mod:`recon.solvers.data_consistency` has
one (FFT or DCT deblurring, single-coil MRI), warm-started CG otherwise. The
estimate is :math:`z` (a denoiser output, optionally clipped at 0). History:
objective :math:`\tfrac12\|Az - y\|^2`, residual :math:`\|x - z\|/\|z\|`.

>>> import torch
>>> from recon.operators.blur import Blur
>>> from recon.operators.psf import gaussian_psf
>>> blur = Blur(gaussian_psf(5, 1.0), (16, 16), "circular")
>>> truth = torch.zeros(1, 1, 16, 16); truth[..., 4:12, 4:12] = 1
>>> smooth = lambda x, sigma: x      # any denoiser; the identity gives the regularised least squares
>>> result = pnp_admm(blur.A(truth), blur, smooth, sigma=0.05, penalty=1e-3)
>>> result.iterations, float((result.x - truth).abs().max()) < 0.05
(100, True)
"""

from __future__ import annotations

import torch

from recon.euclidean import euclidean_norm
from recon.solvers.common import IterationLoop, Result, Stopping, relative_change
from recon.solvers.data_consistency import QuadraticDataStep
from recon.solvers.pnp_common import check_positive, denoiser_call, operator_norm_squared, project

_STEP_HINT = "lower sigma or raise the penalty"


def pnp_admm(y: torch.Tensor, operator, denoiser, *, sigma: float, penalty: float = 0.1, x0=None,
             nonnegative: bool = False, cg_steps: int = 10, stopping: Stopping | None = None,
             callback=None) -> Result:
    """Plug-and-play ADMM (see the module text); ``sigma`` in the units of the image.

    :param denoiser: ``(x, sigma) -> x_hat`` (a ScaledDenoiser for physical units or complex images).
    :param penalty: α / ‖A‖².
    :param x0: the start (default :math:`A^{\\mathsf H}y`).
    :param nonnegative: clip the denoised iterate at 0.
    :param cg_steps: CG steps of each x-update without a closed form.
    """
    check_positive("pnp_admm", sigma=sigma, penalty=penalty)
    stopping = Stopping(max_iter=100) if stopping is None else stopping
    data = QuadraticDataStep(operator, y, cg_steps=cg_steps)
    alpha = penalty * operator_norm_squared(operator, y)
    denoise = denoiser_call(denoiser)
    z = (data.Aty if x0 is None else x0.to(data.Aty)).clone()
    u = torch.zeros_like(z)
    loop = IterationLoop("pnp_admm", stopping, step_hint=_STEP_HINT, callback=callback)
    while not loop.done:
        x = data.prox(z - u, alpha)
        previous = z
        z = project(denoise(x + u, sigma), nonnegative)
        u = u + x - z
        gap = float(euclidean_norm(x - z)) / max(float(euclidean_norm(z)), 1e-30)
        loop.record(objective=data.misfit(z), residual=gap, change=relative_change(z, previous), x=z)
    return loop.result(z)
