"""The shipped 3D radar denoiser against 3D TV denoising on held-out magnitude volumes (the radar PnP issue's
denoiser sanity check): TV's λ is chosen on validation volumes, both are measured on the radar tests' scenes.

Measured (scripts/radar_denoiser_vs_tv.py): see RADAR_MARGIN_DB."""

from __future__ import annotations

import pytest

from conftest import load_script
from recon.weights.registry import shipped_models

pytestmark = pytest.mark.skipif("drunet3d-small-radar" not in shipped_models(),
                                reason="no shipped 3D radar denoiser (recon/weights/manifest.json)")

RADAR_MARGIN_DB = {0.05: 15.0, 0.1: 15.0}   # measured +18.4 and +19.4 dB (58.85 vs 40.41, 55.23 vs 35.82)


@pytest.fixture(scope="module")
def report():
    return load_script("radar_denoiser_vs_tv").compare(echo=lambda *a: None)


@pytest.mark.parametrize("sigma", [0.05, 0.1])
def test_the_3d_denoiser_beats_3d_tv_with_its_best_lambda(report, sigma):
    row = report[str(sigma)]
    assert row["tv"] > row["noisy"] + 5                          # TV itself works here
    assert row["tv_lambda"] not in (0.01, 0.16)                   # its best λ is inside the grid
    assert row["network"] > row["tv"] + RADAR_MARGIN_DB[sigma], row
