r"""Write recon's output layout a slice at a time: what ``recon run`` writes, whether the volume is in memory or not.

:func:`recon.datasets.output_format.write_output` writes a whole reconstruction
with one :meth:`OutputWriter.append`; a streamed run (:mod:`recon.experiments.streamed_run`)
and ``recon batch``'s volume assembly (:mod:`recon.scaleout.volume_assembly`) append
one slice after another, so that what they hold is one slice, never the volume.
Image datasets are chunked one slice per chunk and grow along the slice axis
(``samples``, stored ``(samples, slices, ...)``, along its second axis).

The metrics group holds each metric's per-slice values and, as attributes,
their means over every slice appended: for :math:`S` slices with values
:math:`m_s`, :math:`\bar m = \frac1S\sum_s m_s`, the mean ``recon run`` reports.
The history is one column per quantity for a single solve, and a
``(slices, iterations)`` table (NaN past a slice's last iteration) when several
solves were appended.

>>> import io, h5py, numpy as np
>>> buffer = io.BytesIO()
>>> writer = OutputWriter(buffer, experiment="x")
>>> for k in range(3):
...     writer.append(reconstruction=np.full((1, 2, 2), float(k)), per_slice={"psnr_db": [20.0 + k]},
...                   history={"objective": [3.0, 2.0, 1.0][:k + 1]})
>>> writer.finish(config_yaml="name: x\n", provenance={"seconds": 1.5})
>>> with h5py.File(buffer, "r") as f:
...     f["reconstruction"].shape, float(f["metrics"].attrs["psnr_db"]), f["history/objective"].shape
((3, 2, 2), 21.0, (3, 3))
"""

from __future__ import annotations

import numpy as np

#: The layout's name and version, in every output file's attributes.
LAYOUT, VERSION = "reconstruction", 1

#: Image datasets with one entry per slice along their first axis.
SLICE_IMAGES = ("reconstruction", "phase", "std", "segmentation", "ground_truth", "reference")


def _attribute(value):
    """A value h5py stores as a plain attribute (str subclasses such as torch's version become str)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    return value


def as_images(values) -> np.ndarray:
    """``(slices, H, W)`` or deeper as float32 numpy: a torch ``(slices, 1, ...)`` tensor loses its channel axis."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()[:, 0]
    return np.asarray(values, dtype=np.float32)


class OutputWriter:
    """An output file in recon's layout, filled slice by slice; :meth:`finish` completes and closes it.

    :param target: a path or a writable binary file object (the caller makes it atomic).
    :param experiment: the experiment's name, stored as an attribute.
    """

    def __init__(self, target, *, experiment: str = ""):
        import h5py

        self.file = h5py.File(target, "w")
        self.file.attrs.update({"recon_format": LAYOUT, "format_version": VERSION, "experiment": experiment})
        self.slices = 0
        self.per_slice: dict[str, list[float]] = {}
        self.histories: list[dict] = []

    def append(self, *, reconstruction, phase=None, std=None, samples=None, segmentation=None, ground_truth=None,
               reference=None, reference_name: str = "", per_slice: dict | None = None,
               history: dict | None = None) -> None:
        """Add the next slice(s): images ``(k, H, W)`` (or torch ``(k, 1, H, W)``), ``samples`` ``(n, k, ...)``,
        their per-slice metrics (``{name: k values}``) and the solve's history columns."""
        images = {"reconstruction": reconstruction, "phase": phase, "std": std, "segmentation": segmentation,
                  "ground_truth": ground_truth, "reference": reference}
        count = None
        for name, values in images.items():
            if values is None:
                continue
            array = as_images(values)
            if name == "segmentation":
                array = array.astype(np.uint8)
            count = array.shape[0]
            self._grow(name, array, axis=0)
            if name == "reference" and not self.slices:
                self.file[name].attrs["name"] = reference_name
        if samples is not None:
            self._grow("samples", np.stack([as_images(s) for s in samples]), axis=1)
        for name, values in (per_slice or {}).items():
            self.per_slice.setdefault(name, []).extend(float(v) for v in values)
        if history is not None:
            self.histories.append({name: np.asarray(v, dtype=np.float64).reshape(-1) for name, v in history.items()})
        self.slices += count

    def _grow(self, name: str, array: np.ndarray, *, axis: int) -> None:
        if name not in self.file:
            if self.slices:
                raise ValueError(f"output: {name} starts at slice {self.slices}; expected it from the first slice")
            chunks = list(array.shape)
            chunks[axis] = 1
            maxshape = list(array.shape)
            maxshape[axis] = None
            self.file.create_dataset(name, data=array, maxshape=tuple(maxshape), chunks=tuple(chunks),
                                     compression="gzip", compression_opts=4)
            return
        node = self.file[name]
        start = node.shape[axis]
        node.resize(start + array.shape[axis], axis=axis)
        index = [slice(None)] * node.ndim
        index[axis] = slice(start, start + array.shape[axis])
        node[tuple(index)] = array

    def means(self) -> dict[str, float]:
        """Each metric's mean over every slice appended so far."""
        return {name: float(np.mean(values)) for name, values in self.per_slice.items() if values}

    def finish(self, *, config_yaml: str, provenance: dict, metrics: dict | None = None) -> None:
        """Write the metrics (means over the slices, or ``metrics`` as given), config, provenance and history;
        close the file."""
        try:
            group = self.file.create_group("metrics")
            group.attrs.update({k: float(v) for k, v in (self.means() if metrics is None else metrics).items()})
            for name, values in self.per_slice.items():
                group.create_dataset(name, data=np.asarray(values, dtype=np.float64))
            self.file.create_group("config").attrs["yaml"] = config_yaml
            self.file.create_group("provenance").attrs.update({k: _attribute(v) for k, v in provenance.items()})
            columns = self.file.create_group("history")
            for name, values in history_table(self.histories).items():
                columns.create_dataset(name, data=values)
        finally:
            self.file.close()


def history_table(histories: list[dict]) -> dict[str, np.ndarray]:
    """One solve's columns as they are; several solves' as ``(solves, iterations)``, NaN-padded.

    >>> history_table([{"objective": [2.0, 1.0]}, {"objective": [5.0]}])["objective"]
    array([[ 2.,  1.],
           [ 5., nan]])
    """
    if len(histories) == 1:
        return {name: np.asarray(values, dtype=np.float64) for name, values in histories[0].items()}
    names = [name for name in (histories[0] if histories else {}) if all(name in h for h in histories)]
    tables = {}
    for name in names:
        rows = [np.asarray(h[name], dtype=np.float64).reshape(-1) for h in histories]
        table = np.full((len(rows), max((r.size for r in rows), default=0)), np.nan)
        for index, row in enumerate(rows):
            table[index, :row.size] = row
        tables[name] = table
    return tables


def merged_provenance(parts: list[dict]) -> dict:
    """The provenance of a volume solved slice by slice: the first slice's, with the seconds summed, the most
    iterations, every stop reason, the earliest start, and the prior strength per slice where it differs.

    >>> merged = merged_provenance([{"seconds": 1.0, "iterations": 5, "stop_reason": "max_iter", "prior_strength": 0.1},
    ...                             {"seconds": 2.0, "iterations": 3, "stop_reason": "tolerance", "prior_strength": 0.2}])
    >>> merged["seconds"], merged["iterations"], merged["stop_reason"], merged["prior_strength"].tolist()
    (3.0, 5, 'max_iter; tolerance', [0.1, 0.2])
    """
    merged = dict(parts[0])
    merged["seconds"] = float(sum(float(p.get("seconds", 0.0)) for p in parts))
    merged["iterations"] = int(max(int(p.get("iterations", 0)) for p in parts))
    merged["started"] = min(str(p.get("started", "")) for p in parts)
    merged["stop_reason"] = "; ".join(sorted({str(p.get("stop_reason", "")) for p in parts}))
    strengths = [p.get("prior_strength") for p in parts]
    if all(isinstance(s, (float, np.floating)) for s in strengths) and len(set(strengths)) > 1:
        merged["prior_strength"] = np.asarray(strengths, dtype=np.float64)    # auto: chosen per slice
    return merged
