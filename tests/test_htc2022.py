"""recon's fan-beam FBP against the organisers' own FBP of the real HTC2022 data.

The Helsinki Tomography Challenge 2022 training set (see
../shared/testdata/SOURCES.md) ships, for each of five acrylic-disc phantoms,
the full 360° fan-beam sinogram, the organisers' 512 × 512 FBP of it and the
binary segmentation that the challenge scored against. The organisers used
astra-toolbox with every length divided by ``effectivePixelSizePost``; in
recon's physical units that is the grid :mod:`recon.datasets.htc2022` reads
(how it was found: docs/htc2022.md). Their images are attenuation per pixel,
recon's per millimetre, so the two differ by the factor ``effectivePixelSizePost``.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import require_file
from recon.datasets.formats import read_measurement
from recon.metrics import matthews_correlation, pearson_correlation
from recon.operators import FanBeamCT, fbp

SCANS = ("ta", "tb", "tc", "td", "solid_disc")


def _load_mat(path, name):
    import scipy.io

    return scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True)[name]


def _operator(geometry) -> FanBeamCT:
    """recon's operator on the reader's geometry (the organisers' grid, in millimetres)."""
    return FanBeamCT(
        geometry.angles, geometry.n_detectors, geometry.source_origin, geometry.origin_detector,
        detector_spacing=geometry.detector_spacing, image_shape=geometry.image_shape,
        pixel_size=geometry.pixel_size, centre_offset=geometry.centre_offset,
        # FBP needs only the geometry: skip the sparse matrix (and its size estimate).
        backend="astra",
    )


@pytest.fixture(scope="module", params=SCANS)
def scan(request, testdata_dir):
    """One scan: (name, recon's FBP, the organisers' FBP as stored, their segmentation, effective pixel size)."""
    name = request.param
    folder = "ct/htc2022"
    path = require_file(testdata_dir, f"{folder}/htc2022_{name}_full.mat")
    # Read raw, not through the reader (which converts it to 1/mm): the units test compares the file's own values.
    reference = _load_mat(require_file(testdata_dir, f"{folder}/htc2022_{name}_full_recon_fbp.mat"), "reconFullFbp")
    segmentation = _load_mat(
        require_file(testdata_dir, f"{folder}/htc2022_{name}_full_recon_fbp_seg.mat"), "reconFullFbpSeg"
    )
    measurement = read_measurement(path)
    image = fbp(measurement.data, _operator(measurement.geometry), "ramp")[0, 0].numpy().astype(np.float64)
    return name, image, np.asarray(reference, np.float64), np.asarray(segmentation), float(
        measurement.geometry.pixel_size
    )


def test_fbp_correlates_with_organisers_fbp(scan, record_property):
    name, image, reference, _, _ = scan
    r = pearson_correlation(image, reference)
    record_property("pearson", r)
    # The issue asks for 0.98; measured 0.99998 on every scan. 0.999 still fails for a
    # quarter-pixel centre error, a 0.1° angle shift or a 0.2 % pixel-size error.
    assert r >= 0.999, f"{name}: Pearson correlation with the organisers' FBP is {r:.5f}, expected ≥ 0.999"


def test_fbp_units_match_organisers_fbp(scan):
    # Theirs is attenuation per pixel (astra in pixel units), ours per mm: the
    # least-squares factor between them is the pixel size, if fbp's scaling is right.
    name, image, reference, _, pixel = scan
    factor = float(np.sum(image * reference) / np.sum(image * image))
    assert factor == pytest.approx(pixel, rel=0.01), (
        f"{name}: organisers' FBP ≈ {factor:.6f} × recon's, expected the pixel size {pixel:.6f}"
    )


def test_otsu_segmentation_matches_organisers(scan, record_property):
    from skimage.filters import threshold_otsu

    name, image, _, segmentation, _ = scan
    mcc = matthews_correlation(image > threshold_otsu(image), segmentation)
    record_property("mcc", mcc)
    # The issue asks for 0.95; measured 0.9992 to 0.9999.
    assert mcc >= 0.995, (
        f"{name}: MCC of the Otsu-thresholded FBP against the organisers' segmentation is {mcc:.5f}, expected ≥ 0.995"
    )
