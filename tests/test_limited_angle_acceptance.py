"""The limited-angle acceptance on the real HTC2022 scans: ct-limited-angle against ct-tv, MCC after Otsu.

ct-limited-angle is run here on ta, tb, tc, td at arcs of 90°, 40° and 30° starting at 0°, 100° and 200°;
ct-tv's MCCs for the same cells are read from ``docs/limited_angle_table.json``
(``python scripts/limited_angle_table.py``: 40 s per TV run at 512² is too slow for the suite). The
learned model never saw these scans.
"""

from __future__ import annotations

import statistics

import pytest

from conftest import docs_report, load_script, require_file
from recon.weights.registry import shipped_models

pytestmark = pytest.mark.skipif("unrolled-limited-angle-lpd" not in shipped_models(),
                                reason="no shipped limited-angle model (recon/weights/manifest.json)")

SCANS, STARTS = ("ta", "tb", "tc", "td"), (0.0, 100.0, 200.0)


@pytest.fixture(scope="module")
def cells(testdata_dir):
    from recon.datasets.formats import read_measurement
    from recon.datasets.view_selection import select_views

    script = load_script("limited_angle_table")
    tv = {(c["scan"], c["arc"], c["start"]): c["mcc"] for c in docs_report("limited_angle_table")["cells"]
          if c["method"] == "ct-tv"}
    found = []
    for scan in SCANS:
        full = read_measurement(require_file(testdata_dir, f"ct/htc2022/htc2022_{scan}_full.mat"))
        for arc in (90.0, 40.0, 30.0):
            for start in STARTS:
                mcc, _ = script.mcc_of("ct-limited-angle", select_views(full, arc_deg=(start, arc)))
                found.append({"scan": scan, "arc": arc, "start": start, "learned": mcc, "tv": tv[(scan, arc, start)]})
    return found


def _mean(cells, arc, key):
    return statistics.fmean(c[key] for c in cells if c["arc"] == arc)


@pytest.mark.parametrize("arc", [30.0, 40.0])
def test_the_learned_model_beats_tv_by_a_tenth_of_mcc_at_short_arcs(cells, arc):
    """Measured mean MCC: 30°: 0.825 against 0.636; 40°: 0.879 against 0.670 (docs/limited_angle_table.json)."""
    assert _mean(cells, arc, "learned") >= _mean(cells, arc, "tv") + 0.1, [c for c in cells if c["arc"] == arc]


def test_the_learned_model_never_loses_at_90_degrees(cells):
    """Measured: it wins every 90° cell (the closest by 0.005). A first model trained without
    Voronoi-cell discs lost on tb here (0.47 against 0.82)."""
    for c in (c for c in cells if c["arc"] == 90.0):
        assert c["learned"] > c["tv"], c
