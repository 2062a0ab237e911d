"""Run one table: its cells as Dask tasks, then its Markdown, CSV and figure.

The runner asks the table for the cells it can compute now, runs them through
:func:`recon.scaleout.cluster.run_tasks` (each on a worker with one torch thread), and asks again
with the values in, until the table names no new cell: a tuned table's test cells follow its
validation cells that way. Then it writes ``NAME.md``, ``NAME.csv`` and ``NAME.png``
(``NAME-quick.*`` for ``--quick``) atomically into the output folder, the Markdown ending with the
command, the number of cells and workers, and the wall time.

A cell that fails stops the table after its stage, naming every failed cell and why: a table with a
hole is not a reproduction.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> done = reproduce("multiband", quick=True, output_dir=folder, workers=1, processes=False, quiet=True)
>>> sorted(path.name for path in done.paths)
['multiband-quick.csv', 'multiband-quick.md', 'multiband-quick.png']
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from recon.reproduce.report import Report
from recon.reproduce.tables import load_table


@dataclass
class Reproduction:
    """A finished table: its report, the files written, and what it cost.

    :param cells: the number of cells computed.
    :param wall_seconds: from the first cell submitted to the last value in.
    :param cell_seconds: the sum of the cells' own times (the work, whichever worker did it).
    :param workers: the workers the cluster had.
    """

    name: str
    quick: bool
    report: Report
    values: dict
    paths: list[Path]
    cells: int
    wall_seconds: float
    cell_seconds: float
    workers: int


def output_paths(name: str, quick: bool, output_dir) -> dict[str, Path]:
    """``{"md": ..., "csv": ..., "png": ...}``: where table ``name`` goes in ``output_dir``."""
    stem = f"{name}-quick" if quick else name
    return {suffix: Path(output_dir) / f"{stem}.{suffix}" for suffix in ("md", "csv", "png")}


def compute_cells(table, quick: bool, client, *, label: str, quiet: bool = True) -> tuple[dict, float]:
    """Every cell of ``table`` run on ``client``, stage by stage: ``(values by key, summed cell seconds)``.

    :raises ValueError: after a stage in which a cell failed, naming each failed cell and its error.
    """
    from recon.scaleout.cluster import run_tasks

    values, seconds = {}, 0.0
    while True:
        calls = {key: call for key, call in table.cells(quick, values).items() if key not in values}
        if not calls:
            return values, seconds
        failed = []
        for outcome in run_tasks(client, calls, label=label, quiet=quiet):
            if outcome.ok:
                values[outcome.key] = outcome.value
                seconds += outcome.seconds
            else:
                failed.append(f"{outcome.key}: {outcome.error}")
        if failed:
            raise ValueError(f"table {label}: {len(failed)} of {len(calls)} cells failed: " + "; ".join(failed))


def reproduce(name: str, *, quick: bool = False, output_dir="reproduce-output", workers: int | None = None,
              scheduler: str | None = None, processes: bool = True, overwrite: bool = False,
              quiet: bool = False) -> Reproduction:
    """Compute table ``name`` and write its Markdown, CSV and figure into ``output_dir``.

    :param quick: the scaled-down version (under a minute on one core).
    :param workers: local worker processes (default one per CPU); ``scheduler`` instead sends the cells to a
        running Dask scheduler at that address.
    :param processes: ``False`` runs the local workers as threads of this process (tests).
    :raises ValueError: for an unknown table or a failed cell; :class:`FileExistsError` for an existing output
        without ``overwrite`` (checked before any cell runs).
    """
    from recon._version import __version__
    from recon.datasets.atomic import atomic_output
    from recon.figures import pyplot
    from recon.scaleout.cluster import dask_client

    table = load_table(name)
    paths = output_paths(name, quick, output_dir)
    if not overwrite:
        for path in paths.values():
            if path.exists():
                raise FileExistsError(f"{path} exists (pass --overwrite to replace it)")
    with dask_client(workers=workers, scheduler=scheduler, processes=processes) as client:
        worker_count = len(client.scheduler_info()["workers"])
        started = time.perf_counter()
        values, cell_seconds = compute_cells(table, quick, client, label=name, quiet=quiet)
        wall = time.perf_counter() - started
    report = table.report(quick, values)
    command = f"recon reproduce {name}" + (" --quick" if quick else "")
    run_line = (f"Made by `{command}` (recon {__version__}): {len(values)} cells on {worker_count} "
                f"worker{'s' if worker_count != 1 else ''} with one torch thread each, wall time "
                f"{duration_text(wall)} ({duration_text(cell_seconds)} of cell time).")
    with atomic_output(paths["md"], overwrite=overwrite) as temporary:
        temporary.write_text(report.markdown(run_line), encoding="utf-8")
    with atomic_output(paths["csv"], overwrite=overwrite) as temporary:
        temporary.write_text(report.csv(), encoding="utf-8")
    figure = table.figure(quick, values, report)
    try:
        with atomic_output(paths["png"], overwrite=overwrite) as temporary:
            figure.savefig(temporary, format="png", dpi=110)
    finally:
        pyplot().close(figure)
    return Reproduction(name, quick, report, values, list(paths.values()), len(values), wall, cell_seconds,
                        worker_count)


def duration_text(seconds: float) -> str:
    """``"42 s"``, ``"12 min 3 s"``: a wall time as the tables print it.

    >>> duration_text(42.4), duration_text(723.0)
    ('42 s', '12 min 3 s')
    """
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
