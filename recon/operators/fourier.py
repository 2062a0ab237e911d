r"""The orthonormal centred discrete Fourier transform of Cartesian MRI.

For a signal :math:`x` on a grid of :math:`n` samples per axis whose origin
(the image centre, and the k-space centre) sits at index :math:`\lfloor n/2 \rfloor`,

.. math::

    (\mathcal F x)_k = \frac{1}{\sqrt n} \sum_{j=0}^{n-1}
        x_j\, e^{-2\pi i\, (j - \lfloor n/2 \rfloor)(k - \lfloor n/2 \rfloor) / n},

applied along each of the last ``ndim`` axes (2 for images, 3 for volumes).
In torch terms :math:`\mathcal F = \mathrm{fftshift} \circ \mathrm{fftn}_{\text{ortho}}
\circ \mathrm{ifftshift}`: ``ifftshift`` moves index :math:`\lfloor n/2 \rfloor`
to 0, ``fftshift`` moves 0 back to :math:`\lfloor n/2 \rfloor`, for even and odd
:math:`n` alike. This is fastMRI's and BART's convention.

The ``1/sqrt(n)`` scaling makes :math:`\mathcal F` unitary:
:math:`\mathcal F^{\mathsf H} = \mathcal F^{-1}` (:func:`centred_ifft`), so
:math:`\|\mathcal F x\| = \|x\|` and the adjoint of a masked FFT needs no
rescaling.
"""

from __future__ import annotations

import torch


def _axes(t: torch.Tensor, ndim: int, function: str) -> tuple[int, ...]:
    if ndim not in (2, 3):
        raise ValueError(f"{function}: ndim must be 2 or 3, got {ndim}")
    if t.dim() < ndim:
        raise ValueError(f"{function}: expected a tensor with at least {ndim} axes, got {tuple(t.shape)}")
    return tuple(range(-ndim, 0))


def centred_fft(x: torch.Tensor, ndim: int = 2) -> torch.Tensor:
    r"""Orthonormal centred FFT over the last ``ndim`` axes, :math:`y = \mathcal F x`.

    :math:`\mathcal F = \mathrm{fftshift} \circ \mathrm{fftn}_{\text{ortho}} \circ \mathrm{ifftshift}`;
    a real ``x`` comes back complex. Inverse: :func:`centred_ifft`.

    :param x: tensor ``(..., rows, cols)`` (``ndim=2``) or ``(..., depth, rows, cols)`` (``ndim=3``).
    :param ndim: how many trailing axes to transform, 2 or 3.

    >>> import torch
    >>> x = torch.zeros(1, 1, 4, 5); x[..., 2, 2] = 1      # a point at the image centre
    >>> y = centred_fft(x)
    >>> bool(torch.allclose(y, torch.full_like(y, 1 / 20 ** 0.5)))   # is flat in k-space
    True
    """
    axes = _axes(x, ndim, "centred_fft")
    return torch.fft.fftshift(torch.fft.fftn(torch.fft.ifftshift(x, dim=axes), dim=axes, norm="ortho"), dim=axes)


def centred_ifft(y: torch.Tensor, ndim: int = 2) -> torch.Tensor:
    r"""Orthonormal centred inverse FFT over the last ``ndim`` axes, :math:`x = \mathcal F^{-1} y = \mathcal F^{\mathsf H} y`.

    :math:`\mathcal F^{-1} = \mathrm{fftshift} \circ \mathrm{ifftn}_{\text{ortho}} \circ \mathrm{ifftshift}`,
    the exact inverse (and adjoint) of :func:`centred_fft`.

    :param y: k-space ``(..., rows, cols)`` (``ndim=2``) or ``(..., depth, rows, cols)`` (``ndim=3``).
    :param ndim: how many trailing axes to transform, 2 or 3.

    >>> import torch
    >>> x = torch.randn(2, 1, 3, 4, 5, dtype=torch.complex128)
    >>> bool(torch.allclose(centred_ifft(centred_fft(x, ndim=3), ndim=3), x, atol=1e-12))
    True
    """
    axes = _axes(y, ndim, "centred_ifft")
    return torch.fft.fftshift(torch.fft.ifftn(torch.fft.ifftshift(y, dim=axes), dim=axes, norm="ortho"), dim=axes)


def as_complex(t: torch.Tensor) -> torch.Tensor:
    r"""``t`` as a complex tensor: the promotion rule of every MRI operator and of zero-filling.

    A complex tensor is returned unchanged; a real ``float64`` tensor becomes
    ``complex128``; any other real tensor (``float32``, ``float16``, integers,
    booleans) becomes ``complex64``, the default. The imaginary part is zero.

    >>> import torch
    >>> as_complex(torch.ones(2, dtype=torch.float64)).dtype, as_complex(torch.ones(2)).dtype
    (torch.complex128, torch.complex64)
    """
    if t.is_complex():
        return t
    return t.to(torch.complex128 if t.dtype == torch.float64 else torch.complex64)
