r"""From a validated experiment config and a measurement to an operator, a prior and a solved reconstruction.

The config's sections map onto the library one to one: ``operator`` builds a
CT operator on the measurement's geometry (its grid overridable), ``prior``
a prior from :mod:`recon.priors`, ``solver`` a call into :mod:`recon.solvers`
(or FBP). Prior strengths are ``relative`` by default,

.. math:: \lambda = s \cdot \max_i |(A^\top y)_i|,

so that one number works whatever the units of the data (millimetres,
metres, pixels) and the number of views: :math:`A^\top y` scales with all of
them exactly as the data term does. ``strength_scale: absolute`` takes
:math:`\lambda = s` as given.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch


@dataclass
class Reconstruction:
    """What :func:`reconstruct` returns: the image, the solver's history (if iterative) and its figures."""

    image: torch.Tensor
    history: object | None
    stop_reason: str
    iterations: int
    seconds: float
    strength: float | None
    std: torch.Tensor | None = None          # posterior samplers: the per-pixel standard deviation
    samples: torch.Tensor | None = None      # ... and the samples, (samples, batch, ...), when kept
    auto_strength: object | None = None      # prior.strength auto: recon.experiments.auto_strength.AutoStrength

    @classmethod
    def of(cls, result, seconds: float, strength: float | None) -> Reconstruction:
        """From a solver's result (``x``, ``history``, ``stop_reason``, ``iterations``; a sampler's adds ``std``
        and ``samples``)."""
        return cls(result.x, result.history, result.stop_reason, result.iterations, seconds, strength,
                   getattr(result, "std", None), getattr(result, "samples", None))


def grid_geometry(config: dict, measurement):
    """The measurement's CT geometry on the config's grid (``operator.image_shape``, ``operator.pixel_size``)."""
    section = config["operator"]
    changes = {}
    if section["image_shape"] is not None:
        changes["image_shape"] = tuple(section["image_shape"])
    if section["pixel_size"] is not None:
        changes["pixel_size"] = float(section["pixel_size"])
    return replace(measurement.geometry, **changes) if changes else measurement.geometry


def build_operator(config: dict, measurement, memory_budget: float | None = None):
    """The CT operator of the measurement's geometry, with the config's grid and projector.

    ``memory_budget``: bytes its projection matrix may take (beyond them it projects with astra on the fly);
    ``None``: the operator's default, :data:`recon.operators.ct.DEFAULT_MEMORY_BUDGET`.

    An unrolled model (which works on its own grid) needs only the geometry, so for
    ``solver.kind: unrolled`` (and ``fbp``, when a caller asks) the operator skips building its
    projection matrix and projects with astra on the fly. ``recon run`` builds no operator for FBP
    at all (:func:`reconstruct_fbp`).
    """
    from recon.operators import FanBeamCT, ParallelBeamCT

    section = config["operator"]
    geometry = grid_geometry(config, measurement)
    common = dict(detector_spacing=geometry.detector_spacing, image_shape=geometry.image_shape,
                  pixel_size=geometry.pixel_size, centre_offset=geometry.centre_offset,
                  projector=section["projector"])
    if memory_budget is not None:
        common["memory_budget"] = memory_budget
    if config["solver"]["kind"] in ("fbp", "unrolled"):      # no iterations on this grid: no matrix to build
        common["backend"] = "astra"
    if hasattr(geometry, "source_origin"):
        if section["projector"] == "linear":
            common["projector"] = "line"   # astra has no CPU linear kernel for fan beams
        return FanBeamCT(geometry.angles, geometry.n_detectors, geometry.source_origin, geometry.origin_detector,
                         **common)
    return ParallelBeamCT(geometry.angles, geometry.n_detectors, **common)


def prior_strength(config: dict, operator, y: torch.Tensor) -> float:
    """λ from ``prior.strength`` and ``prior.strength_scale`` (see the module text)."""
    section = config["prior"]
    if section["strength_scale"] == "absolute":
        return float(section["strength"])
    return float(section["strength"]) * float(operator.A_adjoint(y).abs().max())


def build_prior(config: dict, operator, y: torch.Tensor, strength: float, echo=None):
    """The prior the config names, at strength λ (``None`` for ``kind: none``)."""
    from recon.priors import TV, L1Wavelet, Tikhonov, WeightedTV, weights_from_pilot

    from recon.experiments.learned_registry import LEARNED_PRIORS

    section = config["prior"]
    kind = section["kind"]
    if kind == "none":
        return None
    if kind in LEARNED_PRIORS:
        return LEARNED_PRIORS[kind](config, operator, y, echo)
    if kind == "lpn":
        from recon.experiments.build_lpn import lpn_prior

        return lpn_prior(config, operator, y, echo)
    if section["undecimated"]:
        raise ValueError("prior.undecimated: the undecimated wavelet frame is offered for deblurring "
                         "(deconvolution-admm, pdhg); CT and MRI take the orthogonal one (prior.undecimated=false)")
    if kind == "tv":
        return TV(strength, isotropic=section["isotropic"])
    if kind == "l1-wavelet":
        return L1Wavelet(strength, section["wavelet"], levels=section["levels"])
    if kind == "tikhonov":
        return Tikhonov(strength, "gradient")
    if kind == "weighted-tv":
        if section["pilot"] == "network":
            weights = _network_weights(config, operator, y, echo)
        else:
            pilot = _pilot(config, operator, y, strength, echo)
            span = float(pilot.max() - pilot.min()) or 1.0
            weights = weights_from_pilot(pilot, eta=section["eta"] * span, p=section["p"])
        return WeightedTV(strength, weights, isotropic=section["isotropic"])
    raise ValueError(f"prior.kind: unknown prior {kind!r}")


def _network_weights(config: dict, operator, y: torch.Tensor, echo) -> torch.Tensor:
    """Weighted TV's weights from ``prior.pilot_network``'s |∇x| of the FBP; η relative to that FBP's scale."""
    from recon.networks.edge_map_net import image_scale
    from recon.operators import fbp
    from recon.priors import weights_from_magnitude
    from recon.weights.registry import load_configured_network

    section = config["prior"]
    network, entry = load_configured_network("prior.pilot_network", section["pilot_network"])
    if entry.get("architecture") != "edge-map-net":
        raise ValueError(f"prior.pilot_network: {entry.get('name')} is a {entry.get('architecture')} network, "
                         f"not an edge map (architecture edge-map-net)")
    first = fbp(y, operator, filter=config["solver"]["filter"])
    with torch.no_grad():
        magnitude = network.to(y.device)(first.float()).to(first.dtype)
    if echo is not None:
        echo(f"weighted TV: weights from network {entry.get('name')} on the FBP")
    return weights_from_magnitude(magnitude, eta=section["eta"] * image_scale(first), p=section["p"])


def _pilot(config: dict, operator, y: torch.Tensor, strength: float, echo):
    """The pilot image of weighted TV: an FBP, or a TV reconstruction at ``pilot_strength``."""
    from recon.operators import fbp
    from recon.priors import TV
    from recon.solvers.pdhg import pdhg

    section, solver = config["prior"], config["solver"]
    if section["pilot"] == "fbp":
        return fbp(y, operator, filter=solver["filter"])
    pilot_strength = strength
    if section["pilot_strength"] is not None:
        # In the prior's own scale: strength is λ (possibly rescaled to pixel units) for prior.strength.
        pilot_strength = section["pilot_strength"] * strength / max(section["strength"], 1e-30)
    if echo is not None:
        echo(f"weighted TV: pilot TV reconstruction, lambda = {pilot_strength:.4g}")
    return pdhg(y, operator, TV(pilot_strength), stopping=_stopping(config), preconditioning=solver["preconditioning"]).x


def _stopping(config: dict):
    from recon.experiments.stopping_rules import stopping_from_config

    return stopping_from_config(config)


def _constraint(config: dict):
    from recon.priors import NonNegativity

    return NonNegativity() if config["solver"]["constraint"] == "nonnegative" else None


def reconstruct_fbp(config: dict, measurement, *, device: str = "cpu") -> tuple[Reconstruction, object]:
    """``(Reconstruction, geometry)``: ``solver.kind: fbp`` on the config's grid, from the geometry alone.

    No projector is built, so deepinv (which every operator is built on) is not imported either.
    """
    import time

    from recon.operators import fbp

    geometry = grid_geometry(config, measurement)
    started = time.perf_counter()
    image = fbp(measurement.data.to(device), geometry, filter=config["solver"]["filter"])
    return Reconstruction(image, None, "closed form", 1, time.perf_counter() - started, None), geometry


def reconstruct(config: dict, measurement, operator, *, device: str = "cpu", callback=None,
                echo=None, x0: torch.Tensor | None = None) -> Reconstruction:
    """Solve the experiment on ``measurement`` (all slices as one batch); the solver is ``solver.kind``.

    ``x0``: where PDHG, FISTA and ADMM start (a warm start; default zeros).
    """
    import time

    from recon.experiments.learned_registry import LEARNED_SOLVERS
    from recon.experiments.combinations import check_learned_combination
    from recon.operators import fbp
    from recon.operators.scaled import ScaledOperator

    solver = config["solver"]
    kind = solver["kind"]
    check_learned_combination(config)
    y = measurement.data.to(device)
    started = time.perf_counter()
    if kind == "fbp":
        image = fbp(y, operator, filter=solver["filter"])
        return Reconstruction(image, None, "closed form", 1, time.perf_counter() - started, None)
    prior_kind = config["prior"]["kind"]
    # an unrolled model has its own parameters: no λ (and no back-projection on a 512² grid to scale one)
    strength = prior_strength(config, operator, y) if prior_kind not in ("none", "unrolled") else None
    # Solve in pixel units (see recon.operators.scaled): the same minimiser, step sizes that suit it.
    pixel = float(getattr(getattr(operator, "geometry", None), "pixel_size", 1.0))
    if pixel != 1.0:
        operator, y = ScaledOperator(operator, 1.0 / pixel), y / pixel
    prior = None if prior_kind == "none" else \
        build_prior(config, operator, y, 0.0 if strength is None else strength / pixel**2, echo)
    if prior_kind == "lpn":
        strength = prior.strength            # λ = prior.strength · ‖A‖² (recon.experiments.build_lpn)
    stopping = _stopping(config)
    if kind in LEARNED_SOLVERS:
        result = LEARNED_SOLVERS[kind](config, y, operator, prior, callback, measurement=measurement,
                                       data_scale=1.0 / pixel)
    elif kind == "sirt":
        if prior is not None:
            raise ValueError("solver.kind: sirt takes no prior; set prior.kind=none or use pdhg")
        from recon.solvers.sirt import sirt

        result = sirt(y, operator, constraint=_constraint(config), stopping=stopping, callback=callback)
    elif kind == "cgls":
        if prior is not None:
            raise ValueError("solver.kind: cgls takes no prior; set prior.kind=none or use pdhg")
        from recon.solvers.cg import cgls

        result = cgls(y, operator, stopping=stopping, callback=callback)
    elif config["prior"]["kind"] == "lpn":
        from recon.experiments.build_lpn import solve_lpn

        result = solve_lpn(config, y, operator, prior, callback)
    elif kind == "pdhg":
        from recon.solvers.pdhg import pdhg

        result = pdhg(y, operator, prior, constraint=_constraint(config), stopping=stopping,
                      preconditioning=solver["preconditioning"], callback=callback, x0=x0)
    elif kind == "fista":
        from recon.solvers.fista import fista

        result = fista(y, operator, prior, constraint=_constraint(config), stopping=stopping, callback=callback,
                       x0=x0)
    elif kind == "admm":
        from recon.solvers.admm import admm

        if _constraint(config) is not None:
            raise ValueError("solver.constraint: admm takes no constraint here; use pdhg or fista")
        result = admm(y, operator, prior, stopping=stopping, callback=callback, x0=x0)
    else:
        raise ValueError(f"solver.kind: {kind} does not apply to CT; use fbp, sirt, cgls, pdhg, fista or admm")
    return Reconstruction.of(result, time.perf_counter() - started, strength)
