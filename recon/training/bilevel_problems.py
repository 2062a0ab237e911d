r"""The lower-level energies of bilevel learning, :math:`g(x, \theta)`, and the upper-level loss.

Bilevel learning chooses hyperparameters :math:`\theta` so that the minimiser of a variational
denoising energy is close to the clean image:

.. math:: \min_\theta f(\hat x(\theta)) = \frac{1}{2N}\sum_{n=1}^N \|\hat x_n(\theta) - x_n^\dagger\|^2,
          \qquad \hat x(\theta) = \arg\min_x g(x, \theta).

Every energy here is :math:`\mu`-strongly convex (:math:`\mu = 1`, from the data term) and
:math:`L(\theta)`-smooth, as the implicit function theorem and accelerated gradient need. The
batch of :math:`N` images is one variable; :math:`g` is the sum of the per-image energies.

* :class:`SmoothedTVDenoising` — the TV experiment of Salehi et al.:

  .. math:: g(x, \theta) = \tfrac12\|x - y\|^2 + \tfrac12 e^{\theta_0} \sum_i \sqrt{|\nabla x|_i^2 + e^{2\theta_1}},

  :math:`L = 1 + \tfrac12 e^{\theta_0}\,\|\nabla\|^2 / e^{\theta_1}` with :math:`\|\nabla\|^2 \le 8`.
  recon's TV (``prior.strength`` with ``strength_scale: absolute``) is its :math:`e^{\theta_1}\to 0`
  limit with :math:`\lambda = \tfrac12 e^{\theta_0}`.
* :class:`WeightedTVDenoising` — recon's weighted TV with weights from a pilot image
  :math:`\tilde x` (:func:`recon.priors.weighted_tv.weights_from_magnitude` with :math:`p = 0`),

  .. math:: g(x, \theta) = \tfrac12\|x - y\|^2 + e^{\theta_0} \sum_i w_i \sqrt{|\nabla x|_i^2 + \nu^2},
            \qquad w_i = \frac{e^{\theta_1}}{\sqrt{e^{2\theta_1} + |\nabla\tilde x|_i^2}},

  so :math:`\theta = (\log\lambda, \log\eta)` in ``prior.strength`` / ``prior.eta`` terms, with a
  fixed small smoothing :math:`\nu`.

The gradient is recon's :class:`~recon.priors.finite_difference.FiniteDifference` (forward
differences, Neumann boundary), the one ``recon run`` uses for a reflected-boundary file.

>>> import torch
>>> y = torch.zeros(1, 1, 4, 4)
>>> problem = SmoothedTVDenoising(y)
>>> theta = torch.tensor([0.0, 0.0])
>>> round(problem.energy(y, theta).item(), 4)       # ½ · 1 · 16 pixels · √(0 + 1)
8.0
>>> problem.lipschitz(theta), problem.strong_convexity
(5.0, 1.0)
"""

from __future__ import annotations

import math

import torch

from recon.priors.finite_difference import FiniteDifference
from recon.priors.weighted_tv import gradient_magnitude, weights_from_magnitude

GRADIENT_NORM_SQUARED = 8.0     # ‖∇‖² ≤ 4 · (spatial axes) for forward differences in 2D


def _smoothed_magnitude(x: torch.Tensor, smoothing) -> torch.Tensor:
    r""":math:`\sqrt{|\nabla x|_i^2 + s^2}` at each pixel, differentiable twice."""
    z = FiniteDifference(2).A(x)
    return torch.sqrt(z.square().sum(dim=2) + smoothing**2)


class SmoothedTVDenoising:
    r"""The paper's smoothed-TV denoising energy with :math:`\theta = (\theta_0, \theta_1)` (module text)."""

    names = ("log 2·strength", "log smoothing")
    strong_convexity = 1.0

    def __init__(self, noisy: torch.Tensor):
        self.noisy = noisy

    def energy(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        data = 0.5 * (x - self.noisy).square().sum()
        return data + 0.5 * torch.exp(theta[0]) * _smoothed_magnitude(x, torch.exp(theta[1])).sum()

    def lipschitz(self, theta: torch.Tensor) -> float:
        theta = [float(t) for t in theta]
        return 1.0 + 0.5 * math.exp(theta[0]) * GRADIENT_NORM_SQUARED / math.exp(theta[1])

    @staticmethod
    def strength(theta) -> float:
        r"""recon's TV strength :math:`\lambda = \tfrac12 e^{\theta_0}` (``strength_scale: absolute``)."""
        return 0.5 * math.exp(float(theta[0]))

    def describe(self, theta) -> dict:
        """The learned values in recon's terms."""
        return {"strength": self.strength(theta), "smoothing": math.exp(float(theta[1]))}


class WeightedTVDenoising:
    r"""Smoothed weighted TV, :math:`\theta = (\log\lambda, \log\eta)`, weights from ``pilot`` (module text).

    >>> import torch
    >>> pilot = torch.zeros(1, 1, 4, 4); pilot[..., 2:] = 1.0
    >>> problem = WeightedTVDenoising(pilot, pilot, smoothing=0.01)
    >>> theta = torch.tensor([0.0, math.log(0.01)])
    >>> round(problem.energy(pilot, theta).item(), 4)     # 12 flat pixels · ν + 4 edge pixels · η
    0.16
    """

    names = ("log strength", "log eta")
    strong_convexity = 1.0

    def __init__(self, noisy: torch.Tensor, pilot: torch.Tensor, *, smoothing: float):
        self.noisy = noisy
        self.pilot_magnitude = gradient_magnitude(pilot)
        self.smoothing = float(smoothing)

    def weights(self, theta: torch.Tensor) -> torch.Tensor:
        return weights_from_magnitude(self.pilot_magnitude, eta=torch.exp(theta[1]), p=0.0)

    def energy(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        data = 0.5 * (x - self.noisy).square().sum()
        regulariser = (self.weights(theta) * _smoothed_magnitude(x, self.smoothing)).sum()
        return data + torch.exp(theta[0]) * regulariser

    def lipschitz(self, theta: torch.Tensor) -> float:
        return 1.0 + math.exp(float(theta[0])) * GRADIENT_NORM_SQUARED / self.smoothing   # w ≤ 1

    @staticmethod
    def strength(theta) -> float:
        return math.exp(float(theta[0]))

    def describe(self, theta) -> dict:
        return {"strength": self.strength(theta), "eta": math.exp(float(theta[1])), "smoothing": self.smoothing}


def upper_loss(x: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    r""":math:`f(x) = \frac{1}{2N}\|x - x^\dagger\|^2` over a batch of :math:`N` images; its gradient is
    :math:`(x - x^\dagger)/N` and its Lipschitz constant :math:`1/N`.

    >>> upper_loss(torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)).item()
    2.0
    """
    return 0.5 * (x - clean).square().sum() / x.shape[0]
