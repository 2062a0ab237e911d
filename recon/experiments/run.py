"""``recon run``: read the input, reconstruct as the experiment says, score, and write the outputs atomically.

Every check that can fail on the user's input (the input file, the output
folder, an existing output, the device) runs before any computing, so a bad
command fails at once; outputs go to temporary files beside their targets and
are renamed when complete, so a killed run never leaves a partial result.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from recon.datasets.errors import InputError


@dataclass
class RunSummary:
    """What a run produced: the output files, the metrics (means over slices) and the solver's figures."""

    experiment: str
    output: Path
    figure: Path | None
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0
    iterations: int = 0
    stop_reason: str = ""


def output_paths(config: dict, input_path: Path, output_path=None, *, overwrite: bool = False):
    """The output HDF5 and PNG paths, checked: the folder exists, nothing is overwritten without leave."""
    name = config["name"] or "experiment"
    target = output_path or config["output"]["path"] or f"{input_path.stem}_{name}.h5"
    target = Path(target)
    if target.is_dir():
        raise InputError(target, None, "an output file name", "a directory")
    if not target.parent.is_dir():
        raise InputError(target, None, "an output path in an existing folder", f"no folder {target.parent}")
    figure = target.with_suffix(".png") if config["output"]["figure"] else None
    for path in (target, figure):
        if path is not None and path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists (pass --overwrite to replace it)")
    return target, figure


def check_device(device: str) -> str:
    import torch

    if device not in ("cpu", "cuda"):
        raise ValueError(f"--device: expected cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: expected a CUDA device, got none (torch.cuda.is_available() is False)")
    return device


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


def _what_was_read(measurement) -> str:
    """``"2 slice(s) of (60, 128)"``: the batch and the shape of one element, in the modality's words."""
    if measurement.modality != "deblur":
        return f"{measurement.n_slices} slice(s) of {tuple(measurement.data.shape[2:])}"
    from recon.operators.deblur_acquisition import MultibandAcquisition

    setup = measurement.geometry
    if isinstance(setup, MultibandAcquisition):
        return f"{measurement.n_slices} image(s) of {setup}"
    return f"{measurement.n_slices} image(s) of (channels, H, W) {tuple(measurement.data.shape[1:])}"


def reconstruct_measurement(config: dict, measurement, *, device: str = "cpu", callback=None, echo=None,
                            operators: dict | None = None):
    """``(Reconstruction, grid)``: the experiment solved on an in-memory measurement, by its modality's builder.

    ``grid`` is the CT image geometry the result lies on (``None`` for the other modalities, whose
    image is on the data's own grid). :func:`run_experiment` calls it between reading and writing;
    tuning scripts and tests call it on simulated measurements.

    :param operators: a dict kept across calls on slices of one scan (:mod:`recon.experiments.streamed_run`):
        the CT operator of a geometry met before, with its projection matrix and cached norm, is reused.
    """
    from recon.experiments.auto_strength import check_auto_applies, resolve_auto_strength

    check_auto_applies(config, measurement.modality)
    if measurement.modality == "ct" and config["solver"]["kind"] == "fbp" and config["prior"]["kind"] == "none":
        from recon.experiments.build import reconstruct_fbp      # the geometry is enough: no operator, no deepinv

        return reconstruct_fbp(config, measurement, device=device)
    if measurement.modality == "ct":
        from recon.experiments.build import build_operator, reconstruct

        operator = (build_operator(config, measurement) if operators is None
                    else reused_operator(operators, config, measurement, build_operator))
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
                name: str = "experiment", operators: dict | None = None) -> SolvedInput:
    """Reconstruct a read measurement, check the result is finite, score it and segment it as ``config`` says.
    ``operators``: see :func:`reconstruct_measurement`."""
    import torch

    result, grid = reconstruct_measurement(config, measurement, device=device, callback=callback, echo=say,
                                           operators=operators)
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
    scored, shown = image, replace(measurement, ground_truth=shown_truth, reference=shown_reference)
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
    for given, on_image, what in ((measurement.ground_truth, shown_truth, "ground truth"),
                                  (measurement.reference, shown_reference, measurement.reference_name or "reference")):
        if given is not None and on_image is None:
            say(f"{name}: the {what} covers another field of view than operator.image_shape x pixel_size; "
                "not scored")
    reference = shown_truth if shown_truth is not None else shown_reference
    reference_name = "ground truth" if measurement.ground_truth is not None else (measurement.reference_name
                                                                                  or "reference")
    shown_all = replace(measurement, ground_truth=shown_truth, reference=shown_reference)
    return SolvedInput(config, shown_all, result, image, std, samples, segmentation, metrics, per_slice, measured,
                       reference, reference_name)


def run_experiment(config: dict, *, input_path=None, output_path=None, device: str = "cpu",
                   overwrite: bool = False, quiet: bool = False, echo=print, max_memory: int | None = None) -> RunSummary:
    """Run a validated experiment config (see :mod:`recon.experiments.config`) on one input file.

    A multi-slice input runs slice by slice into a growing output when it would not fit in memory whole
    (or when ``input.stream`` is ``slices``): :mod:`recon.experiments.streamed_run`.

    :param max_memory: bytes the run may plan to hold (:mod:`recon.experiments.memory_guard`); ``None``: half
        of the memory available now. A run that does not fit, whole or slice by slice, is refused before
        anything is read.
    """
    import torch

    from recon import __version__
    from recon.datasets.atomic import atomic_output
    from recon.datasets.output_format import sha256_of, write_output
    from recon.datasets.validation import check_input_path
    from recon.experiments.config import config_to_yaml
    from recon.progress import ProgressBar

    given = input_path or config["input"]["path"]
    if given is None:
        raise ValueError("input.path: expected an input file (give --input PATH)")
    source = check_input_path(given)
    target, figure_path = output_paths(config, source, output_path, overwrite=overwrite)
    check_device(device)
    streamed_slices, chunk = plan_memory(source, config, max_memory)
    say = (lambda *a: None) if quiet else echo
    name = config["name"] or "experiment"
    config = {**config, "input": {**config["input"], "path": str(source.resolve())},
              "output": {**config["output"], "path": str(target)}}
    if streamed_slices:
        from recon.experiments.streamed_run import run_streamed

        summary = run_streamed(config, source, target, figure_path, streamed_slices, chunk=chunk, device=device,
                               overwrite=overwrite, quiet=quiet, say=say)
        say(_summary_line(summary))
        return summary

    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    started = time.perf_counter()
    measurement = read_input(source, config, name=name)
    say(f"{source}: {measurement.format}, {_what_was_read(measurement)}")
    solver = config["solver"]
    from recon.experiments.combinations import SAMPLER_KINDS

    steps = solver["max_iter"] * (solver["samples"] if solver["kind"] in SAMPLER_KINDS else 1)
    bar = ProgressBar(steps, label=f"{name} ", enabled=False if quiet else None)
    try:
        solved = solve_input(config, measurement, device=device, callback=bar, say=say, name=name)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    provenance = {"recon_version": __version__, "torch_version": torch.__version__, "input_path": str(source.resolve()),
                  "input_sha256": sha256_of(source), "input_format": measurement.format, "started": started_at,
                  "seconds": seconds, "device": device, **solved.provenance()}
    with atomic_output(target, overwrite=overwrite) as tmp_h5:
        write_output(tmp_h5, **solved.output_arrays(), config_yaml=config_to_yaml(config), provenance=provenance,
                     metrics=solved.metrics, experiment=name)
        if figure_path is not None:
            with atomic_output(figure_path, overwrite=overwrite) as tmp_png:
                solved.write_figure(tmp_png, f"{name}: {source.name}")
    result = solved.result
    summary = RunSummary(name, target, figure_path, solved.metrics, seconds, result.iterations, result.stop_reason)
    say(_summary_line(summary))
    return summary


def plan_memory(source, config: dict, max_memory: int | None) -> tuple[int, int]:
    """How the run fits in memory, decided from the file's metadata before its data is read: ``(0, 0)`` to read
    and solve the input whole, or ``(slices, chunk)`` to stream its slices, ``chunk`` at a time
    (``input.stream``, ``input.chunk``; by default as many as fit ``max_memory``, at most
    :data:`~recon.experiments.streamed_run.DEFAULT_CHUNK`).

    :raises InputError: when the run fits neither way (:func:`recon.experiments.memory_guard.check_memory`).

    A file whose metadata alone does not describe the measurement (a TIFF has no angles until the config gives
    them) is not estimated here: reading it gives the verdict, and it is read whole.
    """
    from recon.datasets.formats import SLICED_FORMATS, describe_measurement, detect_format
    from recon.experiments.memory_guard import WAYS_OUT, check_memory, slices_that_fit

    section = config["input"]
    try:
        summary = describe_measurement(source, format=section["format"], allow_links=section["allow_links"])
        layout = detect_format(source).FORMAT if section["format"] == "auto" else section["format"]
    except InputError:
        return 0, 0
    sliced = (section["index"] is None and summary.n_slices > 1 and layout in SLICED_FORMATS
              and summary.modality in ("ct", "mri"))
    if not sliced or section["stream"] == "off":
        stream = ("stream them with --set input.stream=auto",) if sliced else ()
        check_memory(source, summary, config, max_memory, ways_out=WAYS_OUT[:1] + stream + WAYS_OUT[1:])
        return 0, 0
    if section["stream"] == "auto":
        try:
            check_memory(source, summary, config, max_memory)
            return 0, 0
        except InputError:
            pass
    check_memory(source, summary, {**config, "input": {**section, "index": 0}}, max_memory)   # one slice must fit
    from recon.experiments.streamed_run import DEFAULT_CHUNK

    fit = slices_that_fit(summary, config, max_memory)
    chunk = min(section["chunk"] or DEFAULT_CHUNK, fit, summary.n_slices)         # never more than fits
    return summary.n_slices, max(1, chunk)


def _summary_line(summary: RunSummary) -> str:
    figures = ", ".join(f"{k} {v:.5g}" for k, v in summary.metrics.items())
    wrote = f"{summary.output}" + (f" and {summary.figure}" if summary.figure else "")
    return (f"{summary.experiment}: {summary.iterations} iteration(s), {summary.stop_reason}, {summary.seconds:.2f} s"
            f"{'; ' + figures if figures else ''}; wrote {wrote}")
