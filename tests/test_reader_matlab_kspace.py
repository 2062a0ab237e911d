"""MATLAB k-space files (v5 and v7.3): axis order against hand-made arrays, the variable chosen, the real brain,
and one-line refusals of what is not k-space."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
import torch
from conftest import require_file
from matlab73 import write_matlab73_kspace

from recon.cli import main
from recon.datasets import matlab_kspace
from recon.datasets.errors import InputError
from recon.datasets.formats import detect_format, read_measurement
from recon.datasets.read_options import ReadOptions

BRAIN = "mri/brain_alias_8ch.mat"


def _kspace(shape=(8, 6, 3), seed=0) -> np.ndarray:
    """Complex k-space in MATLAB order (x, y, coils) with phase-encode columns 1, 3 and 5 unmeasured."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    values[:, 1::2] = 0
    return values


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_matlab_axes_become_slices_coils_rows_cols(tmp_path, version):
    values = _kspace()
    path = tmp_path / "scan.mat"
    if version == "v5":
        scipy.io.savemat(path, {"kspace": values})
    else:
        write_matlab73_kspace(path, "kspace", values)
    assert detect_format(path) is matlab_kspace
    m = read_measurement(path)
    assert (m.modality, m.format, tuple(m.data.shape), m.data.dtype) == ("mri", "matlab-kspace", (1, 3, 8, 6),
                                                                         torch.complex64)
    for coil in range(3):                                        # k[0, c, x, y] = mat[x, y, c]
        np.testing.assert_allclose(m.data[0, coil].numpy(), values[:, :, coil], rtol=1e-6)
    assert m.geometry.mask.tolist() == [[1.0, 0.0] * 3] * 8 and m.geometry.acceleration == 2.0
    assert m.metadata == {"variable": "kspace", "matlab_version": version,
                          "mask_source": "the zero pattern of k-space"}


def test_one_coil_and_the_variable_among_several(tmp_path):
    single = _kspace((8, 6, 1))[:, :, 0]
    scipy.io.savemat(tmp_path / "one.mat", {"k": single})
    m = read_measurement(tmp_path / "one.mat")
    assert tuple(m.data.shape) == (1, 1, 8, 6)
    np.testing.assert_allclose(m.data[0, 0].numpy(), single, rtol=1e-6)

    # Beside a mask and coil maps, the variable named like k-space is the one read (names in any case).
    scipy.io.savemat(tmp_path / "several.mat", {"mask": np.ones((8, 6)), "sens": np.ones((8, 6, 3), complex),
                                                "DATA": _kspace(seed=1), "scale": 2.0}, do_compression=True)
    m = read_measurement(tmp_path / "several.mat")
    assert m.metadata["variable"] == "DATA"
    np.testing.assert_allclose(m.data[0, 2].numpy(), _kspace(seed=1)[:, :, 2], rtol=1e-6)


def _one_line_error(path, capsys, *settings) -> str:
    arguments = ["run", "mri-zf", str(path), "--output", str(path.with_name("out.h5"))]
    for setting in settings:
        arguments += ["--set", setting]
    assert main(arguments) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert not path.with_name("out.h5").exists()
    return lines[0]


def test_what_is_not_one_complex_kspace_is_one_line_naming_file_and_variable(tmp_path, capsys):
    # Real arrays are not k-space (a sinogram, an image): the file is not claimed.
    scipy.io.savemat(tmp_path / "image.mat", {"img": np.ones((8, 6)), "k": np.ones((8, 6, 2))})
    assert (f"{tmp_path / 'image.mat'}: expected a supported file (HDF5, MATLAB .mat of HTC2022 or k-space, TIFF "
            "sinogram, BART .cfl), got none of these") in _one_line_error(tmp_path / "image.mat", capsys)
    write_matlab73_kspace(tmp_path / "image73.mat", "img", np.ones((8, 6)))
    assert "expected an HDF5 layout recon knows" in _one_line_error(tmp_path / "image73.mat", capsys)

    scipy.io.savemat(tmp_path / "two.mat", {"a": _kspace(), "b": _kspace(seed=2)})
    line = _one_line_error(tmp_path / "two.mat", capsys)
    assert "expected one k-space array (the only complex 2D/3D one, or one named kspace/" in line
    assert "got arrays a (8, 6, 3), b (8, 6, 3)" in line

    scipy.io.savemat(tmp_path / "four.mat", {"kspace": np.ones((8, 6, 2, 3), complex)})
    assert "kspace: expected k-space (x, y) or (x, y, coils), got 4 axes (8, 6, 2, 3)" in _one_line_error(
        tmp_path / "four.mat", capsys)

    nan = _kspace()
    nan[2, 2, 0] = np.nan
    scipy.io.savemat(tmp_path / "nan.mat", {"kspace": nan})
    assert "nan.mat: kspace: expected finite values" in _one_line_error(tmp_path / "nan.mat", capsys)

    scipy.io.savemat(tmp_path / "good.mat", {"kspace": _kspace()})
    assert "input.index: expected 0 (one slice per MATLAB k-space file), got 1" in _one_line_error(
        tmp_path / "good.mat", capsys, "input.index=1")
    with pytest.raises(InputError, match="input.index"):
        read_measurement(tmp_path / "good.mat", ReadOptions(index=1))
    assert read_measurement(tmp_path / "good.mat", ReadOptions(index=0)).data.shape == (1, 3, 8, 6)


def test_a_truncated_file_is_refused_before_scipy_allocates(tmp_path, capsys):
    path = tmp_path / "cut.mat"
    scipy.io.savemat(path, {"kspace": _kspace((64, 48, 4))}, do_compression=False)
    path.write_bytes(path.read_bytes()[:20_000])
    line = _one_line_error(path, capsys)
    assert line.startswith(f"recon run: error: {path}: the variable at byte 128: expected ")
    assert line.endswith("got a file of 20000 bytes (truncated, or a declared size that does not match)")


def test_the_real_brain_reads_as_its_kspace_and_reconstructs(testdata_dir, tmp_path, capsys):
    path = require_file(testdata_dir, BRAIN)
    data = scipy.io.loadmat(str(path))["DATA"]
    m = read_measurement(path)
    assert tuple(m.data.shape) == (1, 8, 320, 256)
    assert float((m.data[0] - torch.as_tensor(np.moveaxis(data, 2, 0).astype(np.complex64))).abs().max()) == 0.0
    columns = torch.nonzero(m.geometry.mask.any(dim=0)).reshape(-1)
    assert (int(columns[0]), int(columns[-1]), len(columns)) == (44, 211, 168)

    out = tmp_path / "brain_zf.h5"
    assert main(["run", "mri-zf", str(path), "--output", str(out), "--quiet"]) == 0
    with h5py.File(out) as f:
        image = f["reconstruction"][()]
    # The zero-filled RSS of the 8 coils, 320 x 256 as the file's axes: the brain (130) well above the RSS
    # noise floor in the corners (19).
    assert image.shape == (1, 320, 256)
    centre, corner = image[0, 120:200, 90:170].mean(), image[0, :20, :20].mean()
    assert centre > 6 * corner, (centre, corner)
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "k-space variable DATA (MATLAB v5), (x, y, coils) = (320, 256, 8)" in text
    assert "experiments that fit: mri-pnp, mri-sense, mri-tv, mri-wavelet, mri-zf" in text
