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
