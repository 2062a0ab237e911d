r"""Cartesian MRI forward models: single-coil :math:`A = M\mathcal F` and multi-coil (SENSE) :math:`A = M\mathcal F S`.

With :math:`\mathcal F` the orthonormal centred FFT of :mod:`recon.operators.fourier`,
:math:`M` the 0/1 sampling mask and :math:`S_c` the sensitivity of coil :math:`c`,

.. math::

    \text{single coil:}\quad y = M \odot \mathcal F x, \qquad
    A^{\mathsf H} y = \mathcal F^{\mathsf H}(M \odot y),

    \text{multi-coil:}\quad y_c = M \odot \mathcal F(S_c \odot x), \qquad
    A^{\mathsf H} y = \sum_c \overline{S_c} \odot \mathcal F^{\mathsf H}(M \odot y_c).

Conventions (those of :mod:`recon.operators.mri_acquisition`):

- Images are ``(batch, 1, rows, cols)`` complex; k-space is ``(batch, 1, rows, cols)``
  (single coil) or ``(batch, coils, rows, cols)`` (multi-coil), centred at
  index ``n // 2`` of each axis. Rows are the read-out, columns the phase encode.
- The mask is real 0/1, ``(rows, cols)`` shared by the batch or
  ``(batch, rows, cols)`` one per batch element (one per slice).
  Coil maps are ``(coils, rows, cols)`` shared or ``(batch, coils, rows, cols)``.
- **3D volumes, slice by slice**: a volume whose read-out axis has already been
  inverse-Fourier transformed (the usual multi-slice or hybrid-space data)
  decouples into 2D problems; put the slices in the batch axis,
  ``(slices, 1, rows, cols)``, with a shared or a per-slice mask.
  **True 3D**: ``ndim=3``, a mask ``(depth, rows, cols)`` (or
  ``(batch, depth, rows, cols)``), images ``(batch, 1, depth, rows, cols)`` and the
  FFT over the three axes.
- dtypes: ``complex64`` by default, ``complex128`` supported; a real input is
  promoted by :func:`recon.operators.fourier.as_complex` (``float64`` to
  ``complex128``, any other real dtype to ``complex64``), and the output has the
  input's (promoted) dtype. Mask and coil maps follow the input's device and
  dtype, so CUDA tensors work as given.
"""

from __future__ import annotations


import torch

from recon.operators.base import Operator
from recon.operators.fourier import as_complex, centred_fft, centred_ifft
from recon.operators.mri_normal import NormalForm


def _checked_mask(mask, ndim: int, owner: str) -> torch.Tensor:
    mask = torch.as_tensor(mask)
    if ndim not in (2, 3):
        raise ValueError(f"{owner}: ndim must be 2 or 3, got {ndim}")
    if mask.is_complex() or mask.dim() not in (ndim, ndim + 1):
        raise ValueError(f"{owner}: mask must be a real tensor shaped {_spatial_names(ndim)} or "
                         f"(batch, {_spatial_names(ndim)[1:]}, got {mask.dtype} {tuple(mask.shape)}")
    mask = mask.to(torch.float32)
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{owner}: mask must hold only 0 and 1 (measured or not), got values in "
                         f"[{float(mask.min()):g}, {float(mask.max()):g}]")
    return mask


def _normal_form(op) -> NormalForm:
    """The operator's :class:`NormalForm`, rebuilt when its mask buffer has been replaced (``.to(device)``)."""
    key = (op.mask.data_ptr(), op.mask.device)
    if getattr(op, "_normal_key", None) != key:
        op._normal, op._normal_key = NormalForm(op.mask, op.spatial_ndim), key
    return op._normal


def _spatial_names(ndim: int) -> str:
    return "(rows, cols)" if ndim == 2 else "(depth, rows, cols)"


def _per_batch(t: torch.Tensor, like: torch.Tensor, shared_dim: int, owner: str, what: str) -> torch.Tensor:
    """``t`` on ``like``'s device, broadcastable against ``like`` (batch, channel, *spatial)."""
    if t.dim() == shared_dim + 1 and t.shape[0] != like.shape[0]:
        raise ValueError(f"{owner}: the {what} has one entry per batch element ({t.shape[0]}), "
                         f"but the input has batch {like.shape[0]}")
    return t.to(like.device)


class SingleCoilMRI(Operator):
    r"""Single-coil Cartesian MRI, :math:`y = M \odot \mathcal F x`, with :math:`A^{\mathsf H} y = \mathcal F^{\mathsf H}(M \odot y)`.

    Since :math:`\mathcal F` is unitary and :math:`M` is 0/1,
    :math:`A^{\mathsf H} A = \mathcal F^{\mathsf H} M \mathcal F` is an orthogonal
    projection: :math:`\|A\|_2 = \max M` (1 for any non-empty mask) and a full
    mask makes :math:`A` unitary. Every channel is transformed independently.

    :param mask: 0/1 ``(rows, cols)`` (shared) or ``(batch, rows, cols)`` (one per batch element);
        with ``ndim=3``, ``(depth, rows, cols)`` or ``(batch, depth, rows, cols)``.
    :param ndim: 2 (images, or a volume slice by slice in the batch axis) or 3 (true 3D).

    >>> import torch
    >>> mask = torch.zeros(6, 8); mask[:, ::2] = 1
    >>> op = SingleCoilMRI(mask)
    >>> x = torch.randn(2, 1, 6, 8, dtype=torch.complex64)
    >>> y = op.A(x)
    >>> y.shape, y.dtype, float(op.norm())
    (torch.Size([2, 1, 6, 8]), torch.complex64, 1.0)
    >>> bool(torch.allclose(op.A_adjoint(y), op.A_adjoint_A(x), atol=1e-6))
    True
    """

    def __init__(self, mask, *, ndim: int = 2):
        mask = _checked_mask(mask, ndim, "SingleCoilMRI")
        shape = tuple(mask.shape[-ndim:])
        super().__init__(shape, shape)
        self.spatial_ndim = ndim
        self.register_buffer("mask", mask)

    def _masked(self, t: torch.Tensor) -> torch.Tensor:
        mask = _per_batch(self.mask, t, self.spatial_ndim, "SingleCoilMRI", "mask").to(t.real.dtype)
        return t * (mask.unsqueeze(1) if mask.dim() == self.spatial_ndim + 1 else mask)

    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_domain(x)
        return self._masked(centred_fft(as_complex(x), self.spatial_ndim))

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_range(y)
        return centred_ifft(self._masked(as_complex(y)), self.spatial_ndim)

    def A_adjoint_A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        r""":math:`\mathcal F^{\mathsf H} M \mathcal F x` as :math:`T^{\mathsf H} M' T x` (:mod:`recon.operators.mri_normal`)."""
        self.check_domain(x)
        return _normal_form(self).project(as_complex(x))

    def norm(self, **kwargs) -> torch.Tensor:
        r""":math:`\|A\|_2 = \max M`: 1 for a non-empty mask, 0 for an empty one (no power iteration needed)."""
        return torch.tensor(float(self.mask.max()) if self.mask.numel() else 0.0, dtype=torch.float64)

    def __repr__(self):
        return f"SingleCoilMRI(shape={self.domain_shape}, sampled={float(self.mask.mean()):.3f})"


class MultiCoilMRI(Operator):
    r"""Multi-coil (SENSE) Cartesian MRI, :math:`y_c = M \odot \mathcal F(S_c \odot x)` for each coil :math:`c`.

    The adjoint combines the coils, :math:`A^{\mathsf H} y = \sum_c \overline{S_c} \odot
    \mathcal F^{\mathsf H}(M \odot y_c)`, and :meth:`A_adjoint_A` applies
    :math:`A^{\mathsf H} A x = \sum_c \overline{S_c} \odot \mathcal F^{\mathsf H}(M \odot \mathcal F(S_c \odot x))`
    directly (one FFT pair per coil, :math:`M^2 = M`), along only the axes on which
    the mask varies and without shifts (:class:`recon.operators.mri_normal.NormalForm`).
    With a full mask :math:`A^{\mathsf H}A = \sum_c |S_c|^2`, so
    :math:`\|A\|_2 = \max_{\text{pixel}} (\sum_c |S_c|^2)^{1/2}` (1 for maps normalised
    to :math:`\sum_c |S_c|^2 = 1`, which make :math:`A` an isometry); a partial mask
    can only lower it, and :meth:`norm` finds it by Lanczos iteration (cached).

    :param mask: 0/1 ``(rows, cols)`` or ``(batch, rows, cols)``
        (``ndim=3``: ``(depth, rows, cols)`` or ``(batch, depth, rows, cols)``).
    :param coil_maps: complex sensitivities ``(coils, rows, cols)`` shared or
        ``(batch, coils, rows, cols)`` (``ndim=3``: with a depth axis before rows);
        real maps are promoted like the input (:func:`recon.operators.fourier.as_complex`).
    :param ndim: 2 (images, or a volume slice by slice in the batch axis) or 3 (true 3D).

    >>> import torch
    >>> maps = torch.randn(4, 6, 8, dtype=torch.complex64)
    >>> maps = maps / maps.abs().pow(2).sum(0).sqrt()          # sum_c |S_c|^2 = 1
    >>> op = MultiCoilMRI(torch.ones(6, 8), maps)
    >>> x = torch.randn(2, 1, 6, 8, dtype=torch.complex64)
    >>> y = op.A(x)
    >>> y.shape, round(float(y.norm() / x.norm()), 4), round(float(op.norm()), 3)
    (torch.Size([2, 4, 6, 8]), 1.0, 1.0)
    """

    def __init__(self, mask, coil_maps, *, ndim: int = 2):
        mask = _checked_mask(mask, ndim, "MultiCoilMRI")
        shape = tuple(mask.shape[-ndim:])
        coil_maps = as_complex(torch.as_tensor(coil_maps))
        if coil_maps.dim() not in (ndim + 1, ndim + 2) or tuple(coil_maps.shape[-ndim:]) != shape:
            raise ValueError(f"MultiCoilMRI: coil_maps must be shaped (coils, {', '.join(map(str, shape))}) or "
                             f"(batch, coils, {', '.join(map(str, shape))}) to match the mask, "
                             f"got {tuple(coil_maps.shape)}")
        if mask.dim() == ndim + 1 and coil_maps.dim() == ndim + 2 and mask.shape[0] != coil_maps.shape[0]:
            raise ValueError(f"MultiCoilMRI: mask batch {mask.shape[0]} and coil_maps batch "
                             f"{coil_maps.shape[0]} differ")
        super().__init__(shape, shape)
        self.spatial_ndim = ndim
        self.n_coils = int(coil_maps.shape[-ndim - 1])
        self.register_buffer("mask", mask)
        self.register_buffer("coil_maps", coil_maps)

    def _masked(self, t: torch.Tensor) -> torch.Tensor:
        mask = _per_batch(self.mask, t, self.spatial_ndim, "MultiCoilMRI", "mask").to(t.real.dtype)
        return t * (mask.unsqueeze(1) if mask.dim() == self.spatial_ndim + 1 else mask)

    def _maps(self, like: torch.Tensor) -> torch.Tensor:
        return _per_batch(self.coil_maps, like, self.spatial_ndim + 1, "MultiCoilMRI", "coil_maps").to(like.dtype)

    def _check_image(self, x: torch.Tensor) -> torch.Tensor:
        self.check_domain(x)
        if x.shape[1] != 1:
            raise ValueError(f"MultiCoilMRI: expected an image shaped (batch, 1, "
                             f"{', '.join(map(str, self.domain_shape))}), got {tuple(x.shape)}")
        return as_complex(x)

    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        x = self._check_image(x)
        return self._masked(centred_fft(self._maps(x) * x, self.spatial_ndim))

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_range(y)
        if y.shape[1] != self.n_coils:
            raise ValueError(f"MultiCoilMRI: expected a measurement shaped (batch, {self.n_coils}, "
                             f"{', '.join(map(str, self.range_shape))}) (one channel per coil), got {tuple(y.shape)}")
        y = as_complex(y)
        images = centred_ifft(self._masked(y), self.spatial_ndim)
        return torch.sum(self._maps(y).conj() * images, dim=1, keepdim=True)

    def A_adjoint_A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        x = self._check_image(x)
        maps = self._maps(x)
        images = _normal_form(self).project(maps * x)
        return torch.sum(maps.conj() * images, dim=1, keepdim=True)

    def norm(self, *, dtype: torch.dtype = torch.float32, device="cpu", tol: float = 1e-5,
             max_iter: int = 100) -> torch.Tensor:
        r""":math:`\|A\|_2 = \lambda_{\max}(A^{\mathsf H}A)^{1/2}` by Lanczos iteration, cached per device and precision.

        Lanczos on :math:`A^{\mathsf H}A` in ``complex128`` (whatever the precision
        asked for; the value is the operator's), fully re-orthogonalised; it stops
        when the estimate changes by less than ``tol`` (relative). Power iteration is much
        slower here: the top of the spectrum is clustered (many pixels have
        nearly the largest :math:`\sum_c |S_c|^2`): on the registry's 12 x 10, 4-coil
        case 200 power steps are 0.05 % low, these defaults 0.005 %
        (``tol=1e-6``: 1e-6); on 320 x 168 with 8 coils they take 2.4 s, one thread.
        """
        precision = as_complex(torch.empty(0, dtype=dtype)).dtype
        return self.lanczos_norm(precision, device, tol, max_iter)

    def __repr__(self):
        return (f"MultiCoilMRI(shape={self.domain_shape}, coils={self.n_coils}, "
                f"sampled={float(self.mask.mean()):.3f})")
