r"""Synthetic HTC2022-like phantoms: acrylic discs with holes, and their noisy fan-beam scans.

Training data for limited-angle CT in the Helsinki Tomography Challenge 2022 setting
(:mod:`recon.datasets.htc2022`, ``docs/htc2022.md``): the challenge's phantoms are 70 mm acrylic
discs with holes of many shapes, scanned in one fan-beam geometry. The numbers below were measured
on the real training scans (``../shared/testdata/ct/htc2022``, the organisers' full-angle FBPs, in
1/mm on their 512 × 512 grid of 0.14832 mm pixels):

* **the disc**: radius 235 px (34.9 mm) on the grid, centred within about ±10 px of the grid centre;
  its attenuation rises from the centre to the rim (beam hardening's cupping), fitted by
  :math:`\mu(r) = 0.02828 + 0.00442\,(r/R)^2 + 0.00718\,(r/R)^4` mm⁻¹ (rms misfit 0.0016 on
  the solid disc);
* **the holes**: the scans' segmentations cover 38–60 % of the image against 66 % for the solid
  disc: the holes remove 10–40 % of it. Here 1–12 holes per disc, each an ellipse, a rotated
  rectangle or a triangle of 3–30 mm, inside the disc with a 2 mm rim, not overlapping;
* **the noise**: Poisson counts :math:`N \sim \mathrm{Poisson}(N_0 e^{-s})` behind each line
  integral :math:`s`, :math:`\hat s = -\log(N/N_0)`, with :math:`N_0 = 6.5 \cdot 10^4`: it gives the
  standard deviation of the real sinograms' view-to-view differences, 0.0041 in air and 0.012
  behind the disc's centre (:math:`s \approx 2.25`).

The segmentation of a phantom (disc minus holes) is what the challenge scores.

>>> phantom = disc_phantom(0, size=128)
>>> tuple(phantom.image.shape), phantom.image.dtype, 0.02 < float(phantom.image.max()) < 0.045
((128, 128), torch.float32, True)
>>> 0.35 < float(phantom.segmentation.float().mean()) < 0.66
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

GRID = 512
PIXEL_MM = 0.1483223173330444          # effectivePixelSizePost
DISC_RADIUS_PX = 235.0
PROFILE = (0.02828, 0.00442, 0.00718)  # μ(r) = a + b (r/R)² + c (r/R)⁴, 1/mm
COUNTS = 6.5e4                         # N₀ of the Poisson model (module text)


@dataclass
class DiscPhantom:
    """One phantom: attenuation ``image`` (1/mm, ``(size, size)``), its binary ``segmentation``, hole count."""

    image: torch.Tensor
    segmentation: torch.Tensor
    holes: int


def _shape_mask(kind: str, rows, cols, centre, size_px, angle, aspect) -> torch.Tensor:
    y, x = rows - centre[0], cols - centre[1]
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * x + s * y, -s * x + c * y
    half = size_px / 2
    if kind == "ellipse":
        return (u / half) ** 2 + (v / (half * aspect)) ** 2 <= 1
    if kind == "rectangle":
        return (u.abs() <= half) & (v.abs() <= half * aspect)
    # triangle: three half-planes around the centre
    inside = torch.ones_like(u, dtype=torch.bool)
    for k in range(3):
        phi = 2 * math.pi * k / 3
        inside &= (math.cos(phi) * u + math.sin(phi) * v) <= half / 2
    return inside


def _cell_holes(rows, cols, centre, radius, scale, uniform, generator) -> tuple[torch.Tensor, int]:
    """Holes that are the cells of a Voronoi partition of the disc: thin walls and a rim left (like ``tb``)."""
    count = int(torch.randint(8, 17, (), generator=generator))
    rim = uniform(3.0, 6.0) / PIXEL_MM * scale
    wall = uniform(2.0, 4.0) / PIXEL_MM * scale
    sites = []
    while len(sites) < count:
        distance, direction = radius * 0.95 * math.sqrt(uniform(0, 1)), uniform(0, 2 * math.pi)
        sites.append((centre[0] + distance * math.sin(direction), centre[1] + distance * math.cos(direction)))
    points = torch.stack([rows.flatten(), cols.flatten()], dim=1)
    distances = torch.cdist(points, torch.tensor(sites, dtype=points.dtype)).reshape(*rows.shape, count)
    nearest = distances.topk(2, dim=-1, largest=False).values
    inside = torch.hypot(rows - centre[0], cols - centre[1]) < radius - rim
    return inside & ((nearest[..., 1] - nearest[..., 0]) / 2 > wall / 2), count


def disc_phantom(seed: int, *, size: int = GRID, pattern: str = "holes") -> DiscPhantom:
    """A seeded HTC2022-like phantom on a ``size``² grid covering the challenge's field of view (module text).

    ``pattern``: ``holes`` (1–12 separate shapes) or ``cells`` (the disc cut into 8–16 Voronoi cells with
    walls of 2–4 mm and a rim of 3–6 mm, the pattern of the ``tb`` scan).
    """
    if pattern not in ("holes", "cells"):
        raise ValueError(f"disc_phantom: pattern must be 'holes' or 'cells', got {pattern!r}")
    generator = torch.Generator().manual_seed(int(seed))

    def uniform(lo, hi):
        return lo + (hi - lo) * float(torch.rand((), generator=generator, dtype=torch.float64))

    scale = size / GRID                                  # pixels of this grid per pixel of the challenge's
    rows, cols = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                                indexing="ij")
    centre = ((size - 1) / 2 + uniform(-10, 10) * scale, (size - 1) / 2 + uniform(-10, 10) * scale)
    radius = DISC_RADIUS_PX * scale
    r = torch.hypot(rows - centre[0], cols - centre[1]) / radius
    disc = r <= 1
    a, b, c = PROFILE
    image = torch.where(disc, a + b * r**2 + c * r**4, torch.zeros_like(r))
    if pattern == "cells":
        holes, count = _cell_holes(rows, cols, centre, radius, scale, uniform, generator)
        image = torch.where(holes, torch.zeros_like(image), image)
        return DiscPhantom(image.to(torch.float32), (disc & ~holes).to(torch.uint8), count)
    holes = torch.zeros_like(disc)
    wanted = int(torch.randint(1, 13, (), generator=generator))
    rim_px = 2.0 / PIXEL_MM * scale
    placed = 0
    for _ in range(wanted * 20):                         # tries: a hole that overlaps another is drawn again
        if placed == wanted:
            break
        size_px = uniform(3.0, 30.0) / PIXEL_MM * scale
        distance = uniform(0, radius - rim_px - size_px / 2)
        if distance < 0:
            continue
        direction = uniform(0, 2 * math.pi)
        where = (centre[0] + distance * math.sin(direction), centre[1] + distance * math.cos(direction))
        kind = ("ellipse", "rectangle", "triangle")[int(torch.randint(0, 3, (), generator=generator))]
        angle, aspect = uniform(0, math.pi), uniform(0.3, 1.0)
        shape = _shape_mask(kind, rows, cols, where, size_px, angle, aspect)
        grown = _shape_mask(kind, rows, cols, where, size_px + 2 * rim_px, angle, aspect)   # keeps holes apart
        if bool((grown & holes).any()) or not bool(shape.any()):
            continue
        holes |= shape
        placed += 1
    image = torch.where(holes, torch.zeros_like(image), image)
    return DiscPhantom(image.to(torch.float32), (disc & ~holes).to(torch.uint8), placed)


def noisy_sinogram(clean: torch.Tensor, generator: torch.Generator, counts: float = COUNTS) -> torch.Tensor:
    """Line integrals ``clean`` (dimensionless) with the Poisson noise of the real scans (module text)."""
    expected = counts * torch.exp(-clean.to(torch.float64).clamp_min(0))
    detected = torch.poisson(expected, generator=generator).clamp_min(1.0)      # no photon: one, as a floor
    return (-torch.log(detected / counts)).to(clean.dtype)
