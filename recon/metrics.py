r"""Image quality metrics against a reference.

All functions take torch tensors or numpy arrays of the same shape and return
Python floats. ``data_range`` defaults to the reference's max − min.
"""

from __future__ import annotations

import numpy as np


def _numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _pair(estimate, reference):
    estimate, reference = _numpy(estimate), _numpy(reference)
    if estimate.shape != reference.shape:
        raise ValueError(f"expected arrays of the same shape, got {estimate.shape} and {reference.shape}")
    return estimate, reference


def psnr(estimate, reference, data_range: float | None = None) -> float:
    r"""Peak signal-to-noise ratio :math:`10\log_{10}(R^2 / \mathrm{MSE})` in dB.

    >>> import numpy as np
    >>> round(psnr(np.full(4, 0.1), np.zeros(4), data_range=1.0), 1)
    20.0
    """
    estimate, reference = _pair(estimate, reference)
    if data_range is None:
        data_range = float(reference.max() - reference.min())
    mse = float(np.mean((estimate - reference) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)


def nrmse(estimate, reference) -> float:
    r"""Normalised root-mean-square error :math:`\|\hat x - x\|_2 / \|x\|_2`.

    >>> import numpy as np
    >>> nrmse(np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    1.0
    """
    estimate, reference = _pair(estimate, reference)
    return float(np.linalg.norm(estimate - reference) / np.linalg.norm(reference))


def ssim(estimate, reference, data_range: float | None = None) -> float:
    r"""Structural similarity (Wang et al. 2004, Gaussian window σ = 1.5) of 2D images.

    Leading singleton dimensions (batch, channel) are dropped; several images
    give the mean SSIM.

    >>> import numpy as np
    >>> ssim(np.eye(16), np.eye(16))
    1.0
    """
    from skimage.metrics import structural_similarity

    estimate, reference = _pair(estimate, reference)
    if data_range is None:
        data_range = float(reference.max() - reference.min())
    images = list(zip(estimate.reshape(-1, *estimate.shape[-2:]), reference.reshape(-1, *reference.shape[-2:])))
    return float(np.mean([
        structural_similarity(e, r, data_range=data_range, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False)
        for e, r in images
    ]))
