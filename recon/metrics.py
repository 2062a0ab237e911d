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
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range**2 / mse))


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

    .. math::

        \mathrm{SSIM} = \operatorname{mean}\frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
                                              {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
        \qquad C_1 = (0.01 R)^2,\ C_2 = (0.03 R)^2,

    :math:`R` the data range, the local means, variances and covariance weighted by the 11-tap Gaussian
    (truncated at 3.5σ), averaged over the pixels whose window lies inside the image: scikit-image's
    ``structural_similarity`` with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``, to
    rounding (``tests/test_fast_start.py``), in numpy alone (importing scipy.ndimage takes longer than
    ``recon run ct-fbp`` reconstructs).

    Leading singleton dimensions (batch, channel) are dropped; several images
    give the mean SSIM.

    >>> import numpy as np
    >>> ssim(np.eye(16), np.eye(16))
    1.0
    """
    estimate, reference = _pair(estimate, reference)
    if data_range is None:
        data_range = float(reference.max() - reference.min())
    if min(estimate.shape[-2:]) < _SSIM_WINDOW.size:
        raise ValueError(f"ssim: images must be at least {_SSIM_WINDOW.size} x {_SSIM_WINDOW.size} (the Gaussian "
                         f"window), got {estimate.shape[-2:]}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    scores = []
    for x, y in zip(estimate.reshape(-1, *estimate.shape[-2:]), reference.reshape(-1, *reference.shape[-2:])):
        mx, my = _windowed(x), _windowed(y)
        vx, vy, vxy = _windowed(x * x) - mx * mx, _windowed(y * y) - my * my, _windowed(x * y) - mx * my
        scores.append(np.mean((2 * mx * my + c1) * (2 * vxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))))
    return float(np.mean(scores))


def _gaussian_window(sigma: float = 1.5, truncate: float = 3.5) -> np.ndarray:
    """scipy.ndimage's 1D Gaussian kernel: radius ``int(truncate σ + 1/2)``, summing to 1."""
    radius = int(truncate * sigma + 0.5)
    weights = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return weights / weights.sum()


_SSIM_WINDOW = _gaussian_window()


def _windowed(image: np.ndarray) -> np.ndarray:
    """The Gaussian-weighted local mean at every pixel whose whole window lies in ``image`` (separable)."""
    window = np.lib.stride_tricks.sliding_window_view
    rows = window(image, _SSIM_WINDOW.size, axis=0) @ _SSIM_WINDOW
    return window(rows, _SSIM_WINDOW.size, axis=1) @ _SSIM_WINDOW


def pearson_correlation(a, b) -> float:
    r"""Pearson correlation coefficient of two arrays of the same shape.

    .. math::

        r = \frac{\sum_i (a_i - \bar a)(b_i - \bar b)}
                 {\sqrt{\sum_i (a_i - \bar a)^2}\,\sqrt{\sum_i (b_i - \bar b)^2}} \in [-1, 1]

    It ignores a positive affine change of either input, so it compares
    reconstructions made in different units (attenuation per mm against
    attenuation per pixel). NaN when either input is constant.

    >>> pearson_correlation([1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0])
    1.0
    >>> round(pearson_correlation([1.0, 2.0, 3.0], [2.0, 4.0, 7.0]), 4)
    0.9934
    """
    a, b = _pair(a, b)
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    denominator = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    if denominator == 0.0:
        return float("nan")
    return float(np.clip(np.dot(a, b) / denominator, -1.0, 1.0))


def matthews_correlation(prediction, reference) -> float:
    r"""Matthews correlation coefficient of a binary segmentation against a reference.

    Non-zero entries are the positive class. With :math:`TP, TN, FP, FN` the
    counts of true/false positives/negatives,

    .. math::

        \mathrm{MCC} = \frac{TP \cdot TN - FP \cdot FN}
                            {\sqrt{(TP + FP)(TP + FN)(TN + FP)(TN + FN)}} \in [-1, 1],

    the score of the Helsinki Tomography Challenge 2022. 0 when a factor of
    the denominator is zero (a class absent from either input), as in scikit-learn.

    >>> round(matthews_correlation([1, 1, 0, 0], [1, 0, 0, 0]), 4)
    0.5774
    >>> matthews_correlation([True, False, True], [True, False, True])
    1.0
    """
    prediction, reference = _pair(prediction, reference)
    p, r = prediction != 0, reference != 0
    # Counts as floats: the product in the denominator overflows int64 past about 10**5 pixels.
    tp, tn = float(np.count_nonzero(p & r)), float(np.count_nonzero(~p & ~r))
    fp, fn = float(np.count_nonzero(p & ~r)), float(np.count_nonzero(~p & r))
    denominator = float(np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
    if denominator == 0.0:
        return 0.0
    return float(np.clip((tp * tn - fp * fn) / denominator, -1.0, 1.0))


def psnr3d(estimate, reference) -> float:
    r"""The MIMO paper's PSNR of a complex volume's magnitude, after scaling the estimate to peak 1.

    .. math:: \mathrm{PSNR3D} = 10\log_{10}\frac{\max|x|^2}{\mathrm{MSE}\big(|x|,\, |\hat x| / \max|\hat x|\big)}

    (Oral and Öktem, 2024): radar images have no absolute scale, so only the
    normalised magnitude is compared; a reference with :math:`\max|x| = 1` makes
    the numerator 1.

    >>> import numpy as np
    >>> x = np.zeros((4, 4, 4), dtype=complex); x[1, 2, 3] = 1j
    >>> estimate = 5 * np.abs(x) + 0.5 * (np.arange(64).reshape(4, 4, 4) == 0)
    >>> round(psnr3d(estimate, x), 2)     # one voxel off by 0.1 after scaling to peak 1
    38.06
    """
    def magnitude(a):
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()
        return np.abs(np.asarray(a)).astype(np.float64)

    estimate, reference = magnitude(estimate), magnitude(reference)
    if estimate.shape != reference.shape:
        raise ValueError(f"psnr3d: expected volumes of the same shape, got {estimate.shape} and {reference.shape}")
    peak = float(estimate.max())
    scaled = estimate / peak if peak > 0 else estimate
    mse = float(np.mean((scaled - reference) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(float(reference.max()) ** 2 / mse))
