r"""From raw CT projections to a reconstructable sinogram: flat/dark correction, −log, rotation centre.

A detector pixel behind the sample counts, by Beer–Lambert,

.. math::

    P = D + (F - D)\, e^{-\int \mu}, \qquad\text{so}\qquad
    \int \mu = -\log T,\quad T = \frac{P - \bar D}{\bar F - \bar D},

where :math:`F` (flat, open beam) and :math:`D` (dark, beam off) are averaged
over their frames. :func:`flat_dark_correct` gives :math:`T`,
:func:`negative_log` the line integrals. The rotation axis then has to be
found on the detector: :func:`estimate_rotation_centre` from the symmetry of
parallel-beam data, :func:`sharpness_centre_search` from the reconstructions
themselves, as an independent check. Offsets use the convention of
:mod:`recon.operators.ct_geometry`: the axis projects onto detector column
:math:`(n-1)/2 + \delta`, so ``ParallelBeamCT(..., centre_offset=δ)``
reconstructs with it directly.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

import numpy as np
import torch

log = logging.getLogger(__name__)

DEFAULT_FLOOR = 1e-6
SHARPNESS_METRICS = ("entropy", "gradient")
# A "180°" scan may stop up to this many angular steps short of 180° (e.g. [0°, 179°] in 1° steps);
# the missing mirror view is then extrapolated from the last two.
_MAX_EXTRAPOLATION_STEPS = 1.5
# A "360°" scan may miss up to this much of the circle (or exceed either half or full turn by it).
_SPAN_SLACK = math.radians(5.0)


def _as_float_tensor(a, name: str) -> torch.Tensor:
    t = torch.as_tensor(a)
    if t.is_complex():
        raise ValueError(f"{name}: expected real counts, got {t.dtype}")
    return t if t.is_floating_point() else t.to(torch.float32)


def flat_dark_correct(projections, flats, darks) -> torch.Tensor:
    r"""Transmission :math:`T = (P - \bar D) / (\bar F - \bar D)`, per detector pixel.

    :param projections: raw counts, shaped ``(..., *detector)``, e.g. (angles, rows, cols).
    :param flats: open-beam frames, shaped ``(frames, *detector)``; averaged over axis 0.
    :param darks: beam-off frames, shaped ``(frames, *detector)``; averaged over axis 0.
    :return: a float tensor shaped like ``projections`` (float32 unless a float input was float64).

    Pixels where :math:`\bar F - \bar D \le 0` (dead, or a dark reading at
    least the flat) carry no beam information; their transmission is set to
    1, i.e. "no attenuation", so that −log gives 0 there instead of inf or
    NaN. Their number is logged as a warning. Note that ``flats`` and
    ``darks`` must keep their frame axis even when there is a single frame.

    >>> import torch
    >>> flats, darks = torch.full((3, 4), 1000.0), torch.full((2, 4), 100.0)
    >>> flat_dark_correct(torch.tensor([[550.0, 1000.0, 100.0, 325.0]]), flats, darks)
    tensor([[0.5000, 1.0000, 0.0000, 0.2500]])
    """
    projections = _as_float_tensor(projections, "projections")
    flats = _as_float_tensor(flats, "flats")
    darks = _as_float_tensor(darks, "darks")
    for name, frames in (("flats", flats), ("darks", darks)):
        detector = tuple(frames.shape[1:])
        if frames.dim() < 2 or frames.shape[0] < 1 or tuple(projections.shape[-len(detector):]) != detector:
            raise ValueError(
                f"{name}: expected (frames, *detector) with detector = the trailing shape of projections "
                f"{tuple(projections.shape)}, got {tuple(frames.shape)}"
            )
    dtype = torch.promote_types(torch.promote_types(projections.dtype, flats.dtype), darks.dtype)
    dark = darks.to(dtype).mean(dim=0)
    denominator = flats.to(dtype).mean(dim=0) - dark
    dead = ~(denominator > 0)  # also catches NaN
    if bool(dead.any()):
        log.warning("flat_dark_correct: %d detector pixels have mean(flats) <= mean(darks); "
                    "their transmission is set to 1", int(dead.sum()))
    transmission = (projections.to(dtype) - dark) / torch.where(dead, torch.ones_like(denominator), denominator)
    return torch.where(dead, torch.ones_like(transmission), transmission)


def negative_log(transmission, floor: float = DEFAULT_FLOOR) -> torch.Tensor:
    r"""Line integrals :math:`-\log \max(T, \varepsilon)`, with the floor :math:`\varepsilon` = ``floor``.

    Transmissions at or below ``floor`` (zero or negative counts after dark
    subtraction: noise, dead pixels, fully opaque parts) give the finite
    value :math:`-\log\varepsilon`, which is :math:`\approx 13.8` for the
    default :math:`10^{-6}`: past the attenuation any 16-bit detector can
    measure (:math:`-\log 2^{-16} \approx 11.1`), so only non-physical counts
    are affected. NaN inputs stay NaN.

    >>> import torch
    >>> negative_log(torch.tensor([1.0, 0.5, 0.0, -3.0]))
    tensor([ 0.0000,  0.6931, 13.8155, 13.8155])
    """
    if not 0.0 < float(floor) < 1.0:
        raise ValueError(f"floor: expected a transmission strictly between 0 and 1, got {floor}")
    transmission = _as_float_tensor(transmission, "transmission")
    return 0.0 - torch.log(torch.clamp(transmission, min=float(floor)))  # 0 - log gives +0.0, not -0.0


def _as_sinogram(sinogram, angles) -> tuple[torch.Tensor, torch.Tensor]:
    """One float64 sinogram (angles, detectors) and its angles in radians, both sorted by angle."""
    sino = torch.as_tensor(sinogram)
    if sino.is_complex() or sino.dim() < 2 or math.prod(sino.shape[:-2]) != 1:
        raise ValueError(
            f"sinogram: expected one real sinogram shaped (angles, detectors) or (1, 1, angles, detectors), "
            f"got {tuple(sino.shape)} {sino.dtype}"
        )
    sino = sino.detach().to("cpu", torch.float64).reshape(sino.shape[-2:])
    theta = torch.as_tensor(np.asarray(getattr(angles, "cpu", lambda: angles)(), dtype=np.float64)).reshape(-1)
    if theta.numel() != sino.shape[0]:
        raise ValueError(f"angles: expected one angle per sinogram row ({sino.shape[0]}), got {theta.numel()}")
    if not bool(torch.isfinite(theta).all()) or not bool(torch.isfinite(sino).all()):
        raise ValueError("sinogram, angles: expected finite values, got NaN or inf")
    order = torch.argsort(theta)
    return sino[order], theta[order]


def _mirror_views(sino: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pairs :math:`(p_\theta, p_{\theta \pm \pi})`, the second interpolated linearly in angle.

    A mirror angle up to 1.5 steps outside the scan is extrapolated from the
    two end views; views whose mirror lies further out have no pair.
    """
    n_views = theta.numel()
    step = float(torch.median(torch.diff(theta)))
    low, high = float(theta[0]), float(theta[-1])
    reach = _MAX_EXTRAPOLATION_STEPS * step + 1e-9
    first, second = [], []
    for i in range(n_views):
        target = float(theta[i]) + math.pi
        if target > high + reach:
            target -= 2 * math.pi
        if not low - reach <= target <= high + reach:
            continue
        j = int(torch.searchsorted(theta, torch.tensor(target, dtype=theta.dtype)))
        j = min(max(j, 1), n_views - 1)  # bracket [j-1, j]; outside the scan, the two end views
        a, b = float(theta[j - 1]), float(theta[j])
        if b - a <= 1e-12:
            mirror = sino[j]
        else:
            w = (target - a) / (b - a)
            mirror = (1 - w) * sino[j - 1] + w * sino[j]
        first.append(sino[i])
        second.append(mirror)
    return torch.stack(first), torch.stack(second)


def _check_span(theta: torch.Tensor) -> None:
    step = float(torch.median(torch.diff(theta)))
    span = float(theta[-1] - theta[0])
    if math.pi - _MAX_EXTRAPOLATION_STEPS * step - 1e-9 <= span <= math.pi + _SPAN_SLACK:
        return
    if abs(span - 2 * math.pi) <= max(_SPAN_SLACK, _MAX_EXTRAPOLATION_STEPS * step):
        return
    raise ValueError(
        f"angles: expected a parallel-beam scan covering about 180° or 360° (radians), "
        f"got a span of {math.degrees(span):.2f}° in {theta.numel()} views"
    )


def _remove_baseline(views: torch.Tensor) -> torch.Tensor:
    """Subtract the straight line through each view's edge levels, so zero padding adds no steps."""
    n = views.shape[-1]
    edge = max(1, n // 50)
    left = views[..., :edge].median(dim=-1, keepdim=True).values
    right = views[..., -edge:].median(dim=-1, keepdim=True).values
    ramp = torch.linspace(0.0, 1.0, n, dtype=views.dtype)
    return views - (left + (right - left) * ramp)


def estimate_rotation_centre(sinogram, angles, *, max_offset: float | None = None) -> float:
    r"""Rotation-axis offset :math:`\delta` (detector pixels) of a parallel-beam sinogram, from its mirror symmetry.

    In parallel beam the view at :math:`\theta + \pi` is the view at
    :math:`\theta` reflected about the axis. With the axis on column
    :math:`(n-1)/2 + \delta`, the flipped mirror view
    :math:`q_\theta(k) = p_{\theta+\pi}(n-1-k)` satisfies

    .. math::

        q_\theta(k) = p_\theta(k + 2\delta),

    so :math:`2\delta` is the shift maximising the cross-correlation
    :math:`c(t) = \sum_\theta \sum_k p_\theta(k + t)\, q_\theta(k)`
    (each view zero-padded, after subtracting the line through its edge
    levels, so :math:`\arg\max c = \arg\min` of the squared mismatch).

    - 360° scans: every view whose mirror angle lies in the scan is paired,
      the mirror view interpolated linearly between its two neighbours in
      angle; the sinogram's first half is compared with its mirrored second half.
    - 180° scans: the first view is paired with the mirrored view at
      :math:`\theta_0 + \pi` and the last view with the one at
      :math:`\theta_{\text{last}} - \pi` (more pairs if the scan is a little
      longer). A scan over :math:`[0, \pi)` lacks them by one step; they
      are then extrapolated linearly in angle from the two end views (at
      most 1.5 steps), which removes the first-order error (the object's
      distance from the axis times the angular gap) that pairing the first
      and last views as they are would leave.

    The integer peak of :math:`c` comes from an FFT; it is refined by
    evaluating the band-limited interpolation of :math:`c` on a 0.01-pixel
    grid around it and fitting a parabola to the best three points.

    :param sinogram: line integrals (after :func:`negative_log`), shaped
        (angles, detectors) or (1, 1, angles, detectors).
    :param angles: the angles in radians, one per row, in any order,
        spanning about :math:`\pi` (up to 1.5 steps short) or :math:`2\pi`.
    :param max_offset: largest :math:`|\delta|` searched, default a quarter of the detector width.
    :return: :math:`\delta`, for ``ParallelBeamCT(..., centre_offset=δ)``.
    :raises ValueError: if the angles cover neither about 180° nor about 360°.

    >>> import torch
    >>> from recon.operators import ParallelBeamCT
    >>> angles = torch.linspace(0, torch.pi, 181)[:-1]   # [0°, 180°) in 1° steps
    >>> x = torch.zeros(1, 1, 64, 64); x[..., 10:30, 35:50] = 1.0
    >>> y = ParallelBeamCT(angles, 96, image_shape=(64, 64), centre_offset=3.4)(x)
    >>> round(estimate_rotation_centre(y, angles), 1)
    3.4
    """
    sino, theta = _as_sinogram(sinogram, angles)
    if sino.shape[0] < 2 or sino.shape[1] < 4:
        raise ValueError(f"sinogram: expected at least 2 angles and 4 detectors, got {tuple(sino.shape)}")
    _check_span(theta)
    n = sino.shape[1]
    if max_offset is None:
        max_offset = n / 4
    if not 0 < float(max_offset) < n / 2:
        raise ValueError(f"max_offset: expected a positive number of pixels below half the detector ({n / 2}), "
                         f"got {max_offset}")
    views, mirrors = _mirror_views(sino, theta)
    views, mirrors = _remove_baseline(views), _remove_baseline(torch.flip(mirrors, dims=[-1]))

    size = 1 << int(math.ceil(math.log2(2 * n)))
    spectrum = (torch.fft.rfft(views, n=size) * torch.conj(torch.fft.rfft(mirrors, n=size))).sum(0)
    correlation = torch.fft.irfft(spectrum, n=size)  # c(t) at t = 0..size-1, negative t wrapped
    shifts = torch.fft.fftfreq(size, d=1.0 / size)
    allowed = shifts.abs() <= 2 * float(max_offset)
    t0 = float(shifts[allowed][torch.argmax(correlation[allowed])])

    # Band-limited interpolation of c(t) near the integer peak.
    fine = torch.arange(-1.0, 1.0 + 1e-9, 0.01, dtype=torch.float64) + t0
    frequencies = torch.arange(spectrum.numel(), dtype=torch.float64)
    weights = torch.full_like(frequencies, 2.0)
    weights[0] = 1.0
    if size % 2 == 0:
        weights[-1] = 1.0
    phase = torch.exp(2j * math.pi * torch.outer(fine, frequencies) / size)
    values = (phase * (weights * spectrum)).real.sum(1) / size
    k = int(torch.clamp(torch.argmax(values), 1, fine.numel() - 2))
    c_minus, c_mid, c_plus = (float(v) for v in values[k - 1 : k + 2])
    curvature = c_minus - 2 * c_mid + c_plus
    vertex = 0.5 * (c_minus - c_plus) / curvature if curvature < 0 else 0.0
    return 0.5 * (float(fine[k]) + 0.01 * vertex)


class SharpnessSearch(NamedTuple):
    """The result of :func:`sharpness_centre_search`: the best offset and every candidate's score."""

    offset: float
    scores: torch.Tensor


def _entropy_scores(images: torch.Tensor, bins: int = 256) -> torch.Tensor:
    """Minus the Shannon entropy of each image's histogram, over one value range shared by all images."""
    low, high = torch.quantile(images.flatten()[:: max(1, images.numel() // 1_000_000)],
                               torch.tensor([0.001, 0.999], dtype=images.dtype))
    scores = []
    for image in images:
        counts = torch.histc(image.clamp(low, high), bins=bins, min=float(low), max=float(high))
        p = counts[counts > 0] / counts.sum()
        scores.append(float((p * torch.log(p)).sum()))
    return torch.tensor(scores, dtype=torch.float64)


def _gradient_scores(images: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    r""":math:`N\,\|g\|_2^2 / \|g\|_1^2`, :math:`g = |\nabla x|` on the ``inside`` pixels.

    High when the edges are few and strong.
    """
    dx = torch.diff(images, dim=-1)[..., :-1, :]
    dy = torch.diff(images, dim=-2)[..., :, :-1]
    magnitude = torch.sqrt(dx**2 + dy**2)[:, inside[:-1, :-1]].to(torch.float64)
    return magnitude.square().sum(1) / magnitude.sum(1).square() * magnitude.shape[1]


def sharpness_centre_search(sinogram, angles, candidates, *, image_shape=None, pixel_size: float = 1.0,
                            filter: str = "hann", metric: str = "entropy",
                            half_turn: bool = True) -> SharpnessSearch:
    r"""Reconstruct with FBP for each candidate centre offset and keep the sharpest image.

    A wrong rotation axis by :math:`\varepsilon` pixels smears every point of
    a 180° scan into a half-circle arc of radius :math:`\varepsilon` (the
    "tuning fork"), which doubles edges and spreads the image's values. Over
    a full turn the arc closes into a ring, a mild symmetric blur that can
    *raise* sharpness scores by damping FBP's ringing; so by default
    (``half_turn=True``) only the views in :math:`[\theta_0, \theta_0 + \pi)`
    are reconstructed, which also halves the cost; the default Hann filter
    damps that ringing too. Two scores measure the smear, inside the
    disk inscribed in the image (the corners are seen by few views), and
    both are maximised:

    - ``"entropy"`` (default): :math:`-H = \sum_b p_b \log p_b` of the
      256-bin histogram of the reconstruction, with one value range
      (0.1–99.9 percentiles over all candidates) for all — a well centred
      image has few, well separated grey levels (Donath et al., J. Opt. Soc.
      Am. A 23, 2006).
    - ``"gradient"``: :math:`N\,\|g\|_2^2 / \|g\|_1^2` with
      :math:`g = |\nabla x|` per pixel — scale-free, large when the edges are
      few and strong rather than many and faint.

    This uses only the operator's own convention
    (``ParallelBeamCT(..., centre_offset=δ)``), so it checks
    :func:`estimate_rotation_centre` independently. Each candidate costs one
    FBP: pass a fine grid around the estimate, not the whole detector.

    :param sinogram: line integrals, (angles, detectors) or (1, 1, angles, detectors).
    :param angles: radians, one per row.
    :param candidates: centre offsets to try, in detector pixels.
    :param image_shape: reconstruction grid, default (n_detectors, n_detectors);
        a smaller grid that still holds the object is faster.
    :param pixel_size: image pixel side, in detector pixels.
    :param filter: the FBP filter (see :func:`recon.operators.fbp`).
    :param metric: ``"entropy"`` or ``"gradient"``.
    :param half_turn: reconstruct only the first 180° of a longer scan.
    :return: ``(offset, scores)``: the candidate with the highest score, and the scores in candidate order.

    >>> import torch
    >>> from recon.operators import ParallelBeamCT
    >>> angles = torch.linspace(0, torch.pi, 91)[:-1]
    >>> x = torch.zeros(1, 1, 64, 64); x[..., 10:30, 35:50] = 1.0
    >>> y = ParallelBeamCT(angles, 96, image_shape=(64, 64), centre_offset=2.0)(x)
    >>> sharpness_centre_search(y, angles, [0.0, 1.0, 2.0, 3.0, 4.0], image_shape=(64, 64)).offset
    2.0
    """
    from recon.operators import ParallelBeamCT, fbp

    if metric not in SHARPNESS_METRICS:
        raise ValueError(f"metric: expected one of {', '.join(SHARPNESS_METRICS)}, got {metric!r}")
    sino, theta = _as_sinogram(sinogram, angles)
    offsets = torch.as_tensor(candidates, dtype=torch.float64).reshape(-1)
    if offsets.numel() == 0 or not bool(torch.isfinite(offsets).all()):
        raise ValueError(f"candidates: expected at least one finite centre offset, got {offsets.tolist()}")
    if half_turn:
        keep = theta < theta[0] + math.pi - 1e-9
        sino, theta = sino[keep], theta[keep]
    n = sino.shape[1]
    image_shape = (n, n) if image_shape is None else tuple(int(s) for s in image_shape)
    rows, cols = image_shape
    y, x = torch.meshgrid(torch.arange(rows) - (rows - 1) / 2, torch.arange(cols) - (cols - 1) / 2, indexing="ij")
    inside = (x**2 + y**2) <= (min(rows, cols) / 2) ** 2
    images = []
    for offset in offsets.tolist():
        # FBP needs only the geometry: the "astra" backend skips building the projection matrix.
        operator = ParallelBeamCT(theta, n, image_shape=image_shape, pixel_size=pixel_size,
                                  centre_offset=offset, backend="astra")
        images.append(fbp(sino[None, None].to(torch.float32), operator, filter=filter)[0, 0])
    images = torch.stack(images)
    if metric == "entropy":
        scores = _entropy_scores(images[:, inside])
    else:
        scores = _gradient_scores(images, inside)
    return SharpnessSearch(float(offsets[torch.argmax(scores)]), scores)
