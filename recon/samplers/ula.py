r"""PnP-ULA: the unadjusted Langevin algorithm with a denoiser as the prior's score (Laumont, De Bortoli, Almansa, Delon, Durmus and Pereyra, SIAM J. Imaging Sci. 2022).

.. math::
    x_{k+1} = x_k - \frac{\delta}{\sigma_y^2} A^\mathsf{T}(Ax_k - y)
              + \frac{\alpha\delta}{\varepsilon}\big(D(x_k, \sqrt\varepsilon) - x_k\big)
              + \frac{\delta}{\lambda}\big(\Pi_C(x_k) - x_k\big) + \sqrt{2\delta}\, z_k .

With the MMSE denoiser at noise variance :math:`\varepsilon`, Tweedie gives
:math:`(D(x, \sqrt\varepsilon) - x)/\varepsilon = \nabla \log p_\varepsilon(x)`, the score of the
prior smoothed by :math:`\mathcal N(0, \varepsilon I)`; so with :math:`\alpha = 1` and no box term
the chain samples :math:`p_\varepsilon(x \mid y) \propto p(y \mid x)\, p_\varepsilon(x)` up to a bias of
order δ. That makes it the sampler whose uncertainty can be checked against a closed form
(:class:`recon.priors.gaussian_mixture.GaussianMixture`). :math:`\Pi_C` projects on a box
:math:`C = [a, b]` (``box``), which keeps the chain stable with a learned denoiser; the paper's
defaults are :math:`\lambda = (2/\varepsilon + 4L_y)^{-1}` and
:math:`\delta = \tfrac13(L_y + 1/\lambda + 1/\varepsilon)^{-1}` with :math:`L_y = \|A\|^2/\sigma_y^2`.

Returns the kept states: ``iterations`` steps after ``burn_in``, every ``thin``-th, shaped
``(kept, batch, ...)``; batch elements are independent chains.

>>> import torch
>>> from deepinv.physics import LinearPhysics
>>> from recon.priors.gaussian_mixture import GaussianMixture
>>> prior = GaussianMixture(torch.ones(1), torch.zeros(1, 2), torch.ones(1, 2))
>>> physics = LinearPhysics(A=lambda x: x, A_adjoint=lambda y: y)
>>> y = torch.full((500, 2), 1.0, dtype=torch.float64)
>>> chain = pnp_ula(y, physics, prior, noise_sigma=1.0, epsilon=0.01, step=0.05, iterations=400, burn_in=200,
...                 thin=10, generator=torch.Generator().manual_seed(0))
>>> chain.shape
torch.Size([40, 500, 2])
>>> mean = 1 / (1 + 1 / 1.01)                         # posterior of N(0, 1.01) and y = x + N(0, 1)
>>> bool(abs(chain.mean() - mean) < 0.02), bool(abs(chain.var() - 1 / (1 + 1 / 1.01)) < 0.05)
(True, True)
"""

from __future__ import annotations

import torch

from recon.samplers.common import check_noise_sigma, gaussian
from recon.solvers.data_consistency import QuadraticDataStep
from recon.solvers.pnp_common import operator_norm_squared


def pnp_ula(y: torch.Tensor, physics, denoiser, *, noise_sigma: float, epsilon: float, step: float | None = None,
            step_scale: float = 1.0, alpha: float = 1.0, box: tuple[float, float] | None = None,
            box_strength: float | None = None,
            iterations: int = 1000, burn_in: int = 100, thin: int = 1, x_init: torch.Tensor | None = None,
            generator: torch.Generator | None = None, callback=None) -> torch.Tensor:
    """Chains of PnP-ULA (module text), one per batch element of ``y``: ``(kept, batch, ...)``.

    :param epsilon: ε, the denoiser's noise variance (it is called at σ = √ε).
    :param step: δ (default: the paper's, from ‖A‖² when the operator has ``norm``, times ``step_scale``).
    :param alpha: α, the prior's weight (1: the Bayesian posterior of the smoothed prior).
    :param box: ``(a, b)``: add the projection term onto :math:`[a, b]`; ``None``: no such term.
    :param box_strength: λ of the box term (default the paper's).
    :param x_init: the chains' start (default :math:`A^\\mathsf{T}y` scaled to fit y).
    """
    noise_sigma = check_noise_sigma(noise_sigma, "pnp_ula")
    if not epsilon > 0:
        raise ValueError(f"pnp_ula: epsilon must be positive, got {epsilon}")
    if iterations < 1 or burn_in < 0 or thin < 1:
        raise ValueError(f"pnp_ula: need iterations >= 1, burn_in >= 0, thin >= 1, got {iterations}, {burn_in}, {thin}")
    data = QuadraticDataStep(physics, y)
    lipschitz = operator_norm_squared(physics, data.Aty) / noise_sigma**2
    if box is not None and box_strength is None:
        box_strength = 1.0 / (2.0 / epsilon + 4.0 * lipschitz)
    if step is None:
        step = step_scale / (3.0 * (lipschitz + (1.0 / box_strength if box is not None else 0.0) + 1.0 / epsilon))
    if not step > 0:
        raise ValueError(f"pnp_ula: step must be positive, got {step}")
    x = data.Aty.clone() if x_init is None else x_init.clone()
    sigma = epsilon**0.5
    kept = []
    with torch.no_grad():
        for k in range(burn_in + iterations):
            drift = -data.gradient(x) / noise_sigma**2 + alpha / epsilon * (denoiser(x, sigma) - x)
            if box is not None:
                drift = drift + (x.clamp(*box) - x) / box_strength
            x = x + step * drift + (2 * step) ** 0.5 * gaussian(x, generator)
            if k >= burn_in and (k - burn_in) % thin == thin - 1:
                kept.append(x.clone())
                if callback is not None:
                    callback(k, x)
    return torch.stack(kept)
