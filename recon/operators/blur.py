r"""Blur: convolution of an image with a point-spread function, :math:`y = h * x`, with an exact adjoint.

For a PSF :math:`h` of ``kh`` × ``kw`` pixels with centre :math:`c = (\lfloor kh/2\rfloor,
\lfloor kw/2\rfloor)` and an image :math:`x` of :math:`H \times W` pixels, the output
has :math:`H \times W` pixels,

.. math::

    y_{i,j} = \sum_{a,b} h_{a,b}\, \tilde x_{\,i - (a - c_0),\; j - (b - c_1)},

a true convolution (the kernel is flipped; a PSF measured as the image of a point
is used as it is). The boundary mode says what the extended image :math:`\tilde x`
is outside the image:

``"circular"``
    periodic, :math:`\tilde x_{i,j} = x_{i \bmod H,\, j \bmod W}`:
    :math:`y = \mathcal F^{-1}(\hat h \cdot \mathcal F x)` with FFTs of size
    :math:`H \times W` (a PSF larger than the image wraps around). Same as
    ``scipy.ndimage.convolve(x, h, mode="wrap")``.
``"zero"``
    zero outside the image, the "same" part of the linear convolution. Same as
    ``scipy.ndimage.convolve(x, h, mode="constant")`` and
    ``scipy.signal.convolve2d(x, h, mode="same")`` for odd kernel sizes.
``"reflect"``
    half-sample symmetric: the edge pixel is repeated,
    ``d c b a | a b c d | d c b a`` (numpy's ``mode="symmetric"``, which
    ``scipy.ndimage`` calls ``"reflect"`` and ``convolve2d`` ``boundary="symm"``);
    it keeps a constant image constant. Extensions longer than the image
    continue the pattern with period :math:`2H`.

**Implementation and adjoint.** ``"zero"`` and ``"reflect"`` are a padding
:math:`P` of the image to :math:`(H + kh - 1) \times (W + kw - 1)`, a circular
convolution :math:`C` on an FFT grid at least that large (rounded up to a
7-smooth size), which then equals the linear one on the part kept, and a crop
:math:`K`: :math:`A = K C P`. The adjoint :math:`A^\top = P^\top C^\top K^\top` is
built from the exact adjoint of each factor: :math:`K^\top` embeds in zeros,
:math:`C^\top` multiplies by :math:`\overline{\hat h}` (a correlation) and
:math:`P^\top` of the reflection folds the padded borders back onto the pixels they
copy (summing them), of the zero padding crops. So the adjoint is exact in every
mode, to rounding. A 25 × 25 PSF on a 256² image costs one real FFT pair of 280² .

**PSF per channel.** ``psf`` is ``(kh, kw)``, shared by every channel, or
``(channels, kh, kw)``, one per channel (colour bands, spectral bands with a
wavelength-dependent blur); then images must have that many channels. Images are
``(batch, channels, H, W)``, real or complex (a complex image is blurred by the
real PSF, real and imaginary parts alike). The PSF follows the input's device
and precision: its transfer function is computed once per device and dtype.

**Norm.** Circular: :math:`\|A\|_2 = \max_\omega |\hat h(\omega)|` exactly (the
FFT diagonalises :math:`A`). Otherwise by Lanczos on :math:`A^\top A` (cached); for a
non-negative PSF of sum 1 it is at most 1 with zero padding and about 1 with
reflection.
"""

from __future__ import annotations

import math

import torch

from recon.operators.base import Operator
from recon.operators.lanczos import largest_eigenvalue

BOUNDARIES = ("circular", "zero", "reflect")


def fast_fft_length(n: int) -> int:
    """The smallest integer >= ``n`` whose prime factors are all at most 7 (fast for pocketfft and cuFFT).

    >>> fast_fft_length(280), fast_fft_length(257), fast_fft_length(11)
    (280, 270, 12)
    """
    candidate = max(int(n), 1)
    while True:
        m = candidate
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        if m == 1:
            return candidate
        candidate += 1


def symmetric_indices(n: int, before: int, after: int) -> torch.Tensor:
    """Source index of each sample of a length-``n`` signal padded half-sample symmetrically.

    >>> symmetric_indices(4, 3, 5).tolist()
    [2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0]
    """
    k = torch.arange(-before, n + after) % (2 * n)
    return torch.where(k < n, k, 2 * n - 1 - k)


def checked_psf(psf, owner: str) -> torch.Tensor:
    """``psf`` as a float64 tensor shaped (kh, kw) or (channels, kh, kw), or a one-line ``ValueError``."""
    psf = torch.as_tensor(psf)
    if psf.is_complex() or not (psf.is_floating_point() or psf.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"{owner}: psf must be a real tensor, got {psf.dtype}")
    if psf.dim() not in (2, 3) or psf.numel() == 0:
        raise ValueError(f"{owner}: psf must be shaped (kh, kw) or (channels, kh, kw), got {tuple(psf.shape)}")
    psf = psf.detach().to(torch.float64)
    if not bool(torch.isfinite(psf).all()):
        raise ValueError(f"{owner}: psf has NaN or infinite entries")
    return psf


class Blur(Operator):
    r"""Convolution with a PSF, :math:`y = h * x`, circular, zero-padded or reflected at the boundary (module text).

    :param psf: ``(kh, kw)`` shared by the channels, or ``(channels, kh, kw)``; centre at ``(kh // 2, kw // 2)``.
    :param image_shape: ``(H, W)``; the output has the same shape.
    :param boundary: ``"circular"`` (FFT, periodic), ``"zero"`` or ``"reflect"`` (half-sample symmetric).

    >>> import torch
    >>> from recon.operators.psf import gaussian_psf
    >>> op = Blur(gaussian_psf(5, 1.0), (16, 12), boundary="reflect")
    >>> x = torch.ones(2, 3, 16, 12, dtype=torch.float64)
    >>> y = op.A(x)                       # a constant image stays constant under reflection
    >>> y.shape, float((y - 1).abs().max()) < 1e-14
    (torch.Size([2, 3, 16, 12]), True)
    >>> x, y = torch.randn(1, 1, 16, 12, dtype=torch.float64), torch.randn(1, 1, 16, 12, dtype=torch.float64)
    >>> abs(float((op.A(x) * y).sum() - (x * op.A_adjoint(y)).sum())) < 1e-12
    True
    """

    def __init__(self, psf, image_shape, boundary: str = "circular"):
        psf = checked_psf(psf, "Blur")
        if boundary not in BOUNDARIES:
            raise ValueError(f"Blur: boundary must be one of {', '.join(BOUNDARIES)}, got {boundary!r}")
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"Blur: image_shape must be (H, W) with positive sizes, got {tuple(image_shape)}")
        super().__init__(shape, shape)
        self.boundary = boundary
        self.channels = int(psf.shape[0]) if psf.dim() == 3 else None
        self.register_buffer("psf", psf)
        kh, kw = psf.shape[-2:]
        self.kernel_shape = (int(kh), int(kw))
        self.centre = (int(kh) // 2, int(kw) // 2)
        (H, W), (ch, cw) = shape, self.centre
        if boundary == "circular":
            self.fft_shape = shape
        else:
            # Pad kh - 1 - c before and c after: the part kept then starts at kh - 1 of the padded grid.
            self.pad_before = (kh - 1 - ch, kw - 1 - cw)
            self.padded_shape = (H + kh - 1, W + kw - 1)
            self.fft_shape = tuple(fast_fft_length(n) for n in self.padded_shape)
        self._cache: dict[tuple, torch.Tensor] = {}

    # -- the transfer function ---------------------------------------------------------------------------

    def _kernel_grid(self) -> torch.Tensor:
        """The PSF laid out on the FFT grid: wrapped around the origin (circular) or at the top left."""
        psf = self.psf.to(torch.float64)
        channels = psf.shape[0] if psf.dim() == 3 else 1
        (kh, kw), (ch, cw), (Q0, Q1) = self.kernel_shape, self.centre, self.fft_shape
        a = torch.arange(kh, device=psf.device)[:, None]
        b = torch.arange(kw, device=psf.device)[None, :]
        if self.boundary == "circular":
            index = ((a - ch) % Q0) * Q1 + (b - cw) % Q1
        else:
            index = a * Q1 + b
        grid = torch.zeros(channels, Q0 * Q1, dtype=torch.float64, device=psf.device)
        grid.index_add_(1, index.reshape(-1), psf.reshape(channels, -1))
        grid = grid.reshape(channels, Q0, Q1)
        return grid if psf.dim() == 3 else grid[0]

    def _spectrum(self, like: torch.Tensor) -> torch.Tensor:
        """``rfft2`` (real input) or ``fft2`` (complex input) of the kernel grid, in ``like``'s precision and device."""
        half = not like.is_complex()
        key = ("spectrum", half, like.real.dtype if like.is_complex() else like.dtype, str(like.device))
        if key not in self._cache:
            grid = self._kernel_grid()
            spectrum = torch.fft.rfft2(grid) if half else torch.fft.fft2(grid)
            real = like.real.dtype if like.is_complex() else like.dtype
            complex_dtype = torch.complex128 if real == torch.float64 else torch.complex64
            self._cache[key] = spectrum.to(device=like.device, dtype=complex_dtype)
        return self._cache[key]

    def transfer_function(self, *, dtype: torch.dtype = torch.complex128, device="cpu") -> torch.Tensor:
        r"""The circular model's :math:`\hat h = \mathcal F h`, ``(H, W)`` or ``(channels, H, W)``: :math:`\mathcal F(Ax) = \hat h\,\mathcal F x`.

        ``torch.fft.fft2`` conventions (unnormalised forward, frequency 0 at index 0).

        >>> import torch
        >>> op = Blur(torch.tensor([[0.25, 0.5, 0.25]]), (1, 4))
        >>> op.transfer_function().real.tolist()
        [[1.0, 0.5, 0.0, 0.5]]
        """
        if self.boundary != "circular":
            raise ValueError(f"Blur: a transfer function exists only for boundary='circular', not {self.boundary!r}")
        return torch.fft.fft2(self._kernel_grid()).to(device=device, dtype=dtype)

    # -- the operator --------------------------------------------------------------------------------------

    def _check_channels(self, t: torch.Tensor) -> None:
        if self.channels is not None and t.shape[1] != self.channels:
            raise ValueError(f"Blur: the PSF has one kernel per channel ({self.channels}), "
                             f"but the input has {t.shape[1]} channels")

    def _convolve(self, t: torch.Tensor, adjoint: bool) -> torch.Tensor:
        """Circular convolution (or correlation, for the adjoint) on the FFT grid; ``t`` is zero-extended to it."""
        spectrum = self._spectrum(t)
        if adjoint:
            spectrum = spectrum.conj()
        if t.is_complex():
            return torch.fft.ifft2(torch.fft.fft2(t, s=self.fft_shape) * spectrum)
        return torch.fft.irfft2(torch.fft.rfft2(t, s=self.fft_shape) * spectrum, s=self.fft_shape)

    def _indices(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        key = ("indices", str(device))
        if key not in self._cache:
            (H, W), (kh, kw), (b0, b1) = self.domain_shape, self.kernel_shape, self.pad_before
            self._cache[key] = (symmetric_indices(H, b0, kh - 1 - b0).to(device),
                                symmetric_indices(W, b1, kw - 1 - b1).to(device))
        return self._cache[key]

    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_domain(x)
        self._check_channels(x)
        (H, W), (kh, kw) = self.domain_shape, self.kernel_shape
        if self.boundary == "circular":
            return self._convolve(x, adjoint=False)
        if self.boundary == "zero":
            ch, cw = self.centre
            return self._convolve(x, adjoint=False)[..., ch:ch + H, cw:cw + W]
        rows, cols = self._indices(x.device)
        padded = x.index_select(-2, rows).index_select(-1, cols)
        return self._convolve(padded, adjoint=False)[..., kh - 1:kh - 1 + H, kw - 1:kw - 1 + W]

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_range(y)
        self._check_channels(y)
        (H, W), (kh, kw) = self.domain_shape, self.kernel_shape
        if self.boundary == "circular":
            return self._convolve(y, adjoint=True)
        if self.boundary == "zero":
            (ch, cw), (Q0, Q1) = self.centre, self.fft_shape
            embedded = y.new_zeros((*y.shape[:2], Q0, Q1))
            embedded[..., ch:ch + H, cw:cw + W] = y
            return self._convolve(embedded, adjoint=True)[..., :H, :W]
        (P0, P1), (Q0, Q1) = self.padded_shape, self.fft_shape
        embedded = y.new_zeros((*y.shape[:2], Q0, Q1))
        embedded[..., kh - 1:kh - 1 + H, kw - 1:kw - 1 + W] = y
        padded = self._convolve(embedded, adjoint=True)[..., :P0, :P1]
        rows, cols = self._indices(y.device)
        folded = padded.new_zeros((*y.shape[:2], P0, W)).index_add_(-1, cols, padded)
        return folded.new_zeros((*y.shape[:2], H, W)).index_add_(-2, rows, folded)

    def norm(self, *, dtype: torch.dtype = torch.float32, device="cpu", tol: float = 1e-6,
             max_iter: int = 100) -> torch.Tensor:
        r""":math:`\|A\|_2`: :math:`\max|\hat h|` for ``"circular"`` (exact), else Lanczos on :math:`A^\top A` in float64 (cached)."""
        if self.boundary == "circular":
            return torch.fft.rfft2(self._kernel_grid()).abs().max().to(torch.float64)
        key = ("norm", str(torch.device(device)))
        if key not in self._cache:
            shape = (1, self.channels or 1, *self.domain_shape)
            eigenvalue = largest_eigenvalue(self.A_adjoint_A, shape, dtype=torch.float64, device=device,
                                            tol=tol, max_iter=max_iter)
            self._cache[key] = torch.tensor(math.sqrt(max(eigenvalue, 0.0)), dtype=torch.float64)
        return self._cache[key]

    def __repr__(self):
        per = f", channels={self.channels}" if self.channels else ""
        return (f"Blur(kernel={self.kernel_shape[0]}x{self.kernel_shape[1]}{per}, image={self.domain_shape}, "
                f"boundary={self.boundary!r})")
