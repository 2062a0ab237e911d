r"""The masked centred FFT in the cheapest coordinates: :math:`\mathcal F^{\mathsf H} M \mathcal F = T^{\mathsf H} M' T`.

The centred orthonormal FFT factors as :math:`\mathcal F = U T`, where :math:`T` is the
plain (uncentred) orthonormal FFT along only the axes on which the mask
:math:`M` varies, and :math:`U` gathers the rest: the FFT along the other
axes, the centring shifts and a diagonal phase. Every factor of :math:`U`
either acts along an axis where :math:`M` is constant or is a diagonal, so

.. math:: U^{\mathsf H} M U = M', \qquad M' = \operatorname{ifftshift}(M)
          \text{ along the varying axes},

and for every coil image :math:`u` and measured :math:`y = My`

.. math:: \|M\mathcal F u - y\| = \|M' T u - \hat y\|, \qquad \hat y = T\,\mathcal F^{\mathsf H} y,
          \qquad \mathcal F^{\mathsf H} M \mathcal F = T^{\mathsf H} M' T.

For the usual Cartesian masks (whole phase-encode columns) :math:`T` is a 1D
FFT along the columns: no FFT along the read-out and no shifts, a third of the
cost of the centred 2D FFT pair. The identity holds for odd sizes too.
:class:`NormalForm` is used by :meth:`recon.operators.MultiCoilMRI.A_adjoint_A` and by
:func:`recon.solvers.coil_split_admm.coil_split_admm`.
"""

from __future__ import annotations

import torch


def varying_axes(mask: torch.Tensor, ndim: int) -> tuple[int, ...]:
    """The spatial axes (negative indices) along which ``mask`` is not constant, over the whole batch.

    >>> import torch
    >>> mask = torch.zeros(4, 6); mask[:, ::2] = 1
    >>> varying_axes(mask, 2)
    (-1,)
    """
    axes = []
    for axis in range(-ndim, 0):
        first = mask.narrow(axis, 0, 1)
        if not bool((mask == first).all()):
            axes.append(axis)
    return tuple(axes)


class NormalForm:
    r""":math:`T` (plain FFT along the mask's varying axes), :math:`T^{\mathsf H}` and :math:`M'` for one mask.

    :param mask: 0/1, ``(*spatial)`` shared or ``(batch, *spatial)``; ``ndim`` spatial axes.

    Tensors are ``(batch, channels, *spatial)``; :attr:`mask` is broadcastable against them.

    >>> import torch
    >>> from recon.operators.fourier import centred_fft, centred_ifft
    >>> mask = torch.zeros(6, 8); mask[:, [0, 3, 4, 7]] = 1
    >>> form = NormalForm(mask, ndim=2)
    >>> u = torch.randn(1, 2, 6, 8, dtype=torch.complex128)
    >>> direct = centred_ifft(mask * centred_fft(u, 2), 2)
    >>> form.axes, bool(torch.allclose(form.project(u), direct))
    ((-1,), True)
    """

    def __init__(self, mask: torch.Tensor, ndim: int):
        self.ndim = ndim
        self.axes = varying_axes(mask, ndim)
        shifted = torch.fft.ifftshift(mask, dim=self.axes) if self.axes else mask
        # (batch, 1, *spatial) for a per-batch mask, (*spatial) for a shared one.
        self.mask = shifted.unsqueeze(1) if mask.dim() == ndim + 1 else shifted

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """:math:`T t`."""
        return torch.fft.fftn(t, dim=self.axes, norm="ortho") if self.axes else t

    def adjoint(self, t: torch.Tensor) -> torch.Tensor:
        r""":math:`T^{\mathsf H} t`."""
        return torch.fft.ifftn(t, dim=self.axes, norm="ortho") if self.axes else t

    def mask_like(self, t: torch.Tensor) -> torch.Tensor:
        """:math:`M'` on ``t``'s device in its real precision."""
        return self.mask.to(device=t.device, dtype=t.real.dtype)

    def project(self, t: torch.Tensor) -> torch.Tensor:
        r""":math:`\mathcal F^{\mathsf H} M \mathcal F t = T^{\mathsf H} M' T t`."""
        return self.adjoint(self.mask_like(t) * self.forward(t))
