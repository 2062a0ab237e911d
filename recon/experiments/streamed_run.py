r"""``recon run`` on an input larger than memory: read, solve and write a chunk of slices at a time.

A multi-slice input of a layout whose slices are independent problems
(:data:`recon.datasets.formats.SLICED_FORMATS`) is streamed when the whole
would not fit ``--max-memory`` (``input.stream: auto``), or always with
``input.stream: slices``. Its slices are taken ``input.chunk`` at a time (by
default as many as fit the budget,
:func:`recon.experiments.memory_guard.slices_that_fit`, and at most
:data:`DEFAULT_CHUNK`): each is read alone
(``input.index = k``: the reader touches that slice, its flats and darks), the
chunk is solved as one batch when its slices share a geometry (one sparse
product serves them all: a CT projector applied to 8 slices at once costs
about what 2.6 single slices cost), scored, and appended to the output's
chunked datasets (:class:`recon.datasets.output_writer.OutputWriter`). What
the run holds is one chunk's problem plus one output chunk, whatever the
number of slices. The CT operator (its projection matrix and norm) is built
once and reused for every chunk of the same geometry.

The output and its figure (drawn from the first chunk, which is then let go)
are written into files without a name (:func:`recon.datasets.atomic.unnamed_output`)
that are linked into place when the last slice is in: a run killed at any
point, even by SIGKILL, leaves no output and no temporary file, and the rerun
starts afresh.

What differs from solving the volume at once: each chunk is its own problem,
so a relative or automatic ``prior.strength`` is chosen per chunk (the
provenance lists them), a tolerance stops each chunk on its own, the history
is a ``(chunks, iterations)`` table, and the figure shows slice 0. With
``input.chunk: 1`` the volume is, array for array, that of ``recon batch``,
which solves the same slices as separate tasks and assembles them with the
same writer.
"""

from __future__ import annotations

import contextlib
import datetime
import time

#: The most slices a streamed step takes unless ``input.chunk`` says otherwise: past a few dozen, a larger batch
#: no longer makes the products cheaper per slice, and the progress bar would move in large steps.
DEFAULT_CHUNK = 32


def run_streamed(config: dict, source, target, figure_path, slices: int, *, chunk: int = 1, device: str = "cpu",
                 overwrite: bool = False, quiet: bool = False, say=print, matrix_memory: int | None = None):
    """Run ``config`` on the ``slices`` slices of ``source``, ``chunk`` at a time, writing ``target`` (and the
    figure). ``matrix_memory``: see :func:`recon.experiments.solve_measurement.reconstruct_measurement`.

    :returns: ``(metrics, seconds, iterations, stop_reason)``: the metrics' means over every slice, the wall
        time, the most iterations a chunk ran and every chunk's stop reason.
    """
    import torch

    from recon import __version__
    from recon.datasets.atomic import path_of, unnamed_output
    from recon.datasets.output_format import sha256_of
    from recon.datasets.output_writer import OutputWriter, merged_provenance
    from recon.experiments.config import config_to_yaml
    from recon.progress import ProgressBar

    name = config["name"] or "experiment"
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    started = time.perf_counter()
    say(f"{source}: {slices} slices, read and solved {'one' if chunk == 1 else chunk} at a time")
    bar = ProgressBar(slices, label=f"{name} slices ", enabled=False if quiet else None)
    parts, layout, operators = [], "", {}
    picture = unnamed_output(figure_path, overwrite=overwrite) if figure_path is not None else contextlib.nullcontext()
    with unnamed_output(target, overwrite=overwrite) as handle, picture as figure:
        writer = OutputWriter(handle, experiment=name)
        try:
            for start in range(0, slices, chunk):
                step_started = time.perf_counter()
                for solved in solved_chunk(config, source, range(start, min(start + chunk, slices)), device=device,
                                           say=say if start == 0 else _silent, name=name, operators=operators,
                                           matrix_memory=matrix_memory):
                    layout = solved.measurement.format
                    writer.append(**solved.output_arrays())
                    parts.append(solved.provenance())
                    if figure is not None and start == 0 and len(parts) == 1:      # slice 0 shown, then let go
                        solved.write_figure(path_of(figure), f"{name}: {source.name} (from slice 0 of {slices})")
                parts[-1]["seconds"] = time.perf_counter() - step_started
                bar(min(start + chunk, slices))
        except BaseException:
            writer.file.close()
            raise
        finally:
            bar.close()
        seconds = time.perf_counter() - started
        provenance = {**merged_provenance(parts), "recon_version": __version__, "torch_version": torch.__version__,
                      "input_path": str(source.resolve()), "input_sha256": sha256_of(source), "input_format": layout,
                      "started": started_at, "seconds": seconds, "device": device, "streamed_slices": slices,
                      "streamed_chunk": chunk}
        writer.finish(config_yaml=config_to_yaml(config), provenance=provenance)
    return writer.means(), seconds, provenance["iterations"], provenance["stop_reason"]


def solved_chunk(config: dict, source, indices: range, *, device: str, say, name: str, operators: dict,
                 matrix_memory: int | None = None):
    """The slices ``indices`` of ``source``, each read alone, solved as one batch when they share a geometry
    (:func:`recon.datasets.measurement.stacked`), else one by one: a list of
    :class:`recon.experiments.solve_measurement.SolvedInput` in slice order."""
    from recon.datasets.measurement import stacked
    from recon.experiments.solve_measurement import read_input, solve_input

    configs = [{**config, "input": {**config["input"], "index": index}} for index in indices]
    read = [read_input(source, one, name=name) for one in configs]
    together = stacked(read)
    if together is not None:
        return [solve_input(config, together, device=device, say=say, name=name, operators=operators,
                            matrix_memory=matrix_memory)]
    return [solve_input(one, measurement, device=device, say=say, name=name, operators=operators,
                        matrix_memory=matrix_memory) for one, measurement in zip(configs, read)]


def _silent(*_args) -> None:
    return None
