"""What a reproduced table says: its numbers, the paper's beside them, whether each claim holds; Markdown and CSV.

A table module turns its cells' values into one :class:`Report`. The runner writes it as
``NAME.md`` (the title, the set-up, the numbers, the claims with their verdicts, the notes, the
command and its wall time) and ``NAME.csv`` (the numbers, one row per row of the Markdown table,
with a ``holds`` column where a row carries a claim's verdict). Nothing here imports torch.

>>> report = Report("Two methods", "A paper", "one problem", ["method", "PSNR (dB)", "paper"],
...                 [{"method": "TV", "PSNR (dB)": 31.8391, "paper": 31.2}],
...                 [Claim("TV reaches 31 dB", "31.84 dB", "31.2 dB", True)])
>>> print(report.markdown_table())
| method | PSNR (dB) | paper |
|---|---:|---:|
| TV | 31.84 | 31.20 |
>>> report.value("TV", "PSNR (dB)")
31.8391
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and what was measured of it.

    :param claim: the claim, in the paper's words or close to them.
    :param measured: what this run measured, short (``"+3.98 dB"``).
    :param paper: the paper's own figure where it publishes one, ``""`` otherwise.
    :param holds: ``True``/``False``; ``None`` where the run cannot tell (e.g. a claim the quick run does not test).
    """

    claim: str
    measured: str
    paper: str = ""
    holds: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "**holds**", False: "**does not hold**", None: "not tested"}[self.holds]


@dataclass
class Report:
    """A reproduced table: the numbers (``rows``, one dict per row keyed by ``columns``), the claims and notes.

    :param title: the Markdown heading.
    :param source: the paper (authors, venue, year) or document reproduced.
    :param setup: one paragraph: the problem, the data, how each method's parameters were set.
    :param columns: the table's columns, the first one naming the row.
    :param rows: one ``{column: value}`` per row; floats are printed with ``digits`` decimals
        (``formats`` overrides a column with a format spec such as ``".4f"`` or ``"+.2f"``); ``None`` is blank.
    :param claims: the paper's claims and their verdicts.
    :param notes: sentences printed under the claims (what differs from the paper, and why).
    """

    title: str
    source: str
    setup: str
    columns: list[str]
    rows: list[dict]
    claims: list[Claim] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    digits: int = 2
    formats: dict = field(default_factory=dict)

    def value(self, row: str, column: str):
        """The value in the row whose first column is ``row``."""
        for entry in self.rows:
            if entry[self.columns[0]] == row:
                return entry.get(column)
        raise KeyError(f"no row {row!r} in {self.title!r}")

    def claim(self, start: str) -> Claim:
        """The claim whose text starts with ``start``."""
        for one in self.claims:
            if one.claim.startswith(start):
                return one
        raise KeyError(f"no claim starting {start!r} in {self.title!r}")

    def cell_text(self, column: str, value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, bool):
            return "holds" if value else "does not hold"
        if isinstance(value, float):
            return format(value, self.formats.get(column, f".{self.digits}f"))
        return str(value)

    def markdown_table(self) -> str:
        numeric = [any(isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool) for r in self.rows)
                   for c in self.columns]
        lines = ["| " + " | ".join(markdown_cell(c) for c in self.columns) + " |",
                 "|" + "|".join("---:" if n and k else "---" for k, n in enumerate(numeric)) + "|"]
        for row in self.rows:
            lines.append("| " + " | ".join(markdown_cell(self.cell_text(c, row.get(c))) for c in self.columns) + " |")
        return "\n".join(lines)

    def markdown(self, run_line: str) -> str:
        """The whole Markdown page; ``run_line`` says how it was made (command, cells, wall time)."""
        parts = [f"# {self.title}", "", f"Reproducing: {self.source}.", "", self.setup, "", self.markdown_table()]
        if self.claims:
            parts += ["", "| claim | measured | the paper | verdict |", "|---|---|---|---|"]
            parts += ["| " + " | ".join(markdown_cell(t) for t in (c.claim, c.measured, c.paper, c.verdict)) + " |"
                      for c in self.claims]
        if self.notes:
            parts += [""] + [f"- {note}" for note in self.notes]
        parts += ["", run_line, ""]
        return "\n".join(parts)

    def csv(self) -> str:
        """The numbers as CSV: a header of the columns, then one line per row (floats at full precision)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if row.get(c) is None else
                             ("holds" if row[c] else "does not hold") if isinstance(row.get(c), bool) else
                             (f"{row[c]:.6g}" if isinstance(row.get(c), float) else row[c]) for c in self.columns])
        return out.getvalue()


def markdown_cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell: its pipes escaped (``|Δg|`` would end the cell)."""
    return text.replace("|", "\\|")


def signed(value: float, unit: str = "dB", digits: int = 2) -> str:
    """``+1.23 dB``: a margin as the claims table prints it."""
    return f"{value:+.{digits}f} {unit}".rstrip()
