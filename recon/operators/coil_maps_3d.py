r"""Coil sensitivities of true-3D Cartesian k-space ``(coils, depth, rows, cols)``.

Axes as in :class:`recon.operators.MultiCoilMRI` with ``ndim=3``: depth is the
second phase encode (:math:`k_z`), rows the read-out (:math:`k_x`), columns the
first phase encode (:math:`k_y`), each centred at index ``n // 2``. A Cartesian 3D
scan measures whole read-outs, so the calibration region is a centred
``(depth, cols)`` block of the two phase-encode axes that is sampled on every
row (:func:`calibration_block_3d`).

- :func:`lowres_coil_maps_3d`: the low-resolution estimate of
  :func:`recon.operators.coil_sensitivities.lowres_coil_maps` with a 3D window:
  :math:`\tilde x_c = \mathcal F_3^{-1}(W y_c)`,
  :math:`W = w_{d}(k_z)\,w_{r}(k_x)\,w_{c}(k_y)` Hann tapers over the block (all rows),
  and :math:`S_c = \tilde x_c / (\sum_{c'} |\tilde x_{c'}|^2)^{1/2}` where that exceeds
  ``threshold`` times its maximum over the volume, 0 elsewhere.
- :func:`espirit_maps_3d`: ESPIRiT in hybrid space. The inverse FFT along the
  fully sampled read-out, :math:`h_c(k_z, x, k_y) = \mathcal F_x^{-1} y_c`, is exact,
  and for each read-out position :math:`x` the plane :math:`h_c(\cdot, x, \cdot)` is
  the 2D k-space of that position's coil images; 2D ESPIRiT
  (:func:`recon.operators.espirit.espirit_maps`) on each plane, calibrated on the
  same ``(depth, cols)`` block, gives the 3D maps. This is how the ESPIRiT paper
  (Uecker et al., MRM 2014) and BART's ``ecalib`` treat 3D Cartesian data. The
  per-pixel phase reference (coil 0 real) makes neighbouring planes agree.

Both normalise to :math:`\sum_c |S_c|^2 = 1` where the map is non-zero.
"""

from __future__ import annotations

import torch

from recon.operators.coil_sensitivities import auto_calibration_region, centred_block
from recon.operators.fourier import as_complex, centred_ifft


def centred_ifft_along(t: torch.Tensor, dim: int) -> torch.Tensor:
    """The orthonormal centred inverse FFT of :mod:`recon.operators.fourier` along the one axis ``dim``.

    The 3D transform is separable, so this takes a volume to hybrid space along ``dim``.

    >>> import torch
    >>> from recon.operators.fourier import centred_fft
    >>> x = torch.randn(2, 3, 4, 5, dtype=torch.complex128)
    >>> k = centred_fft(x, ndim=3)
    >>> h = centred_ifft_along(centred_ifft_along(k, -3), -1)      # what is left is along the rows
    >>> bool(torch.allclose(centred_ifft_along(h, -2), x))
    True
    """
    return torch.fft.fftshift(torch.fft.ifft(torch.fft.ifftshift(t, dim=dim), dim=dim, norm="ortho"), dim=dim)


def _taper(n: int, window, dtype, device) -> torch.Tensor:
    """The 1D window of :func:`recon.operators.coil_sensitivities.lowres_coil_maps`: Hann on n + 2 points less
    its two zero ends (so every calibration sample counts), or ones."""
    if window is None or window == "none":
        return torch.ones(n, dtype=dtype, device=device)
    if window == "hann":
        return torch.hann_window(n + 2, periodic=False, dtype=dtype, device=device)[1:-1]
    raise ValueError(f"lowres_coil_maps_3d: window must be 'hann' or None, got {window!r}")


def _checked(kspace, function: str) -> torch.Tensor:
    kspace = as_complex(torch.as_tensor(kspace))
    if kspace.dim() != 4:
        raise ValueError(f"{function}: kspace must be (coils, depth, rows, cols), got shape {tuple(kspace.shape)}")
    return kspace


def calibration_block_3d(kspace, calibration="auto", function: str = "calibration_block_3d") -> tuple[int, int]:
    """``(depth, cols)`` of the centred phase-encode block the maps are calibrated on, checked.

    ``"auto"`` is the largest centred block (of area ``depth * cols``) measured on every
    row (a sample counts as measured where any coil is non-zero); an explicit ``(depth, cols)``
    (or an int for a square) must be sampled in the same way.

    >>> import torch
    >>> k = torch.zeros(2, 8, 6, 16, dtype=torch.complex64)
    >>> k[:, 2:6, :, 5:11] = 1                       # a 4 x 6 block over every row
    >>> calibration_block_3d(k)
    (4, 6)
    """
    kspace = _checked(kspace, function)
    _, depth, _, cols = kspace.shape
    sampled = (kspace != 0).any(dim=0).all(dim=1).cpu()           # (depth, cols): measured on every row
    if calibration == "auto":
        if not bool(sampled[depth // 2, cols // 2]):
            raise ValueError(f"{function}: the k-space centre (depth {depth // 2}, col {cols // 2}) is not "
                             "measured on every read-out row; a true-3D calibration needs a "
                             "fully sampled centre block")
        return auto_calibration_region(sampled[None].to(kspace.dtype))
    if isinstance(calibration, int):
        calibration = (calibration, calibration)
    shape = tuple(int(s) for s in calibration)
    if len(shape) != 2 or min(shape) < 1 or shape[0] > depth or shape[1] > cols:
        raise ValueError(f"{function}: calibration must be 'auto' or a (depth, cols) block inside ({depth}, {cols}), "
                         f"got {calibration!r}")
    block = sampled[centred_block(depth, shape[0]), centred_block(cols, shape[1])]
    if not bool(block.all()):
        raise ValueError(f"{function}: the calibration block {shape} (depth, cols) is not measured on every "
                         f"read-out row ({int((~block).sum())} of its {block.numel()} phase encodes are missing); "
                         "use a smaller block or 'auto'")
    return shape


def lowres_coil_maps_3d(kspace, calibration="auto", window="hann", threshold: float = 0.05) -> torch.Tensor:
    r"""Coil sensitivities ``(coils, depth, rows, cols)`` from a 3D-windowed low-resolution image of each coil.

    See the module text; ``calibration`` is a ``(depth, cols)`` block (:func:`calibration_block_3d`),
    windowed along all rows too.

    >>> import torch
    >>> k = torch.randn(4, 8, 16, 16, dtype=torch.complex64)
    >>> maps = lowres_coil_maps_3d(k, calibration=(4, 6))
    >>> maps.shape, bool(torch.allclose((maps.abs() ** 2).sum(0)[maps[0] != 0], torch.ones(1), atol=1e-5))
    (torch.Size([4, 8, 16, 16]), True)
    """
    kspace = _checked(kspace, "lowres_coil_maps_3d")
    if not 0 <= threshold < 1:
        raise ValueError(f"lowres_coil_maps_3d: threshold must be in [0, 1), got {threshold}")
    d, c = calibration_block_3d(kspace, calibration, "lowres_coil_maps_3d")
    _, depth, rows, cols = kspace.shape
    real = kspace.real.dtype
    taper = (_taper(d, window, real, kspace.device)[:, None, None]
             * _taper(rows, window, real, kspace.device)[None, :, None]
             * _taper(c, window, real, kspace.device)[None, None, :])
    block = (slice(None), centred_block(depth, d), slice(None), centred_block(cols, c))
    low = torch.zeros_like(kspace)
    low[block] = kspace[block] * taper
    images = centred_ifft(low, ndim=3)
    rss = torch.linalg.vector_norm(images, dim=0, keepdim=True)
    support = rss > threshold * rss.max()
    return torch.where(support, images / rss.clamp_min(torch.finfo(real).tiny), torch.zeros_like(images))


def espirit_maps_3d(kspace, calibration="auto", crop: float = 0.95, **espirit_options) -> torch.Tensor:
    r"""ESPIRiT sensitivities ``(coils, depth, rows, cols)``: 2D ESPIRiT on each read-out position's ``(kz, ky)`` plane.

    See the module text; ``espirit_options`` (``kernel``, ``threshold``) go to
    :func:`recon.operators.espirit.espirit_maps`.

    >>> import torch
    >>> from recon.operators.fourier import centred_fft
    >>> z, y, x = torch.meshgrid(*(torch.linspace(-1, 1, n) for n in (12, 8, 16)), indexing="ij")
    >>> rho = (x**2 + (y - 0.1)**2 + z**2 < 0.7).to(torch.complex64)
    >>> coils = torch.stack([torch.exp(-((x - a)**2 + (z - b)**2)) for a, b in [(1, 0), (-1, 0), (0, 1)]])
    >>> maps = espirit_maps_3d(centred_fft(coils * rho, ndim=3), calibration=(8, 8), kernel=(4, 4))
    >>> maps.shape, round(float((maps[:, 6, 4, 8].abs() ** 2).sum()), 4)
    (torch.Size([3, 12, 8, 16]), 1.0)
    """
    from recon.operators.espirit import espirit_maps

    kspace = _checked(kspace, "espirit_maps_3d")
    block = calibration_block_3d(kspace, calibration, "espirit_maps_3d")
    planes = centred_ifft_along(kspace, -2).permute(2, 0, 1, 3)                     # (rows, coils, depth, cols)
    maps = espirit_maps(planes, calibration=block, crop=crop, **espirit_options)    # (rows, coils, depth, cols)
    return maps.permute(1, 2, 0, 3).contiguous()
