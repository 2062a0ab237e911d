r"""``output.segment``: a binary segmentation of the reconstruction, scored against a reference segmentation.

``otsu`` thresholds each slice at Otsu's threshold (scikit-image's ``threshold_otsu``: the grey level
that maximises the between-class variance of the two classes it makes) of its real part, or of its
magnitude for a complex image; the segmentation is written to the output beside the image
(``/segmentation``, uint8). Where the measurement carries a reference segmentation (the HTC2022
organisers', :mod:`recon.datasets.htc2022`) on the same grid, each slice's Matthews correlation
coefficient against it (:func:`recon.metrics.matthews_correlation`, the challenge's score) joins the
metrics as ``mcc``.

>>> import torch
>>> image = torch.full((1, 1, 8, 8), 0.2); image[..., 2:6, 2:6] = 0.8
>>> segmentation = otsu_segmentation(image)
>>> int(segmentation.sum()), segmentation.dtype
(16, torch.uint8)
>>> mcc_per_slice(segmentation, (image > 0.5).to(torch.uint8))
[1.0]
"""

from __future__ import annotations

import numpy as np
import torch

SEGMENTATIONS = ("none", "otsu")


def otsu_segmentation(image: torch.Tensor) -> torch.Tensor:
    """Each slice of ``image`` ``(slices, 1, ...)`` above its Otsu threshold, as uint8 (1: above)."""
    from skimage.filters import threshold_otsu

    values = image.detach().cpu()
    values = values.abs() if values.is_complex() else values
    out = torch.zeros(values.shape, dtype=torch.uint8)
    for index in range(values.shape[0]):
        array = values[index].to(torch.float64).numpy()
        if np.ptp(array) == 0:              # a constant slice has no two classes
            continue
        out[index] = torch.from_numpy(array > threshold_otsu(array))
    return out


def mcc_per_slice(segmentation: torch.Tensor, reference: torch.Tensor) -> list[float]:
    """The Matthews correlation of each slice of ``segmentation`` against ``reference`` (same shapes)."""
    from recon.metrics import matthews_correlation

    return [matthews_correlation(segmentation[index].numpy(), reference[index].numpy())
            for index in range(segmentation.shape[0])]
