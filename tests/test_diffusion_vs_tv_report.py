"""``scripts/diffusion_vs_tv.py``'s comparison with TV and PnP: the headline margin belongs to the sampler chosen
on validation (the one the config ships), not to the best one on the test images."""

from __future__ import annotations

import pytest

from conftest import docs_report, load_script


def _sampler(validation_psnrs: list[float], test_psnr: float) -> dict:
    return {"validation": [{"psnr_db": value} for value in validation_psnrs], "test": {"psnr_db": test_psnr}}


def test_the_margin_is_the_validation_choice_and_the_best_on_test_is_kept_apart():
    script = load_script("diffusion_vs_tv")
    # "a" wins on validation, "b" on the test images
    report = {"problem": "deblur", "samplers": {"a": _sampler([25.0, 25.6], 27.0), "b": _sampler([25.2], 27.5)}}
    script.compare_with_tv_and_pnp(report, echo=lambda line: None)
    tv = docs_report("pnp_vs_tv_deblur")["methods"]["tv"]["test"]["psnr_db"]
    assert report["chosen_sampler"] == "a"
    assert report["chosen_sampler_minus_tv_db"] == pytest.approx(27.0 - tv)
    assert report["best_on_test_minus_tv_db"] == pytest.approx(27.5 - tv)
    assert report["pnp_test_psnr_db"] == docs_report("pnp_vs_tv_deblur")["methods"]["pnp"]["test"]["psnr_db"]


@pytest.mark.parametrize("problem", ["ct", "deblur"])
def test_the_stored_reports_name_the_sampler_their_config_ships(problem):
    """The stored reports were compared against the current TV and PnP reports."""
    report = docs_report(f"diffusion_vs_tv_{problem}")
    script = load_script("diffusion_vs_tv")
    fresh = {"problem": problem, "samplers": report["samplers"]}
    script.compare_with_tv_and_pnp(fresh, echo=lambda line: None)
    for key in ("chosen_sampler", "chosen_sampler_minus_tv_db", "best_on_test_minus_tv_db", "pnp_test_psnr_db",
                "tv_test_psnr_db"):
        assert report[key] == fresh[key], key
    assert report["chosen_sampler"] == {"ct": "diffpir", "deblur": "red-diff"}[problem]
