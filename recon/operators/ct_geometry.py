r"""2D CT scan geometries, and their translation into astra-toolbox geometries.

Conventions (shared by every CT operator, FBP and the readers):

- The image has ``image_shape = (rows, cols)`` square pixels of side
  ``pixel_size``, centred on the rotation axis. Row 0 is at the top
  (largest :math:`y`), column 0 on the left (smallest :math:`x`).
- Angles are in radians. At angle :math:`\theta` a parallel ray travels along
  :math:`(\sin\theta, -\cos\theta)` and the detector axis is
  :math:`u = (\cos\theta, \sin\theta)`; a fan-beam source sits at
  :math:`R_{so}(\sin\theta, -\cos\theta)` opposite the detector. This is
  astra-toolbox's convention, so angles from astra-based pipelines carry over.
- Detector pixel :math:`j` of ``n_detectors`` sits at
  :math:`(j - (n-1)/2 - \delta)\,\Delta_d` along :math:`u`, where
  :math:`\delta` = ``centre_offset`` in detector pixels: the rotation axis
  projects onto detector column :math:`(n-1)/2 + \delta`.
- Lengths (pixel size, detector spacing, distances) share one unit, usually
  millimetres, and a projection is a line integral in that unit.

astra is handed every length divided by ``pixel_size``, so its pixels are
unit squares; the operators scale the result back by ``pixel_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_angle_array(angles) -> np.ndarray:
    angles = np.asarray(getattr(angles, "cpu", lambda: angles)(), dtype=np.float64).reshape(-1)
    if angles.size == 0:
        raise ValueError("angles: expected at least one projection angle, got none")
    if not np.all(np.isfinite(angles)):
        raise ValueError("angles: expected finite values in radians, got NaN or inf")
    return angles


@dataclass(frozen=True)
class ParallelBeamGeometry:
    """A 2D parallel-beam scan: any list of angles, a flat detector, an off-centre axis."""

    angles: np.ndarray
    n_detectors: int
    detector_spacing: float = 1.0
    image_shape: tuple[int, int] = (256, 256)
    pixel_size: float = 1.0
    centre_offset: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "angles", _as_angle_array(self.angles))
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        _check_common(self)

    @property
    def n_angles(self) -> int:
        return int(self.angles.size)

    def vectors(self) -> np.ndarray:
        r"""astra ``parallel_vec`` rows (ray, detector centre, detector axis), in pixel units."""
        spacing = self.detector_spacing / self.pixel_size
        sin, cos = np.sin(self.angles), np.cos(self.angles)
        u = np.stack([cos, sin], axis=1) * spacing
        ray = np.stack([sin, -cos], axis=1)
        centre = -self.centre_offset * u
        return np.concatenate([ray, centre, u], axis=1)

    def astra_geometries(self, angle_slice=slice(None)):
        import astra

        vol = astra.create_vol_geom(*self.image_shape)
        proj = astra.create_proj_geom("parallel_vec", self.n_detectors, self.vectors()[angle_slice])
        return vol, proj


@dataclass(frozen=True)
class FanBeamGeometry:
    """A 2D fan-beam scan with a flat detector, any list of angles (full circle or an arc)."""

    angles: np.ndarray
    n_detectors: int
    source_origin: float
    origin_detector: float
    detector_spacing: float = 1.0
    image_shape: tuple[int, int] = (256, 256)
    pixel_size: float = 1.0
    centre_offset: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "angles", _as_angle_array(self.angles))
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        _check_common(self)
        for name in ("source_origin", "origin_detector"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name}: expected a positive distance, got {getattr(self, name)}")
        radius = 0.5 * self.pixel_size * float(np.hypot(*self.image_shape))
        if self.source_origin <= radius:
            raise ValueError(
                f"source_origin: the source ({self.source_origin}) must lie outside the image "
                f"(half-diagonal {radius:.4g} in the same unit)"
            )

    @property
    def n_angles(self) -> int:
        return int(self.angles.size)

    @property
    def magnification(self) -> float:
        return (self.source_origin + self.origin_detector) / self.source_origin

    def vectors(self) -> np.ndarray:
        r"""astra ``fanflat_vec`` rows (source, detector centre, detector axis), in pixel units."""
        scale = 1.0 / self.pixel_size
        sin, cos = np.sin(self.angles), np.cos(self.angles)
        u = np.stack([cos, sin], axis=1) * self.detector_spacing * scale
        source = np.stack([sin, -cos], axis=1) * self.source_origin * scale
        centre = np.stack([-sin, cos], axis=1) * self.origin_detector * scale - self.centre_offset * u
        return np.concatenate([source, centre, u], axis=1)

    def astra_geometries(self, angle_slice=slice(None)):
        """astra volume and projection geometries, in pixel units.

        A centred detector uses astra's plain ``fanflat`` geometry, which its
        ``strip`` kernel supports; an offset detector needs ``fanflat_vec``.
        """
        import astra

        vol = astra.create_vol_geom(*self.image_shape)
        if self.centre_offset == 0:
            proj = astra.create_proj_geom(
                "fanflat", self.detector_spacing / self.pixel_size, self.n_detectors,
                self.angles[angle_slice], self.source_origin / self.pixel_size,
                self.origin_detector / self.pixel_size,
            )
        else:
            proj = astra.create_proj_geom("fanflat_vec", self.n_detectors, self.vectors()[angle_slice])
        return vol, proj


def _check_common(geometry) -> None:
    if int(geometry.n_detectors) < 1:
        raise ValueError(f"n_detectors: expected a positive integer, got {geometry.n_detectors}")
    if len(geometry.image_shape) != 2 or min(geometry.image_shape) < 1:
        raise ValueError(f"image_shape: expected (rows, cols) of positive integers, got {geometry.image_shape}")
    for name in ("detector_spacing", "pixel_size"):
        if not float(getattr(geometry, name)) > 0:
            raise ValueError(f"{name}: expected a positive length, got {getattr(geometry, name)}")
    if not np.isfinite(geometry.centre_offset):
        raise ValueError(f"centre_offset: expected a finite number of detector pixels, got {geometry.centre_offset}")
