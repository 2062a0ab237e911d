"""The ISMRMRD reader on synthetic files written with h5py: placement, skipped scans, averages, bad files.

The files mimic ismrmrd's ``dataset.h5``: ``dataset/xml`` and ``dataset/data``, a compound of
``head`` (the AcquisitionHeader fields below, a subset of ISMRMRD's in its order and types),
``traj`` and ``data`` (vlen float32).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from recon.cli import main
from recon.datasets import fastmri, ismrmrd
from recon.datasets.errors import InputError
from recon.datasets.formats import detect_format, read_measurement
from recon.datasets.ismrmrd import flag_mask
from recon.datasets.read_options import ReadOptions

IDX = np.dtype([("kspace_encode_step_1", "<u2"), ("kspace_encode_step_2", "<u2"), ("average", "<u2"),
                ("slice", "<u2"), ("contrast", "<u2"), ("phase", "<u2"), ("repetition", "<u2"), ("set", "<u2"),
                ("segment", "<u2"), ("user", "<u2", (8,))])
HEAD = np.dtype([("version", "<u2"), ("flags", "<u8"), ("measurement_uid", "<u4"), ("scan_counter", "<u4"),
                 ("number_of_samples", "<u2"), ("available_channels", "<u2"), ("active_channels", "<u2"),
                 ("discard_pre", "<u2"), ("discard_post", "<u2"), ("center_sample", "<u2"),
                 ("trajectory_dimensions", "<u2"), ("sample_time_us", "<f4"), ("idx", IDX)])
VLEN = h5py.vlen_dtype(np.float32)
ACQUISITION = np.dtype([("head", HEAD), ("traj", VLEN), ("data", VLEN)])
NOISE, CALIBRATION, CALIBRATION_AND_IMAGING, REVERSE = 19, 20, 21, 22
ROWS, COLS = 8, 6


def _header(rows=ROWS, cols=COLS, depth=1, centre=3, trajectory="cartesian") -> str:
    return ("<?xml version='1.0'?><ismrmrdHeader xmlns='http://www.ismrm.org/ISMRMRD'>"
            "<acquisitionSystemInformation><receiverChannels>3</receiverChannels></acquisitionSystemInformation>"
            f"<encoding><encodedSpace><matrixSize><x>{rows}</x><y>{cols}</y><z>{depth}</z></matrixSize>"
            "</encodedSpace><reconSpace><matrixSize><x>4</x><y>6</y><z>1</z></matrixSize></reconSpace>"
            f"<trajectory>{trajectory}</trajectory><encodingLimits><kspace_encoding_step_1><minimum>0</minimum>"
            f"<maximum>{cols - 1}</maximum><center>{centre}</center></kspace_encoding_step_1></encodingLimits>"
            "</encoding></ismrmrdHeader>")


def _readout(samples: np.ndarray, **head) -> np.ndarray:
    """One acquisition of ``samples`` (channels, n) complex; ``head`` sets AcquisitionHeader fields."""
    rows = np.zeros(1, ACQUISITION)
    idx = {k: head.pop(k) for k in list(head) if k in IDX.names}
    rows["head"]["number_of_samples"] = samples.shape[1]
    rows["head"]["active_channels"] = rows["head"]["available_channels"] = samples.shape[0]
    rows["head"]["center_sample"] = samples.shape[1] // 2
    for key, value in head.items():
        rows["head"][key] = value
    for key, value in idx.items():
        rows["head"]["idx"][key] = value
    row = rows[0]  # a np.void: its vlen fields take arrays
    row["traj"] = np.zeros(0, np.float32)
    row["data"] = np.stack([samples.real, samples.imag], axis=-1).astype(np.float32).reshape(-1)
    return row


def _write(path, rows, xml=None):
    with h5py.File(path, "w") as f:
        f.create_dataset("dataset/xml", data=[(xml or _header()).encode()], dtype=h5py.string_dtype())
        data = f.create_dataset("dataset/data", shape=(len(rows),), dtype=ACQUISITION)
        for i, row in enumerate(rows):
            data[i] = row
    return path


def _truth(slices=2, coils=3, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((slices, coils, ROWS, COLS)) + 1j * rng.standard_normal(
        (slices, coils, ROWS, COLS))).astype(np.complex64)


def test_places_lines_skips_noise_and_calibration_and_centres_the_phase_encode(tmp_path):
    truth = _truth()
    rng = np.random.default_rng(5)
    rows = [_readout(rng.standard_normal((3, ROWS)) * 1e3 + 0j, flags=flag_mask(NOISE)) for _ in range(2)]
    # Encode-step indices e + 1 with the limits' centre 4: they land on columns COLS // 2 + (e + 1) - 4 = e.
    measured = {0: (0, 1, 2, 4), 1: (1, 2, 3)}
    for s, lines in measured.items():
        for e in lines:
            flags = flag_mask(CALIBRATION_AND_IMAGING) if e == 2 else 0
            rows.append(_readout(truth[s, :, :, e], kspace_encode_step_1=e + 1, slice=s, flags=flags))
    rows.append(_readout(rng.standard_normal((3, ROWS)) + 0j, kspace_encode_step_1=2, flags=flag_mask(CALIBRATION)))
    path = _write(tmp_path / "raw.h5", rows, _header(centre=4))
    assert detect_format(path) is ismrmrd
    with h5py.File(path) as h5:
        assert not fastmri.sniff(path, h5)
    m = read_measurement(path)
    assert (m.modality, m.format, m.data.dtype, tuple(m.data.shape)) == ("mri", "ismrmrd", torch.complex64,
                                                                         (2, 3, ROWS, COLS))
    for s, lines in measured.items():
        np.testing.assert_array_equal(m.data[s][..., list(lines)].numpy(), truth[s][..., list(lines)])
        assert m.geometry.mask[s, 0].tolist() == [float(c in lines) for c in range(COLS)]
    assert float(m.data[0, :, :, 3].abs().max()) == 0.0 and float(m.data[1, :, :, 0].abs().max()) == 0.0
    assert m.geometry.mask.shape == (2, ROWS, COLS)  # the slices' lines differ
    assert m.metadata["readouts"] == 7 and m.metadata["skipped_readouts"] == 3
    assert m.metadata["encoded_matrix"] == (ROWS, COLS, 1) and m.metadata["receiver_channels"] == 3
    assert m.metadata["k_space_centre_line"] == 4


def test_recon_info_names_the_format_and_the_acceleration(tmp_path, capsys):
    truth = _truth(slices=1, coils=2)
    path = _write(tmp_path / "raw.h5", [_readout(truth[0, :, :, e], kspace_encode_step_1=e) for e in (0, 2, 3, 5)])
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"{path}: ismrmrd — ISMRMRD HDF5 raw data" in text
    assert "dataset/data  (4,) compound (head, traj, data)" in text
    assert "k-space (slices, coils, rows, cols) (1, 2, 8, 6)" in text
    assert "Cartesian mask (8, 6): acceleration 1.5x (32 of 48 samples measured)" in text


def test_asymmetric_echo_discards_and_averages(tmp_path):
    truth = _truth(slices=1, coils=2, seed=1)
    # 7 samples, the first discarded, the echo at sample 3: samples 1..6 land on rows 2..7.
    kept = truth[0, :, 2:, 1]
    samples = np.concatenate([np.full((2, 1), 99 + 0j), kept], axis=1)
    rows = [_readout(samples, kspace_encode_step_1=1, discard_pre=1, center_sample=3),
            _readout(samples.copy(), kspace_encode_step_1=1, discard_pre=1, center_sample=3, average=1),
            _readout(np.concatenate([np.full((2, 1), 99 + 0j), kept + 2], axis=1), kspace_encode_step_1=1,
                     discard_pre=1, center_sample=3, average=2)]
    m = read_measurement(_write(tmp_path / "echo.h5", rows, _header(centre=3)))
    np.testing.assert_allclose(m.data[0, :, 2:, 1].numpy(), kept + 2 / 3, rtol=1e-6)  # the mean of 3 averages
    assert m.geometry.mask.shape == (ROWS, COLS) and m.geometry.mask[:, 1].tolist() == [0, 0] + [1] * 6
    assert float(m.geometry.mask.sum()) == 6 and float(m.data[0, :, :2].abs().max()) == 0.0


def test_index_reads_one_slice(tmp_path):
    truth = _truth()
    rows = [_readout(truth[s, :, :, e], kspace_encode_step_1=e, slice=s) for s in range(2) for e in range(COLS)]
    path = _write(tmp_path / "raw.h5", rows)
    one = read_measurement(path, ReadOptions(index=1))
    assert tuple(one.data.shape) == (1, 3, ROWS, COLS) and one.geometry.acceleration == 1.0
    # centre 3 = COLS // 2: no shift.
    np.testing.assert_array_equal(one.data[0].numpy(), truth[1])
    with pytest.raises(InputError, match=r"input.index: expected a slice in \[0, 1\], got 2"):
        read_measurement(path, ReadOptions(index=2))


def test_non_cartesian_trajectories_are_refused(tmp_path):
    line = _truth(slices=1, coils=1)[0, :, :, 0]
    with pytest.raises(InputError, match=r"dataset/xml: encoding/trajectory: expected cartesian, got 'radial'"):
        read_measurement(_write(tmp_path / "radial.h5", [_readout(line)], _header(trajectory="radial")))
    row = _readout(line, trajectory_dimensions=2)
    row["traj"] = np.linspace(-0.5, 0.5, 2 * ROWS, dtype=np.float32)
    with pytest.raises(InputError, match=r"dataset/data.head.trajectory_dimensions: expected 0 \(a Cartesian "
                                         r"acquisition\), got 2"):
        read_measurement(_write(tmp_path / "traj.h5", [row]))


def test_bad_acquisitions_are_input_errors(tmp_path):
    line = _truth(slices=1, coils=2)[0, :, :, 0]
    cases = [
        ([_readout(line, flags=flag_mask(NOISE))], None, r"expected image readouts, got only noise"),
        ([_readout(line, flags=flag_mask(REVERSE))], None, r"expected read-outs in one direction \(not EPI\)"),
        ([_readout(line, kspace_encode_step_1=9)], None, (r"dataset/data\[0\].head: expected a readout inside the "
                                                          r"encoded matrix 8 × 6, got samples 0..7 on line 9")),
        ([_readout(line)], _header(depth=4), r"encodedSpace/matrixSize/z: expected 1 \(a 2D acquisition\), got 4"),
        ([_readout(line), _readout(line, repetition=1)], None, r"idx.repetition: expected one value"),
        ([_readout(line), _readout(line[:1])], None, r"active_channels: expected the same positive count"),
        ([_readout(line)], "<ismrmrdHeader><encoding>", (r"dataset/xml: expected an ISMRMRD XML header, got "
                                                         r"malformed XML")),
    ]
    for i, (rows, xml, message) in enumerate(cases):
        with pytest.raises(InputError, match=message):
            read_measurement(_write(tmp_path / f"bad{i}.h5", rows, xml))
    path = _write(tmp_path / "short.h5", [_readout(line)])
    with h5py.File(path, "a") as f:
        row = f["dataset/data"][0]
        row["data"] = row["data"][:-2]
        f["dataset/data"][0] = row
    with pytest.raises(InputError, match=r"dataset/data\[0\].data: expected 2 × 8 samples × 2 channels = 32 floats, "
                                         r"got 30"):
        read_measurement(path)
    nan = _readout(line)
    nan["data"][3] = np.nan
    with pytest.raises(InputError, match=r"dataset/data\[0\].data: expected finite values, got 1 NaN"):
        read_measurement(_write(tmp_path / "nan.h5", [nan]))
    # A head without the placement fields is named.
    path = tmp_path / "nohead.h5"
    with h5py.File(path, "w") as f:
        f["dataset/xml"] = [_header().encode()]
        f.create_dataset("dataset/data", shape=(1,), dtype=np.dtype([("head", np.dtype([("flags", "<u8")])),
                                                                     ("traj", VLEN), ("data", VLEN)]))
    with pytest.raises(InputError, match=r"dataset/data.head: expected an ISMRMRD AcquisitionHeader, got no "
                                         r"number_of_samples, active_channels, center_sample, idx"):
        read_measurement(path)


def test_noise_readouts_give_the_noise_level_at_the_image_bandwidth(tmp_path):
    """Noise readouts of σ = 2 sampled every 5 µs, image readouts every 10 µs: half the bandwidth, so σ per
    image sample is 2·√(5/10) = 1.414; lines read twice are averaged, and σ falls by √2 more. auto uses it."""
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement

    rng = np.random.default_rng(0)

    def noise():
        return (rng.standard_normal((3, 64)) + 1j * rng.standard_normal((3, 64))) * 2.0 / np.sqrt(2)

    truth = _truth(slices=1)
    for repeats, expected in ((1, 2.0 * np.sqrt(0.5)), (2, 1.0)):
        rows = [_readout(noise(), flags=flag_mask(NOISE), sample_time_us=5.0) for _ in range(50)]
        rows += [_readout(truth[0, :, :, e], kspace_encode_step_1=e, average=a, sample_time_us=10.0)
                 for e in range(COLS) for a in range(repeats)]
        m = read_measurement(_write(tmp_path / f"noise{repeats}.h5", rows))
        assert m.metadata["noise_scan_readouts"] == 50
        assert m.metadata["noise_scan_sigma"] == pytest.approx(expected, rel=0.03)
    lines = []
    result, _ = reconstruct_measurement(load_experiment("mri-tv", ["prior.strength=auto", "operator.coil_maps=lowres",
                                                                   "solver.max_iter=5"]), m, echo=lines.append)
    assert result.auto_strength.sigmas == [m.metadata["noise_scan_sigma"]]
    assert "the file's noise scan (50 readouts)" in lines[0]
