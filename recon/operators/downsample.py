r"""Downsample: blur by a PSF, then keep every ``factor``-th pixel, :math:`y = S(h * x)`.

The model of super-resolution (a low-resolution image of a sharp scene) and of
multi-band data whose bands have different resolutions (one ``Downsample`` per
band, each with its own factor and PSF, on the common high-resolution grid).

:math:`S` keeps the pixels ``offset::factor`` of each axis,

.. math:: y_{i,j} = (h * x)_{\,\text{offset} + i\,\text{factor},\ \text{offset} + j\,\text{factor}},

so an :math:`H \times W` image gives :math:`\lceil (H - \text{offset})/\text{factor}\rceil
\times \lceil (W - \text{offset})/\text{factor}\rceil` samples. The default ``offset=0``
is deepinv's ``Downsampling`` convention (``x[..., ::factor, ::factor]``).
``offset = factor // 2`` with an odd factor and a centred ``factor`` × ``factor`` box
PSF makes low-resolution pixel :math:`(i, j)` the exact mean of the block
``[i f, (i+1) f) × [j f, (j+1) f)``.

The adjoint is exact: :math:`A^\top y = h^\top * (S^\top y)`, :math:`S^\top` putting
the samples back in place among zeros (zero insertion) and :math:`h^\top *` the
adjoint of :class:`~recon.operators.blur.Blur` in its boundary mode.
:meth:`norm` is 1 without a PSF, else by Lanczos (cached).
"""

from __future__ import annotations

import math

import torch

from recon.operators.base import Operator
from recon.operators.blur import Blur
from recon.operators.lanczos import largest_eigenvalue


class Downsample(Operator):
    r"""Blur by ``psf`` (optional), then keep the pixels ``offset::factor`` of both axes (module text).

    :param factor: integer downsampling factor, at least 1.
    :param image_shape: ``(H, W)`` of the high-resolution image.
    :param psf: ``(kh, kw)`` or ``(channels, kh, kw)`` (:class:`~recon.operators.blur.Blur`), or ``None``: no blur.
    :param boundary: the blur's boundary, ``"circular"``, ``"zero"`` or ``"reflect"``.
    :param offset: the phase of the sampling, ``0 <= offset < factor``.

    >>> import torch
    >>> op = Downsample(3, (9, 6), psf=torch.full((3, 3), 1 / 9), offset=1)
    >>> x = torch.arange(54.0).reshape(1, 1, 9, 6)
    >>> y = op.A(x)                                         # the means of the 3 x 3 blocks
    >>> y.shape, round(float(y[0, 0, 1, 1]), 10), float(x[0, 0, 3:6, 3:6].mean())
    (torch.Size([1, 1, 3, 2]), 28.0, 28.0)
    """

    def __init__(self, factor: int, image_shape, psf=None, boundary: str = "circular", offset: int = 0):
        if int(factor) != factor or factor < 1:
            raise ValueError(f"Downsample: factor must be a positive integer, got {factor}")
        factor, offset = int(factor), int(offset)
        if not 0 <= offset < factor:
            raise ValueError(f"Downsample: offset must be in [0, factor) = [0, {factor}), got {offset}")
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 2 or min(shape) <= offset:
            raise ValueError(f"Downsample: image_shape must be (H, W) larger than the offset {offset}, "
                             f"got {tuple(image_shape)}")
        samples = tuple(len(range(offset, n, factor)) for n in shape)
        super().__init__(shape, samples)
        self.factor, self.offset = factor, offset
        self.blur = None if psf is None else Blur(psf, shape, boundary)
        self._norm_cache_by_device: dict[str, torch.Tensor] = {}

    def _sampled(self, t: torch.Tensor) -> torch.Tensor:
        return t[..., self.offset::self.factor, self.offset::self.factor]

    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_domain(x)
        return self._sampled(x if self.blur is None else self.blur.A(x))

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_range(y)
        full = y.new_zeros((*y.shape[:2], *self.domain_shape))
        self._sampled(full).copy_(y)
        return full if self.blur is None else self.blur.A_adjoint(full)

    def norm(self, *, dtype: torch.dtype = torch.float32, device="cpu", tol: float = 1e-6,
             max_iter: int = 100) -> torch.Tensor:
        r""":math:`\|A\|_2`: 1 without a PSF (a selection), else Lanczos on :math:`A^\top A` in float64 (cached per device)."""
        if self.blur is None:
            return torch.tensor(1.0, dtype=torch.float64)
        key = str(torch.device(device))
        if key not in self._norm_cache_by_device:
            shape = (1, self.blur.channels or 1, *self.domain_shape)
            eigenvalue = largest_eigenvalue(self.A_adjoint_A, shape, dtype=torch.float64, device=device,
                                            tol=tol, max_iter=max_iter)
            self._norm_cache_by_device[key] = torch.tensor(math.sqrt(max(eigenvalue, 0.0)), dtype=torch.float64)
        return self._norm_cache_by_device[key]

    def __repr__(self):
        blur = "none" if self.blur is None else repr(self.blur)
        return f"Downsample(factor={self.factor}, offset={self.offset}, image={self.domain_shape}, blur={blur})"
