"""Filtered back-projection: scale, orientation, filters and angular weights."""

import math

import numpy as np
import pytest
import torch

from recon.operators import FanBeamCT, ParallelBeamCT, fbp
from recon.operators.filtered_backprojection import angular_weights, ramp_filter

N = 96


def _disc_phantom():
    """Two discs and an off-centre square: asymmetric, so a flip or a transpose shows."""
    y, x = torch.meshgrid(torch.linspace(1, -1, N), torch.linspace(-1, 1, N), indexing="ij")
    image = ((x**2 + y**2) < 0.7**2).float() * 0.5
    image[((x - 0.2) ** 2 + (y + 0.25) ** 2) < 0.15**2] = 1.0
    image[(x > -0.5) & (x < -0.3) & (y > 0.2) & (y < 0.45)] = 0.8
    return image[None, None]


def _relative_error(a, b, margin=8):
    inner = (..., slice(margin, -margin), slice(margin, -margin))
    return float((a[inner] - b[inner]).norm() / b[inner].norm())


def _arc(degrees, n):
    return torch.linspace(0, math.radians(degrees), n + 1)[:-1]


OPERATORS = {
    "parallel-180": lambda: ParallelBeamCT(_arc(180, 240), 140, image_shape=(N, N)),
    "parallel-360-offset": lambda: ParallelBeamCT(_arc(360, 240), 150, image_shape=(N, N), centre_offset=3.5),
    "parallel-pixel-size": lambda: ParallelBeamCT(_arc(180, 240), 140, image_shape=(N, N), pixel_size=0.2,
                                                  detector_spacing=0.2),
    "fan-360": lambda: FanBeamCT(_arc(360, 240), 160, 250.0, 150.0, image_shape=(N, N)),
    "fan-360-offset-mm": lambda: FanBeamCT(_arc(360, 240), 160, 41.0, 14.0, detector_spacing=0.135,
                                           pixel_size=0.1, image_shape=(N, N), centre_offset=-4.0),
}
# Measured on the phantom above: parallel (1-pixel detector pitch) 0.08-0.09, fan (0.6-pixel pitch, 240 views) about 0.06.
ERROR_BOUND = {"parallel": 0.10, "fan": 0.08}


@pytest.mark.parametrize("name", OPERATORS)
def test_fbp_inverts_the_forward_model(name):
    op = OPERATORS[name]()
    x = _disc_phantom()
    reconstruction = fbp(op(x), op)
    assert reconstruction.shape == x.shape
    error = _relative_error(reconstruction, x)
    assert error < ERROR_BOUND[name.split("-")[0]]
    assert float(reconstruction[..., 20:76, 20:76].mean() / x[..., 20:76, 20:76].mean()) == pytest.approx(1.0, abs=0.01)
    # orientation: the mirrored or transposed image is far worse
    assert _relative_error(reconstruction.flip(-1), x) > 2 * error
    assert _relative_error(reconstruction.transpose(-1, -2), x) > 2 * error


def test_point_lands_on_its_pixel():
    op = FanBeamCT(_arc(360, 180), 160, 200.0, 100.0, image_shape=(N, N))
    x = torch.zeros(1, 1, N, N)
    x[0, 0, 20, 70] = 1.0
    peak = int(fbp(op(x), op)[0, 0].argmax())
    assert divmod(peak, N) == (20, 70)


def test_windows_trade_resolution_for_noise():
    op = OPERATORS["parallel-180"]()
    x = _disc_phantom()
    y = op(x)
    noise = 0.5 * torch.randn(y.shape, generator=torch.Generator().manual_seed(0))
    noise_std = {f: float(fbp(noise, op, f).std()) for f in ("ramp", "shepp-logan", "cosine", "hann")}
    errors = {f: _relative_error(fbp(y, op, f), x) for f in noise_std}
    assert noise_std["ramp"] > noise_std["shepp-logan"] > noise_std["cosine"] > noise_std["hann"]
    assert errors["ramp"] < errors["shepp-logan"] < errors["cosine"] < errors["hann"]


def test_batches_channels_and_float64():
    op = ParallelBeamCT(_arc(180, 60), 140, image_shape=(N, N))
    x = torch.cat([_disc_phantom(), 2 * _disc_phantom()], dim=1).double()
    reconstruction = fbp(op(x), op)
    assert reconstruction.dtype == torch.float64
    torch.testing.assert_close(reconstruction[:, 1], 2 * reconstruction[:, 0])


def test_angular_weights_cover_each_line_once():
    for degrees, n in [(180, 100), (360, 100), (360, 7)]:
        angles = np.radians(np.linspace(0, degrees, n, endpoint=False))
        assert angular_weights(angles).sum() == pytest.approx(math.pi)
    shuffled = np.random.default_rng(0).permutation(np.radians(np.linspace(0, 180, 50, endpoint=False)))
    np.testing.assert_allclose(angular_weights(shuffled), math.pi / 50)


def test_ramp_filter_is_ramp_like():
    response = ramp_filter(128, 1.0)
    frequencies = torch.fft.fftfreq(response.shape[0])
    middle = (frequencies.abs() > 0.05) & (frequencies.abs() < 0.45)
    torch.testing.assert_close(response[middle], frequencies[middle].abs().double(), rtol=0.03, atol=0.0)
    with pytest.raises(ValueError, match="filter: expected one of"):
        ramp_filter(128, 1.0, "butterworth")


def test_fbp_rejects_a_sinogram_of_the_wrong_shape():
    op = ParallelBeamCT(_arc(180, 60), 140, image_shape=(N, N))
    with pytest.raises(ValueError, match="expected a measurement shaped"):
        fbp(torch.zeros(1, 1, 59, 140), op)
    with pytest.raises(ValueError, match=r"fbp: expected a measurement shaped \(batch, channel, 60, 140\)"):
        fbp(torch.zeros(1, 59, 140), op.geometry)


def test_fbp_of_a_geometry_is_the_fbp_of_its_operator():
    op = ParallelBeamCT(_arc(180, 60), 140, image_shape=(N, N))
    y = op(torch.rand(2, 1, N, N, generator=torch.Generator().manual_seed(0)))
    torch.testing.assert_close(fbp(y, op.geometry, "hann"), fbp(y, op, "hann"), rtol=0, atol=0)
    with pytest.raises(TypeError, match="fbp: expected a CT operator or geometry, got str"):
        fbp(y, "parallel")
