r"""The MRI half of ``recon run``: coil maps, the operator, and the reconstruction the config names.

Each slice is reconstructed on its own (its coil maps differ), with

* ``solver.kind: zero-filled`` — the root-sum-of-squares of the zero-filled coil images;
* ``solver.kind: cg`` — CG-SENSE, CG on :math:`(A^\mathsf{H}A + \delta I)x = A^\mathsf{H}y`
  (:math:`\delta` = ``solver.damping``);
* ``solver.kind: pdhg`` (or ``fista``, ``admm``) with ``prior.kind: tv`` or ``l1-wavelet`` —
  compressed sensing, :math:`\min_x \tfrac12\|Ax - y\|^2 + \lambda R(x)` on the complex image.

:math:`A = M\mathcal F S` is :class:`recon.operators.MultiCoilMRI` with ESPIRiT maps
(``operator.coil_maps: espirit``), low-resolution maps (``lowres``) or the file's
own (``from-input``); single-coil data use :class:`recon.operators.SingleCoilMRI`.
The output is the magnitude :math:`|x|`, as fastMRI's references are.
"""

from __future__ import annotations

import time

import torch

from recon.experiments.build import Reconstruction, _stopping, build_prior, prior_strength


def coil_maps(config: dict, kspace: torch.Tensor, measurement, index: int):
    """Sensitivities ``(1, coils, rows, cols)`` for one slice's k-space ``(1, coils, rows, cols)``."""
    from recon.operators.coil_sensitivities import lowres_coil_maps
    from recon.operators.espirit import espirit_maps

    section = config["operator"]
    calibration = "auto" if section["calibration"] is None else tuple(section["calibration"])
    if section["coil_maps"] == "from-input":
        maps = measurement.geometry.coil_maps
        if maps is None:
            raise ValueError("operator.coil_maps: from-input needs coil maps in the input file; "
                             "use espirit or lowres")
        return maps[index:index + 1].to(kspace.device, torch.complex64)
    if section["coil_maps"] == "espirit":
        maps = espirit_maps(kspace, calibration=calibration, crop=section["espirit_crop"])
    else:
        maps = lowres_coil_maps(kspace, calibration=calibration)
    return maps.reshape(kspace.shape).to(torch.complex64)


def mri_operator(config: dict, kspace: torch.Tensor, mask: torch.Tensor, measurement, index: int):
    from recon.operators import MultiCoilMRI, SingleCoilMRI

    if kspace.shape[1] == 1:
        return SingleCoilMRI(mask)
    return MultiCoilMRI(mask, coil_maps(config, kspace, measurement, index))


def _slice_mask(measurement, index: int, device) -> torch.Tensor:
    mask = measurement.geometry.mask
    mask = mask[index] if mask.dim() == 3 else mask
    return mask.to(device=device, dtype=torch.float32)


def reconstruct_mri(config: dict, measurement, *, device: str = "cpu", callback=None, echo=None) -> Reconstruction:
    """All slices of ``measurement``, one after the other; returns magnitudes ``(slices, 1, rows, cols)``."""
    from recon.operators.mri_zero_filled import zero_filled

    kind = config["solver"]["kind"]
    started = time.perf_counter()
    images, history, stop_reason, iterations, strength = [], None, "closed form", 1, None
    for index in range(measurement.n_slices):
        y = measurement.data[index:index + 1].to(device=device, dtype=torch.complex64)
        if kind == "zero-filled":
            images.append(zero_filled(y).abs().reshape(1, 1, *y.shape[-2:]).float())
            continue
        operator = mri_operator(config, y, _slice_mask(measurement, index, device), measurement, index)
        result, strength = _solve(config, kind, y, operator, callback, echo)
        images.append(result.x.abs().float())
        history, stop_reason, iterations = result.history, result.stop_reason, result.iterations
    return Reconstruction(torch.cat(images), history, stop_reason, iterations, time.perf_counter() - started,
                          strength)


def _solve(config: dict, kind: str, y, operator, callback, echo):
    stopping = _stopping(config)
    strength = prior_strength(config, operator, y) if config["prior"]["kind"] != "none" else None
    if config["prior"]["kind"] == "weighted-tv":
        raise ValueError("prior.kind: weighted-tv is not available for MRI yet; use tv or l1-wavelet")
    prior = build_prior(config, operator, y, strength, echo) if strength is not None else None
    if kind == "cg":
        from recon.solvers.cg import cg_normal

        if prior is not None:
            raise ValueError("solver.kind: cg (CG-SENSE) takes no prior; set prior.kind=none or use pdhg")
        return cg_normal(y, operator, damping=config["solver"]["damping"], stopping=stopping,
                         callback=callback), None
    if kind == "pdhg":
        from recon.solvers.pdhg import pdhg

        return pdhg(y, operator, prior, stopping=stopping, preconditioning=config["solver"]["preconditioning"],
                    callback=callback), strength
    if kind == "fista":
        from recon.solvers.fista import fista

        return fista(y, operator, prior, stopping=stopping, callback=callback), strength
    if kind == "admm":
        from recon.solvers.admm import admm

        return admm(y, operator, prior, stopping=stopping, callback=callback), strength
    raise ValueError(f"solver.kind: {kind} does not apply to MRI; use zero-filled, cg, pdhg, fista or admm")
