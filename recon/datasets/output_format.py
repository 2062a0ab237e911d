r"""recon's output HDF5: the reconstruction with everything needed to judge it and to rerun it.

::

    /                 attrs  recon_format = "reconstruction", format_version = 1, experiment
    /reconstruction   float32 (slices, rows, cols); radar: |x|, (scans, nx, ny, nz)
    /phase            float32 radar only: the angle of x in radians, shaped like /reconstruction
    /ground_truth     float32 (slices, rows, cols), when the input had one, on the reconstruction's grid (radar: |x|)
    /reference        float32 (slices, rows, cols), attrs name (e.g. the organisers' FBP), when present, ditto
    /metrics          attrs  psnr_db, ssim, nrmse (means over slices, against the ground truth),
                             reference_correlation (Pearson, against the reference); radar: psnr3d_db
                             (recon.metrics.psnr3d, per scan); per-slice datasets
    /config           attrs  yaml: the resolved experiment config, with the input path
    /provenance       attrs  recon_version, torch_version, input_path, input_sha256, input_format,
                             started (ISO 8601, UTC), seconds, device, stop_reason, iterations
    /history          objective, residual, relative_change, seconds: one entry per iteration

``/reconstruction`` has the name fastMRI's evaluation scripts read.
``recon run OUTPUT.h5`` reruns the experiment stored in ``/config``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

LAYOUT = "reconstruction"
VERSION = 1


def sha256_of(path) -> str:
    """Hex SHA-256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _attribute(value):
    """A value h5py stores as a plain attribute (str subclasses such as torch's version become str)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    return value


def _images(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()[:, 0].astype(np.float32)


def write_output(path, *, reconstruction, config_yaml: str, provenance: dict, metrics: dict,
                 per_slice: dict | None = None, phase=None, history=None, ground_truth=None, reference=None,
                 reference_name: str = "", experiment: str = "", std=None, samples=None, segmentation=None) -> Path:
    """Write an output file (to ``path`` directly: callers wrap it in :func:`recon.datasets.atomic.atomic_output`).

    >>> import tempfile, pathlib, torch, h5py
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.h5"
    >>> _ = write_output(path, reconstruction=torch.zeros(1, 1, 4, 4), config_yaml="name: x\\n",
    ...                  provenance={"device": "cpu"}, metrics={})
    >>> h5py.File(path)["reconstruction"].shape
    (1, 4, 4)
    """
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs.update({"recon_format": LAYOUT, "format_version": VERSION, "experiment": experiment})
        f.create_dataset("reconstruction", data=_images(reconstruction), compression="gzip", compression_opts=4)
        if phase is not None:
            f.create_dataset("phase", data=_images(phase), compression="gzip", compression_opts=4)
        if std is not None:             # posterior samplers: per-pixel standard deviation of the mean
            f.create_dataset("std", data=_images(std), compression="gzip", compression_opts=4)
        if samples is not None:         # ... and the samples, (samples, slices, ...)
            f.create_dataset("samples", data=np.stack([_images(s) for s in samples]), compression="gzip",
                             compression_opts=4)
        if segmentation is not None:    # output.segment: the binary segmentation, (slices, ...) uint8
            f.create_dataset("segmentation", data=_images(segmentation).astype(np.uint8), compression="gzip",
                             compression_opts=4)
        if ground_truth is not None:
            f.create_dataset("ground_truth", data=_images(ground_truth), compression="gzip", compression_opts=4)
        if reference is not None:
            node = f.create_dataset("reference", data=_images(reference), compression="gzip", compression_opts=4)
            node.attrs["name"] = reference_name
        group = f.create_group("metrics")
        group.attrs.update({k: float(v) for k, v in metrics.items()})
        for name, values in (per_slice or {}).items():
            group.create_dataset(name, data=np.asarray(values, dtype=np.float64))
        f.create_group("config").attrs["yaml"] = config_yaml
        f.create_group("provenance").attrs.update({k: _attribute(v) for k, v in provenance.items()})
        columns = f.create_group("history")
        if history is not None:
            for name, values in history.as_dict().items():
                columns.create_dataset(name, data=np.asarray(values, dtype=np.float64))
    return Path(path)


def is_output_file(path) -> bool:
    """Whether ``path`` is an HDF5 file written by :func:`write_output`."""
    import h5py

    path = Path(path)
    if not path.is_file() or not h5py.is_hdf5(path):
        return False
    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("recon_format") in (LAYOUT, LAYOUT.encode())
    except OSError:
        return False


def stored_config(path) -> str:
    """The resolved config YAML stored in an output file."""
    import h5py

    from recon.datasets.errors import InputError

    with h5py.File(path, "r") as f:
        if "config" not in f or "yaml" not in f["config"].attrs:
            raise InputError(path, "config@yaml", "the stored experiment config", "none")
        text = f["config"].attrs["yaml"]
    return text.decode() if isinstance(text, bytes) else str(text)
