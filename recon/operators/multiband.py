r"""Joint multiband imaging: N low-resolution bands, each with its own PSF, plus one sharp broad band.

The set-up of joint Euclid + Rubin deconvolution: the unknown is the scene in :math:`N` bands
on the high-resolution grid, :math:`x = (x_1, \dots, x_N)`, each :math:`H \times W`. The data are

.. math::
    y_k = S\,(h_k * x_k) \quad (k = 1..N), \qquad y_b = h_b * \Big(\sum_k w_k\, x_k\Big),

the low-resolution bands (Rubin *r, i, z*: blur by the band's PSF :math:`h_k`, then keep every
``factor``-th pixel, :class:`~recon.operators.downsample.Downsample`) and the broad band at the
full resolution (Euclid VIS, whose response is the known weighted sum of those bands; blur by
its own, sharp PSF :math:`h_b`, :class:`~recon.operators.blur.Blur`).

**Shapes.** The bands are a leading spatial axis: images are ``(batch, channel, N, H, W)``
(``domain_shape = (N, H, W)``), so each channel is an independent multiband scene and the
operator passes the registry's checks like any other. The measurement is one flat vector
per channel, ``(batch, channel, M)`` with :math:`M = N h w + H W`: the low-resolution bands
in order (row-major :math:`h \times w` each), then the broad band (row-major :math:`H \times W`).
:meth:`MultibandImaging.pack` and :meth:`MultibandImaging.unpack` convert to and from
``(low (batch, channel, N, h, w), broad (batch, channel, H, W))``.

**Adjoint.** Exact, from the exact adjoints of its parts:

.. math:: A^\top (y_1..y_N, y_b)_k = h_k^\top * (S^\top y_k) \;+\; w_k\, h_b^\top * y_b .

The norm is by power iteration on :math:`A^\top A` (cached, :class:`~recon.operators.base.Operator`).

>>> import torch
>>> from recon.operators.psf import gaussian_psf
>>> psfs = torch.stack([gaussian_psf(7, s) for s in (1.5, 2.0)])
>>> op = MultibandImaging(psfs, 2, (12, 12), gaussian_psf(5, 0.6), weights=[0.5, 0.5])
>>> x = torch.rand(1, 1, 2, 12, 12, dtype=torch.float64)
>>> low, broad = op.unpack(op.A(x))
>>> low.shape, broad.shape, op.range_shape
(torch.Size([1, 1, 2, 6, 6]), torch.Size([1, 1, 12, 12]), (216,))
"""

from __future__ import annotations

import torch

from recon.operators.base import Operator
from recon.operators.blur import Blur, checked_psf
from recon.operators.downsample import Downsample


class MultibandImaging(Operator):
    r"""Low-resolution bands ``S(h_k * x_k)`` and a broad band ``h_b * sum_k w_k x_k`` (module text).

    :param band_psfs: ``(N, kh, kw)``, the PSF of each low-resolution band on the high-resolution grid.
    :param factor: the downsampling factor of the low-resolution bands (all the same).
    :param image_shape: ``(H, W)`` of the high-resolution grid.
    :param broad_psf: ``(kh, kw)``, the broad band's PSF.
    :param weights: the broad band's response ``w_k``, one per band.
    :param boundary: the blurs' boundary, ``"circular"``, ``"zero"`` or ``"reflect"``.
    :param offset: the sampling phase of the low-resolution bands (:class:`~recon.operators.downsample.Downsample`).
    """

    def __init__(self, band_psfs, factor: int, image_shape, broad_psf, weights, boundary: str = "circular",
                 offset: int = 0):
        band_psfs = checked_psf(band_psfs, "MultibandImaging")
        if band_psfs.dim() != 3:
            raise ValueError(f"MultibandImaging: band_psfs must be shaped (bands, kh, kw), got {tuple(band_psfs.shape)}")
        bands = int(band_psfs.shape[0])
        weights = torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
        if weights.numel() != bands:
            raise ValueError(f"MultibandImaging: expected {bands} broad-band weights (one per band), got {weights.numel()}")
        shape = tuple(int(s) for s in image_shape)
        low = Downsample(factor, shape, psf=band_psfs, boundary=boundary, offset=offset)
        broad_psf = checked_psf(broad_psf, "MultibandImaging")
        if broad_psf.dim() != 2:
            raise ValueError(f"MultibandImaging: broad_psf must be one (kh, kw) kernel, got {tuple(broad_psf.shape)}")
        h, w = low.range_shape
        super().__init__((bands, *shape), (bands * h * w + shape[0] * shape[1],))
        self.low, self.broad = low, Blur(broad_psf, shape, boundary)
        self.bands, self.image_shape, self.low_shape = bands, shape, low.range_shape
        self.register_buffer("weights", weights)

    def _weights(self, like: torch.Tensor) -> torch.Tensor:
        return self.weights.to(device=like.device, dtype=like.real.dtype if like.is_complex() else like.dtype)

    def unpack(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, channel, M)`` -> (low ``(batch, channel, N, h, w)``, broad ``(batch, channel, H, W)``)."""
        self.check_range(y)
        batch, channels = y.shape[:2]
        split = self.bands * self.low_shape[0] * self.low_shape[1]
        return (y[..., :split].reshape(batch, channels, self.bands, *self.low_shape),
                y[..., split:].reshape(batch, channels, *self.image_shape))

    def pack(self, low: torch.Tensor, broad: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`unpack`."""
        if tuple(low.shape[2:]) != (self.bands, *self.low_shape) or tuple(broad.shape[2:]) != self.image_shape:
            raise ValueError(f"MultibandImaging: expected low bands shaped (batch, channel, {self.bands}, "
                             f"{', '.join(map(str, self.low_shape))}) and a broad band shaped (batch, channel, "
                             f"{', '.join(map(str, self.image_shape))}), got {tuple(low.shape)} and {tuple(broad.shape)}")
        batch, channels = low.shape[:2]
        return torch.cat([low.reshape(batch, channels, -1), broad.reshape(batch, channels, -1)], dim=-1)

    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_domain(x)
        batch, channels = x.shape[:2]
        flat = x.reshape(batch * channels, self.bands, *self.image_shape)
        low = self.low.A(flat)
        combined = (flat * self._weights(x)[None, :, None, None]).sum(dim=1, keepdim=True)
        broad = self.broad.A(combined)
        return self.pack(low.reshape(batch, channels, self.bands, *self.low_shape),
                         broad.reshape(batch, channels, *self.image_shape))

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        low, broad = self.unpack(y)
        batch, channels = y.shape[:2]
        from_low = self.low.A_adjoint(low.reshape(batch * channels, self.bands, *self.low_shape))
        from_broad = self.broad.A_adjoint(broad.reshape(batch * channels, 1, *self.image_shape))
        out = from_low + from_broad * self._weights(y)[None, :, None, None]
        return out.reshape(batch, channels, self.bands, *self.image_shape)

    def band(self, k: int) -> Downsample:
        """The low-resolution band ``k`` alone, a :class:`~recon.operators.downsample.Downsample` (band-by-band baselines)."""
        blur = self.low.blur
        return Downsample(self.low.factor, self.image_shape, psf=blur.psf[k], boundary=blur.boundary,
                          offset=self.low.offset)

    def __repr__(self):
        return (f"MultibandImaging(bands={self.bands}, factor={self.low.factor}, image={self.image_shape}, "
                f"weights={[round(float(w), 4) for w in self.weights]}, boundary={self.broad.boundary!r})")
