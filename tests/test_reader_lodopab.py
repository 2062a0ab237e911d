"""The LoDoPaB-CT reader on synthetic observation files in the published layout and geometry.

There is no real LoDoPaB file in the test data (a split is tens of GB), so the
files here are made like the published ones: phantoms in ODL's ``[x, y]``
array order, projected in the published geometry (by recon, or by ODL itself
when it is installed), with LoDoPaB's Poisson noise and post-log scaling. The
key check is against ODL's own ray transform, which made the real data.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recon.datasets import lodopab
from recon.datasets.errors import InputError
from recon.datasets.formats import detect_format, read_measurement
from recon.datasets.phantoms import random_phantom, shepp_logan
from recon.datasets.read_options import ReadOptions
from recon.metrics import pearson_correlation
from recon.operators import ParallelBeamCT, fbp

# The published numbers, written out here independently of the reader.
PUBLISHED_ANGLES = (np.arange(1000) + 0.5) * np.pi / 1000  # ODL's cell midpoints on [0, pi)
DETECTOR_SPACING = 2 * 0.13 * np.sqrt(2) / 513  # 513 bins on [-r, r], r = the image's half-diagonal
PIXEL_SIZE = 0.26 / 362  # metres
MU_MAX, PHOTONS = 81.35858, 4096


def _operator(geometry) -> ParallelBeamCT:
    # On the fly: the 362² × 1000 × 513 matrix would be several GB.
    return ParallelBeamCT(geometry.angles, geometry.n_detectors, detector_spacing=geometry.detector_spacing,
                          image_shape=geometry.image_shape, pixel_size=geometry.pixel_size,
                          centre_offset=geometry.centre_offset, backend="astra")


def _lodopab_noise(line_integrals: np.ndarray, seed: int) -> np.ndarray:
    """LoDoPaB's observation model: Poisson counts of 4096 photons, zeros replaced by 0.1, -log, / mu_max."""
    counts = np.random.default_rng(seed).poisson(PHOTONS * np.exp(-MU_MAX * line_integrals)).astype(np.float64)
    return (-np.log(np.maximum(counts, 0.1) / PHOTONS) / MU_MAX).astype(np.float32)


def _write(path, data, name="data"):
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset(name, data=data)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two samples: images (recon's orientation), the stored [x, y] arrays, clean and noisy observations."""
    folder = tmp_path_factory.mktemp("lodopab")
    # Soft tissue is about 0.25 mu_max (water: 20 / 81.36 per m).
    images = torch.cat([0.25 * shepp_logan(362), 0.3 * random_phantom(362, seed=7)]).numpy()[:, 0]
    stored = np.ascontiguousarray(images.transpose(0, 2, 1))  # LoDoPaB keeps DICOM images transposed
    operator = ParallelBeamCT(-PUBLISHED_ANGLES, 513, detector_spacing=DETECTOR_SPACING, image_shape=(362, 362),
                              pixel_size=PIXEL_SIZE, backend="astra")
    clean = operator(torch.from_numpy(images)[:, None])[:, 0].numpy().astype(np.float64)
    noisy = np.stack([_lodopab_noise(sinogram, seed) for seed, sinogram in enumerate(clean)])
    observation = _write(folder / "observation_test_000.hdf5", noisy)
    _write(folder / "ground_truth_test_000.hdf5", stored)
    return {"observation": observation, "images": images, "stored": stored, "noisy": noisy, "clean": clean}


def test_detects_lodopab_and_reads_published_geometry(files):
    assert detect_format(files["observation"]) is lodopab
    m = read_measurement(files["observation"])
    assert m.format == "lodopab"
    assert m.data.shape == (2, 1, 1000, 513) and m.data.dtype == torch.float32
    assert m.ground_truth.shape == (2, 1, 362, 362)
    g = m.geometry
    assert (g.n_angles, g.n_detectors, g.image_shape, g.centre_offset) == (1000, 513, (362, 362), 0.0)
    np.testing.assert_allclose(g.angles, -PUBLISHED_ANGLES, rtol=0, atol=1e-15)
    assert g.angles[0] == pytest.approx(-np.pi / 2000) and g.angles[-1] == pytest.approx(-999.5 * np.pi / 1000)
    assert g.detector_spacing == pytest.approx(DETECTOR_SPACING, rel=1e-12)
    assert g.detector_spacing == pytest.approx(7.16755e-4, rel=1e-5)
    assert g.pixel_size == pytest.approx(PIXEL_SIZE, rel=1e-12)
    assert g.pixel_size == pytest.approx(7.18232e-4, rel=1e-5)
    # The detector spans the image's diagonal: 513 bins of it cover 2 * 0.13 * sqrt(2) = 0.3677 m.
    assert g.n_detectors * g.detector_spacing == pytest.approx(0.367695, rel=1e-5)
    np.testing.assert_array_equal(m.data[:, 0].numpy(), files["noisy"])
    # The ground truth comes back in DICOM orientation: the stored [x, y] array transposed.
    np.testing.assert_array_equal(m.ground_truth[:, 0].numpy(), files["images"])
    assert (m.metadata["split"], m.metadata["file_number"], m.metadata["samples_in_file"]) == ("test", 0, 2)
    assert m.metadata["ground_truth_file"].endswith("ground_truth_test_000.hdf5")
    assert m.metadata["length_unit"] == "m" and m.metadata["mu_max_per_m"] == MU_MAX


def test_index_reads_one_sample_and_its_ground_truth(files):
    m = read_measurement(files["observation"], ReadOptions(index=1))
    assert m.data.shape == (1, 1, 1000, 513) and m.metadata["sample"] == 1
    np.testing.assert_array_equal(m.data[0, 0].numpy(), files["noisy"][1])
    np.testing.assert_array_equal(m.ground_truth[0, 0].numpy(), files["stored"][1].T)


def test_observation_scale_and_fbp_match_ground_truth(files):
    m = read_measurement(files["observation"])
    operator = _operator(m.geometry)
    # recon's operator (lengths in metres) reproduces the noiseless observations: the largest
    # line integral of 0.25 x Shepp-Logan (brain 0.05, skull 0.25, 0.24 m across) is 0.0172.
    projection = operator(m.ground_truth)[:, 0].numpy()
    np.testing.assert_allclose(projection, files["clean"], rtol=0, atol=1e-6)
    assert float(files["clean"][0].max()) == pytest.approx(0.0172, abs=5e-4)
    # Poisson noise at 4096 photons per bin: measured 0.026 relative to the clean data.
    noise = np.linalg.norm(files["noisy"] - files["clean"]) / np.linalg.norm(files["clean"])
    assert 0.015 < noise < 0.04, f"relative noise {noise:.4f}, expected about 0.026"
    image = fbp(m.data, operator, "hann")[:, 0].numpy()
    for sample in range(2):
        r = pearson_correlation(image[sample], m.ground_truth[sample, 0].numpy())
        # Measured 0.986 (Shepp-Logan) and 0.993 (random phantom) with the Hann filter.
        assert r >= 0.97, f"sample {sample}: FBP correlates {r:.4f} with the ground truth, expected ≥ 0.97"


def test_reader_geometry_reproduces_odl_ray_transform(tmp_path):
    """ODL made LoDoPaB: its astra_cpu ray transform of the stored array must equal recon's of the read one."""
    odl = pytest.importorskip("odl")
    try:
        from odl.applications import tomo  # ODL >= 1.0
    except ImportError:
        tomo = odl.tomo
    space = odl.uniform_discr([-0.13, -0.13], [0.13, 0.13], (362, 362), dtype="float32")
    geometry = tomo.parallel_beam_geometry(space, num_angles=1000, det_shape=513)
    ray_transform = tomo.RayTransform(space, geometry, impl="astra_cpu")
    phantom = odl.phantom.shepp_logan(space, modified=True) * 0.25
    stored = np.asarray(phantom.data, dtype=np.float32)
    sinogram = np.asarray(ray_transform(phantom).data, dtype=np.float32)
    _write(tmp_path / "observation_validation_003.hdf5", sinogram[None])
    _write(tmp_path / "ground_truth_validation_003.hdf5", stored[None])

    m = read_measurement(tmp_path / "observation_validation_003.hdf5")
    recon_sinogram = _operator(m.geometry)(m.ground_truth)[0, 0].numpy()
    error = np.linalg.norm(recon_sinogram - sinogram) / np.linalg.norm(sinogram)
    # Measured 6.9e-6 (astra 2.5, ODL 1.0): the same astra kernel, so float32 round-off only.
    assert error < 1e-3, f"recon vs ODL ray transform: relative error {error:.3g}, expected < 1e-3"
    # The check discriminates: ODL's own angles without the reader's sign (image transposed) are far off.
    unsigned = ParallelBeamCT(-m.geometry.angles, 513, detector_spacing=m.geometry.detector_spacing,
                              image_shape=(362, 362), pixel_size=m.geometry.pixel_size, backend="astra")
    wrong = np.linalg.norm(unsigned(m.ground_truth)[0, 0].numpy() - sinogram) / np.linalg.norm(sinogram)
    # Measured 0.237 (Shepp-Logan is nearly symmetric, so a reflection changes it the least).
    assert wrong > 0.1, f"unsigned angles gave relative error {wrong:.3g}; the test would not catch a sign error"


# ---- bad input ---------------------------------------------------------------------------------------------


def test_wrong_trailing_shape_is_not_lodopab(tmp_path):
    import h5py

    path = _write(tmp_path / "observation_test_000.hdf5", np.zeros((1, 1000, 512), np.float32))
    with h5py.File(path, "r") as h5:
        assert lodopab.sniff(path, h5) is False
    with pytest.raises(InputError) as error:
        read_measurement(path, format="lodopab")
    assert error.value.field == "data"
    assert "(samples, 1000, 513)" in str(error.value) and "(1, 1000, 512)" in str(error.value)


@pytest.mark.parametrize("shape", [(1000, 513), (1, 1000, 513, 1), (0, 1000, 513)])
def test_other_ranks_and_empty_files_are_refused(tmp_path, shape):
    path = _write(tmp_path / "observation_test_000.hdf5", np.zeros(shape, np.float32))
    with pytest.raises(InputError, match=r"data: expected LoDoPaB observations shaped \(samples, 1000, 513\)"):
        read_measurement(path, format="lodopab")


def test_another_layout_with_a_data_dataset_is_not_lodopab(tmp_path):
    import h5py

    path = tmp_path / "scan.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=np.zeros((1, 1000, 513), np.float32))
        f.create_dataset("angles", data=np.zeros(1000))
    with h5py.File(path, "r") as h5:
        assert lodopab.sniff(path, h5) is False
    assert lodopab.sniff(path, None) is False


@pytest.mark.parametrize("index", [2, -1, 128])
def test_index_out_of_range_names_the_valid_range(tmp_path, index):
    path = _write(tmp_path / "observation_train_041.hdf5", np.zeros((2, 1000, 513), np.float32))
    with pytest.raises(InputError) as error:
        read_measurement(path, ReadOptions(index=index))
    assert error.value.field == "input.index"
    assert str(error.value).endswith(f"expected a sample in 0..1, got {index}")


def test_nan_is_refused_in_the_samples_read(tmp_path):
    data = np.zeros((2, 1000, 513), np.float32)
    data[1, 10, 20] = np.nan
    path = _write(tmp_path / "observation_test_001.hdf5", data)
    with pytest.raises(InputError, match=r"data: expected finite values, got 1 NaN or inf"):
        read_measurement(path)
    # Sample 0 is clean and reads: only what is read is checked.
    assert float(read_measurement(path, ReadOptions(index=0)).data.abs().sum()) == 0.0


def test_mismatched_ground_truth_names_its_file(tmp_path):
    path = _write(tmp_path / "observation_test_002.hdf5", np.zeros((2, 1000, 513), np.float32))
    _write(tmp_path / "ground_truth_test_002.hdf5", np.zeros((3, 362, 362), np.float32))
    with pytest.raises(InputError) as error:
        read_measurement(path)
    assert error.value.path.name == "ground_truth_test_002.hdf5" and error.value.field == "data"
    assert "(2, 362, 362)" in str(error.value) and "(3, 362, 362)" in str(error.value)


def test_ground_truth_is_optional_and_only_beside_a_lodopab_name(tmp_path):
    path = _write(tmp_path / "my_scan.hdf5", np.ones((1, 1000, 513), np.float32))
    _write(tmp_path / "ground_truth_scan.hdf5", np.zeros((1, 362, 362), np.float32))
    m = read_measurement(path)
    assert m.format == "lodopab" and m.ground_truth is None and "split" not in m.metadata
    assert float(m.data.sum()) == 1000 * 513
