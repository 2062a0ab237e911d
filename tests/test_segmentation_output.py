"""``output.segment: otsu``: the segmentation in the output file and, on the real HTC2022 scans, its MCC."""

from __future__ import annotations

import h5py
import numpy as np

from conftest import require_file
from recon.cli import main


def test_full_angle_fbp_segments_like_the_organisers(capsys, tmp_path, testdata_dir):
    """The Otsu segmentation of recon's full-angle FBP of ``ta`` against the organisers' segmentation: MCC
    measured 0.99978 (the FBPs correlate at 0.99998)."""
    scan = require_file(testdata_dir, "ct/htc2022/htc2022_ta_full.mat")
    require_file(testdata_dir, "ct/htc2022/htc2022_ta_full_recon_fbp_seg.mat")
    out = tmp_path / "fbp.h5"
    assert main(["run", "ct-fbp", "--input", str(scan), "--output", str(out), "--set", "output.segment=otsu",
                 "--set", "output.figure=false"]) == 0
    with h5py.File(out) as h5:
        segmentation = h5["segmentation"][()]
        mcc = float(h5["metrics"].attrs["mcc"])
        image = h5["reconstruction"][()]
    assert segmentation.dtype == np.uint8 and segmentation.shape == (1, 512, 512)
    assert set(np.unique(segmentation)) == {0, 1}
    assert 0.3 < segmentation.mean() < 0.9 and image.shape == segmentation.shape
    assert mcc > 0.999
    assert "mcc 0.99" in capsys.readouterr().out


def test_segment_without_a_reference_writes_the_segmentation_only(capsys, tmp_path):
    from recon.experiments.examples import write_example

    blurred = write_example("deblur", tmp_path / "blurred.h5")
    out = tmp_path / "out.h5"
    assert main(["run", "deblur-wiener", "--input", str(blurred), "--output", str(out), "--set", "output.segment=otsu",
                 "--set", "output.figure=false"]) == 0
    with h5py.File(out) as h5:
        assert h5["segmentation"].shape == (1, 128, 128) and "mcc" not in h5["metrics"].attrs


def test_an_unknown_segmentation_is_a_one_line_error(capsys, tmp_path):
    from recon.experiments.examples import write_example

    blurred = write_example("deblur", tmp_path / "blurred.h5")
    assert main(["run", "deblur-wiener", "--input", str(blurred), "--output", str(tmp_path / "o.h5"),
                 "--set", "output.segment=kmeans"]) != 0
    err = capsys.readouterr().err
    assert "output.segment" in err and "'otsu'" in err and len(err.strip().splitlines()) == 1
