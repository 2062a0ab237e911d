r"""A Gaussian-mixture prior on small images, with its exact MMSE denoiser and exact linear-Gaussian posterior.

For :math:`p(x) = \sum_k w_k\,\mathcal N(x;\ m_k, \operatorname{diag} c_k)` on :math:`d` pixels, the noisy
density :math:`p_\sigma = p * \mathcal N(0, \sigma^2 I)` is the same mixture with variances
:math:`c_k + \sigma^2`, and Tweedie's formula gives the MMSE denoiser in closed form:

.. math::
    D(x, \sigma) = E[x_0 \mid x_0 + \sigma n = x]
    = \sum_k \gamma_k(x)\Big(m_k + \frac{c_k}{c_k + \sigma^2}(x - m_k)\Big), \qquad
    \gamma_k(x) \propto w_k\,\mathcal N(x;\ m_k, c_k + \sigma^2).

With :math:`y = Ax + n`, :math:`n \sim \mathcal N(0, \sigma_y^2 I)`, the posterior is again a mixture:
component :math:`k` has precision :math:`P_k = \operatorname{diag}(1/c_k) + A^\mathsf{T}A/\sigma_y^2`,
mean :math:`\mu_k = P_k^{-1}(m_k / c_k + A^\mathsf{T}y/\sigma_y^2)`, and weight
:math:`\propto w_k\,\mathcal N(y;\ A m_k,\ A \operatorname{diag}(c_k) A^\mathsf{T} + \sigma_y^2 I)`.

This is the exact reference the samplers are checked against (no trained network involved):
passing :meth:`GaussianMixture.denoise` as the denoiser makes every score exact.

>>> import torch
>>> mixture = GaussianMixture(torch.tensor([0.5, 0.5]), torch.tensor([[0.0], [1.0]]), torch.tensor([[0.01], [0.01]]))
>>> round(mixture.denoise(torch.tensor([[0.98]]), 0.1).item(), 3)    # near the second mean, shrunk halfway
0.99
>>> mean, variance = mixture.posterior(torch.eye(1, dtype=torch.float64), torch.tensor([[1.0]]), 0.1)
>>> round(mean.item(), 3), round(variance.item(), 4)
(1.0, 0.005)
"""

from __future__ import annotations

import math

import torch


class GaussianMixture:
    """:math:`\\sum_k w_k \\mathcal N(m_k, \\operatorname{diag} c_k)` on images of ``shape`` (flattened to ``d``).

    :param weights: ``(K,)``, positive (normalised here).
    :param means: ``(K, d)``.
    :param variances: ``(K, d)``, positive: per-pixel variances of each component.
    :param shape: the image shape without batch, e.g. ``(1, 8, 8)``; default ``(d,)``.
    """

    def __init__(self, weights: torch.Tensor, means: torch.Tensor, variances: torch.Tensor, shape=None):
        weights, means, variances = (torch.as_tensor(t, dtype=torch.float64) for t in (weights, means, variances))
        if means.ndim != 2 or variances.shape != means.shape or weights.shape != (means.shape[0],):
            raise ValueError("GaussianMixture: weights (K,), means and variances (K, d)")
        if not bool((weights > 0).all() and (variances > 0).all()):
            raise ValueError("GaussianMixture: weights and variances must be positive")
        self.weights = weights / weights.sum()
        self.means, self.variances = means, variances
        self.shape = tuple(shape) if shape is not None else (means.shape[1],)
        if math.prod(self.shape) != means.shape[1]:
            raise ValueError(f"GaussianMixture: shape {self.shape} does not hold {means.shape[1]} pixels")

    @property
    def dimension(self) -> int:
        return self.means.shape[1]

    def smoothed(self, epsilon: float) -> GaussianMixture:
        """:math:`p_\\varepsilon = p * \\mathcal N(0, \\varepsilon I)`: the same mixture, variances + ε."""
        return GaussianMixture(self.weights, self.means, self.variances + epsilon, self.shape)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws, shaped ``(n, *shape)``."""
        components = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dimension, generator=generator, dtype=torch.float64)
        draws = self.means[components] + self.variances[components].sqrt() * noise
        return draws.reshape(n, *self.shape)

    def _responsibilities(self, flat: torch.Tensor, total: torch.Tensor) -> torch.Tensor:
        """γ_k(x) for each row of ``flat`` ``(B, d)`` with component variances ``total`` ``(B, K, d)``."""
        offset = flat[:, None, :] - self.means[None]
        log_density = -0.5 * (offset**2 / total + total.log()).sum(dim=2)
        return torch.softmax(self.weights.log()[None] + log_density, dim=1)

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """The exact MMSE denoiser :math:`D(x, \\sigma)` (module text); ``sigma`` a float or ``(batch,)``."""
        flat = x.reshape(x.shape[0], -1).to(torch.float64)
        sigma = torch.as_tensor(sigma, dtype=torch.float64, device=flat.device).reshape(-1)
        variance = (sigma**2).expand(flat.shape[0])[:, None, None]
        total = self.variances[None] + variance
        gamma = self._responsibilities(flat, total)
        shrunk = self.means[None] + self.variances[None] / total * (flat[:, None, :] - self.means[None])
        return (gamma[:, :, None] * shrunk).sum(dim=1).reshape(x.shape).to(x.dtype)

    __call__ = denoise

    def posterior(self, matrix: torch.Tensor, y: torch.Tensor, noise_sigma: float):
        """Exact posterior mean and per-pixel variance for ``y = matrix @ x + n`` (module text).

        :param matrix: ``(m, d)``, the forward operator as a matrix acting on flattened images.
        :param y: ``(batch, m)`` measurements (any shape whose rows flatten to ``m``).
        :returns: ``(mean, variance)``, each ``(batch, *shape)``.
        """
        matrix = matrix.to(torch.float64)
        data = y.reshape(y.shape[0], -1).to(torch.float64)
        noise = noise_sigma**2
        means, variances = [], []
        log_weights = []
        for k in range(len(self.weights)):
            precision = torch.diag(1.0 / self.variances[k]) + matrix.T @ matrix / noise
            covariance = torch.linalg.inv(precision)
            right = self.means[k] / self.variances[k] + (data @ matrix) / noise          # (batch, d)
            means.append(right @ covariance)                                             # symmetric
            variances.append(torch.diagonal(covariance))
            predicted = matrix @ self.means[k]
            spread = matrix @ torch.diag(self.variances[k]) @ matrix.T + noise * torch.eye(matrix.shape[0],
                                                                                          dtype=torch.float64)
            evidence = torch.distributions.MultivariateNormal(predicted, covariance_matrix=spread)
            log_weights.append(self.weights[k].log() + evidence.log_prob(data))
        pi = torch.softmax(torch.stack(log_weights, dim=1), dim=1)                        # (batch, K)
        component_means = torch.stack(means, dim=1)                                       # (batch, K, d)
        second = torch.stack(variances)[None] + component_means**2
        mean = (pi[:, :, None] * component_means).sum(dim=1)
        variance = (pi[:, :, None] * second).sum(dim=1) - mean**2
        shape = (y.shape[0], *self.shape)
        return mean.reshape(shape), variance.clamp_min(0).reshape(shape)
