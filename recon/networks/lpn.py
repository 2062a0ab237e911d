r"""Learned proximal networks (Fang, Buchanan and Sulam, ICLR 2024): :math:`f = \nabla\psi` with :math:`\psi` convex.

A gradient of a convex function is exactly the proximal operator of *some* prior :math:`R`
(Gribonval and Nikolova): :math:`f(y) = \operatorname{prox}_R(y)` with

.. math:: R(f(y)) = \langle f(y), y\rangle - \tfrac12\|f(y)\|^2 - \psi(y),

so a network built this way is a proximal operator by construction, and its prior can be
evaluated (:class:`recon.priors.LearnedProximal`). :math:`\psi` is an input-convex network:

.. math::

    z_1 = \sigma(W_0 x + b_0), \qquad z_{k+1} = \sigma(U_k z_k + W_k x + b_k), \qquad
    \psi(x) = \textstyle\sum_c a_c \sum_{\text{pixels}} z_{L,c} + \alpha\|x\|^2,

with :math:`U_k \ge 0`, :math:`a \ge 0` and :math:`\sigma(t) = \log(1 + e^{\beta t})/\beta`
(convex and non-decreasing), so each :math:`z_k` is convex in :math:`x`. The :math:`W_k x` are
*skip* terms straight from the input, unconstrained; :math:`\alpha > 0` makes :math:`\psi` strongly
convex, so :math:`f` is invertible. The constrained weights are kept non-negative by
:meth:`project` (a clamp, as the authors do after each optimiser step; loading weights
projects too).

* :class:`LearnedProximalNetwork`: images. 3×3 convolutions, a stride of 2 at every other
  layer; the skip term of a layer sees the input average-pooled to that layer's grid. The
  potential *sums* over pixels, so the network is fully convolutional and :math:`f` acts the
  same on a 64² patch and a 512² image.
* :class:`LearnedProximalNetwork1d`: scalars, the authors' toy model of the Laplacian
  experiment (hidden width 50, 4 hidden layers, β = 10, no :math:`\alpha`).

>>> import torch
>>> net = LearnedProximalNetwork(hidden=8, layers=3)
>>> x = torch.rand(2, 1, 16, 16)
>>> net(x).shape, net.potential(x).shape
(torch.Size([2, 1, 16, 16]), torch.Size([2]))
>>> x = x.requires_grad_()
>>> grad = torch.autograd.grad(net.potential(x).sum(), x)[0]      # f is the gradient of psi
>>> torch.allclose(net(x), grad)
True
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def _softplus(t: torch.Tensor, beta: float) -> torch.Tensor:
    return F.softplus(t, beta=beta)


class _GradientOfPotential(nn.Module):
    """:math:`f(x) = \\nabla\\psi(x)` by autograd, with a graph only when the caller records one.

    A subclass defines ``potential(x)`` (:math:`\\psi` per sample) and ``constrained()`` (the weights kept
    non-negative).
    """

    @torch.no_grad()
    def project(self) -> None:
        """Clamp the weights that must be non-negative (call after each optimiser step)."""
        for weight in self.constrained():
            weight.clamp_(min=0)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.project()
        return result

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        graph = torch.is_grad_enabled()
        with torch.enable_grad():
            inputs = x if x.requires_grad else x.detach().requires_grad_()
            psi = self.potential(inputs).sum()
            (gradient,) = torch.autograd.grad(psi, inputs, create_graph=graph)
        return gradient if graph else gradient.detach()


class LearnedProximalNetwork(_GradientOfPotential):
    """Image LPN, ``(batch, channels, H, W)`` → same shape (module text).

    :param in_channels: image channels.
    :param hidden: channels of every hidden layer.
    :param layers: convolutions after the first (layer k has stride 2 when k is odd).
    :param beta: the softplus sharpness β.
    :param alpha: the strong convexity weight α.
    """

    def __init__(self, in_channels: int = 1, hidden: int = 32, layers: int = 4, beta: float = 100.0,
                 alpha: float = 1e-6):
        super().__init__()
        if layers < 1 or hidden < 1:
            raise ValueError(f"LearnedProximalNetwork: needs layers >= 1 and hidden >= 1, got {layers}, {hidden}")
        self.in_channels, self.hidden, self.layers, self.beta, self.alpha = in_channels, hidden, layers, beta, alpha
        self.first = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.hidden_convs = nn.ModuleList(
            nn.Conv2d(hidden, hidden, 3, stride=self._stride(k), padding=1, bias=False) for k in range(layers))
        self.skips = nn.ModuleList(nn.Conv2d(in_channels, hidden, 3, padding=1) for _ in range(layers))
        self.readout = nn.Parameter(torch.empty(hidden))
        self._initialise()

    @staticmethod
    def _stride(k: int) -> int:
        return 2 if k % 2 == 0 else 1

    def _initialise(self) -> None:
        with torch.no_grad():   # small positive weights, as the authors' exp(N(-10, 0.1)), scaled to the fan-in
            for conv in self.hidden_convs:
                conv.weight.copy_(torch.rand_like(conv.weight) / (conv.weight[0].numel()))
            self.readout.fill_(1.0 / self.hidden)

    def architecture(self) -> dict:
        return {"in_channels": self.in_channels, "hidden": self.hidden, "layers": self.layers, "beta": self.beta,
                "alpha": self.alpha}

    def constrained(self) -> list[torch.Tensor]:
        return [conv.weight for conv in self.hidden_convs] + [self.readout]

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\psi(x)` per image, shaped ``(batch,)``."""
        height, width = x.shape[-2:]
        multiple = 2 ** math.ceil(self.layers / 2)
        if height % multiple or width % multiple:
            raise ValueError(f"LearnedProximalNetwork: image sides must be multiples of {multiple}, "
                             f"got {height}×{width}")
        z = _softplus(self.first(x), self.beta)
        pooled = x
        for conv, skip, k in zip(self.hidden_convs, self.skips, range(self.layers)):
            if self._stride(k) == 2:
                pooled = F.avg_pool2d(pooled, 2)
            z = _softplus(conv(z) + skip(pooled), self.beta)
        psi = (z.sum(dim=(-2, -1)) * self.readout).sum(dim=1)
        return psi + self.alpha * x.pow(2).flatten(1).sum(dim=1)


class LearnedProximalNetwork1d(_GradientOfPotential):
    """Scalar LPN ``(batch, 1)`` → ``(batch, 1)``: the authors' Laplacian model (module text)."""

    def __init__(self, hidden: int = 50, layers: int = 4, beta: float = 10.0):
        super().__init__()
        self.hidden, self.layers, self.beta = hidden, layers, beta
        self.first = nn.Linear(1, hidden, bias=False)
        self.hidden_layers = nn.ModuleList(nn.Linear(hidden, hidden, bias=False) for _ in range(layers))
        self.skips = nn.ModuleList(nn.Linear(1, hidden) for _ in range(layers))
        self.readout = nn.Linear(hidden, 1, bias=False)
        self.linear = nn.Linear(1, 1)

    def architecture(self) -> dict:
        return {"hidden": self.hidden, "layers": self.layers, "beta": self.beta}

    def constrained(self) -> list[torch.Tensor]:
        return [layer.weight for layer in self.hidden_layers] + [self.readout.weight]

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\psi(x)` per sample, shaped ``(batch,)``."""
        z = _softplus(self.first(x), self.beta)
        for layer, skip in zip(self.hidden_layers, self.skips):
            z = _softplus(layer(z) + skip(x), self.beta)
        return (self.readout(z) + self.linear(x))[:, 0]
