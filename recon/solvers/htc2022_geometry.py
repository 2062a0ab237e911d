"""The HTC2022 scanner's fan beam (docs/htc2022.md), which the limited-angle network is trained for.

Its numbers, and whether a scan geometry is it, with no torch: ``recon info`` asks
this of a file to say whether ``ct-limited-angle`` fits it, and
:mod:`recon.solvers.limited_angle` builds its operators from the same numbers.

>>> from recon.operators.ct_geometry import FanBeamGeometry
>>> is_htc_geometry(FanBeamGeometry([0.0, 1.0], DETECTORS, SOURCE_ORIGIN, ORIGIN_DETECTOR,
...                                 detector_spacing=DETECTOR_SPACING, image_shape=(512, 512), pixel_size=PIXEL))
True
"""

from __future__ import annotations

#: the challenge's geometry: lengths in mm
SOURCE_ORIGIN, ORIGIN_DETECTOR = 410.66, 553.74 - 410.66
DETECTORS, DETECTOR_SPACING = 560, 0.2
PIXEL, FULL_GRID = 0.1483223173330444, 512


def is_htc_geometry(geometry) -> bool:
    """Whether ``geometry`` is the HTC2022 fan beam the limited-angle model was trained for (to 0.1 %)."""
    from recon.operators.ct_geometry import FanBeamGeometry

    if not isinstance(geometry, FanBeamGeometry):
        return False
    expected = (SOURCE_ORIGIN, ORIGIN_DETECTOR, DETECTORS, DETECTOR_SPACING)
    found = (geometry.source_origin, geometry.origin_detector, geometry.n_detectors, geometry.detector_spacing)
    return all(abs(float(a) - float(b)) <= 1e-3 * abs(float(a)) for a, b in zip(expected, found))
