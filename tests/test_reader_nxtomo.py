"""The NXtomo reader: the real Diamond skeleton file (layout only) and synthetic scans written here.

``ct/nxtomo_skeleton_24888.nxs`` (see ../shared/testdata/SOURCES.md) has the
NXtomo entry ``entry1/tomo_entry`` with 111 image keys (91 projections, 10
flats, 10 darks) and rotation angles, but its frames are an external link to
``/dls/i13/.../pco1-24888.hdf``, which is not there.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from conftest import require_file
from recon.datasets import nxtomo
from recon.datasets.errors import InputError
from recon.datasets.formats import detect_format, read_measurement
from recon.datasets.phantoms import shepp_logan
from recon.datasets.read_options import ReadOptions
from recon.operators import ParallelBeamCT

FRAMES = "entry1/tomo_entry/instrument/detector/data"


@pytest.fixture(scope="module")
def skeleton(testdata_dir):
    return require_file(testdata_dir, "ct/nxtomo_skeleton_24888.nxs")


def test_real_skeleton_is_recognised_as_nxtomo(skeleton):
    with h5py.File(skeleton, "r") as f:
        assert nxtomo.sniff(skeleton, f) is True
        assert nxtomo.find_entry(f) == "entry1/tomo_entry"
    assert detect_format(skeleton) is nxtomo


def test_real_skeleton_is_refused_for_its_external_links_outside_its_folder(skeleton):
    """Its frames live in Diamond's /dls tree, behind external links: refused before any reader follows one."""
    with pytest.raises(InputError) as caught:
        read_measurement(skeleton)
    message = str(caught.value)
    assert message.startswith(f"{skeleton}: entry1/") and "expected links only to files in the input's folder" in message
    assert "external link to /dls/i13/data/2014/mt9396-1/raw/pco1-24888.hdf" in message
    assert "\n" not in message


def test_real_skeleton_info_names_the_missing_linked_frames(skeleton):
    """recon info lists links and follows none, so it says where the frames would be."""
    from recon.experiments.inspect_file import describe_file

    text = "\n".join(describe_file(skeleton))
    assert f"{FRAMES}: expected detector frames" in text and "linked file is missing" in text
    assert "'/dls/i13/data/2014/mt9396-1/raw/pco1-24888.hdf'" in text


# --- synthetic scans -------------------------------------------------------------------------------------

N_VIEWS, N_ROWS, N_DET, SIZE, OFFSET = 45, 2, 40, 28, -2.0
I0, DARK = 20_000.0, 50.0


def _line_integrals():
    phantom = 0.2 * shepp_logan(SIZE)  # line integrals up to ~1.4
    images = torch.cat([phantom, torch.flip(phantom, dims=[-2])])
    angles_deg = np.arange(N_VIEWS) * 4.0  # [0°, 180°)
    operator = ParallelBeamCT(np.deg2rad(angles_deg), N_DET, image_shape=(SIZE, SIZE), centre_offset=OFFSET)
    return operator(images)[:, 0].numpy(), angles_deg  # (rows, views, detectors)


def _write_nxtomo(path, *, keys=None, angles=None, entry="entry1/tomo_entry", frames_at="instrument/detector/data",
                  dark_level=DARK):
    """Darks, flats, projections (counts I = D + I0 exp(-Ax)) and flats again, as an NXtomo subentry."""
    sinograms, angles_deg = _line_integrals()
    projections = dark_level + I0 * np.exp(-sinograms.transpose(1, 0, 2))  # (views, rows, detectors)
    dark = np.full((3, N_ROWS, N_DET), dark_level)
    flat = np.full((2, N_ROWS, N_DET), dark_level + I0)
    frames = np.concatenate([dark, flat, projections, flat]).astype(np.float32)
    default_keys = np.concatenate([[2] * 3, [1] * 2, [0] * N_VIEWS, [1] * 2]).astype(np.float64)
    default_angles = np.concatenate([[0.0] * 5, angles_deg, [angles_deg[-1]] * 2])
    with h5py.File(path, "w") as f:
        top, _, sub = entry.partition("/")
        f.create_group(top).attrs["NX_class"] = "NXentry"
        group = f[top]
        if sub:
            group = group.create_group(sub)
            group.attrs["NX_class"] = "NXsubentry"
        group["definition"] = np.array([b"NXtomo"])  # as Diamond writes it: a 1-element byte-string array
        group[frames_at] = frames
        group["instrument/detector/image_key"] = default_keys if keys is None else keys
        group["sample/rotation_angle"] = default_angles if angles is None else angles
        group["sample/rotation_angle"].attrs["units"] = "degrees"
    return path, sinograms, angles_deg


def test_synthetic_nxtomo_reads_back_to_its_line_integrals_and_angles(tmp_path):
    path, sinograms, angles_deg = _write_nxtomo(tmp_path / "scan.nxs")
    assert detect_format(path) is nxtomo
    m = read_measurement(path)
    assert m.format == "nxtomo" and tuple(m.data.shape) == (N_ROWS, 1, N_VIEWS, N_DET)
    assert float((m.data[:, 0] - torch.as_tensor(sinograms)).abs().max()) < 1e-4  # measured 2.4e-7
    np.testing.assert_allclose(m.geometry.angles, np.deg2rad(angles_deg), atol=1e-12)
    assert abs(m.geometry.centre_offset - OFFSET) < 0.05  # measured -1.9962
    assert m.metadata["image_keys"] == f"{N_VIEWS} projections, 4 flats, 3 darks"
    assert m.metadata["entry"] == "entry1/tomo_entry"
    one = read_measurement(path, ReadOptions(index=1, centre_offset=OFFSET))
    assert torch.equal(one.data[0], m.data[1]) and one.geometry.centre_offset == OFFSET


def test_entry_is_found_by_definition_and_frames_under_data(tmp_path):
    path, sinograms, _ = _write_nxtomo(tmp_path / "scan.nxs", entry="scan_0042", frames_at="data/data")
    m = read_measurement(path, ReadOptions(centre_offset=OFFSET))
    assert m.metadata["entry"] == "scan_0042" and m.metadata["raw_field"] == "scan_0042/data/data"
    assert float((m.data[:, 0] - torch.as_tensor(sinograms)).abs().max()) < 1e-4


def test_one_angle_per_projection_is_accepted_too(tmp_path):
    _, angles_deg = _line_integrals()
    path, _, _ = _write_nxtomo(tmp_path / "scan.nxs", angles=angles_deg)
    m = read_measurement(path, ReadOptions(centre_offset=0.0))
    np.testing.assert_allclose(m.geometry.angles, np.deg2rad(angles_deg), atol=1e-12)


def test_no_darks_reads_with_a_zero_dark_level(tmp_path):
    keys = np.concatenate([[3] * 3, [1] * 2, [0] * N_VIEWS, [1] * 2])  # the darks marked invalid
    path, sinograms, _ = _write_nxtomo(tmp_path / "scan.nxs", keys=keys, dark_level=0.0)
    m = read_measurement(path, ReadOptions(centre_offset=OFFSET))
    assert m.metadata["darks"] == "none stored: dark level 0"
    assert m.metadata["image_keys"] == f"{N_VIEWS} projections, 4 flats, 0 darks"
    assert float((m.data[:, 0] - torch.as_tensor(sinograms)).abs().max()) < 1e-4


def _error(path, options=ReadOptions()) -> InputError:
    with pytest.raises(InputError) as caught:
        read_measurement(path, options)
    assert str(path) in str(caught.value)
    return caught.value


def test_no_flats_is_one_clear_error(tmp_path):
    keys = np.concatenate([[2] * 3, [3] * 2, [0] * N_VIEWS, [3] * 2])
    path, _, _ = _write_nxtomo(tmp_path / "scan.nxs", keys=keys)
    error = _error(path)
    assert error.field == "entry1/tomo_entry/instrument/detector/image_key"
    assert "flat-field frames (image_key 1)" in error.expected
    assert error.got == f"{N_VIEWS} projections, 0 flats, 3 darks"


def test_rotation_angle_of_the_wrong_length_is_rejected(tmp_path):
    path, _, _ = _write_nxtomo(tmp_path / "scan.nxs", angles=np.zeros(N_VIEWS + 1))
    error = _error(path)
    assert error.field == "entry1/tomo_entry/sample/rotation_angle"
    assert error.expected == f"one angle per frame ({N_VIEWS + 7}) or per projection ({N_VIEWS})"
    assert error.got == f"{N_VIEWS + 1} angles"


def test_image_keys_must_match_the_frames_and_be_known(tmp_path):
    path, _, _ = _write_nxtomo(tmp_path / "short.nxs", keys=np.zeros(N_VIEWS))
    error = _error(path)
    assert error.field.endswith("image_key") and error.got == f"{N_VIEWS} keys"
    keys = np.concatenate([[2] * 3, [1] * 2, [0] * N_VIEWS, [7, 1.5]])
    path, _, _ = _write_nxtomo(tmp_path / "seven.nxs", keys=keys)
    error = _error(path)
    assert error.field.endswith("image_key") and error.got == "[1.5, 7.0]"


def test_other_nexus_definitions_are_not_nxtomo(tmp_path):
    path = tmp_path / "mx.nxs"
    with h5py.File(path, "w") as f:
        f["entry/definition"] = "NXmx"
        f["entry/data/data"] = np.zeros((2, 3, 4))
        f["broken"] = h5py.ExternalLink("nowhere.h5", "/x")  # sniffing must not follow it
    with h5py.File(path, "r") as f:
        assert nxtomo.sniff(path, f) is False
    assert nxtomo.sniff(path, None) is False
    with pytest.raises(InputError, match="expected an HDF5 layout recon knows"):
        read_measurement(path, ReadOptions(allow_links=True))      # a link in its own folder, allowed
    with pytest.raises(InputError, match="broken: expected no link to another file"):
        read_measurement(path)                                      # links are refused unless allowed


@pytest.mark.parametrize("experiment", ["ct-fbp", "ct-sirt", "ct-tv", "ct-wtv"])
def test_every_shipped_ct_experiment_runs_on_an_nxtomo_file(tmp_path, capsys, experiment):
    """The real NXtomo test file has no pixel data, so the shipped configs run on a synthetic one."""
    import h5py

    from recon.cli import main

    path, _, _ = _write_nxtomo(tmp_path / "scan.nxs")
    output = tmp_path / "out.h5"
    assert main(["run", experiment, "--input", str(path), "--output", str(output), "--quiet",
                 "--set", "solver.max_iter=50"]) == 0, capsys.readouterr().err
    phantom = 0.2 * shepp_logan(SIZE)[0, 0].numpy()
    with h5py.File(output) as f:
        reconstruction = f["reconstruction"][()]
    assert reconstruction.shape == (N_ROWS, N_DET, N_DET)      # the suggested grid: detectors × detectors
    inner = reconstruction[0, (N_DET - SIZE) // 2:(N_DET + SIZE) // 2, (N_DET - SIZE) // 2:(N_DET + SIZE) // 2]
    correlation = np.corrcoef(inner.ravel(), phantom.ravel())[0, 1]
    assert correlation > 0.9, correlation
