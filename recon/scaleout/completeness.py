"""Whether an output already on disk is a complete result of this experiment on this input (a rerun skips it).

Being there is not enough: the file must open as a recon output, hold a finite
reconstruction of the expected number of slices, come from this very input
(its SHA-256) and this very experiment (the stored config, paths aside), and
have its figure beside it when the experiment writes one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Config keys that name where a run read and wrote, not what it computed.
PATH_KEYS = (("input", "path"), ("output", "path"))


def comparable_config(config: dict) -> dict:
    """``config`` without its input and output paths: two runs with equal comparable configs compute the same."""
    copy = {section: dict(values) if isinstance(values, dict) else values for section, values in config.items()}
    for section, key in PATH_KEYS:
        if isinstance(copy.get(section), dict):
            copy[section].pop(key, None)
    return copy


def is_complete(output: Path, *, config: dict, input_sha256: str, slices: int | None = None) -> bool:
    """Whether ``output`` is a complete result of ``config`` on the input whose SHA-256 is ``input_sha256``.

    :param slices: the number of slices the reconstruction must have (``None``: any).

    >>> import tempfile, pathlib
    >>> is_complete(pathlib.Path(tempfile.mkdtemp()) / "missing.h5", config={}, input_sha256="0")
    False
    """
    import h5py
    import yaml

    output = Path(output)
    if not output.is_file() or not h5py.is_hdf5(output):
        return False
    try:
        with h5py.File(output, "r") as f:
            if f.attrs.get("recon_format") not in ("reconstruction", b"reconstruction") or "reconstruction" not in f:
                return False
            if str(f["provenance"].attrs.get("input_sha256", "")) != input_sha256:
                return False
            stored = yaml.safe_load(_text(f["config"].attrs["yaml"]))
            image = f["reconstruction"]
            if slices is not None and image.shape[0] != slices:
                return False
            finite = bool(np.isfinite(image[()]).all())
    except (OSError, KeyError, RuntimeError, ValueError, yaml.YAMLError):      # damaged or foreign: redo it
        return False
    if not finite or not isinstance(stored, dict) or comparable_config(stored) != comparable_config(config):
        return False
    wants_figure = bool(config.get("output", {}).get("figure"))
    return not wants_figure or output.with_suffix(".png").is_file()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
