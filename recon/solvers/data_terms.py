r"""Data terms :math:`f(v; y)` measuring how well a predicted measurement :math:`v = Ax` fits :math:`y`.

Each data term offers what the solvers need, all in measurement space:

* ``fn(v, y)``: the value, one per batch element;
* ``grad(v, y)``: :math:`\nabla_v f` (FISTA, gradient steps);
* ``prox(v, y, gamma)``: :math:`\operatorname{prox}_{\gamma f}(v)` (ADMM);
* ``prox_conjugate(u, y, sigma)``: :math:`\operatorname{prox}_{\sigma f^*}(u)` (PDHG's dual step);
* ``lipschitz``: the Lipschitz constant of ``grad`` (``None`` when it has none).

``gamma`` and ``sigma`` may be numbers or tensors broadcastable to ``v``
(diagonal preconditioning). The conjugate proxes use Moreau's identity
:math:`\operatorname{prox}_{\sigma f^*}(u) = u - \sigma\,\operatorname{prox}_{f/\sigma}(u/\sigma)`,
written out in closed form.
"""

from __future__ import annotations

import torch

from recon.solvers.common import batch_sum


class LeastSquares:
    r""":math:`f(v) = \tfrac12 \|v - y\|_2^2`.

    >>> import torch
    >>> v, y = torch.tensor([[3.0]]), torch.tensor([[1.0]])
    >>> LeastSquares().fn(v, y).item(), LeastSquares().prox(v, y, 1.0).item()
    (2.0, 2.0)
    """

    lipschitz = 1.0

    def fn(self, v, y):
        return 0.5 * batch_sum((v - y).abs() ** 2)

    def grad(self, v, y):
        return v - y

    def prox(self, v, y, gamma):
        return (v + gamma * y) / (1 + gamma)

    def prox_conjugate(self, u, y, sigma):
        return (u - sigma * y) / (1 + sigma)

    def __repr__(self):
        return "LeastSquares()"


class WeightedLeastSquares:
    r""":math:`f(v) = \tfrac12 \sum_i w_i |v_i - y_i|^2` with weights :math:`w_i > 0` (inverse noise variances).

    >>> import torch
    >>> f = WeightedLeastSquares(torch.tensor([[2.0]]))
    >>> f.fn(torch.tensor([[3.0]]), torch.tensor([[1.0]])).item()
    4.0
    """

    def __init__(self, weights: torch.Tensor):
        weights = torch.as_tensor(weights)
        if not bool((weights > 0).all()):
            raise ValueError("WeightedLeastSquares: weights must be positive (inverse variances)")
        self.weights = weights
        self.lipschitz = float(weights.max())

    def fn(self, v, y):
        return 0.5 * batch_sum(self.weights * (v - y).abs() ** 2)

    def grad(self, v, y):
        return self.weights * (v - y)

    def prox(self, v, y, gamma):
        return (v + gamma * self.weights * y) / (1 + gamma * self.weights)

    def prox_conjugate(self, u, y, sigma):
        return (u - sigma * y) / (1 + sigma / self.weights)

    def __repr__(self):
        return f"WeightedLeastSquares(weights of shape {tuple(self.weights.shape)})"


class PoissonLikelihood:
    r"""Poisson negative log-likelihood of counts :math:`y \sim \mathrm{Poisson}(v + b)`.

    .. math:: f(v) = \sum_i (v_i + b_i) - y_i \log(v_i + b_i),

    up to a constant, with a background :math:`b \ge 0`; :math:`f = +\infty` where
    :math:`v + b \le 0` meets a positive count. This is the SPIRAL-TAP setting;
    pair it with a non-negativity constraint on :math:`x`. Its proximal map is the
    positive root of a quadratic:

    .. math:: \operatorname{prox}_{\gamma f}(v) = \tfrac12\Big(v - b - \gamma + \sqrt{(v + b - \gamma)^2 + 4\gamma y}\Big)
              \quad\text{(shifted by } b\text{)}.

    >>> import torch
    >>> f = PoissonLikelihood()
    >>> y = torch.tensor([[4.0]])
    >>> round(f.prox(torch.tensor([[4.0]]), y, 1e-9).item(), 4)   # a tiny step barely moves v
    4.0
    >>> round(f.grad(torch.tensor([[4.0]]), y).item(), 6)          # the minimiser is v = y
    0.0
    """

    lipschitz = None

    def __init__(self, background: float | torch.Tensor = 0.0):
        self.background = background

    def fn(self, v, y):
        mean = v + self.background
        log_term = torch.where(y > 0, y * torch.log(mean.clamp_min(torch.finfo(mean.dtype).tiny)), 0.0)
        value = batch_sum(mean - log_term)
        infeasible = batch_sum(((mean <= 0) & (y > 0)).to(v.dtype)) > 0
        return torch.where(infeasible, torch.full_like(value, float("inf")), value)

    def grad(self, v, y):
        return 1 - y / (v + self.background)

    def prox(self, v, y, gamma):
        shifted = v + self.background - gamma
        mean = 0.5 * (shifted + torch.sqrt(shifted**2 + 4 * gamma * y))
        return mean - self.background

    def prox_conjugate(self, u, y, sigma):
        # Moreau: prox_{σf*}(u) = u - σ prox_{f/σ}(u/σ), simplified.
        shifted = u + sigma * self.background - 1
        return 0.5 * (u + sigma * self.background + 1 - torch.sqrt(shifted**2 + 4 * sigma * y))

    def __repr__(self):
        return f"PoissonLikelihood(background={self.background})"
