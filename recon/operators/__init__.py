"""Forward models :math:`y = A x`, each a :class:`deepinv.physics.LinearPhysics` with an exact adjoint.

The names below are imported on first use: deepinv (and with it torchvision and
torch's compiler stack) loads only when an operator is built, so that reading a
geometry (:mod:`recon.operators.ct_geometry`, numpy only) or filtered
back-projection (:func:`fbp`, torch only) does not pay for it.

>>> import sys
>>> from recon.operators import ParallelBeamCT
>>> issubclass(ParallelBeamCT, sys.modules["deepinv"].physics.LinearPhysics)
True
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Operator": "recon.operators.base",
    "Blur": "recon.operators.blur",
    "FanBeamCT": "recon.operators.ct",
    "ParallelBeamCT": "recon.operators.ct",
    "Downsample": "recon.operators.downsample",
    "fbp": "recon.operators.filtered_backprojection",
    "NearFieldMIMO": "recon.operators.mimo",
    "MultiCoilMRI": "recon.operators.mri",
    "SingleCoilMRI": "recon.operators.mri",
}

__all__ = ["Operator", "ParallelBeamCT", "FanBeamCT", "fbp", "SingleCoilMRI", "MultiCoilMRI", "NearFieldMIMO", "Blur",
           "Downsample"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
