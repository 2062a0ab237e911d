r"""Filtered back-projection for parallel-beam and flat-detector fan-beam CT.

Parallel beam:

.. math::

    x(\mathbf r) \approx \sum_\theta w_\theta\, (h * p_\theta)(\mathbf r\cdot u_\theta),

fan beam with a flat detector (the detector coordinate :math:`s` is rescaled
to a virtual detector through the rotation axis, :math:`D` is the
source–axis distance and :math:`U` the distance of :math:`\mathbf r` from the
source along the central ray, divided by :math:`D`):

.. math::

    x(\mathbf r) \approx \sum_\beta \frac{w_\beta}{U(\mathbf r, \beta)^2}
    \Bigl(h * \tfrac{D}{\sqrt{D^2 + s^2}}\, p_\beta\Bigr)(s(\mathbf r, \beta)).

:math:`h` is the band-limited ramp kernel (Kak & Slaney, eq. 3.61) applied by
zero-padded FFT, optionally windowed; :math:`w` is the angular step, halved
where a full circle measures every line twice. Back-projection is
pixel-driven with linear interpolation on the detector, so that
``fbp(A x) ≈ x`` in the physical units of the operator.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from recon.operators.ct_geometry import FanBeamGeometry, ParallelBeamGeometry

FILTERS = ("ramp", "shepp-logan", "cosine", "hann")


def ramp_filter(n_detectors: int, spacing: float, window: str = "ramp", *, dtype=torch.float64) -> torch.Tensor:
    r"""Frequency response of the windowed ramp filter, for a zero-padded FFT of length ``2^k ≥ 2n``.

    The spatial Ram–Lak kernel :math:`h(0) = 1/(4\tau^2)`,
    :math:`h(k\tau) = -1/(\pi k \tau)^2` for odd :math:`k` and 0 otherwise,
    is transformed and multiplied by :math:`\tau` (the quadrature weight) and
    by the window at normalised frequency :math:`f \in [-1/2, 1/2)`:
    Shepp–Logan :math:`\mathrm{sinc}(f)`, cosine :math:`\cos(\pi f)`,
    Hann :math:`(1 + \cos 2\pi f)/2`.

    >>> response = ramp_filter(64, 1.0)
    >>> response.shape[0], round(float(response[0]), 4)   # the DC gain of the band-limited ramp is tiny, not 0
    (128, 0.0016)
    """
    window = window.lower().replace("_", "-")
    if window not in FILTERS:
        raise ValueError(f"filter: expected one of {', '.join(FILTERS)}, got {window!r}")
    size = max(64, 1 << int(math.ceil(math.log2(2 * n_detectors))))
    k = np.fft.fftfreq(size, d=1.0 / size)  # 0, 1, ..., -1 as integers
    kernel = np.zeros(size)
    kernel[0] = 0.25 / spacing**2
    odd = (k.astype(int) % 2) == 1
    kernel[odd] = -1.0 / (np.pi * k[odd] * spacing) ** 2
    response = np.real(np.fft.fft(kernel)) * spacing
    f = np.fft.fftfreq(size)
    if window == "shepp-logan":
        response *= np.sinc(f)
    elif window == "cosine":
        response *= np.cos(np.pi * f)
    elif window == "hann":
        response *= 0.5 * (1.0 + np.cos(2 * np.pi * f))
    return torch.as_tensor(response, dtype=dtype)


def angular_weights(angles: np.ndarray) -> np.ndarray:
    r"""Quadrature weight of each view: half the gap to its neighbours, scaled by :math:`\pi/\text{coverage}` beyond :math:`\pi`.

    A full circle (parallel or fan) thus counts every line once. A fan-beam
    short scan gets the same uniform down-weighting instead of Parker weights.
    """
    order = np.argsort(angles)
    sorted_angles = angles[order]
    if sorted_angles.size == 1:
        return np.array([np.pi])
    gaps = np.diff(sorted_angles)
    typical = float(np.median(gaps))
    coverage = float(sorted_angles[-1] - sorted_angles[0]) + typical
    closes_circle = coverage >= 2 * np.pi - 1e-6
    wrap = (2 * np.pi - (sorted_angles[-1] - sorted_angles[0])) if closes_circle else typical
    before = np.concatenate([[wrap], gaps])
    after = np.concatenate([gaps, [wrap]])
    weights_sorted = 0.5 * (before + after) * (np.pi / max(np.pi, min(coverage, 2 * np.pi)))
    weights = np.empty_like(weights_sorted)
    weights[order] = weights_sorted
    return weights


def _view_frames(geometry, device, dtype):
    """Per view: detector centre, unit detector axis, its length, and (fan) the source."""
    vectors = torch.as_tensor(geometry.vectors(), device=device, dtype=torch.float64)
    first, centre, u = vectors[:, 0:2], vectors[:, 2:4], vectors[:, 4:6]
    spacing = torch.linalg.vector_norm(u, dim=1, keepdim=True)
    return first, centre, u / spacing, spacing[:, 0]


def fbp(sinogram: torch.Tensor, operator, filter: str = "ramp", *, views_per_chunk: int = 8) -> torch.Tensor:
    r"""Filtered back-projection of ``sinogram`` (batch, channel, angles, detectors) for ``operator``'s geometry.

    :param sinogram: line integrals, in the layout ``operator.A`` produces.
    :param operator: a :class:`~recon.operators.ParallelBeamCT` or :class:`~recon.operators.FanBeamCT`, or
        the geometry itself (:mod:`recon.operators.ct_geometry`): FBP needs no projector, so ``recon run
        ct-fbp`` builds none.
    :param filter: ``"ramp"``, ``"shepp-logan"``, ``"cosine"`` or ``"hann"``.
    :return: the image, shaped (batch, channel, rows, cols), scaled so that ``fbp(A x) ≈ x``.

    Example
    -------
    >>> import torch
    >>> from recon.operators import ParallelBeamCT, fbp
    >>> op = ParallelBeamCT(torch.linspace(0, torch.pi, 181)[:-1], n_detectors=96, image_shape=(64, 64))
    >>> x = torch.zeros(1, 1, 64, 64); x[..., 16:48, 16:48] = 1.0
    >>> round(float(fbp(op(x), op)[0, 0, 24:40, 24:40].mean()), 2)
    1.0
    >>> bool((fbp(op(x), op.geometry) == fbp(op(x), op)).all())
    True
    """
    geometry = getattr(operator, "geometry", operator)
    if not isinstance(geometry, (ParallelBeamGeometry, FanBeamGeometry)):
        raise TypeError(f"fbp: expected a CT operator or geometry, got {type(operator).__name__}")
    expected = (geometry.n_angles, geometry.n_detectors)
    if sinogram.dim() != 4 or tuple(sinogram.shape[2:]) != expected:
        raise ValueError(f"fbp: expected a measurement shaped (batch, channel, {expected[0]}, {expected[1]}), "
                         f"got {tuple(sinogram.shape)}")
    if sinogram.is_complex():
        raise TypeError(f"fbp: expected a real sinogram, got {sinogram.dtype}")
    device, dtype = sinogram.device, sinogram.dtype
    batch, channels, n_views, n_det = sinogram.shape
    fan = isinstance(geometry, FanBeamGeometry)

    # Everything below is in pixel units; the operator's sinogram carries a pixel_size factor.
    projections = sinogram.reshape(batch * channels, n_views, n_det).to(torch.float64) / geometry.pixel_size
    first, centre, axis, spacing = _view_frames(geometry, device, dtype)
    offsets = torch.arange(n_det, device=device, dtype=torch.float64) - (n_det - 1) / 2
    if fan:
        source = first
        normal = torch.stack([-axis[:, 1], axis[:, 0]], dim=1)
        normal = normal * torch.sign(((centre - source) * normal).sum(1, keepdim=True))
        source_detector = ((centre - source) * normal).sum(1)  # source to detector plane
        source_origin = (-source * normal).sum(1)  # source to rotation axis, along the normal
        principal = ((source - centre) * axis).sum(1)  # principal point on the detector axis
        magnify = source_origin / source_detector
        s_virtual = (offsets[None, :] * spacing[:, None] - principal[:, None]) * magnify[:, None]
        projections = projections * (source_origin[:, None] / torch.sqrt(source_origin[:, None] ** 2 + s_virtual**2))
        tau = spacing * magnify
    else:
        tau = spacing
    if not torch.allclose(tau, tau[0]):
        raise ValueError("fbp: expected the same detector spacing in every view")

    response = ramp_filter(n_det, float(tau[0]), filter).to(device)
    padded = torch.fft.fft(projections, n=response.shape[0], dim=-1)
    filtered = torch.real(torch.fft.ifft(padded * response, dim=-1))[..., :n_det]
    # One view per grid_sample batch item: (views, batch*channels, 1, detectors).
    filtered = filtered.to(dtype).permute(1, 0, 2).unsqueeze(2)

    weights = torch.as_tensor(angular_weights(geometry.angles), device=device, dtype=torch.float64)
    rows, cols = geometry.image_shape
    y = ((rows - 1) / 2 - torch.arange(rows, device=device, dtype=torch.float64))[None, :, None]
    x = (torch.arange(cols, device=device, dtype=torch.float64) - (cols - 1) / 2)[None, None, :]
    # grid_sample's normalised coordinate of detector column c is 2c/(n-1) - 1 (align_corners=True).
    to_grid = 2.0 / max(n_det - 1, 1)
    image = torch.zeros(batch * channels, rows * cols, device=device, dtype=dtype)
    for start in range(0, n_views, views_per_chunk):
        views = slice(start, min(start + views_per_chunk, n_views))
        origin = source[views] if fan else centre[views]
        ax, ay = axis[views, 0, None, None], axis[views, 1, None, None]
        # Position of each pixel along the detector axis, relative to `origin`, separably in x and y.
        along = ((x - origin[:, 0, None, None]) * ax).to(dtype) + ((y - origin[:, 1, None, None]) * ay).to(dtype)
        scale = (to_grid / spacing[views])[:, None, None]
        if fan:
            nx, ny = normal[views, 0, None, None], normal[views, 1, None, None]
            depth = ((x - origin[:, 0, None, None]) * nx).to(dtype) + ((y - origin[:, 1, None, None]) * ny).to(dtype)
            grid_x = along * (scale * source_detector[views, None, None]).to(dtype) / depth
            grid_x += (principal[views] * to_grid / spacing[views]).to(dtype)[:, None, None]
            weight = (source_origin[views, None, None].to(dtype) / depth).square_()
            weight *= weights[views, None, None].to(dtype)
        else:
            grid_x = along * scale.to(dtype)
        grid = torch.stack([grid_x.reshape(grid_x.shape[0], 1, -1), torch.zeros_like(grid_x).reshape(grid_x.shape[0], 1, -1)], dim=-1)
        samples = torch.nn.functional.grid_sample(
            filtered[views], grid, mode="bilinear", padding_mode="zeros", align_corners=True
        )[:, :, 0, :]  # (views, batch*channels, pixels)
        if fan:
            image += (samples * weight.reshape(weight.shape[0], 1, -1)).sum(0)
        else:
            image += torch.einsum("vbp,v->bp", samples, weights[views].to(dtype))
    return image.reshape(batch, channels, *geometry.image_shape)
