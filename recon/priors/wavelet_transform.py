r"""An orthogonal discrete wavelet transform :math:`W` (Daubechies filters, periodic boundary), in pure torch.

One level along one axis of even length :math:`n` maps :math:`x` to the
approximation and detail coefficients

.. math::
    a_k = \sum_j h_j\, x_{(2k + j) \bmod n}, \qquad d_k = \sum_j g_j\, x_{(2k + j) \bmod n},
    \qquad g_j = (-1)^j h_{L-1-j}, \qquad k = 0, \dots, n/2 - 1,

stored as :math:`[a, d]` along that axis. The low-pass filter :math:`h` of
length :math:`L` has :math:`\|h\| = 1`, :math:`\sum_j h_j = \sqrt2` and is orthogonal
to its even shifts, :math:`\sum_j h_j h_{j+2m} = \delta_m`; its periodisation
keeps that for any even :math:`n`, so the level is an orthogonal matrix. The
transform of an image applies the level along each of the last ``ndim`` axes
(separable), then again on the leading corner block (the approximation of
every axis) ``levels`` times: the Mallat layout. The coefficients are one
tensor shaped like the image, so :math:`W` is a square orthogonal operator,

.. math:: W^\top W = W W^\top = I, \qquad W^{-1} = W^\top, \qquad \|W\|_2 = 1,

and :meth:`WaveletTransform.A_adjoint` is also the inverse. In 2D the first
level holds, in blocks of half the size, ``[[LL, LH], [HL, HH]]`` (first letter:
filter along rows' axis ``H``, second: along ``W``); the coarsest ``LL`` sits in
the corner ``[:H / 2**levels, :W / 2**levels]``.

Each axis is done by one strided 1D convolution (the two filters as two output
channels) on a periodically extended signal, and the synthesis by the transposed
convolution with the wrapped-around tail folded back, so batch and channel axes
and any image size divisible by ``2**levels`` cost a handful of kernel calls.
Complex tensors are transformed as their real and imaginary parts (torch
convolutions are real).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_SQRT2 = math.sqrt(2.0)
_SQRT3 = math.sqrt(3.0)

# Scaling (low-pass) coefficients h_j of Daubechies' extremal-phase wavelets with
# N vanishing moments (length 2N). db2 in closed form; db3 and db4 solved to 40
# digits from the orthogonality and moment equations (the usual 16-digit tables
# are only right to about 1e-12, which WᵀW = I at 1e-12 would notice).
_LOW_PASS = {
    "db1": (1 / _SQRT2, 1 / _SQRT2),
    "db2": ((1 + _SQRT3) / (4 * _SQRT2), (3 + _SQRT3) / (4 * _SQRT2),
            (3 - _SQRT3) / (4 * _SQRT2), (1 - _SQRT3) / (4 * _SQRT2)),
    "db3": (0.3326705529500839, 0.8068915093110937, 0.45987750211848893,
            -0.13501102001025606, -0.08544127388202385, 0.03522629188570847),
    "db4": (0.2303778133088965, 0.7148465705529157, 0.6308807679298589, -0.02798376941685985,
            -0.18703481171909309, 0.03084138183556076, 0.032883011666885203, -0.010597401785069033),
}
_LOW_PASS["haar"] = _LOW_PASS["db1"]

WAVELETS = ("haar", "db1", "db2", "db3", "db4")


def wavelet_filters(wavelet: str, dtype: torch.dtype = torch.float64,
                    device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The low-pass :math:`h` and high-pass :math:`g_j = (-1)^j h_{L-1-j}` filters of an orthogonal wavelet.

    :param wavelet: ``"haar"`` (= ``"db1"``), ``"db2"``, ``"db3"`` or ``"db4"``.

    >>> low, high = wavelet_filters("db2")
    >>> round(float(low.sum()), 12), round(float(low.norm()), 12), abs(round(float(high.sum()), 12))
    (1.414213562373, 1.0, 0.0)
    """
    if wavelet not in _LOW_PASS:
        raise ValueError(f"wavelet_filters: wavelet must be one of {', '.join(WAVELETS)}, got {wavelet!r}")
    low = torch.tensor(_LOW_PASS[wavelet], dtype=dtype, device=device)
    signs = torch.ones_like(low)
    signs[1::2] = -1
    return low, signs * low.flip(0)


def _analyse_axis(x: torch.Tensor, axis: int, filters: torch.Tensor) -> torch.Tensor:
    """One level along ``axis`` of a real tensor: ``[a, d]`` in place of the axis."""
    n = x.shape[axis]
    moved = x.movedim(axis, -1)
    leading = moved.shape[:-1]
    # Periodic extension by indexing: n + L - 2 samples reach every x_{(2k+j) mod n}, even when L > n.
    wrap = torch.arange(n + filters.shape[-1] - 2, device=x.device) % n
    extended = moved.reshape(-1, 1, n).index_select(-1, wrap)
    coefficients = F.conv1d(extended, filters, stride=2)  # (M, 2, n/2): channel 0 is a, 1 is d
    return coefficients.reshape(*leading, n).movedim(-1, axis)


def _synthesise_axis(c: torch.Tensor, axis: int, filters: torch.Tensor) -> torch.Tensor:
    """The adjoint (and inverse) of :func:`_analyse_axis`."""
    n = c.shape[axis]
    moved = c.movedim(axis, -1)
    leading = moved.shape[:-1]
    extended = F.conv_transpose1d(moved.reshape(-1, 2, n // 2), filters, stride=2)  # (M, 1, n + L - 2)
    # Adjoint of the periodic extension: fold every wrapped sample back onto its index mod n.
    length = extended.shape[-1]
    copies = -(-length // n)
    folded = F.pad(extended, (0, copies * n - length)).reshape(-1, copies, n).sum(dim=1)
    return folded.reshape(*leading, n).movedim(-1, axis)


class WaveletTransform:
    r"""The orthogonal wavelet transform :math:`W` over the last ``ndim`` axes, coefficients in the Mallat layout.

    :param wavelet: ``"haar"`` (= ``"db1"``), ``"db2"``, ``"db3"`` or ``"db4"``.
    :param levels: number of levels :math:`J \ge 1`; every spatial size must be divisible by :math:`2^J`.
    :param ndim: spatial axes: 2 for ``(batch, channel, H, W)``, 3 for ``(batch, channel, D, H, W)``.

    ``A`` is the analysis :math:`x \mapsto Wx`, ``A_adjoint`` the synthesis
    :math:`c \mapsto W^\top c = W^{-1} c`, ``norm()`` is 1. Real and complex tensors,
    any floating dtype.

    >>> import torch
    >>> W = WaveletTransform("haar", levels=1)
    >>> x = torch.tensor([[[[1.0, 2.0], [4.0, 8.0]]]], dtype=torch.float64)
    >>> W.A(x)[0, 0].round(decimals=12).tolist()     # [[LL, LH], [HL, HH]] of one 2×2 block
    [[7.5, -2.5], [-4.5, 1.5]]
    >>> torch.allclose(W.A_adjoint(W.A(x)), x)
    True
    """

    def __init__(self, wavelet: str = "db4", levels: int = 3, ndim: int = 2):
        if wavelet not in _LOW_PASS:
            raise ValueError(f"WaveletTransform: wavelet must be one of {', '.join(WAVELETS)}, got {wavelet!r}")
        if not isinstance(levels, int) or levels < 1:
            raise ValueError(f"WaveletTransform: levels must be an integer >= 1, got {levels!r}")
        if ndim not in (1, 2, 3):
            raise ValueError(f"WaveletTransform: ndim must be 1, 2 or 3, got {ndim}")
        self.wavelet, self.levels, self.ndim = wavelet, levels, ndim
        self._filters: dict = {}

    def filters(self, dtype: torch.dtype, device) -> torch.Tensor:
        """The two analysis filters as a conv1d weight shaped ``(2, 1, L)``, cached per dtype and device."""
        key = (dtype, device)
        if key not in self._filters:
            low, high = wavelet_filters(self.wavelet, dtype=torch.float64, device=device)
            self._filters[key] = torch.stack((low, high)).unsqueeze(1).to(dtype)
        return self._filters[key]

    def _check(self, t: torch.Tensor) -> None:
        if t.dim() != self.ndim + 2:
            raise ValueError(f"WaveletTransform(ndim={self.ndim}): expected a tensor shaped (batch, channel, "
                             f"then {self.ndim} spatial axes), got {tuple(t.shape)}")
        spatial = tuple(t.shape[2:])
        if any(n % 2**self.levels for n in spatial):
            raise ValueError(f"WaveletTransform: spatial shape {spatial} is not divisible by "
                             f"2**levels = {2**self.levels} (levels={self.levels})")

    def approximation_block(self, spatial_shape) -> tuple[slice, ...]:
        r"""Slices of the coarsest approximation band: the leading :math:`n_d / 2^J` of each spatial axis."""
        return tuple(slice(0, n >> self.levels) for n in spatial_shape)

    def unpenalised_index(self, z: torch.Tensor) -> tuple:
        """The coarsest approximation block of coefficients ``z``: left free by the ℓ1 norm."""
        return (..., *self.approximation_block(z.shape[-self.ndim:]))

    def detail_mask(self, spatial_shape, device=None) -> torch.Tensor:
        r"""Mask shaped ``spatial_shape``: ``True`` on detail coefficients, ``False`` on the coarsest approximation.

        >>> WaveletTransform("haar", levels=2, ndim=1).detail_mask((8,)).tolist()
        [False, False, True, True, True, True, True, True]
        """
        mask = torch.ones(tuple(spatial_shape), dtype=torch.bool, device=device)
        mask[self.approximation_block(spatial_shape)] = False
        return mask

    def _apply(self, t: torch.Tensor, real_map) -> torch.Tensor:
        if t.is_complex():
            parts = real_map(torch.stack((t.real, t.imag)))
            return torch.complex(parts[0], parts[1])
        return real_map(t)

    def _corner(self, t: torch.Tensor, level: int) -> tuple:
        return (..., *(slice(0, n >> level) for n in t.shape[-self.ndim:]))

    def _analyse(self, x: torch.Tensor) -> torch.Tensor:
        filters = self.filters(x.dtype, x.device)
        axes = range(x.dim() - self.ndim, x.dim())
        out = x
        for level in range(self.levels):
            corner = self._corner(x, level)
            block = out[corner]
            for axis in axes:
                block = _analyse_axis(block, axis, filters)
            if level == 0:
                out = block
            else:
                out[corner] = block
        return out

    def _synthesise(self, c: torch.Tensor) -> torch.Tensor:
        filters = self.filters(c.dtype, c.device)
        axes = range(c.dim() - 1, c.dim() - self.ndim - 1, -1)
        out = c.clone() if self.levels > 1 else c
        for level in reversed(range(self.levels)):
            corner = self._corner(c, level)
            block = out[corner]
            for axis in axes:
                block = _synthesise_axis(block, axis, filters)
            if level == 0:
                out = block
            else:
                out[corner] = block
        return out

    def A(self, x: torch.Tensor) -> torch.Tensor:
        r"""Analysis :math:`Wx`: coefficients shaped like ``x``."""
        self._check(x)
        return self._apply(x, self._analyse)

    def A_adjoint(self, c: torch.Tensor) -> torch.Tensor:
        r"""Synthesis :math:`W^\top c`, which is also the inverse :math:`W^{-1} c`."""
        self._check(c)
        return self._apply(c, self._synthesise)

    inverse = A_adjoint

    def norm(self) -> float:
        """:math:`\\|W\\|_2 = 1` (orthogonal)."""
        return 1.0

    def __repr__(self):
        return f"WaveletTransform({self.wavelet!r}, levels={self.levels}, ndim={self.ndim})"
