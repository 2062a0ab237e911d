"""Issue 21, a fast start: ``recon info`` without torch, ``recon run ct-fbp`` without deepinv, and their benchmark.

``recon info`` describes a file from each reader's ``describe`` (metadata and numpy); every reader's
summary is checked against the measurement its ``read`` returns. The start-up times themselves are
measured by ``scripts/bench_startup.py`` (docs/benchmarks.md); here it runs once, for its records' shape.
"""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, load_script
from matlab73 import write_matlab73_kspace

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions


def _raw_scans(folder):
    with h5py.File(folder / "exchange.h5", "w") as f:
        f["exchange/data"] = 100.0 * np.exp(-np.random.default_rng(0).random((6, 2, 10))).astype(np.float32)
        f["exchange/data_white"] = np.full((3, 2, 10), 100.0, np.float32)
        f["exchange/data_dark"] = np.zeros((2, 2, 10), np.float32)
        f["exchange/theta"] = np.linspace(0.0, 150.0, 6)
    with h5py.File(folder / "scan.nxs", "w") as f:
        f["entry/definition"] = "NXtomo"
        counts = [10.0] + [100.0] * 2 + [40.0] * 4
        f["entry/instrument/detector/data"] = np.multiply.outer(counts, np.ones((3, 8)))
        f["entry/instrument/detector/image_key"] = [2, 1, 1, 0, 0, 0, 0]
        f["entry/sample/rotation_angle"] = [0.0, 0.0, 0.0, 0.0, 45.0, 90.0, 135.0]


def _ismrmrd(path):
    """Two readouts of one coil on a 4 x 4 matrix, lines 0 and 2 (the reader's own example)."""
    idx = np.dtype([("kspace_encode_step_1", "<u2"), ("slice", "<u2")])
    head = np.dtype([("flags", "<u8"), ("number_of_samples", "<u2"), ("active_channels", "<u2"),
                     ("center_sample", "<u2"), ("idx", idx)])
    vlen = h5py.vlen_dtype(np.float32)
    rows = np.zeros(2, np.dtype([("head", head), ("traj", vlen), ("data", vlen)]))
    rows["head"]["number_of_samples"], rows["head"]["active_channels"], rows["head"]["center_sample"] = 4, 1, 2
    rows["head"]["idx"]["kspace_encode_step_1"] = [0, 2]
    xml = ("<ismrmrdHeader><encoding><encodedSpace><matrixSize><x>4</x><y>4</y></matrixSize></encodedSpace>"
           "</encoding></ismrmrdHeader>")
    with h5py.File(path, "w") as f:
        f["dataset/xml"] = [xml.encode()]
        data = f.create_dataset("dataset/data", shape=(2,), dtype=rows.dtype)
        for i in range(2):
            rows[i]["traj"], rows[i]["data"] = np.zeros(0, np.float32), np.arange(8, dtype=np.float32) + 1
            data[i] = rows[i]


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict:
    """A small file of every format recon reads, by name."""
    import scipy.io
    import tifffile

    from recon.datasets.bart_cfl import write_cfl
    from recon.datasets.deblur_format import write_deblur, write_multiband
    from recon.datasets.fastmri import write_fastmri
    from recon.datasets.radar_format import write_radar
    from recon.experiments.ct_demo import write_demo_scan
    from recon.operators.deblur_acquisition import MultibandAcquisition
    from recon.operators.mimo_acquisition import MIMOAcquisition
    from recon.operators.mimo_geometry import VoxelGrid
    from recon.operators.psf import gaussian_psf, moffat_psf

    folder = tmp_path_factory.mktemp("formats")
    write_demo_scan(folder / "scan.h5", size=32, n_views=12)
    _raw_scans(folder)
    with h5py.File(folder / "observation_test_000.hdf5", "w") as f:
        f["data"] = np.zeros((2, 1000, 513), np.float32)
    with h5py.File(folder / "ground_truth_test_000.hdf5", "w") as f:
        f["data"] = np.zeros((2, 362, 362), np.float32)
    parameters = dict(angles=np.arange(0.0, 360.0, 10.0), distanceSourceOrigin=410.66, distanceSourceDetector=553.74,
                      effectivePixelSizePost=0.1483223, numDetectorsPost=560.0, geometricMagnification=1.3484147)
    scipy.io.savemat(folder / "htc2022_ta_full.mat", {"CtDataFull": {"sinogram": np.zeros((36, 560)),
                                                                    "parameters": parameters}})
    scipy.io.savemat(folder / "htc2022_ta_full_recon_fbp.mat", {"reconFullFbp": np.zeros((512, 512))})
    tifffile.imwrite(folder / "sino.tif", np.full((4, 6), 0.5, np.float32))
    kspace = np.zeros((2, 3, 8, 6), np.complex64)
    kspace[..., ::2] = 1
    write_fastmri(folder / "fastmri.h5", kspace, reconstruction_rss=np.ones((2, 8, 6)))
    write_fastmri(folder / "off_grid.h5", kspace, mask=[1, 0, 1, 0, 1, 0], reconstruction_rss=np.ones((2, 4, 4)))
    _ismrmrd(folder / "raw.h5")
    write_cfl(folder / "slices", np.ones((6, 4, 1, 2), np.complex64))
    volume = np.ones((4, 6, 10, 2), np.complex64)
    volume[:, :, 1::3] = 0
    write_cfl(folder / "volume", volume)
    scipy.io.savemat(folder / "kspace.mat", {"kspace": volume[:, :, 0]})
    write_matlab73_kspace(folder / "kspace73.mat", "DATA", volume[:, :, 0])
    generator = torch.Generator().manual_seed(0)
    radar = MIMOAcquisition(torch.rand(3, 3, generator=generator) * 0.1, torch.rand(2, 3, generator=generator) * 0.1,
                            torch.tensor([4e9, 5e9]), VoxelGrid((-0.1, 0.1), (-0.1, 0.1), (0.3, 0.5), (4, 4, 5)))
    write_radar(folder / "radar.h5", torch.ones(1, 1, 2, 3, 2, dtype=torch.complex64), radar,
                ground_truth=torch.ones(1, 1, 4, 4, 5, dtype=torch.complex64))
    write_deblur(folder / "blurred.h5", torch.rand(1, 3, 16, 16, generator=generator),
                 torch.stack([gaussian_psf(5, s) for s in (0.8, 1.0, 1.2)]), boundary="circular",
                 metadata={"noise": "gaussian"})
    bands = MultibandAcquisition(torch.stack([moffat_psf(9, f, 3.5) for f in (3.0, 2.5)]), 2, (16, 16),
                                 gaussian_psf(5, 0.8), [0.6, 0.4])
    scene = torch.rand(1, 1, 2, 16, 16, dtype=torch.float64, generator=generator)
    low, broad = bands.operator().unpack(bands.operator().A(scene))
    write_multiband(folder / "bands.h5", low[:, 0], broad[:, 0], bands, ground_truth=scene)
    names = ["scan.h5", "exchange.h5", "scan.nxs", "observation_test_000.hdf5", "htc2022_ta_full.mat", "sino.tif",
             "fastmri.h5", "off_grid.h5", "raw.h5", "slices.cfl", "volume.cfl", "kspace.mat", "kspace73.mat", "radar.h5",
             "blurred.h5", "bands.h5"]
    return {name: folder / name for name in names}


def _modules_after(code: str) -> list[str]:
    """The last line a fresh ``python -c code`` prints (run from the repository root)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    return done.stdout.strip().splitlines()


def test_recon_info_imports_neither_torch_nor_deepinv(samples):
    paths = [str(path) for path in samples.values()]
    code = ("import sys; from recon.cli import main\n"
            f"codes = [main(['info', path]) for path in {paths!r}]\n"
            "print(codes, 'torch' in sys.modules, 'deepinv' in sys.modules)")
    lines = _modules_after(code)
    assert lines[-1] == f"{[0] * len(paths)} False False", lines[-1]
    text = "\n".join(lines)
    assert text.count("experiments that fit:") == len(paths) - 1      # the TIFF needs input.angles_deg
    assert "experiments that fit: ct-awtv, ct-diffusion, ct-fbp, ct-limited-angle" in text      # the HTC fan beam
    assert "experiments that fit: deblur-diffusion, deblur-multiband, deblur-pnp\n" in text


@pytest.mark.parametrize("name", ["scan.h5", "exchange.h5", "scan.nxs", "observation_test_000.hdf5",
                                  "htc2022_ta_full.mat", "sino.tif", "fastmri.h5", "off_grid.h5", "raw.h5",
                                  "slices.cfl", "volume.cfl", "kspace.mat", "kspace73.mat", "radar.h5", "blurred.h5",
                                  "bands.h5"])
def test_each_reader_describes_what_it_reads(samples, name):
    from recon.datasets.formats import detect_format
    from recon.datasets.summary import cartesian_lines

    path = samples[name]
    module = detect_format(path)
    raw = module.FORMAT in ("data-exchange", "nxtomo")              # their rotation axis is estimated on reading
    try:
        measurement = module.read(path, ReadOptions(centre_offset=0.0) if raw else ReadOptions())
    except InputError as error:                                      # the TIFF: the same refusal either way
        with pytest.raises(InputError, match=f"^{str(error)[:60]}"):
            module.describe(path)
        return
    summary = module.describe(path)
    assert summary.modality == measurement.modality
    assert summary.data_shape == tuple(measurement.data.shape)
    assert summary.ground_truth == (measurement.ground_truth is not None)
    assert summary.reference_name == measurement.reference_name
    geometry = measurement.geometry
    if measurement.modality == "ct":
        for key in ("n_angles", "n_detectors", "detector_spacing", "image_shape", "pixel_size"):
            assert getattr(summary.geometry, key) == getattr(geometry, key), key
        np.testing.assert_array_equal(summary.geometry.angles, geometry.angles)
        assert summary.geometry.centre_offset == geometry.centre_offset
        assert ("estimated from the projections when read" in summary.setup[0]) == raw
    if measurement.modality == "mri":
        assert summary.setup[0] == cartesian_lines(geometry.mask.numpy())[0]
        assert summary.metadata.get("reference_note") == measurement.metadata.get("reference_note")
    if measurement.modality == "mimo":
        assert f"{geometry.grid.counts[0]} x {geometry.grid.counts[1]} x {geometry.grid.counts[2]} voxels" \
            in summary.setup[2]
    if measurement.modality == "deblur":
        from recon.operators.deblur_acquisition import MultibandAcquisition

        assert summary.multiband == isinstance(geometry, MultibandAcquisition)
        assert summary.boundary == geometry.boundary
        assert summary.metadata.get("noise") == measurement.metadata.get("noise")


def test_ct_fbp_runs_without_deepinv_or_matplotlib_and_writes_its_outputs(tmp_path):
    from recon.experiments.ct_demo import write_demo_scan

    scan, _ = write_demo_scan(tmp_path / "scan.h5", size=48, n_views=20)
    output = tmp_path / "fbp.h5"
    code = ("import sys; from recon.cli import main\n"
            f"code = main(['run', 'ct-fbp', '--input', {str(scan)!r}, '--output', {str(output)!r}, '--quiet'])\n"
            "print(code, *(name in sys.modules for name in ('deepinv', 'torchvision', 'torch._dynamo', 'matplotlib',"
            " 'astra')))")
    assert _modules_after(code)[-1] == "0 False False False False False"
    assert output.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with h5py.File(output) as f:
        assert f["reconstruction"].shape == (1, 48, 48) and f["metrics"].attrs["psnr_db"] > 15.0
        assert f["provenance"].attrs["stop_reason"] == "closed form"


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    from recon.metrics import ssim

    rng = np.random.default_rng(0)
    for shape in ((11, 11), (16, 40), (64, 33)):
        truth = rng.random(shape)
        estimate = truth + 0.1 * rng.standard_normal(shape)
        expected = structural_similarity(estimate, truth, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False)
        assert ssim(estimate, truth, data_range=1.0) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="at least 11 x 11"):
        ssim(np.ones((8, 20)), np.ones((8, 20)))


def test_the_named_kinds_are_the_builders_registries():
    from recon.experiments.learned_registry import LEARNED_PRIORS, LEARNED_SOLVERS
    from recon.experiments.combinations import LEARNED_PRIOR_KINDS, LEARNED_SOLVER_KINDS

    assert set(LEARNED_PRIORS) == set(LEARNED_PRIOR_KINDS)
    assert set(LEARNED_SOLVERS) == set(LEARNED_SOLVER_KINDS)


@pytest.mark.parametrize("name", ["recon.datasets.summary", "recon.experiments.combinations", "recon.image_panels",
                                  "recon.solvers.htc2022_geometry", "recon.datasets.raw_scan",
                                  "recon.operators.filtered_backprojection", "recon.experiments.mri_volume",
                                  "recon.operators"])
def test_docstring_examples(name):
    failures, tried = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0 and tried > 0


def test_startup_benchmark_runs_each_command_in_a_fresh_process(tmp_path):
    """The benchmark's records and table, from one run of each command on a small scan (no timed assert)."""
    bench = load_script("bench_startup")
    records = bench.measure(tmp_path, repeats=1, size=48, n_views=20, echo=lambda *a: None)
    assert [r["case"] for r in records] == ["help", "info", "run ct-fbp"]
    for record in records:
        assert record["command"].startswith("recon ") and len(record["runs_s"]) == 1
        assert record["best_s"] == record["median_s"] == record["runs_s"][0] > 0 and record["least_cpu_s"] > 0
        assert record["limit_s"] == bench.LIMITS[record["case"]]
    assert records[2]["outputs"] == ["scan_ct-fbp.h5", "scan_ct-fbp.png"]
    assert all((tmp_path / name).is_file() for name in records[2]["outputs"])
    table = bench.format_table(records)
    assert all(case in table for case in bench.LIMITS)
