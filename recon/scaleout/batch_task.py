"""One task of ``recon batch``: one input file (or one slice of it) through the very code path of ``recon run``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TaskResult:
    """What a finished task sends back to the client: the numbers, not the images; or why the input was bad.

    :param error: ``recon run``'s one-line message for a bad input (``""`` if it succeeded).
    """

    output: str
    error: str = ""
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0
    iterations: int = 0
    stop_reason: str = ""


def slice_config(config: dict, index: int | None, *, figure: bool) -> dict:
    """``config`` set to read slice ``index`` (``None``: the whole file), with or without its figure.

    >>> slice_config({"input": {"index": None}, "output": {"figure": True}}, 3, figure=False)
    {'input': {'index': 3}, 'output': {'figure': False}}
    """
    return {**config, "input": {**config["input"], "index": index},
            "output": {**config["output"], "figure": bool(config["output"]["figure"]) and figure}}


def warm_up(config: dict) -> None:
    """Import what a task of ``config`` will import (the readers, the run path, the figure code, deepinv for a
    prior), once per worker before the tasks start."""
    import importlib

    from recon.datasets.formats import reader_modules

    reader_modules()
    modules = ["recon.experiments.run", "recon.experiments.run_figure", "recon.datasets.output_format"]
    if config["prior"]["kind"] != "none":
        modules.append("deepinv")
    for name in modules:
        importlib.import_module(name)
    from recon.figures import pyplot

    pyplot()


def worker_memory_budget() -> int | None:
    """The run's memory budget in a Dask worker: the default share of the worker's memory limit (its part of the
    machine, so that workers running side by side do not each plan on half of it), or ``None`` outside a worker
    or without a limit (``recon run``'s default).

    >>> worker_memory_budget() is None      # not in a worker
    True
    """
    from recon.experiments.memory_guard import DEFAULT_FRACTION

    try:
        from distributed import get_worker

        limit = get_worker().memory_manager.memory_limit
    except (ImportError, ValueError, AttributeError):
        return None
    return int(DEFAULT_FRACTION * limit) if limit else None


def reconstruct_task(config: dict, source: str, output: str, device: str = "cpu") -> TaskResult:
    """Run ``config`` on ``source`` and write ``output`` (and its PNG) atomically, as ``recon run`` does.

    A bad input gives a result whose ``error`` is ``recon run``'s one-line message (returned, not raised: it is
    the input's outcome, not a failure of the task); anything else is a fault in recon and propagates as it is.
    """
    from recon.datasets.errors import InputError
    from recon.experiments.run import run_experiment

    try:
        summary = run_experiment(config, input_path=source, output_path=output, device=device, overwrite=True,
                                 quiet=True, max_memory=worker_memory_budget())
    except (InputError, ValueError, OSError) as error:
        return TaskResult(str(Path(output)), error=" ".join(str(error).split()) or type(error).__name__)
    return TaskResult(str(Path(output)), "", dict(summary.metrics), summary.seconds, summary.iterations,
                      summary.stop_reason)
