r"""Plug-and-play for every modality: the ``prior.kind: pnp`` entry and the ``pnp-admm | pnp-fista | hqs | red`` solvers.

Each modality's builder (CT, MRI, deblurring) reaches :func:`pnp_prior` and :func:`solve_pnp`
through the registries of :mod:`recon.experiments.learned_registry`, with the diffusion and
unrolled entries, instead of growing a branch per prior and solver.

The denoiser is ``prior.weights`` (a user's file) if set, else ``prior.denoiser``
(a shipped model's name, ``bm3d``, or a path). It sees images scaled into [0, 1]
by :class:`~recon.priors.denoiser_scaling.ScaledDenoiser`, the range being
``prior.image_range`` or, by default, :math:`[0, p_{99.5}(|x_0|)]` of the start
:math:`x_0` (10 CGLS iterations, in the image's units whatever the modality), and
complex images go through it as ``prior.complex_mode`` says. σs in the config
(``prior.sigma``, ``prior.sigma_start``) are fractions of that range. Strengths are
relative to :math:`\|A\|^2` (``solver.penalty`` for PnP-ADMM, ``prior.strength`` for
HQS and RED), so ``prior.strength_scale`` does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from recon.priors.denoiser_scaling import ScaledDenoiser, image_range
from recon.priors.pnp import DenoiserPrior


@dataclass
class PlugAndPlayPrior:
    """What the ``pnp`` prior builder returns: the prior (its denoiser scaled), the start and the range."""

    prior: DenoiserPrior
    x0: torch.Tensor
    image_range: tuple[float, float]

    @property
    def span(self) -> float:
        return self.image_range[1] - self.image_range[0]


def load_configured_denoiser(section: dict):
    """The denoiser ``prior.weights`` or ``prior.denoiser`` names (``bm3d`` needs no weights)."""
    from recon.priors.denoisers import BM3D, load_denoiser

    from recon.weights.registry import WeightsError

    name = section["weights"] or section["denoiser"]
    if name == "bm3d":
        return BM3D()
    try:
        return load_denoiser(name)
    except WeightsError as error:
        raise WeightsError(f"{'prior.weights' if section['weights'] else 'prior.denoiser'}: {error}") from None


def configured_image_range(section: dict) -> tuple[float, float] | None:
    """``prior.image_range`` as ``(low, high)``, checked; ``None`` when the config leaves it to the builder."""
    given = section["image_range"]
    if given is None:
        return None
    if not given[1] > given[0]:
        raise ValueError(f"prior.image_range: expected [low, high] with high > low, got {given}")
    return float(given[0]), float(given[1])


def _start(operator, y: torch.Tensor) -> torch.Tensor:
    from recon.solvers.cg import cgls
    from recon.solvers.common import Stopping

    return cgls(y, operator, stopping=Stopping(max_iter=10)).x


def pnp_prior(config: dict, operator, y: torch.Tensor, echo=None) -> PlugAndPlayPrior:
    """``prior.kind: pnp``: the scaled denoiser as a :class:`DenoiserPrior`, with the start it was scaled from."""
    section = config["prior"]
    denoiser = load_configured_denoiser(section)
    if isinstance(denoiser, torch.nn.Module):
        denoiser = denoiser.to(y.device)          # --device cuda: the network goes where the data is
    given = configured_image_range(section)
    x0 = _start(operator, y)
    low_high = given if given is not None else image_range(x0)
    scaled = ScaledDenoiser(denoiser, low_high, complex_mode=section["complex_mode"])
    span = low_high[1] - low_high[0]
    if echo is not None:
        echo(f"pnp: denoiser {getattr(denoiser, 'description', {}).get('name', type(denoiser).__name__)}, "
             f"image range [{low_high[0]:.4g}, {low_high[1]:.4g}]")
    prior = DenoiserPrior(scaled, sigma=section["sigma"] * span, strength=section["strength"])
    return PlugAndPlayPrior(prior, x0, low_high)


def solve_pnp(config: dict, y: torch.Tensor, operator, built: PlugAndPlayPrior, callback, **context):
    """``solver.kind: pnp-admm | pnp-fista | hqs | red`` with the prior :func:`pnp_prior` built, from its start."""
    from recon.experiments.stopping_rules import stopping_from_config
    from recon.solvers.hqs import hqs
    from recon.solvers.pnp_admm import pnp_admm
    from recon.solvers.pnp_fista import pnp_fista
    from recon.solvers.red import red

    if not isinstance(built, PlugAndPlayPrior):
        raise ValueError(f"solver.kind: {config['solver']['kind']} needs prior.kind pnp, "
                         f"got {config['prior']['kind']}")
    solver, section = config["solver"], config["prior"]
    kind = solver["kind"]
    common = dict(x0=built.x0, nonnegative=solver["constraint"] == "nonnegative",
                  stopping=stopping_from_config(config), callback=callback)
    sigma = section["sigma"] * built.span
    if kind == "pnp-admm":
        penalty = solver["penalty"] if solver["penalty"] is not None else 0.1
        return pnp_admm(y, operator, built.prior, sigma=sigma, penalty=penalty, cg_steps=solver["cg_max_iter"],
                        **common)
    if kind == "pnp-fista":
        return pnp_fista(y, operator, built.prior, sigma=sigma, step=solver["step"], **common)
    if kind == "hqs":
        return hqs(y, operator, built.prior, sigma_start=section["sigma_start"] * built.span, sigma_end=sigma,
                   strength=section["strength"], cg_steps=solver["cg_max_iter"], **common)
    return red(y, operator, built.prior, sigma=sigma, strength=section["strength"], step=solver["step"], **common)

