r"""Helsinki Tomography Challenge 2022 (HTC2022) MATLAB files: real fan-beam X-ray CT of acrylic discs.

Layout, as the challenge published it (MATLAB v5 ``.mat``; one of two struct names)::

    CtDataFull | CtDataLimited     struct   full 360° scan | a limited arc of the same scan
      type                         char     '2d'
      sinogram                     double   (views, numDetectorsPost): flat-field corrected and
                                            log-transformed, i.e. line integrals (dimensionless)
      parameters                   struct
        angles                     double   (views,) source angles in degrees (full: 0 to 360 by 0.5,
                                            both ends present; limited: e.g. 90° in 181 views)
        distanceSourceOrigin       double   410.66 mm
        distanceSourceDetector     double   553.74 mm
        geometricMagnification     double   1.3484 (= distanceSourceDetector / distanceSourceOrigin)
        effectivePixelSizePost     double   0.14832 mm: the detector pitch at the rotation axis
        numDetectorsPost           double   560 (after 4× binning of the 2240-column detector)
        ...                                 scanner, tube, voltage, exposure, binning: into metadata

    <stem>_recon_fbp.mat           reconFullFbp (512, 512): the organisers' full-angle FBP, optional
                                   (for <name>_limited.mat also <name>_full_recon_fbp.mat)
    <that stem>_seg.mat            reconFullFbpSeg (512, 512) uint8: their segmentation of it, optional;
                                   the reference of ``output.segment``'s Matthews correlation

The reader returns the sinogram as one slice ``(1, 1, views, detectors)`` and
the fan-beam geometry the organisers reconstructed on (docs/htc2022.md; their
FBP and recon's correlate at 0.99998): lengths in millimetres, image pixels of
``effectivePixelSizePost`` on a 512 × 512 grid, detector pitch
``effectivePixelSizePost × geometricMagnification`` (0.2 mm), source–axis
``distanceSourceOrigin``, axis–detector ``distanceSourceDetector −
distanceSourceOrigin``, the rotation axis on the detector's centre, the angles
as given with astra's (recon's) sign. A reconstruction is then attenuation in
1/mm. The organisers' FBP is attenuation per pixel (they ran astra in pixel
units); the reader divides it by ``effectivePixelSizePost`` so that the
reference is in 1/mm too.

The struct is MATLAB v5; a v7.3 (HDF5) re-save is refused with a clear error
(after :mod:`recon.datasets.hdf5_preflight` has looked over it, as over any
HDF5 input). Before ``scipy.io`` lists or loads a v5 file, its element tags
are walked (:mod:`recon.datasets.mat5_preflight`): a variable declaring more
values than its bytes hold, or an absurd dimension, is refused in one line
naming the variable (``CtDataFull.sinogram``) before anything is allocated.
``ReadOptions.index`` may only be 0 (one sinogram per file); the other options
concern raw projections and stored-angle-less formats and do not apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.mat5_preflight import MAT5_SIGNATURE, load_variable
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import check_angles, check_dtype, check_finite, check_input_path

if TYPE_CHECKING:
    import torch

    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "htc2022"
DESCRIPTION = "Helsinki Tomography Challenge 2022 MATLAB struct (CtDataFull / CtDataLimited): real fan-beam CT"
AXES = ("the sinogram (views, detectors) is read as (1, 1, views, detectors); the reconstruction is written "
        "(1, 512, 512), oriented as the organisers' reconFullFbp")

STRUCT_NAMES = ("CtDataFull", "CtDataLimited")
REFERENCE_NAME = "reconFullFbp"
SEGMENTATION_NAME = "reconFullFbpSeg"
# The organisers' reconstruction grid (docs/htc2022.md).
IMAGE_SHAPE = (512, 512)
REQUIRED_PARAMETERS = ("angles", "distanceSourceOrigin", "distanceSourceDetector", "effectivePixelSizePost",
                       "numDetectorsPost", "geometricMagnification")


def sniff(path: Path, h5) -> bool:
    """Whether ``path`` is a MATLAB v5 file holding a ``CtDataFull`` or ``CtDataLimited`` struct.

    Reads the 116-byte text header and the variable directory only; never raises. A v7.3
    (HDF5) re-save is claimed too, so that :func:`read` can say how to convert it.
    """
    if h5 is not None:
        try:
            return any(name in h5 for name in STRUCT_NAMES)
        except Exception:
            return False
    try:
        with open(path, "rb") as handle:
            if not handle.read(len(MAT5_SIGNATURE)) == MAT5_SIGNATURE:
                return False
        return _struct_name(_variables(path)) is not None
    except Exception:  # a foreign or broken file is simply not ours
        return False


def _variables(path) -> list[tuple[str, tuple, str]]:
    import scipy.io

    return scipy.io.whosmat(str(path))


def _struct_name(variables) -> str | None:
    for name in STRUCT_NAMES:
        if any(var == name and kind == "struct" for var, _, kind in variables):
            return name
    return None


def _load_variable(path: Path, name: str):
    """One variable of a v5 .mat file, its declared sizes checked first
    (:func:`recon.datasets.mat5_preflight.load_variable`); a v7.3 re-save is refused with how to convert it."""
    import h5py

    if h5py.is_hdf5(path):   # MATLAB v7.3 files are HDF5 inside, which scipy does not read
        raise InputError(path, None, "a MATLAB v5 .mat file",
                         "a v7.3 (HDF5) one; re-save it in MATLAB with save(name, '-v7')")
    return load_variable(path, name, struct_as_record=False, squeeze_me=False)


def _unwrap(value):
    # Without squeeze_me every struct and field is wrapped in a 1 × 1 object array.
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.flat[0]
    return value


def _field(struct, name: str, path, where: str, what: str):
    if name not in getattr(struct, "_fieldnames", ()):
        raise InputError(path, f"{where}.{name}", what, "no such field")
    return _unwrap(getattr(struct, name))


def _as_struct(value, path, where: str, what: str):
    value = _unwrap(value)
    if not hasattr(value, "_fieldnames"):
        got = f"a {value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__
        raise InputError(path, where, what, got)
    return value


def _positive_number(parameters, name: str, path, where: str, *, integer: bool = False) -> float:
    field = f"{where}.{name}"
    expected = "a positive integer" if integer else "a positive number"
    value = np.asarray(_field(parameters, name, path, where, expected))
    if value.dtype.kind not in "iuf" or value.size != 1:
        raise InputError(path, field, expected, f"{value.dtype} of shape {value.shape}")
    number = float(value.reshape(-1)[0])
    if not (np.isfinite(number) and number > 0) or (integer and number != round(number)):
        raise InputError(path, field, expected, repr(number))
    return number


def _metadata_parameters(parameters) -> dict:
    """The struct's scalar and text parameters, for provenance (``parameters.voltage`` = '45', ...)."""
    facts = {}
    for name in parameters._fieldnames:
        value = _unwrap(getattr(parameters, name))
        if isinstance(value, str):
            facts[f"parameters.{name}"] = value
        elif isinstance(value, np.ndarray) and value.dtype.kind in "US" and value.size == 1:
            facts[f"parameters.{name}"] = str(value.reshape(-1)[0])
        elif isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size == 1:
            facts[f"parameters.{name}"] = value.reshape(-1)[0].item()
    return facts


def htc2022_geometry(angles_deg, n_detectors: int, source_origin: float, source_detector: float,
                     effective_pixel_size: float, magnification: float):
    """The organisers' reconstruction grid as a :class:`~recon.operators.ct_geometry.FanBeamGeometry` (mm).

    >>> g = htc2022_geometry([0.0, 90.0], 560, 410.66, 553.74, 0.1483223, 1.3484147)
    >>> g.image_shape, round(g.detector_spacing, 4), round(g.origin_detector, 2), g.centre_offset
    ((512, 512), 0.2, 143.08, 0.0)
    """
    from recon.operators.ct_geometry import FanBeamGeometry

    return FanBeamGeometry(np.deg2rad(np.asarray(angles_deg, dtype=np.float64)), int(n_detectors),
                           float(source_origin), float(source_detector) - float(source_origin),
                           detector_spacing=float(effective_pixel_size) * float(magnification),
                           image_shape=IMAGE_SHAPE, pixel_size=float(effective_pixel_size), centre_offset=0.0)


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read an HTC2022 ``.mat`` file: its sinogram, fan-beam geometry and, when beside it, the organisers' FBP.

    >>> import tempfile, pathlib, numpy as np, scipy.io
    >>> parameters = dict(angles=np.arange(0.0, 360.0, 10.0), distanceSourceOrigin=410.66,
    ...                   distanceSourceDetector=553.74, effectivePixelSizePost=0.14832,
    ...                   numDetectorsPost=560.0, geometricMagnification=1.3484)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.mat"
    >>> scipy.io.savemat(path, {"CtDataFull": {"sinogram": np.zeros((36, 560)), "parameters": parameters}})
    >>> m = read(path)
    >>> tuple(m.data.shape), m.geometry.n_angles, round(m.geometry.pixel_size, 5), m.reference is None
    ((1, 1, 36, 560), 36, 0.14832, True)
    """
    path = check_input_path(path)
    if options.index is not None and options.index != 0:
        raise InputError(path, "input.index", "0 (an HTC2022 file holds one sinogram)", str(options.index))
    import torch

    from recon.datasets.measurement import Measurement

    name, struct = _struct(path)
    sinogram = _sinogram(struct, path, name)
    geometry, parameters = _geometry(struct, sinogram.shape, path, name)
    metadata = {"struct": name, "length_unit": "mm", "image_unit": "1/mm",
                "data": "line integrals (the file's flat-field corrected, log-transformed sinogram)",
                "angles_deg": f"{geometry.angles.size} views from {np.rad2deg(geometry.angles[0]):g} "
                              f"to {np.rad2deg(geometry.angles[-1]):g}",
                **_metadata_parameters(parameters)}
    reference, reference_file = _reference(path, geometry)
    if reference_file is not None:
        metadata.update(reference_file=str(reference_file),
                        reference_unit=f"1/mm ({REFERENCE_NAME} divided by effectivePixelSizePost, "
                                       "since the organisers' FBP is attenuation per pixel)")
    segmentation, segmentation_file = _segmentation(reference_file, geometry)
    if segmentation_file is not None:
        metadata["segmentation_file"] = str(segmentation_file)
    return Measurement("ct", torch.as_tensor(sinogram, dtype=torch.float32)[None, None], geometry, FORMAT, path,
                       reference=reference, reference_name="organisers' FBP" if reference is not None else "",
                       metadata=metadata, segmentation=segmentation)


def describe(path: Path) -> Summary:
    """What :func:`read` would return, without loading the organisers' reference (:mod:`recon.datasets.summary`)."""
    from recon.datasets.summary import Summary, tomography_lines

    path = check_input_path(path)
    name, struct = _struct(path)
    sinogram = _sinogram(struct, path, name)
    geometry, _ = _geometry(struct, sinogram.shape, path, name)
    reference = _reference_file(path) is not None
    return Summary("ct", (1, 1, *sinogram.shape), tomography_lines(geometry),
                   reference_name="organisers' FBP" if reference else "", geometry=geometry)


def _struct(path: Path):
    """The name of the file's HTC2022 struct and the struct itself."""
    variables = _variables_or_error(path)
    name = _struct_name(variables)
    if name is None:
        found = ", ".join(f"{var} ({kind})" for var, _, kind in variables) or "none"
        raise InputError(path, None, f"a MATLAB struct {' or '.join(STRUCT_NAMES)} (HTC2022)", f"variables {found}")
    return name, _as_struct(_load_variable(path, name), path, name, "a struct with sinogram and parameters")


def _variables_or_error(path: Path):
    with open(path, "rb") as handle:
        header = handle.read(128)
    if header.startswith(b"MATLAB 7.3"):
        raise InputError(path, None, "a MATLAB v5 .mat file",
                         "a v7.3 (HDF5) one; re-save it in MATLAB with save(name, '-v7')")
    if header.startswith(b"\x89HDF"):
        raise InputError(path, None, "a MATLAB v5 .mat file", "an HDF5 file")
    if not header.startswith(MAT5_SIGNATURE):
        raise InputError(path, None, "a MATLAB v5 .mat file", "a file without the 'MATLAB 5.0 MAT-file' header")
    from recon.datasets.mat5_preflight import preflight

    preflight(path)
    try:
        return _variables(path)
    except Exception as error:
        text = str(error).strip().splitlines()
        raise InputError(path, None, "a readable MATLAB v5 .mat file",
                         f"an unreadable one ({text[0] if text else type(error).__name__})")


def _sinogram(struct, path, name: str) -> np.ndarray:
    field = f"{name}.sinogram"
    sinogram = _field(struct, "sinogram", path, name, "a (views, detectors) sinogram")
    if not isinstance(sinogram, np.ndarray):
        raise InputError(path, field, "a numeric (views, detectors) array", type(sinogram).__name__)
    check_dtype(sinogram.dtype, path, field, "real")
    if sinogram.ndim != 2 or sinogram.size == 0:
        raise InputError(path, field, "a non-empty (views, detectors) array", f"shape {sinogram.shape}")
    check_finite(sinogram, path, field)
    return np.ascontiguousarray(sinogram, dtype=np.float64)


def _geometry(struct, shape, path, name: str):
    where = f"{name}.parameters"
    parameters = _as_struct(_field(struct, "parameters", path, name, "a struct of scan parameters"),
                            path, where, "a struct of scan parameters")
    for required in REQUIRED_PARAMETERS:
        _field(parameters, required, path, where, "a scan parameter")
    n_detectors = int(_positive_number(parameters, "numDetectorsPost", path, where, integer=True))
    if shape[1] != n_detectors:
        raise InputError(path, f"{name}.sinogram", f"{n_detectors} detector columns ({where}.numDetectorsPost)",
                         f"shape {shape}")
    angles = np.asarray(_field(parameters, "angles", path, where, "angles in degrees"))
    check_dtype(angles.dtype, path, f"{where}.angles", "real")
    # MATLAB stores a vector as a 1 × n (or n × 1) matrix.
    if angles.ndim == 2 and 1 in angles.shape:
        angles = angles.reshape(-1)
    angles = check_angles(angles, shape[0], path, f"{where}.angles")
    source_origin = _positive_number(parameters, "distanceSourceOrigin", path, where)
    source_detector = _positive_number(parameters, "distanceSourceDetector", path, where)
    if source_detector <= source_origin:
        raise InputError(path, f"{where}.distanceSourceDetector",
                         f"more than distanceSourceOrigin ({source_origin:g})", repr(source_detector))
    pixel = _positive_number(parameters, "effectivePixelSizePost", path, where)
    magnification = _positive_number(parameters, "geometricMagnification", path, where)
    try:
        geometry = htc2022_geometry(angles, n_detectors, source_origin, source_detector, pixel, magnification)
    except ValueError as error:
        raise InputError(path, where, "a valid fan-beam geometry", str(error))
    return geometry, parameters


def reference_candidates(path) -> list[Path]:
    """Where the organisers' full-angle FBP of ``path`` may lie, in the order they are tried.

    >>> [p.name for p in reference_candidates("data/htc2022_ta_limited.mat")]
    ['htc2022_ta_limited_recon_fbp.mat', 'htc2022_ta_full_recon_fbp.mat']
    """
    path = Path(path)
    candidates = [path.with_name(f"{path.stem}_recon_fbp.mat")]
    if path.stem.endswith("_limited"):
        candidates.append(path.with_name(f"{path.stem[:-len('_limited')]}_full_recon_fbp.mat"))
    return candidates


def _variable_names(candidate: Path, wanted: str) -> list[str]:
    """The variables of a companion .mat file (one-line error naming ``wanted`` if it cannot be read)."""
    try:
        return [var for var, _, _ in _variables(candidate)]
    except Exception:
        raise InputError(candidate, None, f"a readable MATLAB v5 .mat file with {wanted}", "an unreadable file")


def _segmentation(reference_file: Path | None, geometry) -> tuple[torch.Tensor | None, Path | None]:
    """The organisers' segmentation ``reconFullFbpSeg`` in ``<reference stem>_seg.mat`` beside the reference, if any."""
    import torch

    if reference_file is None:
        return None, None
    candidate = reference_file.with_name(f"{reference_file.stem}_seg.mat")
    if not candidate.is_file():
        return None, None
    names = _variable_names(candidate, SEGMENTATION_NAME)
    if SEGMENTATION_NAME not in names:
        raise InputError(candidate, None, f"the variable {SEGMENTATION_NAME}", f"variables {', '.join(names)}")
    image = _unwrap(_load_variable(candidate, SEGMENTATION_NAME))
    if not isinstance(image, np.ndarray) or tuple(image.shape) != geometry.image_shape:
        shape = getattr(image, "shape", type(image).__name__)
        raise InputError(candidate, SEGMENTATION_NAME, f"a {geometry.image_shape} binary image", f"shape {shape}")
    values = np.unique(image)
    if not set(values.tolist()) <= {0, 1}:
        raise InputError(candidate, SEGMENTATION_NAME, "a binary image (0 and 1)",
                         f"values {', '.join(f'{v:g}' for v in values[:5])}")
    return torch.as_tensor(np.asarray(image, dtype=np.uint8))[None, None], candidate


def _reference(path: Path, geometry) -> tuple[torch.Tensor | None, Path | None]:
    """The first candidate file holding ``reconFullFbp``, in 1/mm; a limited-angle FBP beside it is no reference."""
    import torch

    candidate = _reference_file(path)
    if candidate is None:
        return None, None
    image = _unwrap(_load_variable(candidate, REFERENCE_NAME))
    if not isinstance(image, np.ndarray):
        raise InputError(candidate, REFERENCE_NAME, f"a {IMAGE_SHAPE} image", type(image).__name__)
    check_dtype(image.dtype, candidate, REFERENCE_NAME, "real")
    if tuple(image.shape) != geometry.image_shape:
        raise InputError(candidate, REFERENCE_NAME, f"a {geometry.image_shape} image", f"shape {image.shape}")
    check_finite(image, candidate, REFERENCE_NAME)
    per_mm = np.asarray(image, dtype=np.float64) / geometry.pixel_size
    return torch.as_tensor(per_mm, dtype=torch.float32)[None, None], candidate


def _reference_file(path: Path) -> Path | None:
    """The first of :func:`reference_candidates` that exists and holds ``reconFullFbp``."""
    for candidate in reference_candidates(path):
        if candidate.is_file() and REFERENCE_NAME in _variable_names(candidate, REFERENCE_NAME):
            return candidate
    return None
