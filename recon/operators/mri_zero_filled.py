r"""Zero-filled MRI reconstruction: the inverse FFT of k-space with the missing samples left at zero.

For coil k-space :math:`y_c` (zero where not measured) and the orthonormal
centred inverse FFT :math:`\mathcal F^{\mathsf H}` (:mod:`recon.operators.fourier`),

.. math::

    \text{root-sum-of-squares:}\quad \hat x = \Big(\sum_c |\mathcal F^{\mathsf H} y_c|^2\Big)^{1/2},
    \qquad
    \text{coil-combined:}\quad \hat x = \frac{\sum_c \overline{S_c}\, \mathcal F^{\mathsf H} y_c}{\sum_c |S_c|^2}.

The root-sum-of-squares image is real and non-negative (fastMRI's
``reconstruction_rss``); the coil-combined one is complex and, for fully
sampled noiseless SENSE data :math:`y_c = \mathcal F(S_c x)`, equals :math:`x`
wherever :math:`\sum_c |S_c|^2 > 0` (it is 0 elsewhere).
"""

from __future__ import annotations

import torch

from recon.operators.fourier import as_complex, centred_ifft


def root_sum_of_squares(images: torch.Tensor, dim: int = 1, *, keepdim: bool = True) -> torch.Tensor:
    r"""Root-sum-of-squares coil combination :math:`(\sum_c |x_c|^2)^{1/2}` over axis ``dim``.

    Real and non-negative for real or complex input. ``keepdim=True`` (the
    default) keeps the coil axis with size 1, so ``(batch, coils, rows, cols)``
    becomes the image layout ``(batch, 1, rows, cols)``.

    >>> import torch
    >>> images = torch.tensor([[[[3 + 0j]], [[0 + 4j]]]])       # (1, 2, 1, 1): two coils
    >>> root_sum_of_squares(images)
    tensor([[[[5.]]]])
    """
    return torch.linalg.vector_norm(images, ord=2, dim=dim, keepdim=keepdim)


def zero_filled(kspace: torch.Tensor, coil_maps: torch.Tensor | None = None, *, ndim: int = 2) -> torch.Tensor:
    r"""The zero-filled image of ``kspace``: root-sum-of-squares, or coil-combined with ``coil_maps``.

    Without maps, :math:`\hat x = (\sum_c |\mathcal F^{\mathsf H} y_c|^2)^{1/2}` (real);
    with maps, :math:`\hat x = \sum_c \overline{S_c} \mathcal F^{\mathsf H} y_c / \sum_c |S_c|^2`
    (complex; 0 where :math:`\sum_c |S_c|^2 = 0`). Real k-space or maps are
    promoted by :func:`recon.operators.fourier.as_complex`.

    :param kspace: ``(slices, coils, rows, cols)``, zero where not measured
        (``ndim=3``: ``(batch, coils, depth, rows, cols)``).
    :param coil_maps: optional ``(coils, rows, cols)`` or ``(slices, coils, rows, cols)``.
    :param ndim: 2, or 3 for true 3D k-space.
    :returns: ``(slices, 1, rows, cols)``.

    >>> import torch
    >>> from recon.operators.fourier import centred_fft
    >>> x = torch.rand(1, 1, 8, 8)
    >>> bool(torch.allclose(zero_filled(centred_fft(x)), x, atol=1e-6))   # fully sampled single coil
    True
    """
    if ndim not in (2, 3):
        raise ValueError(f"zero_filled: ndim must be 2 or 3, got {ndim}")
    if kspace.dim() != ndim + 2:
        layout = "(slices, coils, rows, cols)" if ndim == 2 else "(batch, coils, depth, rows, cols)"
        raise ValueError(f"zero_filled: kspace must be shaped {layout}, got {tuple(kspace.shape)}")
    images = centred_ifft(as_complex(kspace), ndim)
    if coil_maps is None:
        return root_sum_of_squares(images, dim=1)
    maps = as_complex(torch.as_tensor(coil_maps)).to(device=images.device, dtype=images.dtype)
    if maps.dim() == ndim + 1:
        maps = maps.unsqueeze(0)
    if maps.dim() != ndim + 2 or maps.shape[1:] != images.shape[1:] or maps.shape[0] not in (1, images.shape[0]):
        raise ValueError(f"zero_filled: coil_maps must be shaped {tuple(images.shape[1:])} or "
                         f"{tuple(images.shape)} to match kspace, got {tuple(torch.as_tensor(coil_maps).shape)}")
    weight = torch.sum(maps.abs() ** 2, dim=1, keepdim=True)
    combined = torch.sum(maps.conj() * images, dim=1, keepdim=True)
    covered = weight > 0
    return combined / torch.where(covered, weight, torch.ones_like(weight)) * covered
