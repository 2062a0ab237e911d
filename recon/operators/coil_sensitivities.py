r"""Coil sensitivity maps from the fully sampled centre of multi-coil k-space.

A receive coil :math:`c` sees the object :math:`\rho` weighted by its smooth
sensitivity :math:`S_c`: the coil image is :math:`x_c(r) = S_c(r)\,\rho(r)`.
Two estimates of :math:`S` live here and in :mod:`recon.operators.espirit`:

- :func:`lowres_coil_maps`: the classic low-resolution estimate. Keep only the
  (windowed) calibration block of k-space, go to image space and divide each
  coil image by the root-sum-of-squares over coils,
  :math:`S_c = \tilde x_c / \sqrt{\sum_{c'} |\tilde x_{c'}|^2}`.
- :func:`recon.operators.espirit.espirit_maps`: ESPIRiT (Uecker et al., MRM 2014).

Both normalise the maps to :math:`\sum_c |S_c(r)|^2 = 1` inside the object and
set them to 0 outside, so the SENSE combination :math:`\sum_c \bar S_c x_c`
is the object itself (up to a smooth phase).

Conventions (those of :mod:`recon.operators.mri_acquisition`): k-space is
complex ``(coils, rows, cols)`` or ``(slices, coils, rows, cols)`` with its
centre at index ``n // 2`` of each axis, and images are its orthonormal
centred inverse FFT (:func:`recon.operators.fourier.centred_ifft`). A
calibration block of size :math:`h \times w` is the centred block
``[n//2 - h//2, n//2 - h//2 + h)`` along each axis, so odd and even sizes
are centred the same way as the k-space centre itself. Maps come back with
the shape of the input, and its complex dtype (complex64 or complex128; real
input is promoted as by :func:`recon.operators.fourier.as_complex`).
"""

from __future__ import annotations

import torch

from recon.operators.fourier import as_complex, centred_ifft


def as_slices(kspace, function: str) -> tuple[torch.Tensor, bool]:
    """``kspace`` as a complex ``(slices, coils, rows, cols)`` tensor, and whether it came without a slice axis.

    Real input is promoted like everywhere in the MRI code (:func:`recon.operators.fourier.as_complex`).
    """
    kspace = as_complex(torch.as_tensor(kspace))
    if kspace.dim() not in (3, 4):
        raise ValueError(f"{function}: kspace must be (coils, rows, cols) or (slices, coils, rows, cols), "
                         f"got shape {tuple(kspace.shape)}")
    squeeze = kspace.dim() == 3
    return (kspace.unsqueeze(0) if squeeze else kspace), squeeze


def centred_block(n: int, size: int) -> slice:
    """The indices ``[n//2 - size//2, n//2 - size//2 + size)``: a block of ``size`` centred like the k-space centre."""
    start = n // 2 - size // 2
    return slice(start, start + size)


def calibration_shape(kspace: torch.Tensor, calibration, function: str) -> tuple[int, int]:
    """Resolve ``calibration`` (an int, a ``(rows, cols)`` pair or ``"auto"``) against 4D ``kspace``."""
    rows, cols = kspace.shape[-2:]
    if isinstance(calibration, str):
        if calibration != "auto":
            raise ValueError(f"{function}: calibration must be 'auto', an int or a (rows, cols) pair, "
                             f"got {calibration!r}")
        return auto_calibration_region(kspace)
    if isinstance(calibration, int):
        calibration = (calibration, calibration)
    shape = tuple(int(s) for s in calibration)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"{function}: calibration must be 'auto', an int or a (rows, cols) pair of positive "
                         f"sizes, got {calibration!r}")
    if shape[0] > rows or shape[1] > cols:
        raise ValueError(f"{function}: calibration {shape} is larger than the image ({rows}, {cols})")
    return shape


def auto_calibration_region(kspace) -> tuple[int, int]:
    r"""Size ``(rows, cols)`` of the fully sampled centre of k-space.

    Among the centred blocks (see the module docstring) in which every sample
    is non-zero in every coil (and every slice), the one of largest area
    :math:`h\,w`. Growing the block by one row alternates between the bottom
    and the top edge, so for each height the widest block follows from how
    far the sampled columns reach to the left (:math:`L`) and to the right
    (:math:`R`, centre included) of the centre: :math:`w = 2R` if
    :math:`R \le L`, else :math:`w = 2L + 1`.

    :param kspace: complex ``(coils, rows, cols)`` or ``(slices, coils, rows, cols)``.
    :return: ``(h, w)``, the calibration region for ``calibration="auto"``.

    >>> import torch
    >>> k = torch.zeros(2, 16, 32, dtype=torch.complex64)
    >>> k[..., ::4] = 1                  # every 4th phase-encode column...
    >>> k[..., 16 - 5:16 + 5] = 1        # ...and 10 fully sampled columns around the centre
    >>> auto_calibration_region(k)
    (16, 10)
    """
    kspace, _ = as_slices(kspace, "auto_calibration_region")
    sampled = (kspace != 0).flatten(0, 1).all(dim=0).cpu()    # a small boolean map; the loop below runs on the CPU
    rows, cols = sampled.shape
    c0 = cols // 2
    if not bool(sampled[rows // 2, c0]):
        raise ValueError("auto_calibration_region: kspace has no sample at its centre "
                         f"({rows // 2}, {c0}) in every coil; pass calibration=(rows, cols) explicitly")
    best, best_area = (0, 0), 0
    columns_ok = torch.ones(cols, dtype=torch.bool)
    for h in range(1, rows + 1):
        # Centred block of height h: going from h-1 to h adds the row below when h-1 is even, above otherwise.
        new_row = rows // 2 - (h - 1) // 2 + (h - 1) if (h - 1) % 2 == 0 else rows // 2 - h // 2
        columns_ok &= sampled[new_row]
        if not bool(columns_ok[c0]):
            break
        right = _run_length(columns_ok[c0:])
        left = _run_length(columns_ok[:c0].flip(0))
        w = 2 * right if right <= left else 2 * left + 1
        if h * w > best_area:
            best, best_area = (h, w), h * w
    return best


def _run_length(flags: torch.Tensor) -> int:
    """How many leading entries of a boolean vector are True."""
    false = (~flags).nonzero()
    return int(false[0]) if len(false) else len(flags)


def _window(n: int, kind, dtype, device) -> torch.Tensor:
    if kind is None or kind == "none":
        return torch.ones(n, dtype=dtype, device=device)
    if kind == "hann":
        # n + 2 points with the two zero end points dropped, so every calibration sample is used.
        return torch.hann_window(n + 2, periodic=False, dtype=dtype, device=device)[1:-1]
    raise ValueError(f"lowres_coil_maps: window must be 'hann' or None, got {kind!r}")


def lowres_coil_maps(kspace, calibration=(24, 24), window="hann", threshold: float = 0.05) -> torch.Tensor:
    r"""Coil sensitivities from a low-resolution image of each coil.

    With :math:`W` the separable window on the centred calibration block
    (zero outside it), the low-resolution coil images are
    :math:`\tilde x_c = \mathcal F^{-1}(W y_c)` and

    .. math::

        S_c(r) = \frac{\tilde x_c(r)}{\sqrt{\sum_{c'} |\tilde x_{c'}(r)|^2}}
        \quad\text{where}\quad \sqrt{\sum_{c'} |\tilde x_{c'}(r)|^2} > \tau \max_{r'} \sqrt{\sum_{c'} |\tilde x_{c'}(r')|^2},

    and :math:`S_c(r) = 0` elsewhere (the background, whose division by a
    near-zero root-sum-of-squares would only amplify noise). The maximum is
    taken per slice. The maps carry the phase of the low-resolution coil
    images, so :math:`\sum_c \bar S_c x_c` is real-positive at low resolution.

    :param kspace: complex ``(coils, rows, cols)`` or ``(slices, coils, rows, cols)``, centred.
    :param calibration: ``(rows, cols)`` of the central block to keep, an int for a square, or ``"auto"``
        (:func:`auto_calibration_region`).
    :param window: ``"hann"`` (a Hann taper that stops Gibbs ringing of the truncated k-space) or ``None``.
    :param threshold: :math:`\tau`, the support threshold relative to the largest root-sum-of-squares.
    :return: maps shaped and typed like ``kspace``.

    >>> import torch
    >>> k = torch.randn(4, 32, 32, dtype=torch.complex64)
    >>> maps = lowres_coil_maps(k, calibration=(8, 8))
    >>> maps.shape, maps.dtype
    (torch.Size([4, 32, 32]), torch.complex64)
    >>> energy = (maps.abs() ** 2).sum(0)
    >>> bool(torch.allclose(energy[energy > 0], torch.ones(1), atol=1e-5))
    True
    """
    k4, squeeze = as_slices(kspace, "lowres_coil_maps")
    if not 0 <= threshold < 1:
        raise ValueError(f"lowres_coil_maps: threshold must be in [0, 1), got {threshold}")
    h, w = calibration_shape(k4, calibration, "lowres_coil_maps")
    rows, cols = k4.shape[-2:]
    real = k4.real.dtype
    taper = _window(h, window, real, k4.device)[:, None] * _window(w, window, real, k4.device)[None, :]
    block = (..., centred_block(rows, h), centred_block(cols, w))
    low = torch.zeros_like(k4)
    low[block] = k4[block] * taper
    images = centred_ifft(low)
    rss = torch.linalg.vector_norm(images, dim=1, keepdim=True)
    support = rss > threshold * rss.amax(dim=(-2, -1), keepdim=True)
    maps = torch.where(support, images / rss.clamp_min(torch.finfo(real).tiny), torch.zeros_like(images))
    return maps[0] if squeeze else maps
