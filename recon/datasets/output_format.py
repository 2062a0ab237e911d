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

from recon.datasets.output_writer import LAYOUT, VERSION  # noqa: F401 - the layout's name, read here by others


def sha256_of(path) -> str:
    """Hex SHA-256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_output(path, *, reconstruction, config_yaml: str, provenance: dict, metrics: dict,
                 per_slice: dict | None = None, phase=None, history=None, ground_truth=None, reference=None,
                 reference_name: str = "", experiment: str = "", std=None, samples=None, segmentation=None) -> Path:
    """Write an output file (to ``path`` directly: callers wrap it in :func:`recon.datasets.atomic.atomic_output`).
    One :class:`~recon.datasets.output_writer.OutputWriter` append of the whole volume; ``history`` is a solver's
    History or its columns as a dict.

    >>> import tempfile, pathlib, torch, h5py
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.h5"
    >>> _ = write_output(path, reconstruction=torch.zeros(1, 1, 4, 4), config_yaml="name: x\\n",
    ...                  provenance={"device": "cpu"}, metrics={})
    >>> h5py.File(path)["reconstruction"].shape
    (1, 4, 4)
    """
    from recon.datasets.output_writer import OutputWriter

    writer = OutputWriter(path, experiment=experiment)
    try:
        writer.append(reconstruction=reconstruction, phase=phase, std=std, samples=samples,
                      segmentation=segmentation, ground_truth=ground_truth, reference=reference,
                      reference_name=reference_name, per_slice=per_slice,
                      history=history if history is None or isinstance(history, dict) else history.as_dict())
    except BaseException:
        writer.file.close()
        raise
    writer.finish(config_yaml=config_yaml, provenance=provenance, metrics=metrics)
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
