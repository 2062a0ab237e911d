"""The shear-error baselines (scripts/galaxy_shear_baselines.py) on 40 galaxies per SNR: the ordering.

Li & Alexander's figures on COSMOS galaxies (median |Δg|, SNR 20 / 100 / 200): no deconvolution
0.0805 / 0.0652 / 0.0684, Richardson–Lucy (10 iterations) 0.1145 / 0.0324 / 0.0310. On our
Sérsic galaxies (seeds 0–199, the script's table) no deconvolution is 0.0671 / 0.0630 / 0.0652 and
RL 0.0530 / 0.0344 / 0.0279, Tikhonov 0.0562 / 0.0325 / 0.0268: the same at SNR 100 and 200, but
at SNR 20 ten RL iterations are still better than none here (the authors' RL is worse). What
holds is the trend: RL's advantage shrinks as the noise grows. (Fifty RL iterations, diagnosed
on seeds 10000–10059 without the sky pedestal, do reach 0.075 at SNR 20, worse than none:
the authors' ordering needs more noise amplification than ten iterations give here.)

Two more differences from the authors' code were tried on seeds 0–39 and do not bring their
ordering back either: their RL starts from the observation itself rather than a flat image
(here: RL 0.0404 / 0.0274 / 0.0207, better still), and their pipeline keeps the sky in the
observation, min–max normalises it and deconvolves that (none 0.2044 / 0.0606 / 0.0634, RL 0.1319 /
0.0250 / 0.0187: both much worse at SNR 20, RL still ahead).

Nor does their shape estimator. They measure shapes with FPFS (Fourier power function shapelets,
:mod:`recon.metrics_fpfs`, with their β = 0.5, C = 1 and a delta PSF), not adaptive moments (the
issue's estimator, used above). With FPFS and their pipeline together
(``python scripts/galaxy_shear_baselines.py --estimator fpfs --pipeline authors``, seeds 0–199):
none 0.0811 / 0.0796 / 0.0817 — at SNR 20 within 1 % of their 0.0805 — but RL 0.0538 / 0.0230 /
0.0212 and Tikhonov 0.0587 / 0.0231 / 0.0178: RL is still well ahead of none at SNR 20, where theirs
(0.1145) is behind. (FPFS on our pipeline: none 0.0838 / 0.0799 / 0.0821, RL 0.0533 / 0.0294 /
0.0276.) So what separates the two tables is neither the estimator nor the image handling but the
data: their COSMOS galaxies through simulated LSST optical + atmospheric PSFs, which cannot be
fetched here, against the issue's Sérsic profiles and Moffat PSFs.
"""

import importlib.util
from pathlib import Path

import pytest
import torch

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "galaxy_shear_baselines.py"


def _shear_table(**options) -> dict:
    """The script's table on 40 galaxies per SNR, one thread."""
    spec = importlib.util.spec_from_file_location("galaxy_shear_baselines", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return module.shear_table(40, **options)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def table():
    result = _shear_table()
    failures = sum(cell["failures"] for row in result.values() for cell in row.values())
    return {snr: {method: cell["median"] for method, cell in row.items()} for snr, row in result.items()}, failures


def test_no_failures_and_the_psf_bias_does_not_depend_on_the_snr(table):
    table, failures = table
    assert failures == 0  # measured: 0 of 360 shape measurements fail
    # measured (seeds 0-39): no deconvolution 0.0671 / 0.0635 / 0.0663: the PSF's rounding, not noise
    none = [table[s]["none"] for s in ("20", "100", "200")]
    assert max(none) < 1.15 * min(none)
    assert 0.04 < min(none) and max(none) < 0.1


def test_deconvolution_beats_none_at_snr_100_and_200(table):
    table, _ = table
    # measured: RL 0.0310 / 0.0276 (ratio to none 0.49 / 0.42), Tikhonov 0.0314 / 0.0219 (0.49 / 0.33)
    for snr in ("100", "200"):
        assert table[snr]["richardson_lucy"] < 0.65 * table[snr]["none"]
        assert table[snr]["tikhonov"] < 0.65 * table[snr]["none"]


def test_richardson_lucy_gains_less_at_snr_20(table):
    table, _ = table
    # measured: RL / none = 0.70 at SNR 20, 0.42 at SNR 200 (the authors: 1.42 and 0.45)
    ratio = {snr: table[snr]["richardson_lucy"] / table[snr]["none"] for snr in ("20", "200")}
    assert ratio["20"] > ratio["200"] + 0.15


@pytest.fixture(scope="module")
def authors_measurement():
    """The table with the authors' estimator (FPFS) and image handling, 40 galaxies per SNR."""
    result = _shear_table(estimator="fpfs", pipeline="authors")
    return {snr: {method: cell["median"] for method, cell in row.items()} for snr, row in result.items()}


def test_with_the_authors_estimator_no_deconvolution_matches_theirs_and_rl_still_wins_at_snr_20(authors_measurement):
    table = authors_measurement
    # measured (seeds 0-39): none 0.0766 / 0.0741 / 0.0749 (theirs 0.0805 / 0.0652 / 0.0684)
    assert table["20"]["none"] == pytest.approx(0.0805, abs=0.008)
    # measured: RL 0.0419 at SNR 20, 0.55 of none; theirs is 1.42 of none
    assert table["20"]["richardson_lucy"] < 0.7 * table["20"]["none"]
    for snr in ("100", "200"):
        assert table[snr]["richardson_lucy"] < 0.5 * table[snr]["none"]   # measured 0.30 and 0.22
