"""The table ``recon batch`` ends with: per input its status, metrics, time and worker, as Markdown and CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

#: Statuses: reconstructed now, found complete from an earlier run, refused as bad input, or a fault in recon.
STATUSES = ("done", "skipped", "failed", "error")


@dataclass
class InputRow:
    """One input's line in the summary.

    :param seconds: the tasks' wall time on the workers, summed over the input's slices.
    :param workers: the workers that ran its tasks.
    :param message: why it failed, one line; empty otherwise.
    """

    input: str
    output: str
    slices: int
    status: str
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0
    workers: tuple = ()
    message: str = ""


def _columns(rows: list[InputRow]) -> list[str]:
    metrics = list(dict.fromkeys(name for row in rows for name in row.metrics))
    return ["input", "slices", "status", *metrics, "seconds", "worker", "output", "message"]


def _cells(row: InputRow, columns: list[str]) -> list[str]:
    values = {"input": row.input, "slices": str(row.slices), "status": row.status, "seconds": f"{row.seconds:.2f}",
              "worker": " ".join(row.workers), "output": row.output, "message": row.message}
    values.update({name: f"{value:.6g}" for name, value in row.metrics.items()})
    return [values.get(column, "") for column in columns]


def summary_csv(rows: list[InputRow]) -> str:
    """The rows as CSV text, one column per metric any input has.

    >>> print(summary_csv([InputRow("a.h5", "a_ct.h5", 1, "done", {"psnr_db": 31.5}, 0.4, ("tcp://w1",))]), end="")
    input,slices,status,psnr_db,seconds,worker,output,message
    a.h5,1,done,31.5,0.40,tcp://w1,a_ct.h5,
    """
    columns = _columns(rows)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(_cells(row, columns) for row in rows)
    return text.getvalue()


def summary_markdown(rows: list[InputRow], footer: list[str] = ()) -> str:
    """The rows as a Markdown table, then ``footer`` lines (the batch's totals).

    >>> print(summary_markdown([InputRow("b.h5", "", 1, "failed", message="b.h5: truncated")]))
    | input | slices | status | seconds | worker | output | message |
    |---|---|---|---|---|---|---|
    | b.h5 | 1 | failed | 0.00 |  |  | b.h5: truncated |
    """
    columns = _columns(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in _cells(row, columns)) + " |" for row in rows]
    if footer:
        lines += ["", *footer]
    return "\n".join(lines)


def write_summary(rows: list[InputRow], output_dir: Path, footer: list[str] = ()) -> tuple[Path, Path]:
    """``batch-summary.md`` and ``batch-summary.csv`` in ``output_dir``, each written atomically."""
    from recon.datasets.atomic import atomic_output

    paths = output_dir / "batch-summary.md", output_dir / "batch-summary.csv"
    for path, text in zip(paths, (summary_markdown(rows, footer) + "\n", summary_csv(rows))):
        with atomic_output(path, overwrite=True) as temporary:
            temporary.write_text(text)
    return paths
