r"""One measurement, read, reconstructed and scored: the part of ``recon run`` between the file and the output.

:func:`reconstruct_measurement` solves an in-memory measurement with the experiment its config names;
:func:`solve_input` adds the checks and the scores ``recon run`` writes (:class:`SolvedInput`), and
:func:`read_input` reads what the config asks for. :mod:`recon.experiments.run` (the whole file) and
:mod:`recon.experiments.streamed_run` (a chunk of slices at a time) both go through them; tuning scripts
and tests call :func:`reconstruct_measurement` and :func:`score` on simulated measurements.

>>> import numpy as np, torch
>>> from recon.datasets.measurement import Measurement
>>> from recon.operators.ct_geometry import ParallelBeamGeometry
>>> truth = torch.zeros(1, 1, 16, 16); truth[..., 4:12, 4:12] = 1.0
>>> scan = ParallelBeamGeometry(np.linspace(0, np.pi, 3, endpoint=False), 24, image_shape=(16, 16))
>>> measurement = Measurement("ct", torch.zeros(1, 1, 3, 24), scan, format="recon", source=None, ground_truth=truth)
>>> means, per_slice = score(0.5 * truth, measurement)
>>> round(per_slice["nrmse"][0], 3), round(means["psnr_db"], 2)
(0.5, 12.04)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from recon.datasets.errors import InputError


def read_options(config: dict):
    from recon.datasets.read_options import ReadOptions

    section = config["input"]
    angles = section["angles_deg"]
    return ReadOptions(index=section["index"], angles_deg=None if angles is None else tuple(angles),
                       angles_endpoint=section["angles_endpoint"], centre_offset=section["centre_offset"],
                       intensities=section["intensities"], allow_links=section["allow_links"])


def on_grid(image, measurement, grid, name: str):
    """``measurement``'s ``name`` image (ground truth or reference) on the reconstruction's ``grid``.

    A reconstruction on a coarser or finer grid of the same field of view is scored against the
    reference averaged (or interpolated) onto its grid; another field of view cannot be scored (``None``).
    """
    import torch.nn.functional as F

    reference = getattr(measurement, name)
    if reference is None or grid is None or tuple(reference.shape[-2:]) == tuple(image.shape[-2:]):
        return reference
    native = measurement.geometry
    extent = [n * native.pixel_size for n in native.image_shape]
    target = [n * grid.pixel_size for n in grid.image_shape]
    if any(abs(a - b) > 0.5 * grid.pixel_size for a, b in zip(extent, target)):   # more than half a pixel off
        return None
    shrink = all(n % m == 0 for n, m in zip(reference.shape[-2:], image.shape[-2:]))
    mode = "area" if shrink else "bilinear"
    return F.interpolate(reference, size=tuple(image.shape[-2:]), mode=mode,
                         **({} if shrink else {"align_corners": False, "antialias": True}))


def score(image, measurement) -> tuple[dict, dict]:
    """Means over slices and per-slice values: PSNR, SSIM, NRMSE against the ground truth, correlation with a reference.

    Radar volumes get PSNR3D (:func:`recon.metrics.psnr3d`) against the ground truth instead.

    The ground truth and reference must be on the image's grid already (:func:`on_grid`).
    """
    from recon.metrics import nrmse, pearson_correlation, psnr, psnr3d, ssim

    per_slice: dict[str, list[float]] = {}
    if measurement.modality == "mimo":      # radar: the paper's PSNR3D of the normalised magnitude, per scan
        if measurement.ground_truth is not None:
            per_slice["psnr3d_db"] = [psnr3d(image[index, 0].detach().cpu(), measurement.ground_truth[index, 0])
                                      for index in range(image.shape[0])]
        return {name: sum(values) / len(values) for name, values in per_slice.items()}, per_slice
    # MRI is scored as fastMRI scores it: against the RSS (or SENSE) reference, data range = its maximum.
    mri_reference = measurement.modality == "mri" and measurement.ground_truth is None
    truths = measurement.reference if mri_reference else measurement.ground_truth
    for index in range(image.shape[0]):
        estimate = image[index, 0].detach().cpu()
        if truths is not None:
            truth = truths[index, 0]
            span = (float(truth.max()) if mri_reference else float(truth.max() - truth.min())) or 1.0
            per_slice.setdefault("psnr_db", []).append(psnr(estimate, truth, data_range=span))
            per_slice.setdefault("ssim", []).append(ssim(estimate, truth, data_range=span))
            per_slice.setdefault("nrmse", []).append(nrmse(estimate, truth))
            if mri_reference:
                per_slice.setdefault("nmse", []).append(nrmse(estimate, truth) ** 2)   # fastMRI's NMSE
        if measurement.reference is not None:
            per_slice.setdefault("reference_correlation", []).append(
                pearson_correlation(estimate, measurement.reference[index, 0]))
    means = {name: sum(values) / len(values) for name, values in per_slice.items()}
    return means, per_slice


def reconstruct_measurement(config: dict, measurement, *, device: str = "cpu", callback=None, echo=None,
                            operators: dict | None = None, matrix_memory: int | None = None):
    """``(Reconstruction, grid)``: the experiment solved on an in-memory measurement, by its modality's builder.

    ``grid`` is the CT image geometry the result lies on (``None`` for the other modalities, whose
    image is on the data's own grid). :func:`run_experiment` calls it between reading and writing;
    tuning scripts and tests call it on simulated measurements.

    :param operators: a dict kept across calls on slices of one scan (:mod:`recon.experiments.streamed_run`):
        the CT operator of a geometry met before, with its projection matrix and cached norm, is reused.
    :param matrix_memory: bytes the CT projection matrix may take (``recon run`` gives what its memory plan
        leaves, :func:`recon.experiments.memory_guard.projection_matrix_budget`); ``None``: the operator's default.
    """
    from recon.experiments.auto_strength import check_auto_applies, resolve_auto_strength

    check_auto_applies(config, measurement.modality)
    if measurement.modality == "ct" and config["solver"]["kind"] == "fbp" and config["prior"]["kind"] == "none":
        from recon.experiments.build import reconstruct_fbp      # the geometry is enough: no operator, no deepinv

        return reconstruct_fbp(config, measurement, device=device)
    if measurement.modality == "ct":
        from recon.experiments.build import build_operator, reconstruct

        build = functools.partial(build_operator, memory_budget=matrix_memory)
        operator = build(config, measurement) if operators is None else reused_operator(operators, config, measurement,
                                                                                        build)
        config, auto, start = resolve_auto_strength(config, measurement, operator, echo)
        result = reconstruct(config, measurement, operator, device=device, callback=callback, echo=echo, x0=start)
        result.auto_strength = auto
        return result, operator.geometry
    if measurement.modality == "mimo":
        from recon.experiments.build_mimo import reconstruct_mimo

        return reconstruct_mimo(config, measurement, device=device, callback=callback, echo=echo), None
    if measurement.modality == "deblur":
        from recon.experiments.build_deblur import reconstruct_deblur

        config, auto, start = resolve_auto_strength(config, measurement, None, echo)
        result = reconstruct_deblur(config, measurement, device=device, callback=callback, echo=echo, x0=start)
        result.auto_strength = auto
        return result, None
    from recon.experiments.build_mri import reconstruct_mri

    return reconstruct_mri(config, measurement, device=device, callback=callback, echo=echo), None


@dataclass
class SolvedInput:
    """One read measurement reconstructed and scored: what the output file and the figure take from it."""

    config: dict
    measurement: object         # as the output shows it: ground truth and reference on the image's grid
    result: object              # the solver's Reconstruction
    image: object               # (slices, 1, ...) on the CPU; deblurring: one stack of 2D images
    std: object
    samples: object
    segmentation: object
    metrics: dict
    per_slice: dict
    measured: object            # deblurring: the blurred data, for the figure
    reference: object           # what the figure compares with, and its name
    reference_name: str

    def output_arrays(self) -> dict:
        """The keyword arguments of :meth:`recon.datasets.output_writer.OutputWriter.append` for this solve."""
        radar = self.measurement.modality == "mimo"      # complex volumes: magnitude and phase
        truth = self.measurement.ground_truth
        return {"reconstruction": self.image.abs() if radar else self.image,
                "phase": self.image.angle() if radar else None,
                "ground_truth": truth.abs() if radar and truth is not None else truth,
                "reference": self.measurement.reference, "reference_name": self.measurement.reference_name,
                "std": self.std, "samples": self.samples, "segmentation": self.segmentation,
                "per_slice": self.per_slice,
                "history": self.result.history.as_dict() if self.config["output"]["history"]
                and self.result.history is not None else None}

    def provenance(self) -> dict:
        """What this solve adds to the output's provenance."""
        found = {"stop_reason": self.result.stop_reason, "iterations": self.result.iterations,
                 "prior_strength": self.result.strength}
        auto = self.result.auto_strength
        if auto is not None:        # prior.strength auto: what was chosen, from which noise, and how
            found.update({"prior_strength_auto": auto.describe(), "prior_strength_relative": auto.strength,
                          "noise_sigma": auto.sigmas, "noise_sigma_source": auto.sigma_source})
        return found

    def write_figure(self, path, title: str) -> None:
        from recon.experiments.run_figure import write_run_figure

        write_run_figure(path, self.measurement.modality, self.image, self.reference, self.reference_name,
                         self.result.history, self.measured, title, std=self.std)


def read_input(source, config: dict, *, name: str):
    """The measurement ``config`` asks for from ``source``, checked against the experiment's modality, CT views
    selected as ``input.view_step`` and ``input.arc_deg`` say."""
    from recon.datasets.formats import read_measurement
    from recon.datasets.view_selection import select_views

    measurement = read_measurement(source, read_options(config), format=config["input"]["format"])
    if measurement.modality != config["modality"]:
        raise InputError(source, None, f"a {config['modality']} measurement for experiment {name}",
                         f"{measurement.modality} data ({measurement.format}); see `recon info {source}`")
    if measurement.modality == "ct":
        measurement = select_views(measurement, step=config["input"]["view_step"],
                                   arc_deg=config["input"]["arc_deg"])
    return measurement


def reused_operator(operators: dict, config: dict, measurement, build):
    """``build(config, measurement)``, or the operator built last time for the same geometry and operator section."""
    import hashlib
    import pickle

    key = hashlib.sha256(pickle.dumps((measurement.geometry, config["operator"], config["solver"]["kind"]))).hexdigest()
    if key not in operators:
        operators.clear()                   # one geometry at a time: a scan's slices share it
        operators[key] = build(config, measurement)
    return operators[key]


def solve_input(config: dict, measurement, *, device: str = "cpu", callback=None, say=print,
                name: str = "experiment", operators: dict | None = None,
                matrix_memory: int | None = None) -> SolvedInput:
    """Reconstruct a read measurement, check the result is finite, score it and segment it as ``config`` says.
    ``operators``, ``matrix_memory``: see :func:`reconstruct_measurement`."""
    import torch

    result, grid = reconstruct_measurement(config, measurement, device=device, callback=callback, echo=say,
                                           operators=operators, matrix_memory=matrix_memory)
    image = result.image.detach().cpu()
    if not bool(torch.isfinite(image).all()):
        raise ValueError(f"{name}: the reconstruction has NaN or inf values; check the input and solver.max_iter")
    std = None if result.std is None else result.std.detach().cpu()
    samples = None if result.samples is None else result.samples.detach().cpu()
    measured = None
    if measurement.modality == "deblur":      # (images, channels or bands, H, W) as one stack of 2D images
        from recon.experiments.deblur_stacks import as_stacks

        read = measurement
        image, measurement, measured = as_stacks(image, read)
        std = None if std is None else as_stacks(std, read)[0]
        samples = None if samples is None else torch.stack([as_stacks(s, read)[0] for s in samples])
    shown_truth = on_grid(image, measurement, grid, "ground_truth")
    shown_reference = on_grid(image, measurement, grid, "reference")
    on_image = replace(measurement, ground_truth=shown_truth, reference=shown_reference)
    scored, shown = image, on_image
    if measurement.modality == "deblur":
        from recon.experiments.deblur_stacks import as_slices

        scored, shown = as_slices(image, shown)
    metrics, per_slice = score(scored, shown)
    segmentation = None
    if config["output"]["segment"] == "otsu":
        from recon.experiments.segmentation import mcc_per_slice, otsu_segmentation

        segmentation = otsu_segmentation(scored)
        reference_segmentation = measurement.segmentation
        if reference_segmentation is not None and tuple(reference_segmentation.shape) == tuple(segmentation.shape):
            per_slice["mcc"] = mcc_per_slice(segmentation, reference_segmentation)
            metrics["mcc"] = sum(per_slice["mcc"]) / len(per_slice["mcc"])
        elif reference_segmentation is not None:
            say(f"{name}: the reference segmentation is {tuple(reference_segmentation.shape[-2:])}, the image "
                f"{tuple(segmentation.shape[-2:])}; MCC not scored")
    for given, moved, what in ((measurement.ground_truth, shown_truth, "ground truth"),
                               (measurement.reference, shown_reference, measurement.reference_name or "reference")):
        if given is not None and moved is None:
            say(f"{name}: the {what} covers another field of view than operator.image_shape x pixel_size; "
                "not scored")
    reference = shown_truth if shown_truth is not None else shown_reference
    reference_name = "ground truth" if measurement.ground_truth is not None else (measurement.reference_name
                                                                                  or "reference")
    return SolvedInput(config, on_image, result, image, std, samples, segmentation, metrics, per_slice, measured,
                       reference, reference_name)
