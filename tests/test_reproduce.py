"""``recon reproduce``: the table registry, the command line, the report's Markdown and CSV, and a quick table
through real worker processes (the cells must pickle and import on a worker).

The tables' own quick runs, with the numbers they measure, are in ``tests/test_reproduce_tables.py``.
"""

from __future__ import annotations

import csv
import importlib
import subprocess
import sys

import pytest

from recon.cli import main
from recon.reproduce.report import Claim, Report
from recon.reproduce.tables import TABLES, describe_tables, load_table


def test_every_table_has_cells_report_and_figure_and_its_cells_are_importable_functions():
    for name in TABLES:
        table = load_table(name)
        for function in ("cells", "report", "figure"):
            assert callable(getattr(table, function)), (name, function)
        for key, (function, args, kwargs) in table.cells(True, {}).items():
            # a worker process finds a cell's function by module and name
            assert getattr(importlib.import_module(function.__module__), function.__name__) is function, (name, key)
            assert function.__module__.startswith("recon.reproduce."), (name, key)


def test_list_names_every_table_on_one_line_each_without_importing_torch():
    code = ("import sys; from recon.cli import main; main(['reproduce', '--list']); "
            "print('torch' in sys.modules, 'distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == "False False"
    assert out[:-1] == describe_tables()
    assert [line.split()[0] for line in out[:-1]] == list(TABLES)


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "nope"], "no table 'nope'; known: radar, "),
    (["reproduce"], "name a table (recon reproduce --list names them)"),
])
def test_a_bad_table_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_workers_and_scheduler_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["reproduce", "multiband", "--workers", "1", "--scheduler", "tcp://localhost:1"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_markdown_escapes_pipes_and_csv_keeps_full_precision():
    report = Report("T", "a paper", "a set-up", ["method", "median |Δg|", "holds"],
                    [{"method": "RL", "median |Δg|": 0.034412345, "holds": False}],
                    [Claim("|Δg| falls", "by 1 %", "", True)], digits=4)
    page = report.markdown("made by a test")
    assert "| method | median \\|Δg\\| | holds |" in page
    assert "| RL | 0.0344 | does not hold |" in page
    assert "| \\|Δg\\| falls | by 1 % |  | **holds** |" in page
    rows = list(csv.reader(report.csv().splitlines()))
    assert rows == [["method", "median |Δg|", "holds"], ["RL", "0.0344123", "does not hold"]]


def test_quick_table_through_the_command_on_a_worker_process(tmp_path, capsys):
    """multiband --quick on one real worker process: the files, the table printed, and a rerun refused."""
    out = tmp_path / "tables"
    assert main(["reproduce", "multiband", "--quick", "--workers", "1", "--output-dir", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out / 'multiband-quick.md'}, ") and "(12 cells, " in printed
    assert sorted(p.name for p in out.iterdir()) == ["multiband-quick.csv", "multiband-quick.md", "multiband-quick.png"]
    page = (out / "multiband-quick.md").read_text()
    assert "Made by `recon reproduce multiband --quick`" in page and "12 cells on 1 worker" in page
    assert (out / "multiband-quick.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["reproduce", "multiband", "--quick", "--workers", "1", "--output-dir", str(out)]) == 2
    assert "exists (pass --overwrite to replace it)" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["report", "tables", "charts", "heldout", "runner", "multiband", "spiral_tap",
                                    "deblur_photographs", "mri_tutorial", "galaxy_shear", "radar", "weighted_tv",
                                    "pnp_vs_tv", "lpn_vs_tv", "limited_angle", "bilevel"])
def test_docstring_examples(module):
    import doctest

    found = doctest.testmod(importlib.import_module(f"recon.reproduce.{module}"), optionflags=doctest.ELLIPSIS)
    assert found.failed == 0 and found.attempted > 0, found


def test_every_table_has_its_full_page_in_the_docs_linked_from_reproductions():
    from conftest import REPO_ROOT

    reproductions = (REPO_ROOT / "docs" / "reproductions.md").read_text()
    for name in TABLES:
        folder = REPO_ROOT / "docs" / "reproduce"
        assert sorted(p.name for p in folder.glob(f"{name}.*")) == [f"{name}.{s}" for s in ("csv", "md", "png")]
        assert f"Made by `recon reproduce {name}` (recon " in (folder / f"{name}.md").read_text()
        assert f"(reproduce/{name}.md)" in reproductions, name


def test_the_summary_in_reproductions_counts_each_pages_verdicts_and_wall_time():
    """``docs/reproductions.md`` opens with one row per table: the claims that hold, of those its page tests, and
    the page's wall time, as the page itself says them."""
    import re

    from conftest import REPO_ROOT

    reproductions = (REPO_ROOT / "docs" / "reproductions.md").read_text()
    for name in TABLES:
        page = (REPO_ROOT / "docs" / "reproduce" / f"{name}.md").read_text()
        verdicts = re.findall(r"\| \*\*(holds|does not hold)\*\* \|$", page, re.MULTILINE)
        wall = re.search(r"wall time (.+?) \(", page).group(1)
        row = f"| [{name}](reproduce/{name}.md) | {verdicts.count('holds')} of {len(verdicts)} | {wall} |"
        assert row in reproductions, row
