"""BART .cfl/.hdr: column-major byte order against a hand-made file, round trips, the real brain, bad files."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import scipy.io
import torch
from conftest import require_file

from recon.cli import main
from recon.datasets import bart_cfl
from recon.datasets.bart_cfl import read_cfl, read_header, write_cfl
from recon.datasets.errors import InputError
from recon.datasets.formats import detect_format, read_measurement
from recon.datasets.read_options import ReadOptions
from recon.experiments import inspect_file

BRAIN = "mri/brain_alias_8ch.mat"


def _hand_made(stem, values, dims: str):
    """A pair written byte by byte: little-endian float32 (re, im) in the order given."""
    (stem.parent / f"{stem.name}.hdr").write_text(f"# Dimensions\n{dims}\n# Command\nbart ones 2 2 3\n")
    (stem.parent / f"{stem.name}.cfl").write_bytes(b"".join(struct.pack("<ff", v.real, v.imag) for v in values))


def test_column_major_order_matches_a_hand_made_file(tmp_path):
    # On disk a[0,0], a[1,0], a[0,1], a[1,1], a[0,2], a[1,2]: the first index varies fastest.
    stem = tmp_path / "a"
    _hand_made(stem, [0, 1j, 2, 3j, 4, 5j], "2 3")
    array = read_cfl(stem)
    assert array.dtype == np.complex64 and array.shape == (2, 3)
    assert array.tolist() == [[0, 2, 4], [1j, 3j, 5j]]
    assert read_header(tmp_path / "a.hdr") == (2, 3) + (1,) * 14  # later sections ignored, padded to 16
    # And the writer lays bytes out the same way.
    write_cfl(tmp_path / "b", array)
    assert (tmp_path / "b.cfl").read_bytes() == (tmp_path / "a.cfl").read_bytes()
    assert (tmp_path / "b.hdr").read_text() == "# Dimensions\n2 3 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n"


def test_round_trip_keeps_values_and_dims_by_any_of_the_three_names(tmp_path):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((5, 4, 1, 3, 2)) + 1j * rng.standard_normal((5, 4, 1, 3, 2))).astype(np.complex64)
    stem = write_cfl(tmp_path / "x.cfl", array)
    assert stem == tmp_path / "x"
    for name in ("x", "x.cfl", "x.hdr"):
        np.testing.assert_array_equal(read_cfl(tmp_path / name), array)
    # Trailing singletons are dropped, as BART's own Python readcfl does.
    assert read_cfl(write_cfl(tmp_path / "y", np.ones((3, 1, 1)))).shape == (3,)
    with pytest.raises(FileExistsError):
        write_cfl(tmp_path / "x", array)
    write_cfl(tmp_path / "x", 2 * array, overwrite=True)
    np.testing.assert_array_equal(read_cfl(stem), 2 * array)


def test_kspace_reader_maps_bart_dims_to_slices_coils_rows_cols(tmp_path):
    rng = np.random.default_rng(1)
    bart = (rng.standard_normal((6, 4, 3, 2)) + 1j * rng.standard_normal((6, 4, 3, 2))).astype(np.complex64)
    bart[:, 1] = 0  # phase-encode line 1 unmeasured
    write_cfl(tmp_path / "k", bart)
    path = tmp_path / "k.cfl"
    assert detect_format(path) is bart_cfl and detect_format(tmp_path / "k.hdr") is bart_cfl
    m = read_measurement(path)
    assert (m.modality, m.format, tuple(m.data.shape)) == ("mri", "bart-cfl", (3, 2, 6, 4))
    np.testing.assert_array_equal(m.data.numpy(), np.transpose(bart, (2, 3, 0, 1)))  # k[s, c, x, y] = cfl[x, y, s, c]
    assert m.geometry.mask.shape == (6, 4) and m.geometry.acceleration == pytest.approx(4 / 3)
    assert m.metadata["bart_dims"] == [6, 4, 3, 2] and m.metadata["slice_axis"] == "PHS2"
    one = read_measurement(tmp_path / "k", ReadOptions(index=2), format="bart-cfl")  # the stem, named format
    np.testing.assert_array_equal(one.data[0].numpy(), np.transpose(bart[:, :, 2], (2, 0, 1)))
    with pytest.raises(InputError, match=r"input.index: expected a slice in 0..2, got 3"):
        read_measurement(path, ReadOptions(index=3))

    # BART's SLICE dimension (13) is a slice axis too.
    sliced = write_cfl(tmp_path / "s", bart[:, :, 0][:, :, None, :, None].repeat(2, axis=4).reshape(
        6, 4, 1, 2, *(1,) * 9, 2))
    m = read_measurement(sliced, format="bart-cfl")
    assert tuple(m.data.shape) == (2, 2, 6, 4) and m.metadata["slice_axis"] == "SLICE"
    np.testing.assert_array_equal(m.data[1].numpy(), np.transpose(bart[:, :, 0], (2, 0, 1)))


def test_sniff_never_claims_foreign_files(tmp_path):
    lone = tmp_path / "lone.cfl"
    lone.write_bytes(b"\0" * 8)
    notes = tmp_path / "notes.hdr"
    notes.write_text("not a BART header")
    (tmp_path / "notes.cfl").write_bytes(b"\0" * 8)
    assert not bart_cfl.sniff(lone, None) and not bart_cfl.sniff(notes, None)
    assert not bart_cfl.sniff(tmp_path / "missing.cfl", None)
    with pytest.raises(InputError, match="no reader|expected a supported file"):
        detect_format(lone)


def test_truncated_cfl_and_malformed_hdr_are_input_errors(tmp_path):
    stem = write_cfl(tmp_path / "k", np.ones((4, 4, 1, 2), np.complex64))
    cfl = tmp_path / "k.cfl"
    cfl.write_bytes(cfl.read_bytes()[:100])
    with pytest.raises(InputError, match=rf"{cfl}: expected 32 complex64 values \(256 bytes\) for dims \[4, 4, 1, 2\], "
                                         r"got 100 bytes \(truncated\?\)"):
        read_measurement(cfl)
    header = tmp_path / "k.hdr"
    for text, message in (("# Dims\n4 4\n", r"expected a BART header: '# Dimensions' then the dimensions, got '# Dims'"),
                          ("# Dimensions\n4 x 2\n", r"# Dimensions: expected whole numbers, got '4 x 2'"),
                          ("# Dimensions\n4 0\n", r"# Dimensions: expected 1 to 16 positive sizes, got '4 0'"),
                          ("# Dimensions\n" + "1 " * 17 + "\n", r"expected 1 to 16 positive sizes"),
                          ("# Dimensions\n", r"then the dimensions, got '# Dimensions'")):
        header.write_text(text)
        with pytest.raises(InputError, match=message):
            read_measurement(stem, format="bart-cfl")
    header.write_text("# Dimensions\n2 2 1 1 3\n")
    cfl.write_bytes(b"\0" * 96)
    with pytest.raises(InputError, match=r"# Dimensions: expected k-space dims .* with the others 1, got MAPS = 3"):
        read_measurement(stem, format="bart-cfl")
    header.write_text("# Dimensions\n1 1 1 1\n")
    cfl.write_bytes(struct.pack("<ff", float("nan"), 0.0))
    with pytest.raises(InputError, match=r"data: expected finite values, got 1 NaN or inf"):
        read_measurement(cfl)
    with pytest.raises(ValueError, match=r"write_cfl: array must be numeric with 1 to 16 axes"):
        write_cfl(tmp_path / "z", np.ones((1,) * 17))


@pytest.fixture(scope="module")
def brain(testdata_dir) -> np.ndarray:
    """The real brain k-space in BART order (x, y, z, coils) = (320, 256, 1, 8), complex64."""
    data = scipy.io.loadmat(str(require_file(testdata_dir, BRAIN)))["DATA"]
    return data[:, :, None, :].astype(np.complex64)


def test_real_brain_through_bart_round_trip_and_recon_info(brain, tmp_path, capsys, monkeypatch):
    stem = write_cfl(tmp_path / "brain", brain)
    assert (tmp_path / "brain.cfl").stat().st_size == 320 * 256 * 8 * 8
    m = read_measurement(tmp_path / "brain.cfl")
    assert tuple(m.data.shape) == (1, 8, 320, 256)
    expected = torch.as_tensor(np.transpose(brain[:, :, 0], (2, 0, 1))[None].copy())
    assert float((m.data - expected).abs().max()) == 0.0
    columns = torch.nonzero(m.geometry.mask.any(dim=0)).reshape(-1)
    assert (int(columns[0]), int(columns[-1]), len(columns)) == (44, 211, 168)
    assert bool(m.geometry.mask[:, 44:212].all()) and m.geometry.acceleration == pytest.approx(256 / 168)
    np.testing.assert_array_equal(read_cfl(stem), brain)

    monkeypatch.setattr(inspect_file, "fitting_experiments", lambda modality: [])
    assert main(["info", str(tmp_path / "brain.hdr")]) == 0
    text = capsys.readouterr().out
    assert f"{tmp_path / 'brain.hdr'}: bart-cfl — BART .cfl/.hdr pair" in text
    assert ".hdr dims  [320, 256, 1, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]" in text
    assert ".cfl  complex64, column-major (READ 320, PHS1 256, COIL 8)" in text
    assert "k-space (slices, coils, rows, cols) (1, 8, 320, 256)" in text
    assert "Cartesian mask (320, 256): acceleration 1.52x (53760 of 81920 samples measured)" in text
    assert "reference: none" in text
    assert "experiments that fit: none shipped yet for mri" in text


def _zero_filled_in_bart_order(bart: np.ndarray) -> np.ndarray:
    """The root-sum-of-squares over coils of the centred orthonormal inverse FFT over (x, y, z), in BART's order."""
    axes = (0, 1, 2)
    images = np.fft.fftshift(np.fft.ifftn(np.fft.ifftshift(bart, axes=axes), axes=axes, norm="ortho"), axes=axes)
    return np.sqrt((np.abs(images) ** 2).sum(axis=3))


@pytest.mark.parametrize("dims", [(1, 18, 24), (4, 6, 10)])
def test_the_reconstruction_keeps_barts_axis_order(tmp_path, capsys, dims):
    """k-space dims (1, 18, 24, coils) give one 18 x 24 image, as ``bart pics`` writes (1, 18, 24), not 24 images
    of 1 x 18; a volume (4, 6, 10) is written (4, 6, 10). Non-square, so a transpose cannot pass."""
    import shutil
    import subprocess

    import h5py

    rng = np.random.default_rng(3)
    bart = (rng.standard_normal((*dims, 3)) + 1j * rng.standard_normal((*dims, 3))).astype(np.complex64)
    bart[:, :, 1::3] = 0                                   # unmeasured k_z planes
    stem = write_cfl(tmp_path / "k", bart)
    output = tmp_path / "zf.h5"
    assert main(["run", "mri-zf", "--input", f"{stem}.cfl", "--output", str(output), "--quiet"]) == 0
    with h5py.File(output) as f:
        image = f["reconstruction"][()]
    expected = _zero_filled_in_bart_order(bart)
    assert image.shape == dims
    np.testing.assert_allclose(image, expected, rtol=1e-4, atol=1e-5 * float(expected.max()))
    assert main(["info", f"{stem}.cfl"]) == 0
    assert f"written (READ, PHS1, PHS2) = {dims}, as bart pics writes it" in capsys.readouterr().out
    if shutil.which("bart"):                               # BART's own zero-filled image, where BART is installed
        for command in (["fft", "-u", "-i", "7", stem, tmp_path / "coils"], ["rss", "8", tmp_path / "coils",
                                                                             tmp_path / "rss"]):
            subprocess.run(["bart", *map(str, command)], check=True, capture_output=True)
        theirs = np.abs(read_cfl(tmp_path / "rss"))
        assert theirs.shape == dims
        np.testing.assert_allclose(image, theirs, rtol=1e-4, atol=1e-5 * float(theirs.max()))
