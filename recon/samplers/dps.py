r"""Diffusion posterior sampling, DPS (Chung, Kim, McCann, Klasky and Ye, ICLR 2023).

Each reverse step of the diffusion model is followed by a gradient step on the measurement misfit of
the current clean estimate :math:`\hat x_0(x_i) = D(x_i, \sigma_i)` (Tweedie):

.. math::
    x_{i+1}' &= x_i + (\sigma_i^2 - \sigma_{i+1}^2)\,\frac{\hat x_0 - x_i}{\sigma_i^2}
              + \sqrt{\sigma_i^2 - \sigma_{i+1}^2}\; z_i \qquad\text{(ancestral VE step)}, \\
    x_{i+1} &= x_{i+1}' - \frac{\zeta}{\|A\|^2}\, \nabla_{x_i} \tfrac12\|y - A\hat x_0(x_i)\|_2^2
             = x_{i+1}' - \frac{\zeta}{\|A\|^2}\, J_D^\mathsf{T} A^\mathsf{T}(A\hat x_0 - y).

The paper writes the step as :math:`\zeta_i \nabla\|y - A\hat x_0\|` with :math:`\zeta_i = \zeta'/\|y - A\hat x_0\|`,
tuned for images in [-1, 1] and operators of norm about 1; that step scales like the inverse of the
units of :math:`x` and with :math:`\|A\|^2`, and on few-view CT (‖A‖² ≈ 3700) it diverged for every ζ' tried
(9.6 dB). Here the step is :math:`\zeta/\|A\|^2` on the squared misfit, the gradient-descent step
of the data term, so ζ ≈ 1 suits any operator and any units (:func:`~recon.solvers.pnp_common.operator_norm_squared`;
1 for an operator without ``norm``). The gradient runs back through the network only: :math:`A^\mathsf{T}` is
the operator's explicit adjoint, and the network gives one vector–Jacobian product. The last step
returns :math:`\hat x_0`. One network evaluation (and one backward pass) per step.

>>> import torch
>>> from deepinv.physics import LinearPhysics
>>> from recon.priors.gaussian_mixture import GaussianMixture
>>> prior = GaussianMixture(torch.ones(1), torch.zeros(1, 4), torch.ones(1, 4))
>>> physics = LinearPhysics(A=lambda x: x, A_adjoint=lambda y: y)
>>> y = torch.tensor([[1.0, -1.0, 0.5, 0.0]], dtype=torch.float64)
>>> def draw(seed):
...     return dps(y, physics, prior, noise_sigma=0.1, steps=20, sigma_max=5.0, step_size=0.1,
...                generator=torch.Generator().manual_seed(seed))
>>> bool(torch.equal(draw(0), draw(0))), bool(torch.equal(draw(0), draw(1)))     # seeded
(True, False)
"""

from __future__ import annotations

import torch

from recon.samplers.common import check_noise_sigma, gaussian
from recon.samplers.schedule import karras_sigmas
from recon.solvers.pnp_common import operator_norm_squared


def dps(y: torch.Tensor, physics, denoiser, *, noise_sigma: float, steps: int = 100, sigma_max: float = 10.0,
        sigma_min: float = 0.002, step_size: float = 1.0, x_init: torch.Tensor | None = None,
        generator: torch.Generator | None = None, callback=None) -> torch.Tensor:
    """One posterior sample per batch element of ``y`` (module text).

    :param physics: the operator (``A``, ``A_adjoint``).
    :param denoiser: ``denoiser(x, sigma)``, differentiable in ``x`` (a network, or an exact denoiser).
    :param noise_sigma: the measurement noise level (DPS uses it only to check it is given; its step is
        ζ/‖A‖², module text).
    :param step_size: ζ, in units of 1/‖A‖².
    :param x_init: the mean the first noisy iterate is drawn around (default 0).
    :param callback: ``callback(i, x0_estimate)`` after each step.
    """
    check_noise_sigma(noise_sigma, "dps")
    sigmas = karras_sigmas(steps, sigma_max=sigma_max, sigma_min=sigma_min).tolist() + [0.0]
    like = physics.A_adjoint(y)
    lipschitz = operator_norm_squared(physics, like)
    x = (torch.zeros_like(like) if x_init is None else x_init) + sigmas[0] * gaussian(like, generator)
    estimate = x
    for i, (sigma, following) in enumerate(zip(sigmas[:-1], sigmas[1:])):
        with torch.enable_grad():
            current = x.detach().requires_grad_(True)
            estimate_graph = denoiser(current, sigma)
            estimate = estimate_graph.detach()
            direction = physics.A_adjoint(physics.A(estimate) - y) / lipschitz
            (gradient,) = torch.autograd.grad(estimate_graph, current, grad_outputs=direction)
        if following > 0:
            spread = sigma**2 - following**2
            x = x + spread * (estimate - x) / sigma**2 + spread**0.5 * gaussian(x, generator)
        else:
            x = estimate
        x = x - step_size * gradient.detach()
        if callback is not None:
            callback(i, estimate)
    return x.detach()
