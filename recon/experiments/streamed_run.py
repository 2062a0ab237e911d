r"""``recon run`` on an input larger than memory: read, solve and write one slice at a time.

A multi-slice input of a layout whose slices are independent problems
(:data:`recon.datasets.formats.SLICED_FORMATS`) runs slice by slice when the
whole would not fit ``--max-memory`` (``input.stream: auto``), or always with
``input.stream: slices``. Slice :math:`k` is read alone (``input.index = k``:
the reader touches that slice, its flats and darks), solved with the
experiment as configured, scored, and appended to the output's chunked
datasets (:class:`recon.datasets.output_writer.OutputWriter`). What the run
holds is one slice's problem plus one output chunk, whatever the number of
slices. The CT operator (its projection matrix and norm) is built once and
reused for every slice of the same geometry.

The output is written into a file without a name
(:func:`recon.datasets.atomic.unnamed_output`) that is linked into place when
the last slice is in: a run killed at any point, even by SIGKILL, leaves no
output and no temporary file, and the rerun starts afresh.

What differs from solving the volume at once: each slice is its own problem,
so a relative or automatic ``prior.strength`` is chosen per slice (the
provenance lists them), the history is a ``(slices, iterations)`` table, and
the figure shows slice 0. ``recon batch`` solves the same slices as separate
tasks and assembles them with the same writer; the two give the same volume.
"""

from __future__ import annotations

import datetime
import time


def run_streamed(config: dict, source, target, figure_path, slices: int, *, device: str = "cpu",
                 overwrite: bool = False, quiet: bool = False, say=print):
    """Run ``config`` on the ``slices`` slices of ``source`` one by one, writing ``target`` (and the figure).

    :returns: the :class:`recon.experiments.run.RunSummary`, with the metrics' means over every slice.
    """
    import torch

    from recon import __version__
    from recon.datasets.atomic import atomic_output, unnamed_output
    from recon.datasets.output_format import sha256_of
    from recon.datasets.output_writer import OutputWriter, merged_provenance
    from recon.experiments.config import config_to_yaml
    from recon.experiments.run import RunSummary, read_input, solve_input
    from recon.progress import ProgressBar

    name = config["name"] or "experiment"
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    started = time.perf_counter()
    say(f"{source}: {slices} slices, read and solved one at a time")
    bar = ProgressBar(slices, label=f"{name} slices ", enabled=False if quiet else None)
    parts, first, layout, operators = [], None, "", {}
    with unnamed_output(target, overwrite=overwrite) as handle:
        writer = OutputWriter(handle, experiment=name)
        try:
            for index in range(slices):
                one = {**config, "input": {**config["input"], "index": index}}
                slice_started = time.perf_counter()
                measurement = read_input(source, one, name=name)
                layout = measurement.format
                solved = solve_input(one, measurement, device=device, say=say if index == 0 else _silent, name=name,
                                     operators=operators)        # the scan's operator, built once
                writer.append(**solved.output_arrays())
                parts.append({**solved.provenance(), "seconds": time.perf_counter() - slice_started})
                if index == 0:
                    first = solved          # the figure's slice
                bar(index + 1)
        except BaseException:
            writer.file.close()
            raise
        finally:
            bar.close()
        seconds = time.perf_counter() - started
        provenance = {**merged_provenance(parts), "recon_version": __version__, "torch_version": torch.__version__,
                      "input_path": str(source.resolve()), "input_sha256": sha256_of(source), "input_format": layout,
                      "started": started_at, "seconds": seconds, "device": device, "streamed_slices": slices}
        writer.finish(config_yaml=config_to_yaml(config), provenance=provenance)
        if figure_path is not None:
            with atomic_output(figure_path, overwrite=overwrite) as temporary:
                first.write_figure(temporary, f"{name}: {source.name} (slice 0 of {slices})")
    means = {metric: sum(values) / len(values) for metric, values in writer.per_slice.items() if values}
    return RunSummary(name, target, figure_path, means, seconds, provenance["iterations"], provenance["stop_reason"])


def _silent(*_args) -> None:
    return None
