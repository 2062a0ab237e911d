r"""ESPIRiT coil sensitivities (Uecker et al., "ESPIRiT — an eigenvalue approach
to autocalibrating parallel MRI: where SENSE meets GRAPPA", MRM 71, 2014).

The maths, in the conventions of :mod:`recon.operators.coil_sensitivities`:

1. **Calibration matrix.** Every :math:`k_x \times k_y` patch of the
   calibration block, over all coils, is one row of :math:`A`:
   :math:`A_{q,(c,k)} = y_c(q + k)`, :math:`K = k_x k_y` offsets per coil.
2. **Signal subspace.** With :math:`A = U \Sigma V^H`, the right singular
   vectors :math:`v_j` whose singular value exceeds ``threshold`` times the
   largest span (conjugated, since the patches are the *rows* of :math:`A`)
   the patches of any k-space consistent with the coils;
   :math:`P = \bar V_\parallel \bar V_\parallel^H` projects onto them.
   (Computed from the eigendecomposition of the small Gram matrix
   :math:`\overline{A^H A}`.)
3. **Image-space operator.** A consistent k-space satisfies
   :math:`y = P y` patch by patch; averaging over the :math:`K` patches that
   contain each sample makes this a convolution in k-space, i.e. at each pixel
   a :math:`C \times C` matrix in image space:

   .. math::

       x(r) = G(r)\,x(r), \qquad
       G_{cc'}(r) = \frac1K \sum_{d} \Big(\sum_{k - k' = d} P_{(c,k),(c',k')}\Big)
       e^{2\pi i\, d \cdot r / N},

   which is the centred inverse FFT (times :math:`\sqrt{N_{\text{pix}}}/K`
   for the orthonormal FFT) of the :math:`(2k_x - 1) \times (2k_y - 1)`
   "kernel covariance" zero-padded to the image. :math:`G(r)` is Hermitian
   with eigenvalues in :math:`[0, 1]`.
4. **Maps.** Since :math:`x_c = S_c \rho`, the sensitivity vector
   :math:`S(r)` is an eigenvector of :math:`G(r)` with eigenvalue 1. All
   pixels are diagonalised at once (``torch.linalg.eigh``); the top
   eigenvector (unit norm, :math:`\sum_c |S_c|^2 = 1`) is the map, and pixels
   whose top eigenvalue is below ``crop`` (outside the object, where no coil
   sees signal) are set to 0 — BART ``ecalib -c`` and SigPy
   ``EspiritCalib(crop=...)`` do the same.
5. **Phase.** An eigenvector is defined up to a phase per pixel; each map is
   rotated so that coil 0 is real and non-negative (BART's and SigPy's
   choice), which makes the maps as smooth as coil 0's own phase.

Computing :math:`G` from the kernel covariance (a :math:`C^2` set of small
kernels) instead of transforming every kept singular vector (often a hundred
or more) keeps the memory at :math:`C^2 N_{\text{pix}}` and the time small.
"""

from __future__ import annotations

import math

import torch

from recon.operators.coil_sensitivities import (
    as_slices,
    calibration_shape,
    centred_block,
)
from recon.operators.fourier import centred_ifft

__all__ = ["espirit_maps"]


def espirit_maps(kspace, calibration=(24, 24), kernel=(6, 6), threshold: float = 0.02,
                 crop: float = 0.95, n_maps: int = 1) -> torch.Tensor:
    r"""ESPIRiT coil sensitivities from the fully sampled calibration block.

    Per slice: the calibration matrix of all ``kernel``-sized patches, its
    signal subspace (singular values above ``threshold`` :math:`\cdot\,\sigma_{\max}`),
    the per-pixel operator :math:`G(r)` and its eigenvectors of eigenvalue
    :math:`\approx 1` (see the module docstring for the maths):
    :math:`G(r)\,S(r) = \lambda(r)\,S(r)`, :math:`S(r) = 0` where
    :math:`\lambda(r) <` ``crop``.

    :param kspace: complex ``(coils, rows, cols)`` or ``(slices, coils, rows, cols)``, centred;
        only the calibration block is read, so undersampled k-space is fine.
    :param calibration: ``(rows, cols)`` of the central calibration block, an int for a square,
        or ``"auto"`` (:func:`~recon.operators.coil_sensitivities.auto_calibration_region`).
        It must be fully sampled.
    :param kernel: ``(kx, ky)`` patch size, at most the calibration size.
    :param threshold: singular-value cut relative to the largest, in ``[0, 1)``.
    :param crop: eigenvalue below which a pixel's map is 0, in ``[0, 1]``.
    :param n_maps: how many eigenvectors (largest eigenvalues first) to return.
    :return: maps shaped like ``kspace`` for ``n_maps=1``; otherwise with a map axis
        before the coil axis, ``([slices,] maps, coils, rows, cols)``. Same dtype as ``kspace``.

    >>> import torch
    >>> from recon.operators.fourier import centred_fft
    >>> yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    >>> rho = (xx**2 + yy**2 < 0.6).to(torch.complex64)
    >>> coils = torch.stack([torch.exp(-((xx - a)**2 + (yy - b)**2)) for a, b in [(1, 0), (-1, 0), (0, 1)]])
    >>> maps = espirit_maps(centred_fft(coils * rho), calibration=(16, 16), kernel=(5, 5))
    >>> maps.shape, maps.dtype
    (torch.Size([3, 32, 32]), torch.complex64)
    >>> round(float((maps[:, 16, 16].abs() ** 2).sum()), 4)
    1.0
    """
    k4, squeeze = as_slices(kspace, "espirit_maps")
    h, w = calibration_shape(k4, calibration, "espirit_maps")
    kx, ky = _kernel_shape(kernel, (h, w))
    slices, coils, rows, cols = k4.shape
    if 2 * kx - 1 > rows or 2 * ky - 1 > cols:
        raise ValueError(f"espirit_maps: kernel {(kx, ky)} is too large for the image ({rows}, {cols}); "
                         f"2 * kernel - 1 must fit in it")
    if not 0 <= threshold < 1:
        raise ValueError(f"espirit_maps: threshold must be in [0, 1), got {threshold}")
    if not 0 <= crop <= 1:
        raise ValueError(f"espirit_maps: crop must be in [0, 1], got {crop}")
    if not 1 <= int(n_maps) <= coils:
        raise ValueError(f"espirit_maps: n_maps must be between 1 and the number of coils ({coils}), got {n_maps}")
    block = k4[..., centred_block(rows, h), centred_block(cols, w)]
    unsampled = int((block == 0).all(dim=1).sum())
    if unsampled:
        raise ValueError(f"espirit_maps: the calibration block {(h, w)} is not fully sampled ({unsampled} samples "
                         f"are zero in every coil); use a smaller block or calibration='auto'")
    maps = torch.stack([_espirit_slice(block[s], (rows, cols), (kx, ky), threshold, crop, int(n_maps))
                        for s in range(slices)])
    if n_maps == 1:
        maps = maps[:, 0]
    return maps[0] if squeeze else maps


def _kernel_shape(kernel, calibration: tuple[int, int]) -> tuple[int, int]:
    if isinstance(kernel, int):
        kernel = (kernel, kernel)
    shape = tuple(int(s) for s in kernel)
    if len(shape) != 2 or min(shape) < 1 or shape[0] > calibration[0] or shape[1] > calibration[1]:
        raise ValueError(f"espirit_maps: kernel must be a positive (kx, ky) no larger than the calibration "
                         f"block {calibration}, got {kernel!r}")
    return shape


def _signal_projector(calib: torch.Tensor, kernel: tuple[int, int], threshold: float) -> torch.Tensor:
    r""":math:`P = \bar V_\parallel \bar V_\parallel^H` as ``(C, kx, ky, C, kx, ky)``, in complex128."""
    coils = calib.shape[0]
    kx, ky = kernel
    patches = calib.to(torch.complex128).unfold(1, kx, 1).unfold(2, ky, 1)   # (C, qx, qy, kx, ky)
    matrix = patches.permute(1, 2, 0, 3, 4).reshape(-1, coils * kx * ky)
    # The patches are the rows of A = U S V^H, so they span the conjugates of the right singular vectors:
    # the eigenvectors of conj(A^H A) = A^T conj(A), a (C K)^2 matrix far smaller than A itself.
    eigenvalues, vectors = torch.linalg.eigh(matrix.mT @ matrix.conj())
    singular = eigenvalues.clamp_min(0).sqrt()
    signal = vectors[:, singular > threshold * singular.max()]
    return (signal @ signal.mH).reshape(coils, kx, ky, coils, kx, ky)


def _espirit_slice(calib: torch.Tensor, image_shape: tuple[int, int], kernel: tuple[int, int],
                   threshold: float, crop: float, n_maps: int) -> torch.Tensor:
    """Maps ``(n_maps, coils, rows, cols)`` of one slice from its calibration block ``(coils, h, w)``."""
    coils = calib.shape[0]
    rows, cols = image_shape
    kx, ky = kernel
    projector = _signal_projector(calib, kernel, threshold)
    # Kernel covariance: sum of P over all offset pairs with the same difference d = k - k'.
    covariance = projector.new_zeros(coils, coils, 2 * kx - 1, 2 * ky - 1)
    for a in range(kx):
        for b in range(ky):
            covariance[:, :, a:a + kx, b:b + ky] += projector[:, a, b].flip(-2, -1)
    padded = projector.new_zeros(coils, coils, rows, cols)
    padded[..., rows // 2 - (kx - 1):rows // 2 + kx, cols // 2 - (ky - 1):cols // 2 + ky] = covariance
    operator = centred_ifft(padded.to(calib.dtype)) * (math.sqrt(rows * cols) / (kx * ky))
    operator = operator.permute(2, 3, 0, 1)                                   # (rows, cols, C, C)
    operator = 0.5 * (operator + operator.mH)                                 # exactly Hermitian for eigh
    eigenvalues, eigenvectors = torch.linalg.eigh(operator)                   # ascending
    values = eigenvalues[..., -n_maps:].flip(-1)                              # (rows, cols, maps)
    maps = eigenvectors[..., -n_maps:].flip(-1).permute(3, 2, 0, 1)           # (maps, C, rows, cols)
    reference = maps[:, :1]
    phase = torch.where(reference.abs() > 0, reference / reference.abs().clamp_min(1e-30),
                        torch.ones_like(reference))
    maps = maps * phase.conj()
    keep = (values > crop).permute(2, 0, 1)[:, None]
    return torch.where(keep, maps, torch.zeros_like(maps))
