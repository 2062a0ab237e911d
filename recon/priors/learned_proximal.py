r"""A learned proximal network as a prior that can be applied *and* evaluated (Fang, Buchanan and Sulam, 2024).

A :class:`~recon.networks.lpn.LearnedProximalNetwork` :math:`f = \nabla\psi`, :math:`\psi`
convex, is the proximal operator of the prior

.. math:: R(x) = \langle x, y\rangle - \tfrac12\|x\|^2 - \psi(y), \qquad f(y) = x,

so ``prox`` is one network call and ``fn`` inverts :math:`f` first: :math:`y` minimises the
convex :math:`\psi(y) - \langle x, y\rangle` (L-BFGS from :math:`y = x`). Its gradient is
:math:`\nabla R(x) = y - x`. The value at an output of ``prox`` needs no inversion (its input is
the :math:`y`), so a solver that logs :math:`R` of each prox output pays one potential evaluation.

The network works on images in :math:`[0, 1]`; ``image_range`` :math:`(l, h)` maps the user's
units onto it, :math:`u = (x - l)/s` with :math:`s = h - l`. The prior in the user's units is
:math:`\lambda R_s(x)`, :math:`R_s(x) = s^2 R(u)`, whose prox with weight one is exactly
:math:`l + s f(u)`. Other weights :math:`\gamma\lambda \in (0, 1)` are exact too, at the price
of an inner solve: :math:`\operatorname{prox}_{\gamma\lambda R}(v) = f(y)` where :math:`y`
minimises the convex :math:`(1-g)\psi(y) + \tfrac g2\|y\|^2 - \langle v, y\rangle`,
:math:`g = \gamma\lambda` (the optimality condition :math:`(1-g) f(y) + g y = v` is that of the
prox). Weights above one are refused. In ADMM with penalty :math:`\rho = \lambda` every
z-step is the single call (``ct-lpn``).

>>> import torch
>>> from recon.networks.lpn import LearnedProximalNetwork
>>> torch.manual_seed(0); net = LearnedProximalNetwork(hidden=4, layers=2, alpha=0.5).double()  # doctest: +ELLIPSIS
<...>
>>> prior = LearnedProximal(net)
>>> v = torch.rand(1, 1, 8, 8, dtype=torch.float64)
>>> x = prior.prox(v)                                  # prox of R: one call of f
>>> y = prior.invert(x)                                # f(y) = x again
>>> float((y - v).abs().max()) < 1e-5
True
>>> prior(x).shape                                     # R(x), one value per image
torch.Size([1])
"""

from __future__ import annotations

import torch
from deepinv.optim import Prior


class LearnedProximal(Prior):
    r""":math:`\lambda R_s` of a learned proximal network (module text), a :class:`deepinv.optim.Prior`.

    :param network: a network with ``potential(x)`` (:math:`\psi` per image) whose call is :math:`\nabla\psi`.
    :param strength: :math:`\lambda`.
    :param image_range: ``(low, high)`` of the user's images that the network's :math:`[0, 1]` stands for.
    :param inversion_steps: L-BFGS iterations of each inversion or inner prox solve.
    :param tolerance: stop when :math:`\max_i |\nabla(\text{objective})_i|` (in the network's units) falls below it.
    """

    def __init__(self, network, *, strength: float = 1.0, image_range: tuple[float, float] = (0.0, 1.0),
                 inversion_steps: int = 500, tolerance: float = 1e-6):
        super().__init__()
        low, high = (float(v) for v in image_range)
        if not high > low:
            raise ValueError(f"LearnedProximal: image_range must have high > low, got {image_range}")
        if not strength > 0:
            raise ValueError(f"LearnedProximal: strength must be positive, got {strength}")
        self.network, self.strength, self.low, self.span = network, float(strength), low, high - low
        self.inversion_steps, self.tolerance = inversion_steps, tolerance
        self.explicit_prior = True
        self.last_residual = None
        self._last_prox = None          # (the last prox output, the y it is f of, in network units)

    def _unit(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_complex():
            raise ValueError("LearnedProximal: the learned prior is for real images")
        return (x - self.low) / self.span

    def _network_dtype(self, u: torch.Tensor) -> torch.Tensor:
        parameter = next(self.network.parameters(), None)
        return u if parameter is None else u.to(parameter.dtype)

    def _minimise(self, objective, start: torch.Tensor) -> torch.Tensor:
        """The minimiser of a smooth convex ``objective(y)`` (a scalar, separable over images) by L-BFGS."""
        y = start.detach().clone().requires_grad_()
        optimiser = torch.optim.LBFGS([y], lr=1.0, max_iter=self.inversion_steps, tolerance_grad=self.tolerance,
                                      tolerance_change=1e-14, history_size=20, line_search_fn="strong_wolfe")

        def closure():
            with torch.enable_grad():
                value = objective(y)
                y.grad = torch.autograd.grad(value, y)[0].contiguous()
            return value.detach()

        optimiser.step(closure)
        return y.detach()

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`y` with :math:`f(y) = u`, :math:`u` the network-unit image of ``x``; in network units.

        ``last_residual`` holds :math:`\max_i |f(y)_i - u_i|` afterwards.
        """
        return self._invert_unit(self._network_dtype(self._unit(x)))

    def _invert_unit(self, u: torch.Tensor) -> torch.Tensor:
        y = self._minimise(lambda y: self.network.potential(y).sum() - (u * y).sum(), u)
        with torch.no_grad():
            self.last_residual = float((self.network(y) - u).abs().max())
        if not torch.isfinite(y).all() or self.last_residual != self.last_residual:
            raise ValueError("LearnedProximal.invert: no y with f(y) = x was found (the image is outside the range "
                             "of the network's f; a potential with alpha > 0 has every image in its range)")
        return y

    def unit_prior(self, u: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`R(u)` per image in the network's units (``y``: :math:`f^{-1}(u)` if already known)."""
        u = self._network_dtype(u)
        y = self._invert_unit(u) if y is None else y
        with torch.no_grad():
            inner = (u * y).flatten(1).sum(dim=1) - 0.5 * u.pow(2).flatten(1).sum(dim=1)
            return inner - self.network.potential(y)

    def fn(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        r""":math:`\lambda s^2 R((x - l)/s)` per image, shaped ``(batch,)``."""
        known = self._last_prox[1] if self._last_prox is not None and self._last_prox[0] is x else None
        return self.strength * self.span**2 * self.unit_prior(self._unit(x), known).to(x.dtype)

    def prox(self, x: torch.Tensor, *args, gamma=None, **kwargs) -> torch.Tensor:
        r""":math:`\operatorname{prox}_{\gamma\lambda R_s}(x)` (``gamma`` default :math:`1/\lambda`: one network call)."""
        weight = 1.0 if gamma is None else float(gamma) * self.strength
        v = self._unit(x)
        u = self._network_dtype(v)
        if abs(weight - 1.0) <= 1e-9:
            y = u
        elif 0 < weight < 1:
            y = self._minimise(lambda y: (1 - weight) * self.network.potential(y).sum()
                               + 0.5 * weight * y.pow(2).sum() - (u * y).sum(), u)
        else:
            raise ValueError(f"LearnedProximal.prox: the learned prox is exact for gamma * strength in (0, 1], got "
                             f"{weight:.4g}; lower the step (ADMM: penalty >= strength; PDHG: tau <= 1/strength)")
        with torch.no_grad():
            out = self.low + self.span * self.network(y).to(x.dtype)
        self._last_prox = (out, y)
        return out
