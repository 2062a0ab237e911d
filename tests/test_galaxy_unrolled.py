"""Li & Alexander's claim on our galaxies: the unrolled ADMM has the lowest median |Δg| at every SNR.

The shear script's table (``scripts/galaxy_shear_baselines.py``) on 40 test stamps per SNR (seeds 0–39;
the model trained on seeds 1000000 and up) with the shipped ``unrolled-galaxy-admm``, by adaptive
moments (the issue's estimator) and by FPFS with the authors' image handling. docs/reproductions.md
has the 200-galaxy table.
"""

from __future__ import annotations

import pytest
import torch

from conftest import load_script
from recon.weights.registry import shipped_models

pytestmark = pytest.mark.skipif("unrolled-galaxy-admm" not in shipped_models(),
                                reason="no shipped unrolled galaxy model (recon/weights/manifest.json)")


def _medians(**options) -> dict:
    from recon.weights.registry import load_network

    script = load_script("galaxy_shear_baselines")
    model, _ = load_network("unrolled-galaxy-admm")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        table = script.shear_table(40, model=model, **options)
    finally:
        torch.set_num_threads(threads)
    return {snr: {method: cell["median"] for method, cell in row.items()} for snr, row in table.items()}


def test_unrolled_admm_has_the_lowest_shear_error_at_every_snr():
    """Adaptive moments, 200 galaxies (docs/galaxy_shear_unrolled.json): 0.0323 / 0.0102 / 0.0064 at SNR 20 / 100 /
    200 against Richardson–Lucy's 0.0530 / 0.0344 / 0.0279 and Tikhonov's 0.0562 / 0.0325 / 0.0268."""
    table = _medians()
    for snr, row in table.items():
        assert row["unrolled_admm"] < 0.85 * min(row["richardson_lucy"], row["tikhonov"]), (snr, row)


def test_with_the_authors_estimator_it_leads_where_the_noise_allows():
    """FPFS on the authors' min-max images, 200 galaxies: 0.0341 / 0.0102 / 0.0065 against RL's 0.0538 / 0.0230 /
    0.0212 and Tikhonov's 0.0587 / 0.0231 / 0.0178; on these 40 the SNR-20 lead is small (0.0366 against 0.0371
    on 30 galaxies of a mid-training model), so there only "not behind by more than 10 %" is asserted."""
    table = _medians(estimator="fpfs", pipeline="authors")
    for snr in ("100", "200"):
        row = table[snr]
        assert row["unrolled_admm"] < 0.7 * min(row["richardson_lucy"], row["tikhonov"]), (snr, row)
    row = table["20"]
    assert row["unrolled_admm"] < 1.1 * min(row["richardson_lucy"], row["tikhonov"]), row
