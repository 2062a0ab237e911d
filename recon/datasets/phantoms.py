r"""Test images for reconstruction: the Shepp–Logan head phantom and random piecewise-constant phantoms.

Every phantom here is an image of the square :math:`[-1, 1]^2`, sampled on an
``size × size`` grid of pixel centres

.. math::

    x_j = -1 + \frac{2j + 1}{n}, \qquad y_i = 1 - \frac{2i + 1}{n},

so column ``j`` runs left to right and row ``i`` top (:math:`y = +1`) to
bottom, as images are displayed. Each is returned as a tensor shaped
``(1, 1, size, size)`` (``(n, 1, size, size)`` for a stack) with values in
:math:`[0, 1]`, and everything lies inside the disc inscribed in the square, so
a CT scan at any angle sees the whole object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

# Random phantoms keep every pixel centre they paint within this radius. The 5 %
# margin to the inscribed disc leaves room for a pixel's half-diagonal at every
# size from 29 pixels up, so painted pixels lie wholly inside the unit disc.
SUPPORT_RADIUS = 0.95

# Intensities of random shapes: bounded away from the background 0 so that every
# shape is visible against it.
_MIN_INTENSITY = 0.1
_MAX_INTENSITY = 1.0

# The fine grid of one Shepp–Logan strip holds at most this many samples, which
# bounds memory (float64) at about 32 MiB whatever the size.
_MAX_SAMPLES_PER_STRIP = 1 << 22


class Ellipse(NamedTuple):
    """One constant-intensity ellipse of an analytic phantom, in the coordinates of :math:`[-1, 1]^2`.

    ``semi_axis_x`` and ``semi_axis_y`` are the half-lengths along x and y before
    the ellipse is rotated by ``angle_deg`` counter-clockwise (y pointing up)
    about its centre.
    """

    intensity: float
    semi_axis_x: float
    semi_axis_y: float
    centre_x: float
    centre_y: float
    angle_deg: float


# Shepp & Logan (1974), "The Fourier reconstruction of a head section", Table 1:
# (semi_axis_x, semi_axis_y, centre_x, centre_y, angle_deg) of the ten ellipses.
_SHEPP_LOGAN_GEOMETRY = (
    (0.69, 0.92, 0.0, 0.0, 0.0),
    (0.6624, 0.874, 0.0, -0.0184, 0.0),
    (0.11, 0.31, 0.22, 0.0, -18.0),
    (0.16, 0.41, -0.22, 0.0, 18.0),
    (0.21, 0.25, 0.0, 0.35, 0.0),
    (0.046, 0.046, 0.0, 0.1, 0.0),
    (0.046, 0.046, 0.0, -0.1, 0.0),
    (0.046, 0.023, -0.08, -0.605, 0.0),
    (0.023, 0.023, 0.0, -0.606, 0.0),
    (0.023, 0.046, 0.06, -0.605, 0.0),
)
# The published intensities (skull 2, brain 1.02) halved so the skull is 1, like
# every other phantom here; relative contrasts are those of the paper.
_SHEPP_LOGAN_ORIGINAL_INTENSITIES = (1.0, -0.49, -0.01, -0.01, 0.005, 0.005, 0.005, 0.005, 0.005, 0.005)
# Toft (1996), "The Radon transform: theory and implementation": the same ellipses
# with contrasts raised so that the inner structures are visible.
_SHEPP_LOGAN_MODIFIED_INTENSITIES = (1.0, -0.8, -0.2, -0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1)


def shepp_logan_ellipses(*, modified: bool = True) -> tuple[Ellipse, ...]:
    r"""The ten ellipses of the Shepp–Logan phantom, whose intensities add where they overlap.

    The phantom is :math:`f(x, y) = \sum_k c_k\, \mathbf 1[(x, y) \in E_k]`. With
    ``modified=True`` the intensities :math:`c_k` are Toft's high-contrast ones
    (1, −0.8, −0.2, −0.2, 0.1, …), giving values 0, 0.1, 0.2, 0.3, 0.4 and 1;
    with ``modified=False`` they are Shepp and Logan's (2, −0.98, −0.02, −0.02,
    0.01, …) halved, so that the skull is 1 and the brain 0.51. Useful wherever
    a phantom is needed analytically, e.g. for exact line integrals.

    >>> ellipses = shepp_logan_ellipses()
    >>> len(ellipses), ellipses[0].intensity, ellipses[2].angle_deg
    (10, 1.0, -18.0)
    """
    intensities = _SHEPP_LOGAN_MODIFIED_INTENSITIES if modified else _SHEPP_LOGAN_ORIGINAL_INTENSITIES
    return tuple(Ellipse(c, *geometry) for c, geometry in zip(intensities, _SHEPP_LOGAN_GEOMETRY))


def _pixel_centres(n: int) -> tuple[np.ndarray, np.ndarray]:
    """x of each column and y of each row of an n × n grid over [-1, 1]², row 0 at y = +1."""
    x = -1.0 + (2.0 * np.arange(n) + 1.0) / n
    return x, -x


def _inside_ellipse(x: np.ndarray, y: np.ndarray, ellipse: Ellipse) -> np.ndarray:
    """Boolean mask of the points (x[None, :], y[:, None]) inside ``ellipse``."""
    angle = math.radians(ellipse.angle_deg)
    cos, sin = math.cos(angle), math.sin(angle)
    dx = x[None, :] - ellipse.centre_x
    dy = y[:, None] - ellipse.centre_y
    # Coordinates in the ellipse's own frame: rotate the offset back by its angle.
    u = dx * cos + dy * sin
    v = dy * cos - dx * sin
    return (u / ellipse.semi_axis_x) ** 2 + (v / ellipse.semi_axis_y) ** 2 <= 1.0


def _ellipse_pixel_box(ellipse: Ellipse, size: int) -> tuple[int, int, int, int]:
    """Rows [r0, r1) and columns [c0, c1) of the pixels that the ellipse can touch."""
    angle = math.radians(ellipse.angle_deg)
    a, b = ellipse.semi_axis_x, ellipse.semi_axis_y
    half_width = math.hypot(a * math.cos(angle), b * math.sin(angle))
    half_height = math.hypot(a * math.sin(angle), b * math.cos(angle))
    # Pixel j covers x in [-1 + 2j/n, -1 + 2(j+1)/n]; y runs downwards with the row.
    c0 = math.floor((ellipse.centre_x - half_width + 1.0) * size / 2.0)
    c1 = math.ceil((ellipse.centre_x + half_width + 1.0) * size / 2.0)
    r0 = math.floor((1.0 - ellipse.centre_y - half_height) * size / 2.0)
    r1 = math.ceil((1.0 - ellipse.centre_y + half_height) * size / 2.0)
    return max(r0, 0), min(r1, size), max(c0, 0), min(c1, size)


def shepp_logan(
    size: int, *, modified: bool = True, supersampling: int = 4, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    r"""The Shepp–Logan head phantom, rasterised from its ellipses at any size, shaped ``(1, 1, size, size)``.

    Pixel :math:`(i, j)` holds the mean of :math:`f = \sum_k c_k \mathbf 1_{E_k}`
    (see :func:`shepp_logan_ellipses`) over ``supersampling × supersampling``
    evenly spaced points inside it, so ellipse edges are anti-aliased; inside
    an ellipse the value is exact. Values are clamped to :math:`[0, 1]` only to
    remove round-off (e.g. 1 − 0.8 − 0.2). Row 0 is the top of the head
    (:math:`y = +1`), the three small ellipses are at the bottom, and the
    larger ventricle is on the left, as in :func:`skimage.data.shepp_logan_phantom`.
    That image samples the same ellipses at ``linspace(-1, 1, 400)``, i.e. with
    pixel centres (not edges) on the square's border, so at 400 pixels the two
    differ by one pixel along some edges.

    :param size: pixels per side, ≥ 1.
    :param modified: Toft's high-contrast intensities (the common choice) or the original ones, halved.
    :param supersampling: sub-pixels per side averaged into each pixel; 1 samples pixel centres.
    :param dtype: a real floating dtype.

    >>> x = shepp_logan(128)
    >>> x.shape, float(x.min()), float(x.max())
    (torch.Size([1, 1, 128, 128]), 0.0, 1.0)
    >>> round(float(shepp_logan(129)[0, 0, 64, 64]), 6)  # the centre lies in brain tissue
    0.2
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    if isinstance(supersampling, bool) or not isinstance(supersampling, int) or supersampling < 1:
        raise ValueError(f"supersampling must be a positive int, got {supersampling!r}")
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a real floating dtype, got {dtype}")

    fine_x, fine_y = _pixel_centres(size * supersampling)
    s = supersampling
    image = np.zeros((size, size))
    rows_per_strip = max(1, _MAX_SAMPLES_PER_STRIP // (size * s * s))
    ellipses = shepp_logan_ellipses(modified=modified)
    boxes = [_ellipse_pixel_box(e, size) for e in ellipses]
    for strip_start in range(0, size, rows_per_strip):
        strip_stop = min(strip_start + rows_per_strip, size)
        for ellipse, (r0, r1, c0, c1) in zip(ellipses, boxes):
            r0, r1 = max(r0, strip_start), min(r1, strip_stop)
            if r0 >= r1 or c0 >= c1:
                continue
            inside = _inside_ellipse(fine_x[c0 * s : c1 * s], fine_y[r0 * s : r1 * s], ellipse)
            # The image is linear in the indicators, so averaging each ellipse's
            # coverage and summing equals averaging the summed fine image.
            coverage = inside.reshape(r1 - r0, s, c1 - c0, s).mean(axis=(1, 3))
            image[r0:r1, c0:c1] += ellipse.intensity * coverage
    np.clip(image, 0.0, 1.0, out=image)
    return torch.from_numpy(image).to(dtype)[None, None]


def _count_range(value, name: str) -> tuple[int, int]:
    """Validate an inclusive (low, high) range of counts."""
    if (
        not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not 0 <= value[0] <= value[1]
    ):
        raise ValueError(f"{name} must be a pair of ints (low, high) with 0 <= low <= high, got {value!r}")
    return value[0], value[1]


def _uniform_in_disc(rng: np.random.Generator, radius: float) -> np.ndarray:
    """A point drawn uniformly from the disc of ``radius`` about the origin."""
    r = radius * math.sqrt(rng.uniform())
    t = rng.uniform(0.0, 2.0 * math.pi)
    return np.array([r * math.cos(t), r * math.sin(t)])


def _random_ellipse_mask(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """An ellipse of random axes, orientation and centre, wholly inside the support disc."""
    a, b = rng.uniform(0.05, 0.5, size=2)
    angle = rng.uniform(0.0, 180.0)
    # The farthest point of the ellipse from its centre is max(a, b) away.
    centre = _uniform_in_disc(rng, SUPPORT_RADIUS - max(a, b))
    return _inside_ellipse(x, y, Ellipse(1.0, a, b, centre[0], centre[1], angle))


def _random_star_polygon_mask(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""A polygon whose vertices sit at a smoothly perturbed radius r(θ) about a centre, so it is star-shaped.

    :math:`r(\theta) = r_0 (1 + \sum_{k=1}^3 a_k \cos(k\theta + \varphi_k))` with
    :math:`a_k < 1/(2k)`, hence :math:`0.08\, r_0 < r < 1.92\, r_0`.
    """
    mean_radius = rng.uniform(0.08, 0.3)
    n_vertices = int(rng.integers(5, 13))
    amplitudes = rng.uniform(0.0, 0.5 / np.arange(1, 4))
    phases = rng.uniform(0.0, 2.0 * math.pi, size=3)
    # Even spacing with jitter: irregular, but vertex angles stay strictly increasing.
    spacing = 2.0 * math.pi / n_vertices
    vertex_angles = spacing * (np.arange(n_vertices) + rng.uniform(-0.3, 0.3, size=n_vertices))
    vertex_angles += rng.uniform(0.0, 2.0 * math.pi)
    harmonics = np.arange(1, 4)[:, None] * vertex_angles[None, :] + phases[:, None]
    vertex_radii = mean_radius * (1.0 + amplitudes @ np.cos(harmonics))
    centre = _uniform_in_disc(rng, SUPPORT_RADIUS - vertex_radii.max())

    dx = x[None, :] - centre[0]
    dy = y[:, None] - centre[1]
    # The edge that a ray from the centre at angle φ crosses joins the vertices on either side of φ.
    phi = np.mod(np.arctan2(dy, dx) - vertex_angles[0], 2.0 * math.pi)
    relative_angles = vertex_angles - vertex_angles[0]
    first = np.searchsorted(relative_angles, phi, side="right") - 1
    second = (first + 1) % n_vertices
    px, py = vertex_radii * np.cos(vertex_angles), vertex_radii * np.sin(vertex_angles)
    ex, ey = px[second] - px[first], py[second] - py[first]
    # Inside iff the point is on the centre's side of that edge; vertices run
    # counter-clockwise, so the centre is on the left of every edge.
    cross = ex * (dy - py[first]) - ey * (dx - px[first])
    return cross >= 0.0


def _random_thick_segment_mask(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A rectangle (a line segment of random half-width) along a random chord of the support disc."""
    half_width = rng.uniform(0.01, 0.04)
    # Keeping the segment's end points within radius - half_width keeps the rectangle's corners within radius.
    radius = SUPPORT_RADIUS - half_width
    direction_angle = rng.uniform(0.0, math.pi)
    direction = np.array([math.cos(direction_angle), math.sin(direction_angle)])
    normal = np.array([-direction[1], direction[0]])
    # Chords no further than 0.7 radius from the origin are long enough to give visible lines.
    offset = rng.uniform(-0.7, 0.7) * radius
    half_chord = math.sqrt(radius**2 - offset**2)
    length = rng.uniform(0.3, 1.0) * 2.0 * half_chord
    start = rng.uniform(-half_chord, half_chord - length)
    origin = offset * normal + start * direction

    dx = x[None, :] - origin[0]
    dy = y[:, None] - origin[1]
    along = dx * direction[0] + dy * direction[1]
    across = dx * normal[0] + dy * normal[1]
    return (along >= 0.0) & (along <= length) & (np.abs(across) <= half_width)


def _random_phantom_image(
    size: int, rng: np.random.Generator, n_ellipses: tuple[int, int], n_shapes: tuple[int, int]
) -> np.ndarray:
    x, y = _pixel_centres(size)
    ellipse_count = int(rng.integers(n_ellipses[0], n_ellipses[1] + 1))
    shape_count = int(rng.integers(n_shapes[0], n_shapes[1] + 1))
    painters = [_random_ellipse_mask] * ellipse_count + [
        _random_star_polygon_mask if rng.uniform() < 0.5 else _random_thick_segment_mask for _ in range(shape_count)
    ]
    # Distinct intensities keep overlapping shapes apart. With this gap the
    # excluded intervals never cover the whole range, so rejection always ends.
    total = max(len(painters), 1)
    min_gap = min(0.05, (_MAX_INTENSITY - _MIN_INTENSITY) / (2 * total))
    image = np.zeros((size, size))
    used: list[float] = []
    for paint in painters:
        mask = paint(rng, x, y)
        intensity = rng.uniform(_MIN_INTENSITY, _MAX_INTENSITY)
        while any(abs(intensity - u) < min_gap for u in used):
            intensity = rng.uniform(_MIN_INTENSITY, _MAX_INTENSITY)
        used.append(intensity)
        image[mask] = intensity
    return image


def random_phantom(
    size: int,
    seed: int | Sequence[int],
    *,
    n_ellipses: tuple[int, int] = (4, 10),
    n_shapes: tuple[int, int] = (1, 4),
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    r"""A random piecewise-constant phantom shaped ``(1, 1, size, size)``, reproducible from its seed.

    In the style of COULE (Contrasted Overlapping Uniform Lines and Ellipses),
    the phantom is painted shape by shape onto a background of 0,

    .. math::

        f \leftarrow c_k \text{ on } S_k,\quad k = 1, \dots, K,

    so a later shape overwrites an earlier one and :math:`f` takes at most
    :math:`K + 1` values. First come between ``n_ellipses[0]`` and
    ``n_ellipses[1]`` ellipses (inclusive) of random centre, semi-axes in
    [0.05, 0.5] and orientation; then between ``n_shapes[0]`` and
    ``n_shapes[1]`` irregular shapes, each with probability 1/2 a star-shaped
    polygon (5–12 vertices at a radius :math:`r(\theta)` perturbed by three
    random harmonics) or a thick line segment (half-width 0.01–0.04).
    Intensities :math:`c_k` are drawn uniformly from [0.1, 1] and kept
    mutually apart by a small gap, so neighbouring regions are contrasted.
    Pixels are painted by their centres (no anti-aliasing, which would break
    piecewise constancy), and every shape lies within radius
    :data:`SUPPORT_RADIUS` of the centre.

    The random numbers come from ``numpy.random.default_rng(seed)``, whose
    stream is the same on every platform: a seed names one image.

    :param size: pixels per side, ≥ 1.
    :param seed: a non-negative int, or a sequence of them (e.g. ``(seed, index)``
        as :func:`random_phantoms` uses).
    :param n_ellipses: inclusive range of the number of ellipses.
    :param n_shapes: inclusive range of the number of polygons and segments.
    :param dtype: a real floating dtype.

    >>> x = random_phantom(128, seed=0)
    >>> x.shape, bool(x.min() >= 0), bool(x.max() <= 1)
    (torch.Size([1, 1, 128, 128]), True, True)
    >>> torch.equal(x, random_phantom(128, seed=0)), torch.equal(x, random_phantom(128, seed=1))
    (True, False)
    >>> len(torch.unique(x)) <= 1 + 10 + 4
    True
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    seeds = [seed] if not isinstance(seed, Sequence) else list(seed)
    if not seeds or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"seed must be a non-negative int or a sequence of them, got {seed!r}")
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a real floating dtype, got {dtype}")
    ellipse_range = _count_range(n_ellipses, "n_ellipses")
    shape_range = _count_range(n_shapes, "n_shapes")
    rng = np.random.default_rng(seed)
    image = _random_phantom_image(size, rng, ellipse_range, shape_range)
    return torch.from_numpy(image).to(dtype)[None, None]


def random_phantoms(
    size: int,
    n: int,
    seed: int,
    *,
    n_ellipses: tuple[int, int] = (4, 10),
    n_shapes: tuple[int, int] = (1, 4),
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``n`` random phantoms stacked into ``(n, 1, size, size)``; item ``k`` is ``random_phantom(size, (seed, k))``.

    Seeding each item by the pair ``(seed, k)`` gives independent streams, so
    sets made with different seeds (a training and a test set, say) share no
    image, and an item can be regenerated alone.

    >>> batch = random_phantoms(64, n=3, seed=7)
    >>> batch.shape
    torch.Size([3, 1, 64, 64])
    >>> torch.equal(batch[2:3], random_phantom(64, (7, 2)))
    True
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if n == 0:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        return torch.zeros((0, 1, size, size), dtype=dtype)
    return torch.cat(
        [
            random_phantom(size, (seed, k), n_ellipses=n_ellipses, n_shapes=n_shapes, dtype=dtype)
            for k in range(n)
        ]
    )


def camera(size: int) -> torch.Tensor:
    """scikit-image's ``camera`` photograph resized to ``size``² (anti-aliased), values in [0, 1], ``(1, 1, size, size)``.

    >>> camera(64).shape
    torch.Size([1, 1, 64, 64])
    """
    from skimage.data import camera as photograph
    from skimage.transform import resize

    image = resize(photograph() / 255.0, (size, size), anti_aliasing=True)
    return torch.tensor(image, dtype=torch.float32)[None, None]
