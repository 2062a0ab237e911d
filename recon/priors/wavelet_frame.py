r"""The undecimated (stationary, "à trous") wavelet transform :math:`W`, a Parseval frame: :math:`W^\top W = I`.

The orthogonal transform (:mod:`recon.priors.wavelet_transform`) keeps every second coefficient,
so its ℓ1 norm changes when the image moves by a pixel; the undecimated one keeps them all. With
the orthogonal filters :math:`h, g` of a Daubechies wavelet, normalised as
:math:`H(\omega) = \tfrac{1}{\sqrt2}\sum_j h_j e^{-i\omega j}` and :math:`G` likewise, so that
:math:`|H|^2 + |G|^2 = 1`, level :math:`\ell` filters with :math:`H(2^\ell\omega)`, :math:`G(2^\ell\omega)`
(holes between the taps) and the approximation is carried on. In 2D (circular boundary) the bands are

.. math::
    D^{(\ell)}_{ab}(\omega) = A_\ell(\omega_1) A_\ell(\omega_2)\, F_a(2^\ell\omega_1) F_b(2^\ell\omega_2),
    \quad (F_a, F_b) \in \{(H, G), (G, H), (G, G)\}, \qquad
    A_\ell(\omega) = \prod_{m < \ell} H(2^m\omega),

for :math:`\ell = 0, \dots, J-1`, plus the approximation :math:`A_J(\omega_1) A_J(\omega_2)`: :math:`3J + 1`
bands of the image's size. The squared responses sum to 1 at every frequency, so
:math:`W^\top W = I` (a Parseval frame; :math:`W W^\top \ne I`), :math:`\|W\| = 1`, and ``A_adjoint``
is the least-squares inverse. Both directions are one FFT of the image, a product per band and
inverse FFTs; any image size works.

>>> import torch
>>> W = UndecimatedWaveletTransform("haar", levels=2)
>>> x = torch.randn(1, 1, 10, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
>>> W.A(x).shape                                  # 3 · 2 + 1 bands
torch.Size([1, 1, 7, 10, 12])
>>> torch.allclose(W.A_adjoint(W.A(x)), x)
True
"""

from __future__ import annotations

import math

import torch

from recon.priors.wavelet_transform import WAVELETS, wavelet_filters


def _complex(t: torch.Tensor) -> torch.Tensor:
    """``t`` as complex128 when it is double precision, else complex64."""
    return t.to(torch.complex128 if t.dtype in (torch.float64, torch.complex128) else torch.complex64)


def _response(filter_taps: torch.Tensor, size: int, dilation: int) -> torch.Tensor:
    r""":math:`F(2^\ell\omega)/\sqrt2` on the ``size`` DFT frequencies, taps ``dilation`` apart (complex128)."""
    omega = 2 * math.pi * torch.arange(size, dtype=torch.float64) / size
    j = torch.arange(filter_taps.shape[0], dtype=torch.float64)
    phases = torch.polar(torch.ones(size, filter_taps.shape[0], dtype=torch.float64),
                         -omega[:, None] * dilation * j[None, :])
    return (phases * filter_taps.to(torch.float64)).sum(dim=1) / math.sqrt(2.0)


class UndecimatedWaveletTransform:
    r"""The undecimated wavelet frame :math:`W` over the last two axes (module text): ``(..., H, W)`` → ``(..., 3J+1, H, W)``.

    :param wavelet: ``"haar"`` (= ``"db1"``), ``"db2"``, ``"db3"`` or ``"db4"``.
    :param levels: :math:`J \ge 1`.

    Band 0 is the approximation, then the three details of level 0 (finest), 1, … . ``A`` is
    the analysis, ``A_adjoint`` the synthesis (:math:`W^\top W = I`), ``norm()`` is 1; real and
    complex tensors.
    """

    isometry = True                 # WᵀW = I: the deconvolution ADMM's x-update stays diagonal

    def __init__(self, wavelet: str = "db4", levels: int = 3):
        if wavelet not in WAVELETS:
            raise ValueError(f"UndecimatedWaveletTransform: wavelet must be one of {', '.join(WAVELETS)}, "
                             f"got {wavelet!r}")
        if not isinstance(levels, int) or levels < 1:
            raise ValueError(f"UndecimatedWaveletTransform: levels must be an integer >= 1, got {levels!r}")
        self.wavelet, self.levels, self.ndim = wavelet, levels, 2
        self._responses: dict = {}

    @property
    def bands(self) -> int:
        return 3 * self.levels + 1

    def responses(self, shape: tuple[int, int], device=None) -> torch.Tensor:
        """The band responses ``(3J+1, H, W)`` on the 2D DFT grid (complex128), cached per shape and device."""
        key = (tuple(shape), str(device))
        if key not in self._responses:
            low, high = wavelet_filters(self.wavelet)
            rows, columns = shape
            approximation = (torch.ones(rows, dtype=torch.complex128), torch.ones(columns, dtype=torch.complex128))
            details = []
            for level in range(self.levels):
                dilation = 2 ** level
                h = (_response(low, rows, dilation), _response(low, columns, dilation))
                g = (_response(high, rows, dilation), _response(high, columns, dilation))
                a_rows, a_columns = approximation
                for first, second in ((h, g), (g, h), (g, g)):
                    details.append(torch.outer(a_rows * first[0], a_columns * second[1]))
                approximation = (a_rows * h[0], a_columns * h[1])
            bands = [torch.outer(*approximation), *details]
            self._responses[key] = torch.stack(bands).to(device)
        return self._responses[key]

    def _check(self, t: torch.Tensor, *, coefficients: bool) -> None:
        least = 3 if coefficients else 2
        if t.dim() < least or (coefficients and t.shape[-3] != self.bands):
            expected = f"(..., {self.bands}, H, W)" if coefficients else "(..., H, W)"
            raise ValueError(f"UndecimatedWaveletTransform: expected {expected}, got {tuple(t.shape)}")

    def A(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`Wx`: ``(..., H, W)`` → ``(..., 3J+1, H, W)``."""
        self._check(x, coefficients=False)
        responses = self.responses(tuple(x.shape[-2:]), x.device)
        spectrum = torch.fft.fft2(_complex(x))
        bands = torch.fft.ifft2(spectrum.unsqueeze(-3) * responses.to(spectrum.dtype))
        return bands if x.is_complex() else bands.real.to(x.dtype)

    def A_adjoint(self, c: torch.Tensor) -> torch.Tensor:
        r""":math:`W^\top c`: ``(..., 3J+1, H, W)`` → ``(..., H, W)``."""
        self._check(c, coefficients=True)
        responses = self.responses(tuple(c.shape[-2:]), c.device)
        spectrum = torch.fft.fft2(_complex(c))
        image = torch.fft.ifft2((spectrum * responses.conj().to(spectrum.dtype)).sum(dim=-3))
        return image if c.is_complex() else image.real.to(c.dtype)

    def norm(self) -> float:
        return 1.0

    def unpenalised_index(self, z: torch.Tensor) -> tuple:
        """The approximation band of coefficients ``z``: left free by the ℓ1 norm."""
        return (..., 0, slice(None), slice(None))

    def __repr__(self):
        return f"UndecimatedWaveletTransform(wavelet={self.wavelet!r}, levels={self.levels})"
