r"""Fewer views of a CT measurement: every k-th view, or only those in an arc (sparse-view and limited-angle CT).

The HTC2022 challenge scored reconstructions from arcs of 30° to 90° cut out of
full scans; ``input.arc_deg`` and ``input.view_step`` make such inputs from any
file without writing a new one.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np


def select_views(measurement, *, step: int = 1, arc_deg=None):
    """The measurement with only every ``step``-th view, and only views in ``arc_deg = (start, length)``.

    Angles are compared modulo 360°, so an arc may wrap past 360°.

    >>> import numpy as np, torch
    >>> from recon.datasets.measurement import Measurement
    >>> from recon.operators.ct_geometry import ParallelBeamGeometry
    >>> g = ParallelBeamGeometry(np.deg2rad(np.arange(0, 360, 10.0)), 8, image_shape=(4, 4))
    >>> m = Measurement("ct", torch.zeros(1, 1, 36, 8), g, "recon", None)
    >>> select_views(m, step=2, arc_deg=(350, 60)).geometry.angles.round(4).tolist()
    [0.0, 0.3491, 0.6981]
    """
    if step < 1:
        raise ValueError(f"input.view_step: expected an integer >= 1, got {step}")
    angles = np.asarray(measurement.geometry.angles, dtype=np.float64)
    keep = np.zeros(angles.size, dtype=bool)
    keep[::step] = True
    if arc_deg is not None:
        start, length = (float(v) for v in arc_deg)
        if not 0 < length <= 360:
            raise ValueError(f"input.arc_deg: expected [start, length] with 0 < length <= 360, got {list(arc_deg)}")
        offset = np.mod(np.rad2deg(angles) - start, 360.0)
        keep &= offset <= length + 1e-9
    if keep.all():
        return measurement
    if not keep.any():
        raise ValueError(f"input.arc_deg / input.view_step: no view of {angles.size} is left "
                         f"(angles {math.degrees(angles[0]):.4g}° to {math.degrees(angles[-1]):.4g}°)")
    index = np.nonzero(keep)[0]
    geometry = replace(measurement.geometry, angles=angles[index])
    metadata = {**measurement.metadata, "views_kept": int(index.size), "views_in_file": int(angles.size)}
    return replace(measurement, data=measurement.data[:, :, index], geometry=geometry, metadata=metadata)
