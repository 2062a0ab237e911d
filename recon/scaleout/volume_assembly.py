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

from recon.datasets.output_writer import SLICE_IMAGES as STACKED  # stacked along the slice axis (samples: its second)


def assemble_volume(parts: list[Path], target: Path, config_yaml: str, *, overwrite: bool = True) -> Path:
    """Write ``target`` from the slice outputs ``parts`` (in slice order), atomically, one part in memory at a time.

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

    from recon.datasets.atomic import unnamed_output
    from recon.datasets.output_writer import OutputWriter, merged_provenance

    provenances = []
    with unnamed_output(target, overwrite=overwrite) as handle:
        writer = None
        try:
            for part in parts:
                with h5py.File(part, "r") as f:
                    if writer is None:
                        writer = OutputWriter(handle, experiment=str(f.attrs.get("experiment", "")))
                    writer.append(**{name: f[name][()] for name in STACKED if name in f},
                                  samples=f["samples"][()] if "samples" in f else None,
                                  reference_name=str(f["reference"].attrs.get("name", "")) if "reference" in f else "",
                                  per_slice={name: f["metrics"][name][()] for name in f["metrics"]},
                                  history={name: f["history"][name][()] for name in f["history"]})
                    provenances.append(dict(f["provenance"].attrs))
        except BaseException:
            if writer is not None:
                writer.file.close()
            raise
        provenance = merged_provenance(provenances)
        provenance["assembled_slices"] = len(parts)
        writer.finish(config_yaml=config_yaml, provenance=provenance)
    return target


def copy_figure(part_figure: Path | None, target_figure: Path | None) -> None:
    """The volume's PNG is slice 0's (``recon run``'s figure shows slice 0)."""
    if part_figure is None or target_figure is None or not part_figure.is_file():
        return
    from recon.datasets.atomic import atomic_output

    with atomic_output(target_figure, overwrite=True) as temporary:
        shutil.copyfile(part_figure, temporary)
