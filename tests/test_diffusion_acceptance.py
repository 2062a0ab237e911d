"""The diffusion issue's acceptance on held-out test images, every parameter chosen on validation data.

``scripts/diffusion_vs_tv.py`` chose each sampler's parameters on the validation split (its JSON reports
are in docs/); TV's and PnP's come from ``scripts/pnp_vs_tv.py``. These tests check that the shipped
configs are what was chosen, then measure on the test split, which neither the score networks nor the
tuning saw. Margins are the measured ones, rounded down (docs/diffusion.md has the tables).
"""

from __future__ import annotations

import pytest

from conftest import as_overrides, config_psnr, docs_report, load_script
from recon.experiments.config import load_experiment
from recon.weights.registry import shipped_models

pytestmark = pytest.mark.skipif("edm-small-phantom" not in shipped_models(),
                                reason="no shipped diffusion model (recon/weights/manifest.json)")

CT_OVER_TV_DB = 3.5          # measured +4.04 (35.88 against 31.84); the issue asks for 1
CT_BELOW_PNP_DB = 1.5        # measured 2.11 below ct-pnp (37.99)
CT_RED_DIFF_OVER_DPS_DB = 1.2  # one sample each, 100 network evaluations: measured 28.59 against 26.76
CT_SCORE_NET_AS_PNP_OVER_TV_DB = 2.5  # ct-pnp with edm-small-phantom as its denoiser: measured 34.92 (+3.08)


def _psnr(config_name: str, overrides: list[str], measurement) -> float:
    return config_psnr(config_name, overrides, measurement)[0]


@pytest.fixture(scope="module")
def ct_test():
    from recon.datasets.heldout_problems import few_view_ct

    return few_view_ct("test", count=10)


@pytest.mark.parametrize("problem, expected", [("ct", "diffpir"), ("deblur", "red-diff")])
def test_the_config_ships_the_best_sampler_chosen_on_validation(problem, expected):
    report = docs_report(f"diffusion_vs_tv_{problem}")
    best = load_script("diffusion_vs_tv").chosen_on_validation(report["samplers"])
    assert best == expected
    config = f"{problem}-diffusion"
    assert load_experiment(config, as_overrides(report["samplers"][best]["chosen"])) == load_experiment(config)


@pytest.mark.slow
def test_ct_diffusion_beats_the_best_tv_and_trails_pnp_on_test_phantoms(ct_test):
    tv_entry = docs_report("pnp_vs_tv_ct")["methods"]["tv"]
    tv = _psnr(tv_entry["config"], as_overrides(tv_entry["chosen"]), ct_test)
    diffusion = _psnr("ct-diffusion", [], ct_test)
    pnp = _psnr("ct-pnp", [], ct_test)
    # by Tweedie the score network is a denoiser: ct-pnp runs with it unchanged
    score_net_pnp = _psnr("ct-pnp", ["prior.denoiser=edm-small-phantom"], ct_test)
    print({"tv": tv, "diffusion": diffusion, "pnp": pnp, "score network in ct-pnp": score_net_pnp})
    assert diffusion > tv + CT_OVER_TV_DB
    assert diffusion < pnp - CT_BELOW_PNP_DB
    assert score_net_pnp > tv + CT_SCORE_NET_AS_PNP_OVER_TV_DB


@pytest.mark.slow
def test_red_diff_beats_dps_at_equal_network_evaluations_on_ct(ct_test):
    samplers = docs_report("diffusion_vs_tv_ct")["samplers"]
    one = {name: _psnr("ct-diffusion", as_overrides({**samplers[name]["chosen"], "solver.samples": 1}), ct_test)
           for name in ("red-diff", "dps")}
    print(one)
    assert one["red-diff"] > one["dps"] + CT_RED_DIFF_OVER_DPS_DB


@pytest.fixture(scope="module")
def deblur_test():
    from recon.datasets.heldout_problems import gaussian_deblur

    measurement, names = gaussian_deblur("test")
    assert names == ["camera", "astronaut", "coffee", "grace_hopper"]
    return measurement


@pytest.mark.slow
def test_deblurring_red_diff_beats_dps_at_equal_evaluations_but_not_tv(deblur_test):
    """One sample each (100 network evaluations), measured: RED-diff 27.10, DPS 25.94, TV 27.29 dB. The
    issue's +1 dB over TV is not met on photographs (docs/reproductions.md): the best sampler on the test
    images, DiffPIR's 4-sample mean, is +0.33 dB; deblur-diffusion's (RED-diff) 4-sample mean -0.10 dB."""
    samplers = docs_report("diffusion_vs_tv_deblur")["samplers"]
    one = {name: _psnr("deblur-diffusion", as_overrides({**samplers[name]["chosen"], "solver.samples": 1}), deblur_test)
           for name in ("red-diff", "dps")}
    tv_entry = docs_report("pnp_vs_tv_deblur")["methods"]["tv"]
    tv = _psnr(tv_entry["config"], as_overrides(tv_entry["chosen"]), deblur_test)
    print({**one, "tv": tv})
    assert one["red-diff"] > one["dps"] + 0.8           # measured +1.16
    assert tv - 0.5 < one["red-diff"] < tv + 0.3          # measured -0.19: level with TV, not 1 dB above
