r"""The typed object every reader returns: the data, the geometry, an optional reference, and metadata.

A CT measurement holds line integrals (after flat/dark correction and the
negative log, whatever the file stored) shaped ``(slices, 1, views, detectors)``:
each detector row of a 3D scan, or each sample of a dataset, is one batch
element that is reconstructed independently. The geometry is a
:class:`recon.operators.ct_geometry.ParallelBeamGeometry` or
:class:`~recon.operators.ct_geometry.FanBeamGeometry` whose ``image_shape`` and
``pixel_size`` are the reader's suggestion for the reconstruction grid (a config
may override them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

MODALITIES = ("ct", "mri", "mimo", "deblur")


@dataclass
class Measurement:
    """One measurement as read from a file.

    :param modality: ``"ct"``, ``"mri"``, ``"mimo"`` (near-field MIMO radar) or ``"deblur"``.
    :param data: the measured data, ``(batch, channel, *shape)``; CT: line integrals ``(slices, 1, views, detectors)``;
        MRI: complex64 k-space ``(slices, coils, rows, cols)``, centred; radar: complex64 responses
        ``(scans, 1, N_f, N_t, N_r)``; deblurring: blurred images ``(images, channels, H, W)``, or for
        multiband the packed bands ``(images, 1, M)`` of :class:`recon.operators.multiband.MultibandImaging`.
    :param geometry: the scan geometry (CT: a parallel- or fan-beam geometry; MRI: a
        :class:`recon.operators.mri_acquisition.CartesianAcquisition`; radar: a
        :class:`recon.operators.mimo_acquisition.MIMOAcquisition`; deblurring: a
        :class:`recon.operators.deblur_acquisition.BlurAcquisition` or ``MultibandAcquisition``).
    :param format: the name of the reader that produced it (``"recon"``, ``"data-exchange"``, ...).
    :param source: the file it came from.
    :param ground_truth: the true image, ``(slices, 1, rows, cols)``, when known (simulations, LoDoPaB).
    :param reference: a reference reconstruction (the HTC2022 organisers' FBP), scored by correlation.
    :param reference_name: what ``reference`` is, for tables and figures.
    :param segmentation: a reference binary segmentation ``(slices, 1, rows, cols)`` (the HTC2022 organisers'),
        scored by the Matthews correlation when ``output.segment`` segments the reconstruction.
    :param metadata: free-form facts: units, preprocessing, the raw shape, the noise level.

    >>> import numpy as np, torch
    >>> from recon.operators.ct_geometry import ParallelBeamGeometry
    >>> geometry = ParallelBeamGeometry(np.linspace(0, np.pi, 4, endpoint=False), 8, image_shape=(6, 6))
    >>> m = Measurement("ct", torch.zeros(2, 1, 4, 8), geometry, format="recon", source=None)
    >>> m.n_slices, m.select(1).data.shape
    (2, torch.Size([1, 1, 4, 8]))
    """

    modality: str
    data: torch.Tensor
    geometry: object
    format: str
    source: Path | None
    ground_truth: torch.Tensor | None = None
    reference: torch.Tensor | None = None
    reference_name: str = ""
    metadata: dict = field(default_factory=dict)
    segmentation: torch.Tensor | None = None

    def __post_init__(self):
        if self.modality not in MODALITIES:
            raise ValueError(f"Measurement: modality must be one of {', '.join(MODALITIES)}, got {self.modality!r}")
        if self.data.dim() < 3:
            raise ValueError(f"Measurement: data must be shaped (batch, channel, ...), got {tuple(self.data.shape)}")
        for name in ("ground_truth", "reference", "segmentation"):
            image = getattr(self, name)
            if image is not None and image.shape[0] != self.data.shape[0]:
                raise ValueError(f"Measurement: {name} has {image.shape[0]} slices, the data {self.data.shape[0]}")

    @property
    def n_slices(self) -> int:
        return int(self.data.shape[0])

    def select(self, index: int) -> "Measurement":
        """The measurement of one slice (batch element) ``index``."""
        if not -self.n_slices <= index < self.n_slices:
            raise ValueError(f"Measurement: slice {index} out of range, the data has {self.n_slices}")
        pick = slice(index, index + 1) if index >= 0 else slice(self.n_slices + index, self.n_slices + index + 1)
        return replace(self, data=self.data[pick],
                       ground_truth=None if self.ground_truth is None else self.ground_truth[pick],
                       reference=None if self.reference is None else self.reference[pick],
                       segmentation=None if self.segmentation is None else self.segmentation[pick],
                       metadata={**self.metadata, "slice": pick.start})


def stacked(parts: list[Measurement]) -> Measurement | None:
    """The slices of ``parts`` as one measurement, or ``None`` when they cannot be solved as one batch: another
    geometry (Data Exchange rows each with their own estimated centre), modality or set of reference images.

    >>> import numpy as np, torch
    >>> from recon.operators.ct_geometry import ParallelBeamGeometry
    >>> geometry = ParallelBeamGeometry(np.linspace(0, np.pi, 4, endpoint=False), 8, image_shape=(6, 6))
    >>> one = Measurement("ct", torch.zeros(1, 1, 4, 8), geometry, format="recon", source=None)
    >>> stacked([one, one, one]).data.shape
    torch.Size([3, 1, 4, 8])
    >>> moved = replace(one, geometry=replace(geometry, centre_offset=0.5))
    >>> stacked([one, moved]) is None
    True
    """
    import pickle

    first = parts[0]
    if len(parts) == 1:
        return first
    geometry = pickle.dumps(first.geometry)
    images = ("ground_truth", "reference", "segmentation")
    for part in parts[1:]:
        if (part.modality, part.format, part.reference_name) != (first.modality, first.format, first.reference_name):
            return None
        if pickle.dumps(part.geometry) != geometry:
            return None
        if any((getattr(part, name) is None) != (getattr(first, name) is None) for name in images):
            return None

    def joined(name):
        return None if getattr(first, name) is None else torch.cat([getattr(p, name) for p in parts])

    return replace(first, data=torch.cat([p.data for p in parts]), ground_truth=joined("ground_truth"),
                   reference=joined("reference"), segmentation=joined("segmentation"),
                   metadata={k: v for k, v in first.metadata.items() if k != "slice"})
