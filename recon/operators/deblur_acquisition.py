r"""What a deblurring measurement needs besides its pixels: the PSF, the boundary, and (multiband) the bands' set-up.

Two set-ups, each with an ``operator()`` that builds the forward model:

* :class:`BlurAcquisition` — one image (or one per channel) blurred by a PSF shared by
  every channel or given per channel: :math:`y_c = h_c * x_c + n`
  (:class:`~recon.operators.blur.Blur`);
* :class:`MultibandAcquisition` — the Euclid/Rubin set-up: :math:`N` low-resolution bands
  :math:`y_k = S(h_k * x_k)` and one high-resolution broad band
  :math:`y_b = h_b * \sum_k w_k x_k` (:class:`~recon.operators.multiband.MultibandImaging`).

Conventions: images ``(images, channels, H, W)``; PSFs ``float64`` normalised to sum 1,
``(kh, kw)`` or ``(channels, kh, kw)``; for multiband, images ``(images, 1, bands, H, W)`` on the
high-resolution grid and measurements packed ``(images, 1, M)`` by
:meth:`~recon.operators.multiband.MultibandImaging.pack`.

>>> import torch
>>> from recon.operators.psf import gaussian_psf
>>> setup = BlurAcquisition(gaussian_psf(5, 1.0), (32, 32), "reflect")
>>> setup.operator()
Blur(kernel=5x5, image=(32, 32), boundary='reflect')
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from recon.operators.blur import BOUNDARIES, checked_psf


def _normalised_psf(psf, owner: str, ranks=(2, 3)) -> torch.Tensor:
    """``psf`` checked (:func:`~recon.operators.blur.checked_psf`, then rank, sign and sum) and scaled to sum 1."""
    psf = checked_psf(psf, owner)
    if psf.dim() not in ranks:
        shapes = " or ".join({2: "(kh, kw)", 3: "(channels, kh, kw)"}[r] for r in ranks)
        raise ValueError(f"{owner}: the PSF must be shaped {shapes}, got {tuple(psf.shape)}")
    if float(psf.min()) < 0:
        raise ValueError(f"{owner}: the PSF must be non-negative")
    sums = psf.sum(dim=(-2, -1), keepdim=True)
    if float(sums.min()) <= 0:
        raise ValueError(f"{owner}: every PSF must have a positive sum")
    return psf / sums


def _boundary(boundary: str, owner: str) -> str:
    if boundary not in BOUNDARIES:
        raise ValueError(f"{owner}: boundary must be one of {', '.join(BOUNDARIES)}, got {boundary!r}")
    return boundary


@dataclass(frozen=True)
class BlurAcquisition:
    """A PSF (shared or per channel), the image shape and the boundary model of a blurred image."""

    psf: torch.Tensor
    image_shape: tuple[int, int]
    boundary: str = "reflect"

    def __post_init__(self):
        object.__setattr__(self, "psf", _normalised_psf(self.psf, "BlurAcquisition"))
        object.__setattr__(self, "image_shape", tuple(int(n) for n in self.image_shape))
        object.__setattr__(self, "boundary", _boundary(self.boundary, "BlurAcquisition"))

    @property
    def channels(self) -> int | None:
        """The number of channels the PSF is given for (``None``: one PSF for every channel)."""
        return int(self.psf.shape[0]) if self.psf.dim() == 3 else None

    def operator(self):
        """The :class:`~recon.operators.blur.Blur` of this set-up."""
        from recon.operators.blur import Blur

        return Blur(self.psf, self.image_shape, self.boundary)


@dataclass(frozen=True)
class MultibandAcquisition:
    """Band PSFs, the downsampling factor, the broad band's PSF and response weights (module text)."""

    band_psfs: torch.Tensor
    factor: int
    image_shape: tuple[int, int]
    broad_psf: torch.Tensor
    weights: torch.Tensor
    boundary: str = "circular"

    def __post_init__(self):
        object.__setattr__(self, "band_psfs", _normalised_psf(self.band_psfs, "MultibandAcquisition", ranks=(3,)))
        object.__setattr__(self, "broad_psf", _normalised_psf(self.broad_psf, "MultibandAcquisition", ranks=(2,)))
        weights = torch.as_tensor(self.weights, dtype=torch.float64).reshape(-1)
        if weights.numel() != self.bands or not bool(torch.isfinite(weights).all()) or float(weights.min()) < 0:
            raise ValueError(f"MultibandAcquisition: expected {self.bands} finite non-negative broad-band weights "
                             f"(one per band), got {weights.tolist()}")
        object.__setattr__(self, "weights", weights)
        if int(self.factor) != self.factor or self.factor < 1:
            raise ValueError(f"MultibandAcquisition: factor must be an integer >= 1, got {self.factor}")
        object.__setattr__(self, "factor", int(self.factor))
        object.__setattr__(self, "image_shape", tuple(int(n) for n in self.image_shape))
        if any(n % self.factor for n in self.image_shape):
            raise ValueError(f"MultibandAcquisition: the image shape {self.image_shape} must be a multiple of "
                             f"the factor {self.factor}")
        object.__setattr__(self, "boundary", _boundary(self.boundary, "MultibandAcquisition"))

    @property
    def bands(self) -> int:
        return int(self.band_psfs.shape[0])

    @property
    def low_shape(self) -> tuple[int, int]:
        """``(h, w)`` of a low-resolution band."""
        return tuple(n // self.factor for n in self.image_shape)

    def __str__(self):
        (h, w), (big_h, big_w) = self.low_shape, self.image_shape
        return f"{self.bands} bands of {h} x {w} and a broad band of {big_h} x {big_w}"

    def operator(self):
        """The :class:`~recon.operators.multiband.MultibandImaging` of this set-up."""
        from recon.operators.multiband import MultibandImaging

        return MultibandImaging(self.band_psfs, self.factor, self.image_shape, self.broad_psf, self.weights,
                                self.boundary)
