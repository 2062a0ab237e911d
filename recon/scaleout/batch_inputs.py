"""What ``recon batch`` was given: files, globs and folders, expanded to input files, and each file's slices.

A multi-slice input in one of the layouts that store a stack of independent
slices (APS Data Exchange and NXtomo: one slice per detector row; fastMRI: one
per k-space slice; recon's own CT layout: one per stored sinogram) splits into
one task per slice; every other input is one task.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from recon.datasets.errors import InputError

#: The suffixes a folder's files must have to count as inputs.
INPUT_SUFFIXES = (".h5", ".hdf5", ".nx", ".nxs", ".mat", ".tif", ".tiff", ".hdr", ".cfl")


@dataclass(frozen=True)
class BatchInput:
    """One input file of a batch, with the output it will get and its slice count (1: not split).

    :param source: the input file.
    :param output: the volume output file (``OUTPUT_DIR/STEM_EXPERIMENT.h5``, as ``recon run`` names it).
    :param slices: the number of slice tasks; ``1`` reconstructs the whole file in one task.
    """

    source: Path
    output: Path
    slices: int = 1


def expand_inputs(given: list[str]) -> list[Path]:
    """The input files named by ``given``: files as they are, globs matched, folders' input files (sorted).

    :raises InputError: for a name that matches nothing.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b.h5", "a.h5", "notes.txt"):
    ...     _ = (folder / name).write_text("")
    >>> [p.name for p in expand_inputs([str(folder)])]
    ['a.h5', 'b.h5']
    >>> [p.name for p in expand_inputs([str(folder / "*.txt")])]
    ['notes.txt']
    """
    found: list[Path] = []
    for name in given:
        path = Path(name)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES
                             and not p.name.startswith("."))
            if not matches:
                raise InputError(path, None, f"a folder holding input files ({', '.join(INPUT_SUFFIXES)})", "none")
        elif glob.has_magic(name):
            matches = sorted(Path(p) for p in glob.glob(name) if Path(p).is_file())
            if not matches:
                raise InputError(name, None, "a pattern that matches input files", "no match")
        elif path.is_file():
            matches = [path]
        else:
            raise InputError(path, None, "an input file, folder or glob", "nothing there")
        found.extend(m for m in matches if m.suffix.lower() != ".hdr")   # BART: the .cfl names the pair
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique


def plan_inputs(paths: list[Path], output_dir: Path, experiment: str, *, split: bool) -> list[BatchInput]:
    """Each input with its output file and slice count; two inputs that would share an output are an error.

    :param split: count slices (``False`` when the config already picks one with ``input.index``).
    """
    planned, seen = [], {}
    for source in paths:
        output = output_dir / f"{source.stem}_{experiment}.h5"
        if output in seen:
            raise InputError(source, None, f"input names that give distinct outputs in {output_dir}",
                             f"the same output {output.name} as {seen[output]}")
        seen[output] = source
        planned.append(BatchInput(source, output, slice_count(source) if split else 1))
    return planned


def slice_count(path: Path) -> int:
    """The independent slices stored in ``path``, from its reader's ``describe`` (metadata only): 1 for a layout
    that is not split, or for a file that cannot be described (its task then fails with the reader's own
    one-line error)."""
    from recon.datasets.formats import SLICED_FORMATS, detect_format

    try:
        module = detect_format(path)
        if module.FORMAT not in SLICED_FORMATS:
            return 1
        return max(int(module.describe(path).n_slices), 1)
    except Exception:  # noqa: BLE001 - any failure here is the task's to report, in recon run's words
        return 1
