"""The radar PnP issue's acceptance: PnP on |x| (mimo-pnp) against the variational methods and against PnP on x.

Oral & Öktem (IEEE TCI 2024) claim that their plug-and-play regularisation on the magnitude beats
TV + ℓ1 and ℓ1 on |x|, which beat the migrations; that PnP's advantage grows as the number of
frequencies N_f and the SNR drop; and that the denoiser on |x| beats the same denoiser on the real and
imaginary parts. Here three cells of the paper's grid (``scripts/mimo_pnp_grid.py``, which runs all
nine and writes docs/mimo_pnp_grid.md), each on the 5 held-out scenes (seeds 0-4) on the 13 x 13 x 25
grid, every method its shipped config through ``recon run``'s code, TV and ℓ1 to the paper's stopping
rule, PnP for its 30 iterations with the α the grid script chose for the cell on validation scenes
(seeds 90000-90002).

Measured (mean PSNR3D, dB):

============  =====  =========  =====  =====  =====  ===========
N_f, SNR      BP     Kirchhoff  ℓ1     TV+ℓ1  PnP    PnP on x
============  =====  =========  =====  =====  =====  ===========
10, 30 dB     17.64  17.85      23.72  25.54  27.72  21.99
5, 30 dB                        19.98  20.91  19.49
10, 10 dB                       21.07  21.44  21.05
============  =====  =========  =====  =====  =====  ===========

So the ordering holds at N_f = 10, 30 dB (PnP +2.18 dB over TV + ℓ1), PnP on |x| is 5.7 dB above PnP
on x, and the gap claim does not hold: PnP's lead over the best variational method shrinks and turns
negative as N_f or the SNR drops (+2.18 dB at 10 / 30 dB, -1.42 at N_f = 5, -0.39 at 10 dB; +12.32 at
N_f = 20, 30 dB).
docs/reproductions.md has the whole grid (the ℓ1 entries of the last two rows are the grid script's;
the test runs ℓ1 in the first cell only). Runs in about 2.5 minutes on one thread (5 on an AVX2-only CPU).
"""

from __future__ import annotations

import pytest
import torch

from conftest import load_script
from recon.weights.registry import shipped_models

pytestmark = pytest.mark.skipif("drunet3d-small-radar" not in shipped_models(),
                                reason="no shipped 3D radar denoiser (recon/weights/manifest.json)")

SEEDS, VALIDATION, GRID = [0, 1, 2, 3, 4], [90000, 90001, 90002], (13, 13, 25)
# α per cell, as scripts/mimo_pnp_grid.py chose it on the validation seeds (docs/mimo_pnp_grid.json)
ALPHAS = {(10, 30.0): {"pnp": [0.005], "pnp-complex": [0.02]},
          (5, 30.0): {"pnp": [0.005], "pnp-complex": [0.02]},
          (10, 10.0): {"pnp": [0.04], "pnp-complex": [0.01]}}

MARGIN_PNP_TV = 1.5          # measured 2.18 dB (27.72 against 25.54)
MARGIN_TV_L1 = 1.2           # measured 1.82 dB
MARGIN_L1_DIRECT = 4.5       # measured 5.87 dB (against Kirchhoff)
MARGIN_MAGNITUDE = 4.0       # measured 5.73 dB (27.72 against 21.99)
MARGIN_GAP_FREQUENCIES = 2.5  # measured 3.60 dB (+2.18 at N_f = 10 against -1.42 at N_f = 5)
MARGIN_GAP_SNR = 1.8         # measured 2.57 dB (+2.18 at 30 dB against -0.39 at 10 dB)


def _grid_script():
    return load_script("mimo_pnp_grid")


@pytest.fixture(scope="module")
def cells() -> dict:
    """(N_f, SNR) -> the grid script's record of that cell."""
    script = _grid_script()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # small volumes: one thread is the fastest on a shared 2-core machine
    try:
        records = {}
        for (n_frequencies, snr_db), alphas in ALPHAS.items():
            # ℓ1 runs in the first cell only: in the other two TV + ℓ1 is ahead of it (20.91 against 19.98 and
            # 21.44 against 21.07, docs/mimo_pnp_grid.md), and PnP's gap to TV + ℓ1 alone is at least its gap to
            # the better of the two, so leaving ℓ1 out there can only make the gap assertions harder to pass.
            methods = list(script.METHODS) if (n_frequencies, snr_db) == (10, 30.0) else ["tv", "pnp"]
            records[n_frequencies, snr_db] = script.run_cell(
                n_frequencies, snr_db, grid=GRID, seeds=SEEDS, validation=VALIDATION,
                alphas={m: alphas[m] for m in methods if m in alphas}, methods=methods, echo=print)[0]
    finally:
        torch.set_num_threads(threads)
    return records


def _means(cell: dict) -> dict:
    return {method: row["mean_psnr3d_db"] for method, row in cell["methods"].items()}


@pytest.mark.slow
def test_pnp_on_the_magnitude_leads_the_papers_ordering(cells):
    means = _means(cells[10, 30.0])
    print(means)
    assert means["pnp"] > means["tv"] + MARGIN_PNP_TV
    assert means["tv"] > means["l1"] + MARGIN_TV_L1
    assert means["l1"] > max(means["kirchhoff"], means["bp"]) + MARGIN_L1_DIRECT


def test_pnp_on_the_magnitude_beats_the_same_denoiser_on_real_and_imaginary_parts(cells):
    means = _means(cells[10, 30.0])
    assert means["pnp"] > means["pnp-complex"] + MARGIN_MAGNITUDE


def test_the_gap_shrinks_as_frequencies_and_snr_drop_contrary_to_the_paper(cells):
    script = _grid_script()
    gaps = {cell: script.pnp_gap(record) for cell, record in cells.items()}
    print(gaps)
    assert gaps[10, 30.0] > gaps[5, 30.0] + MARGIN_GAP_FREQUENCIES
    assert gaps[10, 30.0] > gaps[10, 10.0] + MARGIN_GAP_SNR
    assert gaps[5, 30.0] < 0 and gaps[10, 10.0] < 0        # below the best variational method there


def test_pnp_runs_the_papers_30_iterations(cells):
    for record in cells.values():
        assert record["methods"]["pnp"]["iterations"] == [30] * len(SEEDS)


def test_the_timing_script_reports_consistent_times_on_a_small_grid(tmp_path):
    script = load_script("time_mimo_pnp")
    threads = torch.get_num_threads()
    try:
        record = script.main(["--grid", "9", "9", "13", "--frequencies", "5", "--seeds", "0",
                              "--json", str(tmp_path / "timing.json")])
    finally:
        torch.set_num_threads(threads)
    scene = record["scenes"]["0"]
    pnp, tv = scene["mimo-pnp"], scene["mimo-tv"]
    assert pnp["iterations"] == 30 and len(pnp["psnr3d_trace_db"]) == 30
    assert pnp["psnr3d_trace_db"][-1] == pytest.approx(pnp["psnr3d_db"], abs=1e-6)
    assert len(tv["psnr3d_trace_db"]) == tv["iterations"] > 30
    assert pnp["seconds_per_iteration"] * 30 == pytest.approx(pnp["solver_seconds"][-1])
    assert scene["time_ratio_tv_over_pnp"] == pytest.approx(tv["seconds"] / pnp["seconds"])
    reached = scene["tv_seconds_to_pnp_final_psnr3d"]
    assert reached is None or reached in tv["solver_seconds"]
    assert (tmp_path / "timing.json").stat().st_size > 100
