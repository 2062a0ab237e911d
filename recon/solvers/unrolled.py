r"""Unrolled solvers: K iterations of a classical algorithm with learned parameters and learned proximal blocks.

An unrolled solver is a network: its layers are the iterations of an algorithm, its weights the
algorithm's step sizes and penalties (one per iteration) and the networks that stand in for its
proximal maps, all trained end to end through the forward operator. The data term
:math:`f(x) = \tfrac12\|Ax - y\|^2` enters through a data step (:mod:`recon.solvers.unrolled_data_steps`:
any recon operator by its explicit adjoint, or the closed-form FFT step of circular blurs).

**Proximal gradient** (:class:`UnrolledProximalGradient`):
:math:`x_{k+1} = P_k\big(x_k - \tau_k \nabla f(x_k)\big)`.

**ADMM** (:class:`UnrolledADMM`, the plug-and-play ADMM of Li & Alexander 2023 among others):

.. math::
    x_{k+1} = \operatorname{prox}_{f/\rho_k}(z_k - u_k), \qquad
    z_{k+1} = P_k(x_{k+1} + u_k), \qquad
    u_{k+1} = u_k + x_{k+1} - z_{k+1}.

:math:`\rho_k` are learned scalars, or come from a network of the problem (``penalties``).

**Primal–dual** (:class:`LearnedPrimalDual`, Adler & Öktem 2018): a primal state :math:`h` of
``primal_channels`` images and a dual state :math:`d` of ``dual_channels`` measurements,

.. math::
    d_{k+1} = d_k + \Gamma_k\big([d_k,\ A h_k^{(1)},\ y]\big), \qquad
    h_{k+1} = h_k + \Lambda_k\big([h_k,\ A^{\mathsf H} d_{k+1}^{(1)}]\big),

the learned counterpart of PDHG's dual and primal steps (:math:`h^{(1)}` the first channel).

Blocks are given as one module (shared by every iteration) or a list of K (one each). With
``checkpoint=True`` each iteration is recomputed in the backward pass instead of being stored
(``torch.utils.checkpoint``), so training memory stays that of one iteration whatever K.

>>> import torch
>>> from torch import nn
>>> from recon.operators import ParallelBeamCT
>>> from recon.solvers.unrolled_data_steps import OperatorDataStep
>>> op = ParallelBeamCT(torch.linspace(0, 3.1, 10), 16, image_shape=(12, 12))
>>> y = op.A(torch.rand(2, 1, 12, 12))
>>> solver = UnrolledProximalGradient(nn.Identity(), iterations=5, step=1 / float(op.norm()) ** 2)
>>> solver(OperatorDataStep(op, y), torch.zeros(2, 1, 12, 12)).shape          # 5 Landweber steps, untrained
torch.Size([2, 1, 12, 12])
>>> [round(float(t) * float(op.norm()) ** 2, 4) for t in solver.step()]       # one learnable step per iteration
[1.0, 1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint as recompute


class PositiveParameters(nn.Module):
    """K learned positive numbers :math:`\\operatorname{softplus}(\\theta_k)`, started at ``initial``."""

    def __init__(self, count: int, initial: float):
        super().__init__()
        if not initial > 0:
            raise ValueError(f"PositiveParameters: initial value must be positive, got {initial}")
        # softplus⁻¹(v) = v + log(1 − e^{−v}), written stably for small and large v
        raw = initial + math.log(-math.expm1(-initial))
        self.raw = nn.Parameter(torch.full((count,), raw, dtype=torch.float32))

    def forward(self) -> torch.Tensor:
        return F.softplus(self.raw)


def _block_list(blocks, iterations: int) -> nn.ModuleList:
    if isinstance(blocks, nn.Module) and not isinstance(blocks, nn.ModuleList):
        return nn.ModuleList([blocks])
    blocks = nn.ModuleList(blocks)
    if len(blocks) not in (1, iterations):
        raise ValueError(f"expected 1 block (shared) or {iterations} (one per iteration), got {len(blocks)}")
    return blocks


class Unroller(nn.Module):
    """The base of unrolled solvers: K iterations, each optionally recomputed in the backward pass (module text)."""

    def __init__(self, iterations: int, checkpoint: bool):
        super().__init__()
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        self.iterations, self.checkpoint = int(iterations), bool(checkpoint)

    def _run(self, step, k: int, *state):
        if self.checkpoint and torch.is_grad_enabled():
            return recompute(step, k, *state, use_reentrant=False)
        return step(k, *state)

    @staticmethod
    def _block(blocks: nn.ModuleList, k: int) -> nn.Module:
        return blocks[k if len(blocks) > 1 else 0]


class UnrolledProximalGradient(Unroller):
    """:math:`x_{k+1} = P_k(x_k - \\tau_k \\nabla f(x_k))` with learned :math:`\\tau_k` (start ``step``) and :math:`P_k`."""

    def __init__(self, prox, iterations: int, *, step: float, checkpoint: bool = False):
        super().__init__(iterations, checkpoint)
        self.prox = _block_list(prox, iterations)
        self.step = PositiveParameters(iterations, step)

    def forward(self, data, x0: torch.Tensor, callback=None) -> torch.Tensor:
        steps = self.step()
        x = x0
        for k in range(self.iterations):
            x = self._run(lambda k, x, data=data, steps=steps: self._block(self.prox, k)(x - steps[k] * data.gradient(x)),
                          k, x)
            if callback is not None:
                callback(k, x)
        return x


class UnrolledADMM(Unroller):
    """Plug-and-play ADMM with learned :math:`\\rho_k` and :math:`P_k` (module text); returns :math:`x_K`.

    :param penalty: the start of the learned :math:`\\rho_k` (ignored when ``penalties`` is given).
    :param penalties: optional module, ``penalties(data) -> (K, batch)`` positive :math:`\\rho_k` per
        batch element (e.g. from the PSF and the noise level), in place of learned scalars.
    """

    def __init__(self, prox, iterations: int, *, penalty: float = 1.0, penalties: nn.Module | None = None,
                 checkpoint: bool = False):
        super().__init__(iterations, checkpoint)
        self.prox = _block_list(prox, iterations)
        self.penalties = penalties if penalties is not None else PositiveParameters(iterations, penalty)
        self._learned_scalars = penalties is None

    def forward(self, data, x0: torch.Tensor, callback=None) -> torch.Tensor:
        rho = self.penalties() if self._learned_scalars else self.penalties(data)
        if rho.shape[0] != self.iterations:
            raise ValueError(f"penalties gave {rho.shape[0]} rows, expected one per iteration ({self.iterations})")
        x, z, u = x0, x0, torch.zeros_like(x0)

        def step(k, z, u, data=data, rho=rho):
            x = data.prox(z - u, rho[k])
            z = self._block(self.prox, k)(x + u)
            return x, z, u + x - z

        for k in range(self.iterations):
            x, z, u = self._run(step, k, z, u)
            if callback is not None:
                callback(k, x)
        return x


class LearnedPrimalDual(Unroller):
    """Adler & Öktem's learned primal–dual (module text); returns the first primal channel.

    :param primal_blocks: :math:`\\Lambda_k`, ``primal_channels + 1`` channels in, ``primal_channels`` out.
    :param dual_blocks: :math:`\\Gamma_k`, ``dual_channels + 2`` channels in, ``dual_channels`` out.
    """

    def __init__(self, primal_blocks, dual_blocks, iterations: int, *, primal_channels: int = 5,
                 dual_channels: int = 5, checkpoint: bool = False):
        super().__init__(iterations, checkpoint)
        self.primal = _block_list(primal_blocks, iterations)
        self.dual = _block_list(dual_blocks, iterations)
        self.primal_channels, self.dual_channels = int(primal_channels), int(dual_channels)

    def forward(self, data, x0: torch.Tensor, callback=None) -> torch.Tensor:
        if x0.shape[1] != 1:
            raise ValueError(f"LearnedPrimalDual: expected a one-channel start, got {x0.shape[1]} channels")
        y = data.y
        h = x0.repeat(1, self.primal_channels, *([1] * (x0.ndim - 2)))
        d = torch.zeros(y.shape[0], self.dual_channels, *y.shape[2:], dtype=y.dtype, device=y.device)

        def step(k, h, d, data=data, y=y):
            d = d + self._block(self.dual, k)(torch.cat([d, data.A(h[:, :1]), y], dim=1))
            h = h + self._block(self.primal, k)(torch.cat([h, data.A_adjoint(d[:, :1])], dim=1))
            return h, d

        for k in range(self.iterations):
            h, d = self._run(step, k, h, d)
            if callback is not None:
                callback(k, h[:, :1])
        return h[:, :1]
