"""Deblurring results as stacks of 2D images: stored ``(images, channels, H, W)``, scored channel by channel.

A deblurred result is ``(images, channels, H, W)`` (one PSF per channel, or one shared) or, for
multiband, ``(images, 1, bands, H, W)``. ``recon run`` brings both to ``(images, 1, channels, H, W)``,
which the output writer stores as ``(images, channels, H, W)``, and scores every (image, channel)
as one slice, so the metrics hold one PSNR per band.

>>> import torch
>>> from recon.datasets.measurement import Measurement
>>> from recon.operators.deblur_acquisition import BlurAcquisition
>>> m = Measurement("deblur", torch.rand(2, 3, 8, 8), BlurAcquisition(torch.ones(3, 3), (8, 8)), "recon-deblur",
...                 None, ground_truth=torch.rand(2, 3, 8, 8))
>>> image, m2, measured = as_stacks(torch.rand(2, 3, 8, 8), m)
>>> tuple(image.shape), tuple(as_slices(image, m2)[0].shape)
((2, 1, 3, 8, 8), (6, 1, 8, 8))
"""

from __future__ import annotations

from dataclasses import replace


def as_stacks(image, measurement):
    """Deblurring results as ``(images, 1, channels, H, W)`` (stored ``(images, channels, H, W)``), and the input.

    A multiband image is ``(images, 1, bands, H, W)`` already; a blurred image ``(images, channels, H, W)``
    gains the axis. The returned input (for the figure) is the blurred image, or ``None`` for multiband.
    """
    from recon.operators.deblur_acquisition import MultibandAcquisition

    if isinstance(measurement.geometry, MultibandAcquisition):
        return image, measurement, None
    truth = measurement.ground_truth
    return (image[:, None], replace(measurement, ground_truth=None if truth is None else truth[:, None]),
            measurement.data[:, None])


def as_slices(image, measurement):
    """Deblurring stacks scored image by image and channel by channel: ``(images·channels, 1, H, W)``."""
    flat = (lambda t: None if t is None else t.reshape(-1, 1, *t.shape[-2:]))
    return flat(image), replace(measurement, data=flat(image), ground_truth=flat(measurement.ground_truth))
