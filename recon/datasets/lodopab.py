r"""LoDoPaB-CT observation files: simulated low-dose parallel-beam CT of human chests (LIDC-IDRI).

Layout (Leuschner et al., Sci. Data 8, 109, 2021; Zenodo record 3384092)::

    observation_{train,validation,test}_NNN.hdf5
      data      float32  (samples, 1000, 513): up to 128 samples (the last file of a split holds
                         fewer) × 1000 angles × 513 detector bins, post-log observations
    ground_truth_{train,validation,test}_NNN.hdf5   (optional, beside it)
      data      float32  (samples, 362, 362): μ/μ_max in [0, 1], in ODL's (x, y) array order

The published simulation (dival's ``LoDoPaBDataset``, checked against ODL 1.0's
``parallel_beam_geometry(space, num_angles=1000, det_shape=513)``) images the
square :math:`[-0.13, 0.13]^2` m on 362 × 362 pixels, with 1000 parallel-beam
angles at the cell midpoints :math:`\varphi_i = (i + \tfrac12)\pi/1000` and a
detector of 513 bins covering :math:`[-r, r]`, :math:`r = 0.13\sqrt2` m (the
image's half-diagonal), centred on the axis. Observations are
:math:`-\ln(\max(N, 0.1)/N_0)/\mu_{max}` with :math:`N` Poisson counts,
:math:`N_0 = 4096` photons per bin and :math:`\mu_{max} = 81.35858` m⁻¹
(3071 HU): line integrals, along metres, of the normalised attenuation
:math:`\mu/\mu_{max}` the ground truth holds.

In recon's terms: ``ParallelBeamGeometry`` with pixel size 0.26/362 m (so
recon's operator is in metres like the observations), detector spacing
:math:`2r/513` m, no centre offset, and angles :math:`-\varphi_i`. The sign
comes from the image orientation: the files store ODL arrays indexed
``[x, y]``, which are the LIDC-IDRI DICOM images transposed; the reader
returns the ground truth transposed back (DICOM orientation, row 0 at the top
as dival's ``plot_image`` shows it), which reflects the :math:`y` axis and so
negates the angles. recon's projection of the returned ground truth agrees with
ODL's ``astra_cpu`` ray transform of the stored array to 7e-6 (relative).

``ReadOptions.index`` picks one sample of the file (only it is read from disk);
without it all samples are read: a full file is 128 × 1000 × 513 float32 =
263 MB, and its ground truth 67 MB. The other options (angles, centre, intensity
handling) concern formats that lack what LoDoPaB fixes, and are ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import check_dtype, check_finite, open_hdf5

if TYPE_CHECKING:
    import torch

    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "lodopab"
DESCRIPTION = "LoDoPaB-CT observation HDF5 (samples, 1000, 513): simulated low-dose parallel-beam chest CT"
AXES = ("data (samples, 1000, 513) is read as (samples, 1, 1000, 513); the reconstruction is written (samples, "
        "362, 362) in recon's [row, col] order, as the ground truth is read: the file's [x, y] arrays "
        "transposed")

N_ANGLES = 1000
N_DETECTORS = 513
IMAGE_SIZE = 362
HALF_WIDTH = 0.13  # metres: the image is [-0.13, 0.13]^2
MU_MAX = 81.35858  # 1/m, the attenuation of 3071 HU that normalises the ground truth
PHOTONS_PER_BIN = 4096
MIN_PHOTON_COUNT = 0.1  # what a zero count was replaced by before the log
DATASET = "data"
_NAME = re.compile(r"observation_(?P<split>[A-Za-z]+)_(?P<number>\d+)$")


def sniff(path: Path, h5) -> bool:
    """Whether ``h5`` holds exactly one dataset ``data`` shaped ``(samples, 1000, 513)``; never raises."""
    import h5py

    try:
        if h5 is None or set(h5.keys()) != {DATASET}:
            return False
        node = h5[DATASET]
        return isinstance(node, h5py.Dataset) and node.ndim == 3 and tuple(node.shape[1:]) == (N_ANGLES, N_DETECTORS)
    except Exception:  # a foreign or broken file is simply not ours
        return False


def lodopab_geometry():
    """The published LoDoPaB-CT scan as a :class:`~recon.operators.ct_geometry.ParallelBeamGeometry` (metres).

    >>> g = lodopab_geometry()
    >>> g.n_angles, g.n_detectors, g.image_shape, round(g.pixel_size * 1e3, 4), round(g.detector_spacing * 1e3, 4)
    (1000, 513, (362, 362), 0.7182, 0.7168)
    """
    from recon.operators.ct_geometry import ParallelBeamGeometry

    odl_angles = (np.arange(N_ANGLES) + 0.5) * np.pi / N_ANGLES
    detector_half_width = HALF_WIDTH * float(np.sqrt(2.0))
    return ParallelBeamGeometry(-odl_angles, N_DETECTORS, detector_spacing=float(2 * detector_half_width / N_DETECTORS),
                                image_shape=(IMAGE_SIZE, IMAGE_SIZE), pixel_size=2 * HALF_WIDTH / IMAGE_SIZE,
                                centre_offset=0.0)


def ground_truth_path(path) -> Path | None:
    """The ground-truth file that belongs to observation file ``path`` (``None`` if the name is not LoDoPaB's).

    >>> ground_truth_path("lodopab/observation_test_027.hdf5").name
    'ground_truth_test_027.hdf5'
    """
    path = Path(path)
    if not _NAME.match(path.stem):
        return None
    return path.with_name("ground_truth_" + path.name[len("observation_"):])


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read a LoDoPaB-CT observation file (all samples, or ``options.index``) and its ground truth when beside it.

    >>> import tempfile, pathlib, h5py, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "observation_test_000.hdf5"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("data", data=np.zeros((2, 1000, 513), np.float32))
    >>> m = read(path, ReadOptions(index=1))
    >>> tuple(m.data.shape), m.metadata["sample"], m.ground_truth is None
    ((1, 1, 1000, 513), 1, True)
    """
    import torch

    from recon.datasets.measurement import Measurement

    with open_hdf5(path) as h5:
        node = _observations(h5, path)
        n_samples = int(node.shape[0])
        picked = _pick(options.index, n_samples, path)
        observations = _read(node, picked, path, DATASET)
    geometry = lodopab_geometry()
    metadata = {
        "data": "post-log observations -ln(max(N, 0.1)/N0)/mu_max: line integrals along metres of mu/mu_max",
        "length_unit": "m", "image_unit": "mu/mu_max (dimensionless, [0, 1])", "mu_max_per_m": MU_MAX,
        "photons_per_bin": PHOTONS_PER_BIN, "min_photon_count": MIN_PHOTON_COUNT,
        "samples_in_file": n_samples,
        "orientation": "ground truth = the file's [x, y] array transposed (DICOM orientation); angles = -ODL's",
    }
    match = _NAME.match(Path(path).stem)
    if match:
        metadata.update(split=match["split"], file_number=int(match["number"]))
    if picked != slice(None):
        metadata["sample"] = picked.start
    truth, truth_file = _ground_truth(path, picked, n_samples)
    if truth_file is not None:
        metadata["ground_truth_file"] = str(truth_file)
    return Measurement("ct", torch.from_numpy(observations)[:, None], geometry, FORMAT, Path(path),
                       ground_truth=truth, metadata=metadata)


def describe(path: Path) -> Summary:
    """What :func:`read` would return, from the observations' shape and the published geometry
    (:mod:`recon.datasets.summary`)."""
    from recon.datasets.summary import Summary, tomography_lines

    with open_hdf5(path) as h5:
        n_samples = int(_observations(h5, path).shape[0])
    geometry = lodopab_geometry()
    truth = ground_truth_path(path)
    return Summary("ct", (n_samples, 1, N_ANGLES, N_DETECTORS), tomography_lines(geometry),
                   ground_truth=truth is not None and truth.is_file(), geometry=geometry)


def _observations(h5, path):
    import h5py

    if DATASET not in h5:
        top = ", ".join(sorted(h5.keys())[:8]) or "nothing"
        raise InputError(path, DATASET, f"LoDoPaB observations (samples, {N_ANGLES}, {N_DETECTORS})",
                         f"no such dataset (top-level entries {top})")
    node = h5[DATASET]
    if not isinstance(node, h5py.Dataset):
        raise InputError(path, DATASET, f"LoDoPaB observations (samples, {N_ANGLES}, {N_DETECTORS})", "a group")
    if node.ndim != 3 or tuple(node.shape[1:]) != (N_ANGLES, N_DETECTORS) or node.shape[0] == 0:
        raise InputError(path, DATASET, f"LoDoPaB observations shaped (samples, {N_ANGLES}, {N_DETECTORS})",
                         f"shape {node.shape}")
    check_dtype(node.dtype, path, DATASET, "real")
    return node


def _pick(index, n_samples: int, path) -> slice:
    if index is None:
        return slice(None)
    if not 0 <= index < n_samples:
        raise InputError(path, "input.index", f"a sample in 0..{n_samples - 1}", str(index))
    return slice(index, index + 1)


def _read(node, picked: slice, path, name: str) -> np.ndarray:
    try:
        values = node[picked]
    except OSError as error:
        first = (str(error).strip().splitlines() or ["OSError"])[0]
        raise InputError(path, name, "readable data", f"a read error ({first}); truncated file?")
    values = np.ascontiguousarray(values, dtype=np.float32)
    check_finite(values, path, name)
    return values


def _ground_truth(path, picked: slice, n_samples: int) -> tuple[torch.Tensor | None, Path | None]:
    truth_path = ground_truth_path(path)
    if truth_path is None or not truth_path.is_file():
        return None, None
    expected = f"ground truth shaped ({n_samples}, {IMAGE_SIZE}, {IMAGE_SIZE}), one image per observation"
    with open_hdf5(truth_path) as h5:
        if DATASET not in h5:
            raise InputError(truth_path, DATASET, expected, "no such dataset")
        node = h5[DATASET]
        if getattr(node, "shape", None) != (n_samples, IMAGE_SIZE, IMAGE_SIZE):
            raise InputError(truth_path, DATASET, expected, f"shape {getattr(node, 'shape', 'a group')}")
        check_dtype(node.dtype, truth_path, DATASET, "real")
        stored = _read(node, picked, truth_path, DATASET)
    import torch

    # The files hold ODL's [x, y] arrays; recon's images are [row, col] with row 0 at the top.
    images = np.ascontiguousarray(stored.transpose(0, 2, 1))
    return torch.from_numpy(images)[:, None], truth_path
