"""Weighted TV with weights from the shipped network (ct-awtv) against TV and the oracle, on held-out phantoms.

λ, η and p of every method were chosen on the validation phantoms by ``scripts/weighted_tv_table.py``
(docs/weighted_tv_ct.json); these tests check the shipped ct-awtv is that choice and re-measure on the
10 test phantoms (128², 30 views, 2 % noise) that neither the network nor the tuning saw. Margins are the
measured ones, rounded down (docs/learned_regularisers.md).
"""

from __future__ import annotations

import pytest

from conftest import as_overrides, docs_report, load_script
from recon.experiments.config import load_experiment
from recon.weights.registry import shipped_models

pytestmark = pytest.mark.skipif("tv-weights-ct" not in shipped_models(), reason="no shipped tv-weights-ct")

NETWORK_OVER_TV_DB = 3.5        # measured +3.98 (the issue asks for 0.7)
NETWORK_OVER_TV_SSIM = 0.01     # measured 0.8934 against 0.8778


def _chosen(method: str) -> tuple[str, dict]:
    entry = docs_report("weighted_tv_ct")["methods"][method]
    return entry["config"], entry["chosen"]


def test_shipped_ct_awtv_is_the_setting_chosen_on_validation():
    config_name, chosen = _chosen("wtv-network")
    assert config_name == "ct-awtv"
    assert load_experiment("ct-awtv", as_overrides(chosen)) == load_experiment("ct-awtv")


@pytest.fixture(scope="module")
def scores():
    """Each method at its chosen setting on the test phantoms and on Shepp–Logan, on one torch thread."""
    import torch

    from recon.datasets.heldout_problems import few_view_ct, few_view_ct_of
    from recon.datasets.phantoms import shepp_logan
    from recon.experiments import tuning

    table = load_script("weighted_tv_table")
    test, shepp = few_view_ct("test", count=10), few_view_ct_of(shepp_logan(128), "modified Shepp-Logan")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = {}
        for method in ("tv", "wtv-network", "wtv-truth"):
            config_name, chosen = _chosen(method)
            evaluate = table.oracle_evaluate if method == "wtv-truth" else tuning.evaluate
            out[method] = evaluate(config_name, chosen, test), evaluate(config_name, chosen, shepp)
        return out
    finally:
        torch.set_num_threads(threads)


def test_truth_weights_beat_network_weights_which_beat_tv_on_held_out_phantoms(scores):
    tv, network, truth = (scores[m][0] for m in ("tv", "wtv-network", "wtv-truth"))
    assert truth["psnr_db"] >= network["psnr_db"] >= tv["psnr_db"]
    assert network["psnr_db"] - tv["psnr_db"] > NETWORK_OVER_TV_DB, (network["psnr_db"], tv["psnr_db"])
    assert network["ssim"] - tv["ssim"] > NETWORK_OVER_TV_SSIM, (network["ssim"], tv["ssim"])
    reported = docs_report("weighted_tv_ct")["methods"]["wtv-network"]["test"]["psnr_db"]
    assert network["psnr_db"] == pytest.approx(reported, abs=0.01)


def test_on_shepp_logan_the_weights_gain_little(scores):
    """Few, large, smooth-edged regions: TV already suits them (measured +0.35 dB for the network's weights)."""
    gain = scores["wtv-network"][1]["psnr_db"] - scores["tv"][1]["psnr_db"]
    test_gain = scores["wtv-network"][0]["psnr_db"] - scores["tv"][0]["psnr_db"]
    assert abs(gain) < 1.0 and gain < test_gain / 3, (gain, test_gain)
