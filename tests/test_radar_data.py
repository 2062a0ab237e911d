"""Radar data: seeded extended targets, noise at a given SNR, recon's radar HDF5 layout, recon info, PSNR3D and MIPs."""

import math

import h5py
import numpy as np
import pytest
import torch

from recon.cli import main
from recon.datasets.formats import detect_format, read_measurement
from recon.datasets.mimo_scenes import add_complex_noise, extended_targets
from recon.datasets.radar_format import write_radar
from recon.figures import maximum_intensity_projections, projection_grid
from recon.metrics import psnr3d
from recon.operators.mimo_acquisition import MIMOAcquisition
from recon.operators.mimo_geometry import VoxelGrid, paper_array, paper_frequencies

GRID = VoxelGrid((-0.15, 0.15), (-0.15, 0.15), (0.35, 0.65), (9, 9, 11))


@pytest.fixture(scope="module")
def acquisition():
    tx, rx = paper_array()
    return MIMOAcquisition(tx, rx, paper_frequencies(4), GRID)


def test_scenes_are_seeded_planar_shapes_with_unit_magnitude_and_random_phase():
    for seed in range(6):
        scene = extended_targets(GRID.shape, seed)[0, 0]
        magnitude = scene.abs()
        occupied_depths = int((magnitude.sum(dim=(0, 1)) > 0).sum())
        assert 2 <= occupied_depths <= 4
        assert bool(((magnitude < 1e-6) | ((magnitude - 1).abs() < 1e-6)).all())   # 0 or 1 (complex64 rounding)
        # off the faces of the grid
        assert float(magnitude[0].max() + magnitude[-1].max() + magnitude[..., 0].max() + magnitude[..., -1].max()) == 0
        phases = torch.angle(scene[magnitude > 0])
        assert float(phases.std()) > 1.2           # uniform on (-π, π]: std π/√3 = 1.81
    assert torch.equal(extended_targets(GRID.shape, 3), extended_targets(GRID.shape, 3))
    assert not torch.equal(extended_targets(GRID.shape, 3), extended_targets(GRID.shape, 4))
    assert int((extended_targets(GRID.shape, 0, n_shapes=1)[0, 0].abs().sum(dim=(0, 1)) > 0).sum()) == 1


def test_noise_has_the_requested_snr():
    clean = torch.polar(torch.ones(1, 1, 10, 12, 13), torch.rand(1, 1, 10, 12, 13) * 6.283).to(torch.complex64)
    for snr in (10.0, 30.0):
        noisy, sigma = add_complex_noise(clean, snr, seed=1)
        measured = 10 * math.log10(float(clean.abs().pow(2).sum()) / float((noisy - clean).abs().pow(2).sum()))
        assert measured == pytest.approx(snr, abs=0.2)
        assert sigma == pytest.approx(10 ** (-snr / 20), rel=1e-6)


def test_radar_file_round_trip_and_detection(tmp_path, acquisition):
    truth = extended_targets(GRID.shape, 0)
    y, sigma = add_complex_noise(acquisition.operator().A(truth), 30.0, seed=0)
    path = write_radar(tmp_path / "scan.h5", y, acquisition, ground_truth=truth,
                       metadata={"snr_db": 30.0, "noise_sigma": sigma})
    assert detect_format(path).FORMAT == "recon-radar"
    m = read_measurement(path)
    assert m.modality == "mimo" and m.data.shape == (1, 1, 4, 12, 13)
    assert torch.equal(m.data, y.to(torch.complex64)) and torch.equal(m.ground_truth, truth)
    assert torch.equal(m.geometry.transmitters, acquisition.transmitters)
    assert m.geometry.grid == GRID and m.metadata["noise_sigma"] == pytest.approx(sigma)


def test_bad_radar_files_get_one_line_errors(tmp_path, acquisition, capsys):
    path = write_radar(tmp_path / "scan.h5", torch.zeros(1, 1, 4, 12, 13, dtype=torch.complex64), acquisition)
    with h5py.File(path, "a") as f:
        del f["geometry/frequencies"]
        f["geometry/frequencies"] = np.array([4e9, 5e9, 6e9])
    assert main(["info", str(path)]) == 0          # info describes what it can and says why it cannot read it
    out = capsys.readouterr().out
    assert "data: expected (N_f, N_t, N_r) = (3, 12, 13) from the geometry, got shape (4, 12, 13)" in out
    with h5py.File(path, "a") as f:
        f["geometry"].attrs["grid_counts"] = [9, 9]
    with pytest.raises(ValueError, match="geometry@grid_counts: expected three voxel counts"):
        read_measurement(path)


def test_recon_info_describes_a_radar_file(tmp_path, acquisition, capsys):
    path = write_radar(tmp_path / "scan.h5", torch.zeros(1, 1, 4, 12, 13, dtype=torch.complex64), acquisition)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "recon-radar" in out and "12 transmitters, 13 receivers" in out
    assert "4 frequencies from 4 to 16 GHz" in out and "9 x 9 x 11 voxels" in out


def test_psnr3d_scales_the_estimate_to_peak_one():
    truth = extended_targets(GRID.shape, 1)
    assert psnr3d(7.5 * truth.abs(), truth) > 150                     # any positive scale of |x| is perfect
    noisy = truth.abs() + 0.1 * torch.rand(truth.shape, generator=torch.Generator().manual_seed(0))
    scaled = noisy / noisy.max()
    expected = 10 * math.log10(1.0 / float(((scaled - truth.abs()) ** 2).mean()))
    assert psnr3d(noisy, truth) == pytest.approx(expected, rel=1e-6)   # the expectation is float32
    with pytest.raises(ValueError, match="same shape"):
        psnr3d(truth[..., :3], truth)


def test_maximum_intensity_projections(tmp_path):
    volume = np.zeros((3, 4, 5))
    volume[2, 1, 4] = 2.0
    volume[0, 3, 0] = -3.0
    projections = maximum_intensity_projections(volume + 0j)
    assert projections["along z"][0, 3] == 3.0 and projections["along x"][1, 4] == 2.0
    out = projection_grid({"truth": volume, "estimate": volume * 2}, tmp_path / "mip.png", title="t")
    assert out.stat().st_size > 5_000
