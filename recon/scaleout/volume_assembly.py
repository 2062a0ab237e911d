r"""One volume output from the per-slice outputs of a split input, in the layout ``recon run`` writes.

The slice outputs (each a complete :mod:`recon.datasets.output_format` file of
one slice) are stacked along the first axis; the metrics' per-slice values are
concatenated and their means recomputed over all slices, as ``recon run``
computes them for a volume; ``/config`` holds the whole-file experiment (no
``input.index``), so ``recon run VOLUME.h5`` reruns the volume. What differs
from one ``recon run`` over the file: ``/history`` holds one row per slice
(``(slices, iterations)``, NaN past a slice's last iteration) instead of one
shared history, and the provenance's ``seconds`` is the sum over slices.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

#: Datasets stacked along the slice axis, and ``samples`` (``(samples, slices, ...)``) along its second.
STACKED = ("reconstruction", "phase", "std", "segmentation", "ground_truth", "reference")


def assemble_volume(parts: list[Path], target: Path, config_yaml: str, *, overwrite: bool = True) -> Path:
    """Write ``target`` from the slice outputs ``parts`` (in slice order), atomically.

    >>> import tempfile, pathlib, torch, h5py
    >>> from recon.datasets.output_format import write_output
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> parts = [write_output(folder / f"s{i}.h5", reconstruction=torch.full((1, 1, 2, 2), float(i)),
    ...                       config_yaml="name: x\\n", provenance={"seconds": 1.0}, metrics={"psnr_db": 20.0 + i},
    ...                       per_slice={"psnr_db": [20.0 + i]}) for i in range(3)]
    >>> volume = assemble_volume(parts, folder / "volume.h5", "name: x\\n")
    >>> with h5py.File(volume) as f:
    ...     f["reconstruction"].shape, float(f["metrics"].attrs["psnr_db"]), float(f["provenance"].attrs["seconds"])
    ((3, 2, 2), 21.0, 3.0)
    """
    import h5py

    from recon.datasets.atomic import atomic_output

    handles = [h5py.File(part, "r") for part in parts]
    try:
        with atomic_output(target, overwrite=overwrite) as temporary, h5py.File(temporary, "w") as out:
            first = handles[0]
            out.attrs.update(dict(first.attrs))
            for name in STACKED:
                if name in first:
                    _stack(out, name, [h[name][()] for h in handles], axis=0, attrs=dict(first[name].attrs))
            if "samples" in first:
                _stack(out, "samples", [h["samples"][()] for h in handles], axis=1, attrs={})
            _metrics(out.create_group("metrics"), [h["metrics"] for h in handles])
            out.create_group("config").attrs["yaml"] = config_yaml
            _provenance(out.create_group("provenance"), [dict(h["provenance"].attrs) for h in handles])
            _history(out.create_group("history"), [h["history"] for h in handles])
    finally:
        for handle in handles:
            handle.close()
    return target


def _stack(out, name: str, arrays: list, *, axis: int, attrs: dict) -> None:
    node = out.create_dataset(name, data=np.concatenate(arrays, axis=axis), compression="gzip", compression_opts=4)
    node.attrs.update(attrs)


def _metrics(group, parts: list) -> None:
    """Per-slice values concatenated, means over every slice (what ``recon run`` stores for a volume)."""
    names = [name for name in parts[0] if all(name in part for part in parts)]
    for name in names:
        values = np.concatenate([np.asarray(part[name][()], dtype=np.float64).reshape(-1) for part in parts])
        group.create_dataset(name, data=values)
        group.attrs[name] = float(values.mean())
    for name, value in parts[0].attrs.items():      # a mean with no per-slice values (none today): kept
        if name not in group.attrs and all(name in part.attrs for part in parts):
            group.attrs[name] = float(np.mean([float(part.attrs[name]) for part in parts]))


def _provenance(group, parts: list[dict]) -> None:
    merged = dict(parts[0])
    merged["seconds"] = float(sum(float(p.get("seconds", 0.0)) for p in parts))
    merged["iterations"] = int(max(int(p.get("iterations", 0)) for p in parts))
    merged["started"] = min(str(p.get("started", "")) for p in parts)
    reasons = sorted({str(p.get("stop_reason", "")) for p in parts})
    merged["stop_reason"] = "; ".join(reasons)
    strengths = [p.get("prior_strength") for p in parts]
    if all(isinstance(s, (float, np.floating)) for s in strengths) and len(set(strengths)) > 1:
        merged["prior_strength"] = np.asarray(strengths, dtype=np.float64)    # auto: chosen per slice
    merged["assembled_slices"] = len(parts)
    group.attrs.update(merged)


def _history(group, parts: list) -> None:
    """``(slices, iterations)`` columns, NaN-padded where a slice stopped earlier."""
    names = [name for name in parts[0] if all(name in part for part in parts)]
    for name in names:
        rows = [np.asarray(part[name][()], dtype=np.float64).reshape(-1) for part in parts]
        table = np.full((len(rows), max((r.size for r in rows), default=0)), np.nan)
        for index, row in enumerate(rows):
            table[index, :row.size] = row
        group.create_dataset(name, data=table)


def copy_figure(part_figure: Path | None, target_figure: Path | None) -> None:
    """The volume's PNG is slice 0's (``recon run``'s figure shows slice 0)."""
    if part_figure is None or target_figure is None or not part_figure.is_file():
        return
    from recon.datasets.atomic import atomic_output

    with atomic_output(target_figure, overwrite=True) as temporary:
        shutil.copyfile(part_figure, temporary)
