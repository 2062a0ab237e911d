r"""``prior.kind: lpn``: a learned proximal network as the prior of ADMM or PDHG (CT; the config ``ct-lpn``).

The problem is :math:`\min_x \tfrac12\|Ax - y\|^2 + \lambda R_s(x)` with :math:`R_s` the prior of
the network (:class:`~recon.priors.learned_proximal.LearnedProximal`) and
:math:`\lambda = \text{prior.strength}\cdot\|A\|^2`, so one strength suits operators of any scale.
The network is ``prior.weights`` (a user's file) if set, else ``prior.denoiser`` (a shipped name such
as ``lpn-phantom``); it sees the image mapped from ``prior.image_range`` (default
:math:`[0, p_{99.5}(|x_0|)]`, :math:`x_0` from 10 CGLS iterations, which is also the start) onto
its :math:`[0, 1]`.

The solvers take the steps at which the learned prox is one network call:

* ``solver.kind: admm``: penalty :math:`\rho = \lambda`, so every z-step is :math:`\operatorname{prox}_{R_s}`,
  the x-step ``solver.cg_max_iter`` warm-started CG steps; the estimate is the network's output;
* ``solver.kind: pdhg``: scalar steps with :math:`\tau = 1/\lambda` (and :math:`\sigma = 1/(\tau\|A\|^2)`).
"""

from __future__ import annotations

import torch


def lpn_prior(config: dict, operator, y: torch.Tensor, echo=None):
    """The :class:`LearnedProximal` prior the config names, with ``x0`` (its start) set on it."""
    from recon.experiments.build_pnp import _start, configured_image_range
    from recon.priors.denoiser_scaling import image_range
    from recon.priors.learned_proximal import LearnedProximal
    from recon.solvers.pnp_common import operator_norm_squared
    from recon.weights.registry import load_configured_network

    section = config["prior"]
    key = "prior.weights" if section["weights"] else "prior.denoiser"
    network, entry = load_configured_network(key, section["weights"] or section["denoiser"])
    if not hasattr(network, "potential"):
        raise ValueError(f"{key}: {entry.get('name')} is a {entry.get('architecture')} network, not a learned "
                         f"proximal network (architecture lpn)")
    network = network.to(y.device)
    x0 = _start(operator, y)
    given = configured_image_range(section)
    low_high = given if given is not None else image_range(x0)
    strength = section["strength"] * operator_norm_squared(operator, y)
    if echo is not None:
        echo(f"lpn: network {entry.get('name')}, image range [{low_high[0]:.4g}, {low_high[1]:.4g}], "
             f"lambda = {strength:.4g}")
    prior = LearnedProximal(network, strength=strength, image_range=low_high)
    prior.x0 = x0
    return prior


def solve_lpn(config: dict, y: torch.Tensor, operator, prior, callback):
    """ADMM or PDHG with the steps at which :func:`lpn_prior`'s prox is exact and one call (module text)."""
    from recon.experiments.stopping_rules import stopping_from_config

    solver = config["solver"]
    stopping = stopping_from_config(config)
    if solver["constraint"] != "none":
        raise ValueError("solver.constraint: the learned prox is the whole prior step; set solver.constraint=none")
    if solver["kind"] == "admm":
        from recon.solvers.admm import admm

        return admm(y, operator, prior, penalty=prior.strength, split="prox", cg_max_iter=solver["cg_max_iter"],
                    x0=prior.x0, stopping=stopping, callback=callback)
    if solver["kind"] == "pdhg":
        from recon.solvers.pdhg import pdhg

        return pdhg(y, operator, None, constraint=prior, x0=prior.x0, preconditioning="scalar",
                    primal_step=1.0 / prior.strength, stopping=stopping, callback=callback)
    raise ValueError(f"solver.kind: prior.kind lpn is solved by admm or pdhg, not {solver['kind']}")
