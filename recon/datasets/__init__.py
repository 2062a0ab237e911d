"""Data in and out of recon: readers and writers of real formats, phantoms, and simulated measurements.

Phantoms (:mod:`recon.datasets.phantoms`) are images of ``[-1, 1]²`` shaped
``(batch, 1, size, size)`` with values in ``[0, 1]``; the noise models of
:mod:`recon.datasets.simulate` turn clean measurements into noisy ones.

The names below are imported on first use, so that importing a light
submodule (``recon.datasets.atomic``, from the command line) does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Ellipse": "recon.datasets.phantoms",
    "random_phantom": "recon.datasets.phantoms",
    "random_phantoms": "recon.datasets.phantoms",
    "shepp_logan": "recon.datasets.phantoms",
    "shepp_logan_ellipses": "recon.datasets.phantoms",
    "add_gaussian_noise": "recon.datasets.simulate",
    "add_poisson_noise": "recon.datasets.simulate",
    "poisson_transmission": "recon.datasets.simulate",
    "flat_dark_correct": "recon.datasets.ct_raw",
    "negative_log": "recon.datasets.ct_raw",
    "estimate_rotation_centre": "recon.datasets.ct_raw",
    "sharpness_centre_search": "recon.datasets.ct_raw",
    "SharpnessSearch": "recon.datasets.ct_raw",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
