r"""Cartesian MRI sampling masks: which k-space samples a retrospective undersampling keeps.

Every function returns a ``float32`` 0/1 tensor shaped ``(rows, cols)`` (rows
= read-out, cols = phase encode, k-space centre at index ``n // 2``), 1 where a
sample is measured. The acceleration :math:`R` is the number of grid points
over the number measured, :math:`R = \text{rows}\cdot\text{cols} / \sum M`, as in
:class:`recon.operators.mri_acquisition.CartesianAcquisition`.

1D masks (whole phase-encode columns, a 2D scan; broadcast along the rows) follow
fastMRI's ``subsample.py``: the central :math:`n_c = \operatorname{round}(\text{cols}\cdot f)`
columns (:math:`f` the centre fraction) start at ``(cols - n_c + 1) // 2`` and are
all measured; the other columns are measured with probability

.. math:: p = \frac{\text{cols}/R - n_c}{\text{cols} - n_c}.

Unlike fastMRI, which draws each column with probability :math:`p` (so the
realised acceleration varies by about 10 % at 256 columns), these masks
measure exactly :math:`\operatorname{round}(\text{cols}/R)` columns.

2D masks (single k-space points, a 3D scan's two phase-encode axes) keep a fully
sampled ``calibration`` block at the centre (for coil calibration) and
sample the rest with a density that decreases with the normalised distance

.. math:: \rho(k) = \tfrac{1}{\sqrt 2}\Big(\big(\tfrac{k_r - \lfloor\text{rows}/2\rfloor}{\text{rows}/2}\big)^2
          + \big(\tfrac{k_c - \lfloor\text{cols}/2\rfloor}{\text{cols}/2}\big)^2\Big)^{1/2} \in [0, 1]

from the centre. Seeds make every mask reproducible (``seed=None`` draws fresh randomness).
"""

from __future__ import annotations

import math
import random

import torch


def _grid(shape, function: str) -> tuple[int, int]:
    if len(shape) != 2 or any(int(s) != s or s < 1 for s in shape):
        raise ValueError(f"{function}: shape must be (rows, cols) with positive integers, got {tuple(shape)}")
    return int(shape[0]), int(shape[1])


def _check_acceleration(acceleration, function: str) -> float:
    if not acceleration >= 1:
        raise ValueError(f"{function}: acceleration must be at least 1, got {acceleration}")
    return float(acceleration)


def _generator(seed) -> torch.Generator:
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed))
    return generator


def centred_block(n: int, size: int) -> slice:
    """The ``size`` central indices of ``0..n-1`` (fastMRI's ``(n - size + 1) // 2`` start; contains ``n // 2``).

    >>> centred_block(256, 20), centred_block(168, 13)
    (slice(118, 138, None), slice(78, 91, None))
    """
    start = (n - size + 1) // 2
    return slice(start, start + size)


def _centre_columns(cols: int, acceleration: float, centre_fraction: float, function: str) -> tuple[slice, int]:
    if not 0 <= centre_fraction <= 1:
        raise ValueError(f"{function}: centre_fraction must be in [0, 1], got {centre_fraction}")
    n_centre = round(cols * centre_fraction)
    n_total = round(cols / acceleration)
    if n_centre > n_total:
        raise ValueError(f"{function}: centre_fraction {centre_fraction} keeps {n_centre} columns, more than the "
                         f"{n_total} an acceleration of {acceleration:g} allows")
    return centred_block(cols, n_centre), n_total


def _outer_columns(cols: int, centre: slice) -> torch.Tensor:
    return torch.cat([torch.arange(0, centre.start), torch.arange(centre.stop, cols)])


def random_mask(shape, acceleration: float, centre_fraction: float, seed: int | None = 0) -> torch.Tensor:
    r"""1D random Cartesian mask: the centre columns and a uniformly random set of the others.

    The :math:`n_c = \operatorname{round}(\text{cols}\cdot f)` central columns are
    measured, plus :math:`\operatorname{round}(\text{cols}/R) - n_c` columns drawn
    uniformly without replacement from the rest (each with probability
    :math:`p = (\text{cols}/R - n_c)/(\text{cols} - n_c)`, fastMRI's ``RandomMaskFunc``).

    :param shape: ``(rows, cols)``.
    :param acceleration: :math:`R \ge 1`.
    :param centre_fraction: :math:`f`, the fraction of columns fully sampled at the centre.
    :param seed: the random seed (``None``: not reproducible).

    >>> m = random_mask((4, 16), acceleration=4, centre_fraction=0.125, seed=0)
    >>> m.shape, int(m[0].sum()), m[:, 7:9].min().item()
    (torch.Size([4, 16]), 4, 1.0)
    """
    rows, cols = _grid(shape, "random_mask")
    acceleration = _check_acceleration(acceleration, "random_mask")
    centre, n_total = _centre_columns(cols, acceleration, centre_fraction, "random_mask")
    outer = _outer_columns(cols, centre)
    chosen = outer[torch.randperm(outer.numel(), generator=_generator(seed))[: n_total - (centre.stop - centre.start)]]
    line = torch.zeros(cols)
    line[centre] = 1
    line[chosen] = 1
    return line.repeat(rows, 1)


def equispaced_mask(shape, acceleration: float, centre_fraction: float, offset: float | None = None,
                    seed: int | None = 0, *, match_acceleration: bool = True) -> torch.Tensor:
    r"""1D equispaced Cartesian mask: the centre columns and regularly spaced others.

    ``match_acceleration=True`` (default): exactly :math:`n_o = \operatorname{round}(\text{cols}/R) - n_c`
    columns outside the centre, the :math:`\lfloor o + j s \rfloor`-th (:math:`j = 0..n_o-1`)
    of the :math:`\text{cols} - n_c` outer columns in order, spacing
    :math:`s = (\text{cols} - n_c)/n_o` and offset :math:`o \in [0, s)`: the
    acceleration is met (like fastMRI's ``EquispacedMaskFractionFunc``) and the
    gaps are :math:`\lfloor s\rfloor` or :math:`\lceil s\rceil` columns.

    ``match_acceleration=False``: fastMRI's ``EquispacedMaskFunc``, every
    :math:`R`-th column from ``offset`` (:math:`R` an integer) plus the centre;
    the spacing is exactly :math:`R`, and the realised acceleration is below :math:`R`.

    :param offset: the first column (``None``: drawn from ``seed``).

    >>> m = equispaced_mask((2, 16), acceleration=4, centre_fraction=0, offset=1, match_acceleration=False)
    >>> m[0].nonzero().flatten().tolist()
    [1, 5, 9, 13]
    >>> int(equispaced_mask((2, 64), 4, 0.125)[0].sum())
    16
    """
    rows, cols = _grid(shape, "equispaced_mask")
    acceleration = _check_acceleration(acceleration, "equispaced_mask")
    centre, n_total = _centre_columns(cols, acceleration, centre_fraction, "equispaced_mask")
    line = torch.zeros(cols)
    if match_acceleration:
        outer = _outer_columns(cols, centre)
        n_outer = n_total - (centre.stop - centre.start)
        if n_outer > 0:
            spacing = outer.numel() / n_outer
            if offset is None:
                offset = float(torch.rand((), generator=_generator(seed))) * spacing
            if not 0 <= offset < spacing:
                raise ValueError(f"equispaced_mask: offset must be in [0, {spacing:g}) (the spacing), got {offset}")
            picks = torch.floor(offset + spacing * torch.arange(n_outer, dtype=torch.float64)).long()
            line[outer[picks]] = 1
    else:
        if acceleration != int(acceleration):
            raise ValueError(f"equispaced_mask: acceleration must be an integer with match_acceleration=False, "
                             f"got {acceleration}")
        step = int(acceleration)
        if offset is None:
            offset = int(torch.randint(step, (), generator=_generator(seed)))
        if offset != int(offset) or not 0 <= offset < step:
            raise ValueError(f"equispaced_mask: offset must be an integer in [0, {step}), got {offset}")
        line[int(offset)::step] = 1
    line[centre] = 1
    return line.repeat(rows, 1)


def _normalised_radius(rows: int, cols: int) -> torch.Tensor:
    kr = (torch.arange(rows, dtype=torch.float64) - rows // 2) / (rows / 2)
    kc = (torch.arange(cols, dtype=torch.float64) - cols // 2) / (cols / 2)
    return torch.sqrt(kr[:, None] ** 2 + kc[None, :] ** 2) / math.sqrt(2)


def _calibration_block(rows: int, cols: int, calibration, function: str) -> tuple[slice, slice]:
    if len(calibration) != 2 or any(int(c) != c or c < 0 for c in calibration):
        raise ValueError(f"{function}: calibration must be (rows, cols) with non-negative integers, "
                         f"got {tuple(calibration)}")
    return centred_block(rows, min(int(calibration[0]), rows)), centred_block(cols, min(int(calibration[1]), cols))


def _target_count(rows, cols, acceleration, block, function) -> int:
    n_target = round(rows * cols / acceleration)
    n_calibration = (block[0].stop - block[0].start) * (block[1].stop - block[1].start)
    if n_calibration > n_target:
        raise ValueError(f"{function}: the calibration region has {n_calibration} samples, more than the "
                         f"{n_target} an acceleration of {acceleration:g} allows")
    return n_target


def poisson_disc_radius(shape, scale: float, growth: float = 2.0) -> torch.Tensor:
    r"""The exclusion radius of :func:`poisson_disc_mask`, :math:`r(k) = s\,(1 + g\,\rho(k))` pixels.

    >>> r = poisson_disc_radius((4, 4), scale=1.5, growth=2.0)
    >>> float(r[2, 2]), float(r[0, 0])
    (1.5, 4.5)
    """
    rows, cols = _grid(shape, "poisson_disc_radius")
    return scale * (1 + growth * _normalised_radius(rows, cols))


def _bridson(radius: list[list[float]], rng: random.Random, attempts: int = 30) -> bytearray:
    """Bridson's Poisson-disc sampling on the integer grid with a position-dependent radius.

    A candidate q is kept when no sample lies closer than r(q), so any two samples
    are at least min(r(p), r(q)) apart.
    """
    rows, cols = len(radius), len(radius[0])
    reach = math.ceil(max(max(line) for line in radius))
    # Neighbour offsets by increasing distance: a check stops at the first offset beyond r(q).
    offsets = sorted((dr * dr + dc * dc, dr, dc) for dr in range(-reach, reach + 1) for dc in range(-reach, reach + 1))
    occupied = bytearray(rows * cols)
    first = (rng.randrange(rows), rng.randrange(cols))
    occupied[first[0] * cols + first[1]] = 1
    active = [first]
    while active:
        index = rng.randrange(len(active))
        pr, pc = active[index]
        r = radius[pr][pc]
        for _ in range(attempts):
            distance = r * math.sqrt(1 + 3 * rng.random())  # uniform over the annulus area [r, 2r]
            angle = 2 * math.pi * rng.random()
            qr, qc = round(pr + distance * math.sin(angle)), round(pc + distance * math.cos(angle))
            if not (0 <= qr < rows and 0 <= qc < cols):
                continue
            limit = radius[qr][qc] ** 2
            free = True
            for d2, dr, dc in offsets:
                if d2 >= limit:
                    break
                nr, nc = qr + dr, qc + dc
                if 0 <= nr < rows and 0 <= nc < cols and occupied[nr * cols + nc]:
                    free = False
                    break
            if free:
                occupied[qr * cols + qc] = 1
                active.append((qr, qc))
                break
        else:
            active[index] = active[-1]
            active.pop()
    return occupied


def poisson_disc_mask(shape, acceleration: float, seed: int | None = 0, calibration=(24, 24), *,
                      growth: float = 2.0, radius_scale: float | None = None, tolerance: float = 0.03) -> torch.Tensor:
    r"""2D variable-density Poisson-disc mask (Bridson's algorithm) with a fully sampled calibration block.

    Samples keep a distance of at least :math:`\min(r(p), r(q))` from each other,
    with the radius :math:`r(k) = s\,(1 + g\,\rho(k))` growing from :math:`s` at the
    centre to :math:`s(1+g)` at the corners (:func:`poisson_disc_radius`), so the
    density falls roughly as :math:`1/r^2`; then the central ``calibration``
    block is filled. The scale :math:`s` is found by a safeguarded bisection on
    :math:`\log s` (each step a secant step on :math:`\log` count against :math:`\log s`
    when it stays inside the bracket, else the midpoint) until the
    acceleration is within ``tolerance`` (relative) of the target; the closest
    mask found is returned if 40 steps do not get there.

    :param calibration: ``(rows, cols)`` of the fully sampled centre block.
    :param growth: :math:`g`, how much larger the radius is at the corners.
    :param radius_scale: use this :math:`s` as is (no tuning; the acceleration is what it gives).

    >>> m = poisson_disc_mask((32, 32), acceleration=3, seed=0, calibration=(6, 6))
    >>> m.shape, abs(32 * 32 / float(m.sum()) - 3) < 0.15, m[13:19, 13:19].min().item()
    (torch.Size([32, 32]), True, 1.0)
    """
    rows, cols = _grid(shape, "poisson_disc_mask")
    acceleration = _check_acceleration(acceleration, "poisson_disc_mask")
    block = _calibration_block(rows, cols, calibration, "poisson_disc_mask")
    n_target = _target_count(rows, cols, acceleration, block, "poisson_disc_mask")
    seed = random.randrange(2**31) if seed is None else int(seed)

    def sample(scale: float) -> torch.Tensor:
        radius = poisson_disc_radius((rows, cols), scale, growth).tolist()
        mask = torch.frombuffer(_bridson(radius, random.Random(seed)), dtype=torch.uint8).reshape(rows, cols)
        mask = mask.to(torch.float32)
        mask[block] = 1
        return mask

    if radius_scale is not None:
        return sample(float(radius_scale))
    # A Bridson set of radius r holds about 0.57 / r^2 samples per pixel (measured): the first guess.
    mean_stretch = float(torch.mean((1 + growth * _normalised_radius(rows, cols)) ** -2))
    guess = math.log(math.sqrt(0.57 * mean_stretch * rows * cols / n_target))
    low, high = guess - math.log(4), guess + math.log(4)
    best, best_error, previous = None, math.inf, None
    for _ in range(40):
        mask = sample(math.exp(guess))
        count = float(mask.sum())
        error = abs(count - n_target) / n_target
        if error < best_error:
            best, best_error = mask, error
        if error <= tolerance:
            break
        if count > n_target:   # too many samples: a larger radius
            low = guess
        else:
            high = guess
        # A secant step on log(count) against log(s) (first slope: the 1/s^2 density law); bisect when
        # it leaves the bracket.
        slope = -2.0 if previous is None or previous[0] == guess else (
            (math.log(count) - previous[1]) / (guess - previous[0]))
        previous = (guess, math.log(count))
        guess = guess + math.log(n_target / count) / slope if slope < 0 else (low + high) / 2
        if not low < guess < high:
            guess = (low + high) / 2
    return best


def variable_density_mask(shape, acceleration: float, seed: int | None = 0, power: float = 2.0,
                          calibration=(24, 24)) -> torch.Tensor:
    r"""2D variable-density random mask: point :math:`k` measured with probability :math:`\min(1, c\,(1-\rho(k))^{q})`.

    Outside the fully sampled ``calibration`` block, :math:`c` is found by
    bisection so that the probabilities add up to the samples left for
    acceleration :math:`R`; exactly that many points are then drawn by
    sequential Poisson sampling (keys :math:`u_k / p_k` with :math:`u_k` uniform,
    the smallest kept), whose inclusion probabilities are close to :math:`p_k`
    while the count, hence :math:`R`, is exact.

    :param power: :math:`q`, how fast the density falls towards the corners.

    >>> m = variable_density_mask((32, 32), acceleration=4, seed=0, calibration=(8, 8))
    >>> int(m.sum()), m[12:20, 12:20].min().item()
    (256, 1.0)
    """
    rows, cols = _grid(shape, "variable_density_mask")
    acceleration = _check_acceleration(acceleration, "variable_density_mask")
    if not power >= 0:
        raise ValueError(f"variable_density_mask: power must be non-negative, got {power}")
    block = _calibration_block(rows, cols, calibration, "variable_density_mask")
    n_target = _target_count(rows, cols, acceleration, block, "variable_density_mask")
    density = torch.clamp(1 - _normalised_radius(rows, cols), min=0) ** power
    outside = torch.ones(rows, cols, dtype=torch.bool)
    outside[block] = False
    density = torch.where(outside, density, torch.zeros_like(density))
    n_outer = n_target - int((~outside).sum())
    if n_outer > int((density > 0).sum()):
        raise ValueError(f"variable_density_mask: power {power} leaves too few points with a non-zero "
                         f"probability for an acceleration of {acceleration:g}; lower power or acceleration")
    low, high = 0.0, 1.0
    while float(torch.clamp(high * density, max=1).sum()) < n_outer:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        if float(torch.clamp(middle * density, max=1).sum()) < n_outer:
            low = middle
        else:
            high = middle
    probability = torch.clamp(high * density, max=1)
    keys = torch.rand(rows, cols, generator=_generator(seed), dtype=torch.float64) / probability
    mask = (~outside).to(torch.float32)
    mask.view(-1)[torch.argsort(keys.flatten())[:n_outer]] = 1
    return mask


def mask_from_kspace(kspace: torch.Tensor) -> torch.Tensor:
    r"""The sampling mask of zero-filled k-space: :math:`M_{rc} = 1` where any coil (any slice) is non-zero.

    :param kspace: ``(..., rows, cols)``, e.g. ``(slices, coils, rows, cols)`` or ``(coils, rows, cols)``.
    :returns: ``float32`` ``(rows, cols)``.

    >>> import torch
    >>> y = torch.randn(2, 3, 4, 6, dtype=torch.complex64); y[..., ::2] = 0
    >>> mask_from_kspace(y)[0].tolist()
    [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    """
    if kspace.dim() < 2:
        raise ValueError(f"mask_from_kspace: kspace must be shaped (..., rows, cols), got {tuple(kspace.shape)}")
    return (kspace != 0).reshape(-1, *kspace.shape[-2:]).any(dim=0).to(torch.float32)
