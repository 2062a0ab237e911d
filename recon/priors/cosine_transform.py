r"""The orthonormal DCT-II and its inverse along one axis, through one FFT of the same length (Makhoul, 1980).

The DCT-II of :math:`x_0, \dots, x_{n-1}` is

.. math:: X_k = s_k \sum_{m=0}^{n-1} x_m \cos\frac{\pi k (2m + 1)}{2n}, \qquad
          s_0 = \sqrt{1/n},\; s_k = \sqrt{2/n}\ (k \ge 1),

an orthogonal matrix. Reorder :math:`v = (x_0, x_2, x_4, \dots, x_5, x_3, x_1)` (even
samples, then the odd ones backwards) and take :math:`V = \mathrm{FFT}(v)`; with
:math:`w_k = e^{-i\pi k / 2n}`,

.. math:: X_k = \tfrac{s_k}{2}\big(w_k V_k + \overline{w_k}\, V_{(n-k) \bmod n}\big),
          \qquad
          V_k = \overline{w_k}\,\big(X_k/s_k - i\,X_{n-k}/s_{n-k}\big) \quad (X_n := 0).

Both formulas are complex-linear (for real :math:`x` the first is
:math:`s_k\,\mathrm{Re}(w_k V_k)`), so a complex input is transformed as
:math:`\mathrm{DCT}(\mathrm{Re}\,x) + i\,\mathrm{DCT}(\mathrm{Im}\,x)` in one pass. The
cost is one complex FFT of length :math:`n` per axis, a quarter of the mirrored
:math:`2n` FFT it replaces in :func:`recon.priors.tikhonov.solve_screened_poisson`.
The DCT-II basis diagonalises the Neumann Laplacian :math:`\nabla^\top\nabla`
of :class:`recon.priors.FiniteDifference`.

The reordering is a gather of whole rows: the transformed axis is moved next to
last, where torch copies contiguous rows (gathering single elements along the
last axis is ten times slower).
"""

from __future__ import annotations

import math

import torch


def _constants(n: int, like: torch.Tensor) -> dict:
    """Reordering indices, and the twiddles as columns (shaped ``(n, 1)``) in ``like``'s precision."""
    real = like.real.dtype if like.is_complex() else like.dtype
    complex_dtype = torch.complex128 if real == torch.float64 else torch.complex64
    device = like.device
    k = torch.arange(n, dtype=torch.float64, device=device)
    w = torch.polar(torch.ones_like(k), -math.pi * k / (2 * n))
    scale = torch.full((n,), math.sqrt(2.0 / n), dtype=torch.float64, device=device)
    scale[0] = math.sqrt(1.0 / n)
    order = torch.cat((torch.arange(0, n, 2, device=device), torch.arange(1, n, 2, device=device).flip(0)))

    def column(t):
        return t.to(complex_dtype)[:, None]

    return {"order": order, "unorder": torch.argsort(order), "mirror": torch.remainder(-torch.arange(n, device=device), n),
            "forward": column(0.5 * w * scale), "forward_mirrored": column(0.5 * w.conj() * scale),
            "unscale": column(1.0 / scale), "inverse": column(w.conj()), "dtype": complex_dtype}


def _along_rows(x: torch.Tensor, dim: int) -> torch.Tensor:
    return x.movedim(dim, -2) if x.dim() >= 2 else x[:, None]


def _restore(t: torch.Tensor, dim: int, ndim: int, complex_out: bool) -> torch.Tensor:
    t = t if complex_out else t.real
    t = t.movedim(-2, dim) if ndim >= 2 else t[:, 0]
    return t.contiguous()


def dct(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Orthonormal DCT-II of ``x`` along ``dim`` (real in, real out; complex in, complex out).

    >>> import torch, scipy.fft
    >>> x = torch.randn(3, 7, dtype=torch.float64)
    >>> bool(torch.allclose(dct(x), torch.from_numpy(scipy.fft.dct(x.numpy(), norm="ortho"))))
    True
    """
    dim = dim % x.dim()
    rows = _along_rows(x, dim)
    c = _constants(rows.shape[-2], x)
    spectrum = torch.fft.fft(rows.index_select(-2, c["order"]).to(c["dtype"]), dim=-2)
    out = c["forward"] * spectrum + c["forward_mirrored"] * spectrum.index_select(-2, c["mirror"])
    return _restore(out, dim, x.dim(), x.is_complex())


def idct(coefficients: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""The inverse (and transpose) of :func:`dct`: the orthonormal DCT-III along ``dim``.

    >>> import torch
    >>> x = torch.randn(2, 6, dtype=torch.complex128)
    >>> bool(torch.allclose(idct(dct(x)), x))
    True
    """
    dim = dim % coefficients.dim()
    rows = _along_rows(coefficients, dim)
    c = _constants(rows.shape[-2], coefficients)
    unscaled = c["unscale"] * rows.to(c["dtype"])                 # X_k / s_k
    mirrored = unscaled.index_select(-2, c["mirror"])              # X_{n-k} / s_{n-k}; row 0 is X_0, set X_n = 0
    mirrored[..., 0, :] = 0
    reordered = torch.fft.ifft(c["inverse"] * (unscaled - 1j * mirrored), dim=-2)
    return _restore(reordered.index_select(-2, c["unorder"]), dim, coefficients.dim(), coefficients.is_complex())
