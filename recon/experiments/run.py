"""``recon run``: read the input, reconstruct as the experiment says, score, and write the outputs atomically.

Every check that can fail on the user's input (the input file, the output
folder, an existing output, the device) runs before any computing, so a bad
command fails at once; outputs go to temporary files beside their targets and
are renamed when complete, so a killed run never leaves a partial result.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from recon.datasets.errors import InputError
from recon.experiments.solve_measurement import read_input, solve_input


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


def _what_was_read(measurement) -> str:
    """``"2 slice(s) of (60, 128)"``: the batch and the shape of one element, in the modality's words."""
    if measurement.modality != "deblur":
        return f"{measurement.n_slices} slice(s) of {tuple(measurement.data.shape[2:])}"
    from recon.operators.deblur_acquisition import MultibandAcquisition

    setup = measurement.geometry
    if isinstance(setup, MultibandAcquisition):
        return f"{measurement.n_slices} image(s) of {setup}"
    return f"{measurement.n_slices} image(s) of (channels, H, W) {tuple(measurement.data.shape[1:])}"


def run_experiment(config: dict, *, input_path=None, output_path=None, device: str = "cpu",
                   overwrite: bool = False, quiet: bool = False, echo=print, max_memory: int | None = None) -> RunSummary:
    """Run a validated experiment config (see :mod:`recon.experiments.config`) on one input file.

    A multi-slice input runs slice by slice into a growing output when it would not fit in memory whole
    (or when ``input.stream`` is ``slices``): :mod:`recon.experiments.streamed_run`.

    :param max_memory: bytes the run may plan to hold (:mod:`recon.experiments.memory_guard`); ``None``: half
        of the memory available now. A run that does not fit, whole or slice by slice, is refused before
        anything is read; what the plan leaves is the CT projection matrix's (on the fly with astra beyond it).
    """
    import torch

    from recon import __version__
    from recon.datasets.atomic import atomic_output
    from recon.datasets.output_format import sha256_of, write_output
    from recon.datasets.validation import check_input_path
    from recon.experiments.config import config_to_yaml
    from recon.experiments.memory_guard import projection_matrix_budget
    from recon.progress import ProgressBar

    given = input_path or config["input"]["path"]
    if given is None:
        raise ValueError("input.path: expected an input file (give --input PATH)")
    source = check_input_path(given)
    target, figure_path = output_paths(config, source, output_path, overwrite=overwrite)
    check_device(device)
    plan = plan_memory(source, config, max_memory)
    # On a GPU the matrix is copied to the device, whose memory the plan does not see: the operator's default there.
    matrix_memory = projection_matrix_budget(max_memory, plan.planned) if device == "cpu" else None
    say = (lambda *a: None) if quiet else echo
    name = config["name"] or "experiment"
    config = {**config, "input": {**config["input"], "path": str(source.resolve())},
              "output": {**config["output"], "path": str(target)}}
    if plan.slices:
        from recon.experiments.streamed_run import run_streamed

        metrics, seconds, iterations, stop_reason = run_streamed(
            config, source, target, figure_path, plan.slices, chunk=plan.chunk, device=device, overwrite=overwrite,
            quiet=quiet, say=say, matrix_memory=matrix_memory)
        summary = RunSummary(name, target, figure_path, metrics, seconds, iterations, stop_reason)
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
        solved = solve_input(config, measurement, device=device, callback=bar, say=say, name=name,
                             matrix_memory=matrix_memory)
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


class MemoryPlan(NamedTuple):
    """How a run fits its memory budget: ``slices`` to stream (0: read whole), ``chunk`` of them at a time, and
    ``planned`` bytes its data and solver state take (0 when the file's metadata cannot tell)."""

    slices: int
    chunk: int
    planned: int


def plan_memory(source, config: dict, max_memory: int | None) -> MemoryPlan:
    """How the run fits in memory, decided from the file's metadata before its data is read: ``slices`` 0 to read
    and solve the input whole, or ``slices`` streamed ``chunk`` at a time (``input.stream``, ``input.chunk``; by
    default as many as fit ``max_memory``, at most :data:`~recon.experiments.streamed_run.DEFAULT_CHUNK`).

    :raises InputError: when the run fits neither way (:func:`recon.experiments.memory_guard.check_memory`).

    A file whose metadata alone does not describe the measurement (a TIFF has no angles until the config gives
    them) is not estimated here: reading it gives the verdict, and it is read whole.
    """
    from recon.datasets.formats import SLICED_FORMATS, describe_measurement, detect_format
    from recon.experiments.memory_guard import WAYS_OUT, check_memory, estimate_bytes, slices_that_fit

    section = config["input"]
    try:
        summary = describe_measurement(source, format=section["format"], allow_links=section["allow_links"])
        layout = detect_format(source).FORMAT if section["format"] == "auto" else section["format"]
    except InputError:
        return MemoryPlan(0, 0, 0)
    sliced = (section["index"] is None and summary.n_slices > 1 and layout in SLICED_FORMATS
              and summary.modality in ("ct", "mri"))
    if not sliced or section["stream"] == "off":
        stream = ("stream them with --set input.stream=auto",) if sliced else ()
        planned = check_memory(source, summary, config, max_memory, ways_out=WAYS_OUT[:1] + stream + WAYS_OUT[1:])
        return MemoryPlan(0, 0, planned)
    if section["stream"] == "auto":
        try:
            return MemoryPlan(0, 0, check_memory(source, summary, config, max_memory))
        except InputError:
            pass
    one_slice = {**config, "input": {**section, "index": 0}}
    check_memory(source, summary, one_slice, max_memory)   # one slice must fit
    from recon.experiments.streamed_run import DEFAULT_CHUNK

    fit = slices_that_fit(summary, config, max_memory)
    chunk = max(1, min(section["chunk"] or DEFAULT_CHUNK, fit, summary.n_slices))         # never more than fits
    return MemoryPlan(summary.n_slices, chunk, chunk * estimate_bytes(summary, one_slice))


def _summary_line(summary: RunSummary) -> str:
    figures = ", ".join(f"{k} {v:.5g}" for k, v in summary.metrics.items())
    wrote = f"{summary.output}" + (f" and {summary.figure}" if summary.figure else "")
    return (f"{summary.experiment}: {summary.iterations} iteration(s), {summary.stop_reason}, {summary.seconds:.2f} s"
            f"{'; ' + figures if figures else ''}; wrote {wrote}")
