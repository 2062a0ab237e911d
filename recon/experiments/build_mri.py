r"""The MRI half of ``recon run``: coil maps, the operator, and the reconstruction the config names.

The reconstruction is one of

* ``solver.kind: zero-filled`` — the root-sum-of-squares of the zero-filled coil images;
* ``solver.kind: cg`` — CG-SENSE, CG on :math:`(A^\mathsf{H}A + \delta I)x = A^\mathsf{H}y`
  (:math:`\delta` = ``solver.damping``);
* ``solver.kind: coil-split-admm`` (or ``pdhg``, ``fista``, ``admm``) with ``prior.kind: tv``,
  ``l1-wavelet`` (or ``tikhonov``, not for coil-split ADMM) — compressed sensing,
  :math:`\min_x \tfrac12\|Ax - y\|^2 + \lambda R(x)` on the complex image;
  :func:`recon.solvers.coil_split_admm.coil_split_admm` needs no inner solves and is the fastest.

:math:`A = M\mathcal F S` is :class:`recon.operators.MultiCoilMRI` with ESPIRiT maps
(``operator.coil_maps: espirit``), low-resolution maps (``lowres``) or the file's
own (``from-input``); single-coil data use :class:`recon.operators.SingleCoilMRI`.
The output is the magnitude :math:`|x|`, as fastMRI's references are, shaped
``(slices, 1, rows, cols)`` (a volume: ``(depth, 1, rows, cols)``, but a BART volume in BART's
axis order, ``(rows, 1, cols, depth)``: :func:`recon.experiments.mri_volume.bart_order`).

``operator.ndim: 2`` (the default) reconstructs each slice on its own (its coil maps
differ); 3D k-space is first split into the 2D problems it decouples into
(:mod:`recon.experiments.mri_volume`). ``operator.ndim: 3`` reconstructs the volume
as one problem: the 3D FFT, 3D coil maps (:mod:`recon.operators.coil_maps_3d`:
``lowres`` with a 3D window, ``espirit`` as 2D ESPIRiT on each read-out
position's :math:`(k_z, k_y)` plane), and a 3D prior (TV and Tikhonov over the three
axes, 3D wavelets). Zero-filling is the same either way: the 3D inverse FFT.
"""

from __future__ import annotations

import math
import time

import torch

from recon.experiments.build import Reconstruction, _stopping, build_prior, prior_strength
from recon.experiments.learned_registry import LEARNED_PRIORS, LEARNED_SOLVERS
from recon.experiments.combinations import check_learned_combination


def _calibration(config: dict):
    calibration = config["operator"]["calibration"]
    return "auto" if calibration is None else tuple(calibration)


def coil_maps(config: dict, kspace: torch.Tensor, file_maps=None) -> torch.Tensor:
    """Sensitivities ``(1, coils, rows, cols)`` for one slice's k-space ``(1, coils, rows, cols)``.

    ``file_maps`` are the input file's own ``(1, coils, rows, cols)``, for ``coil_maps: from-input``.
    """
    from recon.operators.coil_sensitivities import lowres_coil_maps
    from recon.operators.espirit import espirit_maps

    section = config["operator"]
    if section["coil_maps"] == "from-input":
        return _file_maps(file_maps).to(kspace.device, torch.complex64)
    if section["coil_maps"] == "espirit":
        maps = espirit_maps(kspace, calibration=_calibration(config), crop=section["espirit_crop"])
    else:
        maps = lowres_coil_maps(kspace, calibration=_calibration(config))
    return maps.reshape(kspace.shape).to(torch.complex64)


def coil_maps_3d(config: dict, kspace: torch.Tensor, file_maps=None) -> torch.Tensor:
    """Sensitivities ``(coils, depth, rows, cols)`` for 3D k-space ``(1, coils, depth, rows, cols)``."""
    from recon.operators.coil_maps_3d import espirit_maps_3d, lowres_coil_maps_3d

    section = config["operator"]
    if section["coil_maps"] == "from-input":
        return _file_maps(file_maps).transpose(0, 1).to(kspace.device, torch.complex64)
    if section["coil_maps"] == "espirit":
        maps = espirit_maps_3d(kspace[0], calibration=_calibration(config), crop=section["espirit_crop"])
    else:
        maps = lowres_coil_maps_3d(kspace[0], calibration=_calibration(config))
    return maps.to(torch.complex64)


def _file_maps(maps):
    if maps is None:
        raise ValueError("operator.coil_maps: from-input needs coil maps in the input file; use espirit or lowres")
    return maps


def mri_operator(config: dict, kspace: torch.Tensor, mask: torch.Tensor, file_maps=None, *, ndim: int = 2):
    """:class:`~recon.operators.SingleCoilMRI` or :class:`~recon.operators.MultiCoilMRI` for ``kspace``.

    ``kspace`` is ``(1, coils, rows, cols)`` (``ndim=3``: ``(1, coils, depth, rows, cols)``), ``mask`` its
    ``(rows, cols)`` (``(depth, rows, cols)``).
    """
    from recon.operators import MultiCoilMRI, SingleCoilMRI

    if kspace.shape[1] == 1:
        return SingleCoilMRI(mask, ndim=ndim)
    if ndim == 3:
        return MultiCoilMRI(mask, coil_maps_3d(config, kspace, file_maps), ndim=3)
    return MultiCoilMRI(mask, coil_maps(config, kspace, file_maps))


def mri_prior(config: dict, operator, y: torch.Tensor, strength: float, echo=None, *, ndim: int = 2):
    """The prior the config names at strength λ; ``ndim=3`` for a volume."""
    from recon.priors import TV, L1Wavelet, Tikhonov

    section = config["prior"]
    kind = section["kind"]
    if kind in LEARNED_PRIORS:
        if ndim == 3:
            raise ValueError("prior.kind: pnp denoises 2D images; use operator.ndim=2 (slice by slice)")
        return LEARNED_PRIORS[kind](config, operator, y, echo)
    if kind == "weighted-tv":
        raise ValueError("prior.kind: weighted-tv is not available for MRI yet; use tv or l1-wavelet")
    if ndim == 2 or kind == "none" or section["undecimated"]:
        return build_prior(config, operator, y, strength, echo)     # which also refuses prior.undecimated
    if kind == "tv":
        return TV(strength, isotropic=section["isotropic"], ndim=3)
    if kind == "l1-wavelet":
        return L1Wavelet(strength, section["wavelet"], levels=section["levels"], ndim=3)
    return Tikhonov(strength, "gradient", ndim=3)


def reconstruct_mri(config: dict, measurement, *, device: str = "cpu", callback=None, echo=None) -> Reconstruction:
    """Reconstruct ``measurement`` as ``operator.ndim`` says; magnitudes ``(slices, 1, rows, cols)``, a BART
    volume in BART's axis order (module text).

    ``prior.strength: auto`` (2D, slice by slice) is resolved here, once the coil maps are known:
    :func:`auto_strength_mri`.
    """
    from dataclasses import replace

    from recon.experiments import mri_volume

    result = _reconstruct_mri(config, measurement, device, callback, echo)
    if mri_volume.depth_axis(measurement) != mri_volume.KSPACE:
        return result
    order = mri_volume.bart_order
    return replace(result, image=order(result.image), std=None if result.std is None else order(result.std),
                   samples=None if result.samples is None else torch.stack([order(s) for s in result.samples]))


def _reconstruct_mri(config: dict, measurement, device: str, callback, echo) -> Reconstruction:
    from recon.experiments import mri_volume

    check_learned_combination(config)
    axis = mri_volume.check_request(config, measurement)
    started = time.perf_counter()
    if config["solver"]["kind"] == "zero-filled":
        image = _zero_filled(measurement, axis == mri_volume.KSPACE or config["operator"]["ndim"] == 3, device)
        return Reconstruction(image, None, "closed form", 1, time.perf_counter() - started, None)
    if config["operator"]["ndim"] == 3:
        if config["prior"]["strength"] == "auto":
            config = _volume_strength(config, echo)
        result, strength, image = _volume_3d(config, measurement, device, callback, echo)
        return Reconstruction(image, result.history, result.stop_reason, result.iterations,
                              time.perf_counter() - started, strength)
    parts = None
    if axis == mri_volume.KSPACE:
        kspace, mask = mri_volume.volume(measurement)
        parts = mri_volume.split(kspace, mask, measurement.source)
        built = _problems(config, parts.kspace, parts.mask, _split_maps(measurement.geometry.coil_maps, parts.axis),
                          device)
    else:
        built = _problems(config, measurement.data, measurement.geometry.mask, measurement.geometry.coil_maps, device)
    auto, start = None, None
    if config["prior"]["strength"] == "auto":
        config, auto, start = auto_strength_mri(config, measurement, built, shared_strength=parts is not None,
                                                echo=echo)
    solutions, result, strength = _slices(config, built, callback, echo, shared_strength=parts is not None,
                                          start=start)
    images = torch.cat([x.abs().float() for x in solutions])
    image = parts.join(images) if parts is not None else images
    reconstruction = Reconstruction(image, result.history, result.stop_reason, result.iterations,
                                    time.perf_counter() - started, strength)
    reconstruction.auto_strength = auto
    return reconstruction


def _volume_strength(config: dict, echo) -> dict:
    """``prior.strength: auto`` for a volume solved in 3D: ``prior.fixed_strength``, said in one line (auto chooses
    λ slice by slice, ``operator.ndim: 2``)."""
    fixed = config["prior"]["fixed_strength"]
    if echo is not None:
        echo(f"prior.strength auto: chosen slice by slice (operator.ndim=2); a volume solved in 3D takes "
             f"prior.fixed_strength {fixed:g}")
    return {**config, "prior": {**config["prior"], "strength": fixed}}


def auto_strength_mri(config: dict, measurement, built, *, shared_strength: bool = False, echo=None):
    r"""``(config, how, start)``: ``prior.strength: auto`` for MRI (:mod:`recon.experiments.auto_strength`).

    σ per slice is the file's ``metadata@noise_sigma``, else its noise scan's (ISMRMRD noise readouts,
    ``metadata@noise_scan_sigma``), else estimated from the sampled k-space periphery
    (:func:`recon.datasets.noise_estimation.kspace_noise_sigma`, :math:`E|n|^2 = \sigma^2`); the aliasing
    level from the sampled power by ring (:func:`~recon.datasets.noise_estimation.kspace_aliasing_sigma`).
    The discrepancy counts the measured samples only, :math:`m_b` = sampled positions × coils.
    """
    from recon.datasets.noise_estimation import kspace_noise_sigma
    from recon.experiments.auto_strength import choose, given_noise, residual_norm, short_config

    sigmas, source = given_noise(measurement), "metadata@noise_sigma"
    scan = measurement.metadata.get("noise_scan_sigma")
    if (sigmas is None or len(sigmas) != len(built)) and scan is not None:
        sigmas = [float(scan)] * len(built)
        source = f"the file's noise scan ({measurement.metadata.get('noise_scan_readouts')} readouts)"
    elif sigmas is None or len(sigmas) != len(built):
        sigmas = [kspace_noise_sigma(y, mask)[0] for y, _, mask in built]
        source = "estimated from the sampled k-space periphery"
    samples = [int(mask.bool().sum()) * y.shape[1] for y, _, mask in built]
    short = short_config(config)

    def trial(strength: float, start):
        solutions, _, _ = _slices({**short, "prior": {**short["prior"], "strength": strength}}, built, None, None,
                                  shared_strength=shared_strength, start=start)
        total = sum(residual_norm(operator.A, x, y) ** 2 for x, (y, operator, _) in zip(solutions, built))
        return solutions, math.sqrt(total)

    data_norm = math.sqrt(sum(float(torch.linalg.vector_norm(y.flatten())) ** 2 for y, _, _ in built))
    level, aliasing = mri_noise_levels(built, sigmas)
    choice = choose(config, "mri", (sigmas, source), samples, data_norm, level, trial, aliasing)
    if echo is not None:
        echo(choice.how.describe())
    chosen = {**config, "prior": {**config["prior"], "strength": choice.how.strength, "strength_scale": "relative"}}
    return chosen, choice.how, choice.start


def mri_noise_levels(built, sigmas: list[float]) -> tuple[float, float]:
    """(ν, α), means over the slices ``built`` ``(y, operator, mask)``: the noise σ and the aliasing level a of each
    slice's k-space, as they reach the image (:func:`recon.experiments.auto_strength.noise_level`). The noise
    reaches it with the coils' own covariance (unequal, correlated coils, from the sampled periphery:
    :func:`~recon.datasets.noise_estimation.kspace_noise_covariance`), the aliasing with the white-noise gain."""
    from recon.datasets.noise_estimation import kspace_aliasing_sigma, kspace_noise_covariance
    from recon.experiments.auto_strength import noise_gain

    noise, aliasing = 0.0, 0.0
    for sigma, (y, op, mask) in zip(sigmas, built):
        peak = float(op.A_adjoint(y).abs().max()) or 1.0
        noise += sigma * noise_gain(op.A_adjoint, y, kspace_noise_covariance(y, mask)[0]) / peak
        aliasing += kspace_aliasing_sigma(y, mask, [sigma])[0] * noise_gain(op.A_adjoint, y) / peak
    return noise / len(built), aliasing / len(built)


def _zero_filled(measurement, volume: bool, device) -> torch.Tensor:
    from recon.operators.mri_zero_filled import zero_filled

    y = measurement.data.to(device=device, dtype=torch.complex64)
    if volume:
        return zero_filled(y.transpose(0, 1).unsqueeze(0), ndim=3)[0].transpose(0, 1).abs().float()
    return torch.cat([zero_filled(y[index:index + 1]).abs().float() for index in range(y.shape[0])])


def _split_maps(maps, axis: str):
    """The file's image-space maps ``(depth, coils, rows, cols)`` in the layout of :class:`mri_volume.Split`."""
    return None if maps is None or axis == "depth" else maps.permute(2, 1, 0, 3)


def _problems(config: dict, kspace, mask, file_maps, device) -> list:
    """``(y, operator, mask)`` of each slice of ``kspace`` ``(slices, coils, rows, cols)``: its coil maps once."""

    def problem(index: int):
        y = kspace[index:index + 1].to(device=device, dtype=torch.complex64)
        one_mask = (mask[index] if mask.dim() == 3 else mask).to(device=device, dtype=torch.float32)
        return y, mri_operator(config, y, one_mask, None if file_maps is None else file_maps[index:index + 1]), one_mask

    return [problem(index) for index in range(kspace.shape[0])]


def _slices(config: dict, built: list, callback, echo, *, shared_strength: bool = False, start=None):
    """``(solutions, last result, λ)``: one 2D problem per slice, λ per slice or shared by all; ``start``: a
    complex start per slice (a warm start)."""
    section = config["prior"]
    shared = None
    if shared_strength and section["kind"] != "none" and section["strength_scale"] == "relative":
        shared = float(section["strength"]) * max(float(op.A_adjoint(y).abs().max()) for y, op, _ in built)
    solutions, result, strength = [], None, shared
    for index, (y, operator, _) in enumerate(built):
        if section["kind"] != "none":
            strength = shared if shared is not None else prior_strength(config, operator, y)
        prior = mri_prior(config, operator, y, strength, echo) if strength is not None else None
        result = _solve(config, y, operator, prior, callback, None if start is None else start[index])
        solutions.append(result.x)
    return solutions, result, strength


def _volume_3d(config: dict, measurement, device, callback, echo):
    """The volume as one problem: ``(1, coils, depth, rows, cols)`` k-space, 3D operator and prior."""
    from recon.experiments import mri_volume

    kspace, mask = mri_volume.volume(measurement)
    y = kspace.to(device=device, dtype=torch.complex64)
    operator = mri_operator(config, y, mask.to(device), measurement.geometry.coil_maps, ndim=3)
    strength = prior_strength(config, operator, y) if config["prior"]["kind"] != "none" else None
    prior = mri_prior(config, operator, y, strength, echo, ndim=3) if strength is not None else None
    result = _solve(config, y, operator, prior, callback, None)
    return result, strength, result.x.abs().float()[0].transpose(0, 1)


def _solve(config: dict, y, operator, prior, callback, x0):
    kind = config["solver"]["kind"]
    if kind in LEARNED_SOLVERS:
        return LEARNED_SOLVERS[kind](config, y, operator, prior, callback)
    stopping = _stopping(config)
    if kind == "cg":
        from recon.solvers.cg import cg_normal

        if prior is not None:
            raise ValueError("solver.kind: cg (CG-SENSE) takes no prior; set prior.kind=none or use pdhg")
        return cg_normal(y, operator, damping=config["solver"]["damping"], stopping=stopping, callback=callback)
    if kind == "pdhg":
        from recon.solvers.pdhg import pdhg

        return pdhg(y, operator, prior, stopping=stopping, preconditioning=config["solver"]["preconditioning"],
                    callback=callback, x0=x0)
    if kind == "fista":
        from recon.solvers.fista import fista

        return fista(y, operator, prior, stopping=stopping, callback=callback, x0=x0)
    if kind == "admm":
        from recon.solvers.admm import admm

        return admm(y, operator, prior, stopping=stopping, callback=callback, x0=x0)
    if kind == "coil-split-admm":
        from recon.solvers.coil_split_admm import coil_split_admm

        if prior is None or not hasattr(prior, "split"):
            raise ValueError("solver.kind: coil-split-admm needs prior.kind tv or l1-wavelet; use cg without a prior")
        return coil_split_admm(y, operator, prior, stopping=stopping, callback=callback, x0=x0)
    raise ValueError(f"solver.kind: {kind} does not apply to MRI; use zero-filled, cg, coil-split-admm, pdhg, "
                     "fista or admm")
