"""Raw-projection preprocessing and rotation-centre estimation, on simulated data with known answers."""

from __future__ import annotations

import doctest
import logging
import math

import numpy as np
import pytest
import torch

import recon.datasets.ct_raw as ct_raw
from recon.datasets.ct_raw import (
    estimate_rotation_centre,
    flat_dark_correct,
    negative_log,
    sharpness_centre_search,
)
from recon.operators import ParallelBeamCT

N = 96  # image side; the detector is 1.5 N wide so an off-centre axis still sees the whole object


def _phantom(n: int = N) -> torch.Tensor:
    """A Shepp–Logan head in the upper right quarter: off the axis, so a wrong centre shows."""
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    image = np.zeros((n, n))
    image[n // 8 : n // 8 + n // 2, 3 * n // 8 : 3 * n // 8 + n // 2] = resize(
        shepp_logan_phantom(), (n // 2, n // 2), anti_aliasing=True
    )
    return torch.as_tensor(image, dtype=torch.float64)[None, None]


def _angles(span_degrees: float, n_views: int, *, endpoint: bool = False) -> torch.Tensor:
    angles = torch.linspace(0, math.radians(span_degrees), n_views + (0 if endpoint else 1), dtype=torch.float64)
    return angles if endpoint else angles[:-1]


def _sinogram(angles, centre_offset, noise=0.0, seed=0) -> torch.Tensor:
    # astra's on-the-fly projector: one image does not repay building the sparse matrix.
    operator = ParallelBeamCT(angles, int(1.5 * N), image_shape=(N, N), centre_offset=centre_offset, backend="astra")
    y = operator(_phantom())
    generator = torch.Generator().manual_seed(seed)
    return y + noise * float(y.max()) * torch.randn(y.shape, generator=generator, dtype=y.dtype)


# --- flat / dark correction and −log ------------------------------------------------------------


def test_flat_dark_correction_inverts_beer_lambert():
    angles = _angles(180, 60)
    line_integrals = _sinogram(angles, 0.0)[0, 0] * 0.05  # attenuation per pixel: transmissions 0.1-1
    generator = torch.Generator().manual_seed(1)
    gain = 20000 + 5000 * torch.rand(line_integrals.shape[-1], generator=generator, dtype=torch.float64)
    offset = 100 + 20 * torch.rand(line_integrals.shape[-1], generator=generator, dtype=torch.float64)
    # Frames scatter around their means; the correction must use the means.
    jitter = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)[:, None]
    flats = (offset + gain) + 50 * jitter
    darks = offset + 5 * jitter
    counts = offset + gain * torch.exp(-line_integrals)

    transmission = flat_dark_correct(counts, flats, darks)
    assert transmission.dtype == torch.float64
    torch.testing.assert_close(transmission, torch.exp(-line_integrals), rtol=0, atol=1e-12)
    torch.testing.assert_close(negative_log(transmission), line_integrals, rtol=0, atol=1e-10)
    # numpy in, torch out, float32 kept.
    from_numpy = flat_dark_correct(counts.float().numpy(), flats.float().numpy(), darks.float().numpy())
    assert isinstance(from_numpy, torch.Tensor) and from_numpy.dtype == torch.float32
    torch.testing.assert_close(from_numpy, torch.exp(-line_integrals).float(), rtol=0, atol=1e-5)


def test_flat_dark_correction_of_detector_rows():
    """APS layout: projections (angles, rows, cols), flats and darks (frames, rows, cols)."""
    counts = torch.full((5, 2, 8), 600.0)
    flats, darks = torch.full((3, 2, 8), 1100.0), torch.full((4, 2, 8), 100.0)
    flats[:, 1] = 2100.0
    transmission = flat_dark_correct(counts, flats, darks)
    assert transmission.shape == (5, 2, 8)
    assert torch.allclose(transmission[:, 0], torch.tensor(0.5))
    assert torch.allclose(transmission[:, 1], torch.tensor(0.25))


def test_dead_pixels_read_as_no_attenuation(caplog):
    flats = torch.tensor([[1000.0, 100.0, 50.0, float("nan")]])
    darks = torch.tensor([[100.0, 100.0, 100.0, 100.0]])
    with caplog.at_level(logging.WARNING, logger="recon.datasets.ct_raw"):
        transmission = flat_dark_correct(torch.tensor([[550.0, 0.0, 7.0, 3.0]]), flats, darks)
    assert transmission.tolist() == [[0.5, 1.0, 1.0, 1.0]]
    assert "3 detector pixels" in caplog.text
    assert torch.isfinite(negative_log(transmission)).all()


@pytest.mark.parametrize(
    "flats, darks",
    [
        (torch.ones(3, 7), torch.zeros(3, 8)),
        (torch.ones(3, 8), torch.zeros(2, 7)),
        (torch.ones(8), torch.zeros(3, 8)),  # a single flat needs its frame axis: (1, 8)
    ],
)
def test_flat_dark_shape_errors(flats, darks):
    with pytest.raises(ValueError, match="expected \\(frames, \\*detector\\)"):
        flat_dark_correct(torch.ones(5, 8), flats, darks)


def test_negative_log_is_finite_at_zero_and_negative_counts():
    transmission = torch.tensor([1.0, math.exp(-2.0), 1e-7, 0.0, -5.0, -1e30])
    result = negative_log(transmission)
    assert torch.isfinite(result).all()
    expected = torch.tensor([0.0, 2.0] + [-math.log(ct_raw.DEFAULT_FLOOR)] * 4)
    torch.testing.assert_close(result, expected)
    assert negative_log(torch.tensor([0.0], dtype=torch.float64), floor=1e-3).item() == pytest.approx(-math.log(1e-3))
    assert negative_log(np.array([0.5], dtype=np.float64)).dtype == torch.float64
    assert math.copysign(1.0, negative_log(torch.tensor([1.0])).item()) == 1.0  # +0, not -0


@pytest.mark.parametrize("floor", [0.0, -1e-6, 1.0, 2.0])
def test_negative_log_rejects_bad_floor(floor):
    with pytest.raises(ValueError, match="floor: expected a transmission strictly between 0 and 1"):
        negative_log(torch.ones(3), floor=floor)


# --- rotation centre --------------------------------------------------------------------------------

SCANS = {
    "180 [0, 180)": (180, 180, False),  # one step short of 180°: mirror views extrapolated
    "180 [0, 180]": (180, 181, True),  # the last view is the mirrored first one
    "180 coarse": (180, 60, False),
    "360 [0, 360)": (360, 240, False),
    "360 [0, 360]": (360, 241, True),
}


@pytest.mark.parametrize("scan", SCANS, ids=list(SCANS))
@pytest.mark.parametrize("true_offset", [3.4, -7.75])
def test_estimate_recovers_a_known_offset(scan, true_offset):
    angles = _angles(SCANS[scan][0], SCANS[scan][1], endpoint=SCANS[scan][2])
    sinogram = _sinogram(angles, true_offset, noise=0.01)
    estimate = estimate_rotation_centre(sinogram, angles)
    assert abs(estimate - true_offset) < 0.25, (scan, estimate)
    # The same from a 2D sinogram, numpy angles, and views in any order.
    order = torch.randperm(angles.numel(), generator=torch.Generator().manual_seed(3))
    shuffled = estimate_rotation_centre(sinogram[0, 0, order].numpy(), angles[order].numpy())
    assert shuffled == pytest.approx(estimate, abs=1e-9)


def test_estimate_is_sub_pixel_without_noise():
    angles = _angles(360, 240)
    for true_offset in (0.0, 0.5, 2.3):
        assert estimate_rotation_centre(_sinogram(angles, true_offset), angles) == pytest.approx(true_offset, abs=0.05)


@pytest.mark.parametrize(
    "angles",
    [
        _angles(90, 90),  # a quarter turn
        _angles(270, 90),  # three quarters
        torch.arange(0, 180, 2.0),  # degrees where radians were expected: a span of 178 rad
    ],
)
def test_estimate_rejects_other_angular_ranges(angles):
    with pytest.raises(ValueError, match="expected a parallel-beam scan covering about 180° or 360°"):
        estimate_rotation_centre(torch.ones(angles.numel(), 32), angles)


def test_estimate_input_errors():
    angles = _angles(180, 30)
    with pytest.raises(ValueError, match="expected one angle per sinogram row"):
        estimate_rotation_centre(torch.ones(31, 32), angles)
    with pytest.raises(ValueError, match="expected one real sinogram"):
        estimate_rotation_centre(torch.ones(2, 1, 30, 32), angles)
    with pytest.raises(ValueError, match="max_offset"):
        estimate_rotation_centre(torch.ones(30, 32), angles, max_offset=20)


@pytest.mark.parametrize("span", [180, 360])
@pytest.mark.parametrize("metric", ["entropy", "gradient"])
def test_sharpness_search_recovers_a_known_offset(span, metric):
    angles = _angles(span, 90 if span == 180 else 180)
    candidates = torch.arange(1.0, 6.01, 0.25)
    result = sharpness_centre_search(_sinogram(angles, 3.4, noise=0.01), angles, candidates,
                                     image_shape=(N, N), metric=metric)
    offset, scores = result
    assert abs(offset - 3.4) <= 0.25, (span, metric, offset)
    assert scores.shape == candidates.shape and offset == float(candidates[torch.argmax(scores)])


def test_sharpness_search_errors():
    angles = _angles(180, 30)
    with pytest.raises(ValueError, match="metric: expected one of entropy, gradient"):
        sharpness_centre_search(torch.ones(30, 32), angles, [0.0], metric="contrast")
    with pytest.raises(ValueError, match="candidates: expected at least one finite centre offset"):
        sharpness_centre_search(torch.ones(30, 32), angles, [])


def test_docstring_examples():
    failures, _ = doctest.testmod(ct_raw, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
