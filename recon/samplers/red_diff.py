r"""RED-diff: variational diffusion sampling (Mardani, Song, Kautz and Vahdat, ICLR 2024), as the paper states it.

RED-diff fits one image :math:`\mu` by stochastic optimisation instead of running a reverse
diffusion. Starting from :math:`\mu = A^\dagger y`, for noise levels descending from
:math:`\sigma_\max` to :math:`\sigma_\min` it draws :math:`\varepsilon`, forms
:math:`x_t = \mu + \sigma_t \varepsilon` and takes one Adam step on

.. math::
    \ell(\mu) = \lambda\, \sqrt{\tfrac{1 - \bar\alpha_t}{\bar\alpha_t}}\,
        \big\langle \operatorname{sg}\big(\varepsilon_\theta(x_t) - \varepsilon\big),\ \mu \big\rangle
        + \frac{1}{2\sigma_y^2} \|y - A\mu\|^2,

whose gradient, with :math:`\sqrt{(1 - \bar\alpha_t)/\bar\alpha_t} = \sigma_t` and Tweedie's
:math:`\varepsilon_\theta(x_t) = (x_t - D(x_t, \sigma_t))/\sigma_t`, is

.. math:: \nabla \ell = \lambda\,\big(\mu - D(\mu + \sigma_t\varepsilon,\ \sigma_t)\big)
                         + A^\mathsf{T}(A\mu - y)/\sigma_y^2 .

``sg`` stops the gradient: the network is evaluated, never differentiated. The paper uses
:math:`\lambda = 0.25`, Adam with learning rate 0.1–0.5 and betas (0.9, 0.99), 100 steps, on
[-1, 1] images. :math:`A^\dagger y` is the minimum-norm least-squares solution, computed here as
:math:`(A^\mathsf{T}A + \delta I)^{-1}A^\mathsf{T}y` with :math:`\delta = 10^{-3}\|A\|^2`
(:class:`~recon.solvers.data_consistency.QuadraticDataStep`).

>>> import torch
>>> from deepinv.physics import LinearPhysics
>>> from recon.priors.gaussian_mixture import GaussianMixture
>>> prior = GaussianMixture(torch.ones(1), torch.zeros(1, 4), torch.ones(1, 4))
>>> physics = LinearPhysics(A=lambda x: x, A_adjoint=lambda y: y)
>>> y = torch.tensor([[1.0, -1.0, 0.5, 0.0]], dtype=torch.float64)
>>> mu = red_diff(y, physics, prior, noise_sigma=0.1, steps=200, generator=torch.Generator().manual_seed(0))
>>> bool((mu - y).abs().max() < 0.1)
True
"""

from __future__ import annotations

import torch

from recon.samplers.common import check_noise_sigma, gaussian
from recon.samplers.schedule import karras_sigmas
from recon.solvers.data_consistency import QuadraticDataStep
from recon.solvers.pnp_common import operator_norm_squared


def red_diff(y: torch.Tensor, physics, denoiser, *, noise_sigma: float, steps: int = 100, sigma_max: float = 10.0,
             sigma_min: float = 0.002, lam: float = 0.25, learning_rate: float = 0.1, betas=(0.9, 0.99),
             cg_steps: int = 10, x_init: torch.Tensor | None = None, generator: torch.Generator | None = None,
             callback=None) -> torch.Tensor:
    """The RED-diff estimate μ for each batch element of ``y`` (module text); random through ε.

    :param lam: λ, the prior's weight (the paper's 0.25).
    :param learning_rate, betas: Adam's (the paper's 0.1–0.5 and (0.9, 0.99)).
    :param x_init: the start μ₀ (default :math:`A^\\dagger y`).
    """
    noise_sigma = check_noise_sigma(noise_sigma, "red_diff")
    data = QuadraticDataStep(physics, y, cg_steps=cg_steps)
    if x_init is None:
        x_init = data.prox(torch.zeros_like(data.Aty), 1e-3 * operator_norm_squared(physics, data.Aty))
    mu = x_init.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([mu], lr=learning_rate, betas=tuple(betas))
    sigmas = karras_sigmas(steps, sigma_max=sigma_max, sigma_min=sigma_min).tolist()
    for i, sigma in enumerate(sigmas):
        with torch.no_grad():
            current = mu.detach()
            denoised = denoiser(current + sigma * gaussian(current, generator), sigma)
            mu.grad = lam * (current - denoised) + data.gradient(current) / noise_sigma**2
        optimiser.step()
        if callback is not None:
            callback(i, mu.detach())
    return mu.detach()
