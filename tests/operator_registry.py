"""Every forward operator of recon, small enough to test exhaustively.

Each entry builds one operator. ``tests/test_operator_registry.py`` runs the
same checks on all of them: the dot-product adjoint test, the norm against the
largest singular value of the dense matrix, batches, float32 and float64, and
CPU/GPU agreement when a GPU is present. A new operator joins by adding a case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from recon.operators import FanBeamCT, ParallelBeamCT
from recon.operators.scaled import ScaledOperator


@dataclass(frozen=True)
class OperatorCase:
    name: str
    build: Callable[[], object]
    computes_in_float32: bool = False  # astra's on-the-fly kernels work in float32 whatever the input


    def __str__(self):
        return self.name


def _arc(degrees: float, n: int) -> torch.Tensor:
    return torch.linspace(0, math.radians(degrees), n + 1)[:-1]


_SIZE = (16, 16)

REGISTRY = [
    OperatorCase("parallel-linear", lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE)),
    OperatorCase("parallel-line", lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, projector="line")),
    OperatorCase("parallel-strip", lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, projector="strip")),
    OperatorCase("parallel-linear-astra", lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, backend="astra"), computes_in_float32=True),
    OperatorCase("parallel-strip-astra",
                 lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, projector="strip", backend="astra"), computes_in_float32=True),
    OperatorCase("parallel-offset-pixelsize", lambda: ParallelBeamCT(
        _arc(180, 10), 30, image_shape=(16, 20), pixel_size=0.5, detector_spacing=0.4, centre_offset=2.5)),
    OperatorCase("parallel-limited-arc", lambda: ParallelBeamCT(_arc(60, 9), 24, image_shape=_SIZE)),
    OperatorCase("fan-line", lambda: FanBeamCT(_arc(360, 16), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE)),
    OperatorCase("fan-strip", lambda: FanBeamCT(
        _arc(360, 16), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE, projector="strip")),
    OperatorCase("fan-line-astra", lambda: FanBeamCT(
        _arc(360, 16), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE, backend="astra"), computes_in_float32=True),
    OperatorCase("fan-strip-astra", lambda: FanBeamCT(
        _arc(360, 16), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE, projector="strip", backend="astra"), computes_in_float32=True),
    OperatorCase("fan-offset-pixelsize", lambda: FanBeamCT(
        _arc(360, 16), 40, 8.0, 6.0, detector_spacing=0.3, image_shape=(16, 12), pixel_size=0.25, centre_offset=-1.5)),
    OperatorCase("scaled-parallel-mm", lambda: ScaledOperator(
        ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, pixel_size=0.25, detector_spacing=0.3), 4.0)),
    OperatorCase("fan-limited-arc", lambda: FanBeamCT(_arc(90, 10), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE)),
]
