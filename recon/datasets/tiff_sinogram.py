r"""A sinogram stored as one 2D TIFF image: rows are views, columns detector pixels.

A TIFF stores pixels only, so the reader is told the rest (the ``input``
section of a config, :class:`~recon.datasets.read_options.ReadOptions`):

- **Angles**, which a TIFF never holds: ``input.angles_deg = [first, last]``
  in degrees and ``input.angles_endpoint`` (whether ``last`` is itself a
  view). Without them the reader stops and says so.
- **What the values are**, ``input.intensities``:

  - ``"auto"`` (default): an integer image holds intensities (counts), a
    floating-point one line integrals.
  - ``"intensity"``: counts. No flat field is stored, so each view's open
    beam is its 95th percentile (the sample must leave more than 5 % of
    every view open), which also removes the beam's drift between views.
    Dead pixels (counts :math:`\le 0`) are first filled in by linear
    interpolation along their view, as a stripe-removal step would, rather
    than letting −log's floor draw rings. Then the line integrals are
    :math:`-\log(I / I_0)`.
  - ``"line-integral"``: used as stored.

The image must be one page of shape ``(views, detectors)`` (a leading axis
of length 1 is dropped). A multi-page TIFF is refused rather than read as
one sinogram per page: such stacks are as often projections
``(views, rows, cols)`` as sinograms, and reading one as the other gives
garbage without an error. The geometry is parallel beam in detector pixels,
with a ``(detectors, detectors)`` image grid, and the rotation centre is
estimated from the sinogram (``input.centre_offset = "auto"``) or given.
The format is recognised by the TIFF signature (``II*\0``, ``MM\0*``, or
BigTIFF's ``II+\0``, ``MM\0+``), not by the file name.

Before any pixel is read, every page's tags are checked
(:mod:`recon.datasets.tiff_pages`): a strip or tile past the end of the file,
a page declaring more pixels than its bytes can hold (a :math:`10^{12}`-pixel
page in 40 bytes), or an absurd dimension is refused in one line naming the
page and the tag. Then only the page itself is read; ``input.index`` may only
be 0, and is checked before the file is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recon.datasets.raw_scan import angles_from_options, check_index, rotation_centre_offset
from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import check_finite, check_input_path

FORMAT = "tiff-sinogram"
DESCRIPTION = "one 2D TIFF sinogram (views x detectors); angles from input.angles_deg"
AXES = ("the page (views, detectors) is read as (1, 1, views, detectors); the reconstruction is written "
        "(1, detectors, detectors)")

SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
INTENSITY_MODES = ("auto", "intensity", "line-integral")
OPEN_BEAM_PERCENTILE = 95.0
FIELD = "image"  # a TIFF has no dataset names: errors name its one image


def sniff(path: Path, h5) -> bool:
    """Whether ``path`` starts with a TIFF signature (classic or BigTIFF, either byte order).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.tif"
    >>> _ = path.write_text("not an image")
    >>> sniff(path, None)
    False
    """
    if h5 is not None:
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in SIGNATURES
    except OSError:
        return False


def _load_image(path: Path) -> np.ndarray:
    """The one page's pixels, read after every page's tags are checked (:mod:`~recon.datasets.tiff_pages`)."""
    import tifffile

    from recon.datasets.tiff_pages import check_pages

    try:
        with tifffile.TiffFile(path) as tif:
            pages = check_pages(tif, path)
            shape = tuple(tif.series[0].shape)
            if pages > 1 or len(shape) not in (2, 3) or (len(shape) == 3 and shape[0] != 1):
                raise InputError(path, FIELD, "one 2D sinogram (views x detectors) on one page; a multi-page "
                                 "stack is ambiguous (projections or sinograms), convert it to recon's HDF5 layout",
                                 f"{pages} page(s) of shape {shape}")
            image = tif.pages[0].asarray()
    except InputError:
        raise
    except Exception as error:  # tifffile raises many types for corrupt or exotic files
        detail = " ".join(str(error).split())
        raise InputError(path, None, "a readable TIFF image", f"{type(error).__name__}: {detail}")
    image = image.reshape(image.shape[-2:])
    if image.dtype.kind not in "uif":
        raise InputError(path, FIELD, "numbers (integer or float)", f"dtype {image.dtype}")
    if min(image.shape) < 2:
        raise InputError(path, FIELD, "at least 2 views and 2 detector pixels", f"shape {image.shape}")
    return image


def intensities_to_line_integrals(counts: np.ndarray, path) -> np.ndarray:
    """Line integrals of a sinogram of counts, against each view's open beam, dead pixels filled in first.

    >>> counts = np.array([[100.0, 50.0, 0.0, 25.0, 100.0, 100.0]])
    >>> intensities_to_line_integrals(counts, "scan.tif").round(4).tolist()   # the dead pixel reads 37.5
    [[0.0, 0.6931, 0.9808, 1.3863, 0.0, 0.0]]
    """
    from recon.datasets.ct_raw import negative_log

    counts = np.array(counts, dtype=np.float64)
    columns = np.arange(counts.shape[1])
    for view in np.nonzero((counts <= 0).any(axis=1))[0]:
        dead = counts[view] <= 0
        if dead.all():
            raise InputError(path, FIELD, "positive counts in every view", f"view {view} reads <= 0 everywhere")
        counts[view, dead] = np.interp(columns[dead], columns[~dead], counts[view, ~dead])
    open_beam = np.percentile(counts, OPEN_BEAM_PERCENTILE, axis=1, keepdims=True)
    return negative_log(counts / open_beam).numpy()


def read(path: Path, options: ReadOptions = ReadOptions()):
    """Read a TIFF sinogram as line integrals, one slice, with the angles ``options`` gives.

    >>> import tempfile, pathlib, numpy as np, tifffile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sino.tif"
    >>> tifffile.imwrite(path, np.full((4, 6), 0.5, np.float32))        # floats: line integrals
    >>> m = read(path, ReadOptions(angles_deg=(0, 180), centre_offset=0.0))
    >>> tuple(m.data.shape), float(m.data[0, 0, 0, 0]), np.rad2deg(m.geometry.angles).tolist()
    ((1, 1, 4, 6), 0.5, [0.0, 45.0, 90.0, 135.0])
    """
    import torch

    from recon.datasets.measurement import Measurement
    from recon.operators.ct_geometry import ParallelBeamGeometry

    path = check_input_path(path)
    if options.intensities not in INTENSITY_MODES:
        raise InputError(path, "input.intensities", f"one of {', '.join(INTENSITY_MODES)}", repr(options.intensities))
    if options.angles_deg is None:
        raise _no_angles(path)
    if options.index is not None:
        check_index(options.index, 1, path, "slice (a TIFF sinogram has one)")
    image = _load_image(path)
    check_finite(image, path, FIELD)
    mode = options.intensities
    if mode == "auto":
        mode = "line-integral" if image.dtype.kind == "f" else "intensity"
    sinogram = intensities_to_line_integrals(image, path) if mode == "intensity" else image
    data = torch.as_tensor(np.ascontiguousarray(sinogram), dtype=torch.float32)[None, None]
    n_views, n_detectors = image.shape
    angles = angles_from_options(options, n_views, path)
    centre, centre_from = rotation_centre_offset(data[0, 0], angles, options.centre_offset, path)
    geometry = ParallelBeamGeometry(angles, n_detectors, 1.0, (n_detectors, n_detectors), 1.0, centre)
    preprocessing = ("dead pixels (<= 0) interpolated along the view, open beam = 95th percentile of each view, "
                     "-log") if mode == "intensity" else "none (stored as line integrals)"
    metadata = {"units": "line integrals; image in attenuation per detector pixel", "stored_as": mode,
                "stored_dtype": str(image.dtype), "preprocessing": preprocessing,
                "angles_from": f"input.angles_deg = {list(options.angles_deg)}, "
                               f"endpoint {bool(options.angles_endpoint)}",
                "centre_offset_from": centre_from}
    return Measurement("ct", data, geometry, FORMAT, path, metadata=metadata)


def describe(path: Path):
    """What :func:`read` says of the file without ``input.angles_deg`` (which ``recon info`` has no way to give):
    that a TIFF stores no angles, once the image itself is known to be a readable sinogram."""
    path = check_input_path(path)
    _load_image(path)
    raise _no_angles(path)


def _no_angles(path) -> InputError:
    return InputError(path, "input.angles_deg", "the first and last view's angle in degrees, which a TIFF does "
                      "not store (e.g. --set input.angles_deg=[0,360] --set input.angles_endpoint=true)", "none")
