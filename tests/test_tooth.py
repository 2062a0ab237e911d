"""From raw counts to a reconstruction on real synchrotron and neutron data: flat/dark, −log, centre, FBP.

``ct/tooth.h5`` (APS, tomopy's test file) holds 181 raw parallel-beam
projections over [0°, 180°) of two detector rows, with 10 flat and 10 dark
frames; ``ct/sino360_neutron.tif`` (sarepy) is a 360° neutron sinogram of
intensities. See ../shared/testdata/SOURCES.md. Every bound below is stated
against the value measured when the test was written.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import require_file
from recon.datasets.ct_raw import estimate_rotation_centre, flat_dark_correct, negative_log, sharpness_centre_search
from recon.operators import ParallelBeamCT, fbp

# Every ray through the tooth lands on detector columns 124-423 of 640, so (axis at
# column ~296) the tooth lies within ~172 pixels of the axis: a 384 x 384 grid at the
# detector pitch holds it with a ~20-pixel margin (its bounding box in the image is
# rows 81-342, columns 92-321), loses no resolution, and costs 2.8x less than 640 x 640.
# The Otsu foreground was checked to be the same on both grids (43,312 pixels, row 0).
TOOTH_IMAGE = (384, 384)
# The neutron sample's dense rods lie within ~110 pixels of the axis (a faint holder
# reaches the detector's edge but adds nothing to a sharpness score): 320 x 320.
NEUTRON_IMAGE = (320, 320)


def _reconstruct(sinogram, angles, offset, image_shape, filter="ramp") -> np.ndarray:
    operator = ParallelBeamCT(angles, sinogram.shape[-1], image_shape=image_shape, centre_offset=offset,
                              backend="astra")  # FBP needs the geometry only, not the matrix
    return fbp(sinogram[None, None].float(), operator, filter=filter)[0, 0].numpy()


def _components(image: np.ndarray) -> tuple[int, np.ndarray]:
    """Otsu foreground size and its connected components' sizes (4-connected), largest first."""
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    foreground = image > threshold_otsu(image)
    labels, _ = ndimage.label(foreground)
    sizes = np.sort(np.bincount(labels.ravel())[1:])[::-1]
    return int(foreground.sum()), sizes


@pytest.fixture(scope="module")
def tooth(testdata_dir):
    """Per detector row: the sinogram, the angles, the estimated centre and the sharpness search."""
    h5py = pytest.importorskip("h5py")
    path = require_file(testdata_dir, "ct/tooth.h5")
    with h5py.File(path, "r") as f:
        counts, flats, darks = (f[f"exchange/{name}"][...] for name in ("data", "data_white", "data_dark"))
        angles = np.deg2rad(f["exchange/theta"][...])
    sinograms = negative_log(flat_dark_correct(counts, flats, darks))  # (181, 2, 640)
    rows = []
    for row in range(sinograms.shape[1]):
        sinogram = sinograms[:, row, :]
        estimate = estimate_rotation_centre(sinogram, angles)
        candidates = round(estimate) + np.arange(-4.0, 4.01, 1.0)
        search = sharpness_centre_search(sinogram, angles, candidates, image_shape=TOOTH_IMAGE)
        rows.append({"sinogram": sinogram, "angles": angles, "estimate": estimate,
                     "candidates": candidates, "search": search})
    return rows


def test_tooth_preprocessing_gives_sane_line_integrals(tooth):
    for row in tooth:
        sinogram = row["sinogram"]
        assert torch.isfinite(sinogram).all()
        # Open beam on both detector edges reads ~0 (measured medians 0.002-0.004); the tooth
        # attenuates up to ~1.95 (transmission 0.14).
        assert abs(float(sinogram[:, :20].median())) < 0.02 and abs(float(sinogram[:, -20:].median())) < 0.02
        assert 1.5 < float(sinogram.max()) < 2.5


def test_tooth_rows_give_the_same_centre(tooth):
    # Measured: -23.66 and -23.68 pixels, i.e. the axis on column 295.84 of 640.
    first, second = (row["estimate"] for row in tooth)
    assert abs(first - second) < 0.5
    for estimate in (first, second):
        assert -26.0 < estimate < -21.0


def test_tooth_centre_agrees_with_the_sharpest_reconstruction(tooth):
    # Measured on a 0.5-pixel grid: entropy and gradient scores both peak at -23.5 for both rows.
    for row in tooth:
        scores = row["search"].scores
        best = int(torch.argmax(scores))
        assert 0 < best < len(scores) - 1, "the sharpness maximum must lie inside the candidate window"
        assert abs(row["search"].offset - row["estimate"]) <= 2.0


def test_tooth_reconstruction_segments_into_the_tooth_and_its_broken_fragment(tooth):
    """At the estimated centre the crack is sharp: Otsu splits off the fragment beyond it; 3 px off, it merges."""
    for row in tooth:
        image = _reconstruct(row["sinogram"], row["angles"], row["estimate"], TOOTH_IMAGE)
        foreground, sizes = _components(image)
        # Measured (row 0 / row 1): foreground 43,312 / 43,080 pixels of 147,456; components of
        # 39,536 / 39,335 (91.3 %) and 3,776 / 3,745 (8.7 %) pixels, and nothing else.
        assert 38_000 < foreground < 48_000
        assert 35_000 < sizes[0] < 44_000 and 0.85 < sizes[0] / foreground < 0.95
        assert 0.05 < sizes[1] / foreground < 0.15
        assert np.all(sizes[2:] < 20)
        blurred = _reconstruct(row["sinogram"], row["angles"], row["estimate"] + 3.0, TOOTH_IMAGE)
        foreground, sizes = _components(blurred)
        assert sizes[0] / foreground > 0.99  # measured 0.999 and 1.000


@pytest.fixture(scope="module")
def neutron(testdata_dir):
    """The 360° neutron sinogram as line integrals, and its angles (0 to 360° inclusive, as sarepy uses it)."""
    tifffile = pytest.importorskip("tifffile")
    path = require_file(testdata_dir, "ct/sino360_neutron.tif")
    counts = tifffile.imread(path).astype(np.float64)  # (459, 503) intensities
    # Two dead detector columns (314 and 346) read 0 in views 31-202: fill them from their row
    # neighbours, as a stripe-removal step would, rather than let −log's floor draw two rings.
    columns = np.arange(counts.shape[1])
    for view in np.nonzero((counts <= 0).any(axis=1))[0]:
        dead = counts[view] <= 0
        counts[view, dead] = np.interp(columns[dead], columns[~dead], counts[view, ~dead])
    # No flat field is stored: the 95th percentile of each view is open beam (the sample
    # covers columns ~80-410 of 503), which also removes the beam's drift between views.
    transmission = counts / np.percentile(counts, 95, axis=1, keepdims=True)
    angles = np.linspace(0.0, 2 * np.pi, counts.shape[0])
    return negative_log(transmission), angles


def test_neutron_360_centre_agrees_with_its_halves_and_with_sharpness(neutron):
    sinogram, angles = neutron
    estimate = estimate_rotation_centre(sinogram, angles)  # measured -6.08 (axis on column 244.92)
    assert -8.0 < estimate < -4.0
    # The first half turn alone goes through the 180° path: measured -5.91.
    half = angles.size // 2 + 1
    assert abs(estimate_rotation_centre(sinogram[:half], angles[:half]) - estimate) < 0.5
    # Measured on a 0.25-pixel grid: entropy peaks at -6.25 (first half turn; -5.75 on the second).
    candidates = round(2 * estimate) / 2 + np.arange(-3.0, 3.01, 0.5)
    search = sharpness_centre_search(sinogram, angles, candidates, image_shape=NEUTRON_IMAGE)
    assert 0 < int(torch.argmax(search.scores)) < len(candidates) - 1
    assert abs(search.offset - estimate) <= 1.0
