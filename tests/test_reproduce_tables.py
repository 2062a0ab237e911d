"""Each table's ``recon reproduce TABLE --quick``, run in this process (one thread worker), and the numbers it measures.

The quick tables are scaled down (smaller images, fewer scenes, galaxies, candidates or iterations), so
their numbers are not the full tables' (``docs/reproduce/``); the values asserted here are what the quick
runs measured, to 0.05 dB (or 0.002 of |Δg|, 0.005 of MCC), and the verdicts of the claims they can test.
Each run also writes its Markdown, CSV and figure.
"""

from __future__ import annotations

import csv

import pytest

from conftest import require_file
from recon.reproduce.runner import reproduce
from recon.weights.registry import shipped_models

DB = 0.05


def quick(name: str, folder):
    """``recon reproduce NAME --quick`` on one in-process worker; checks the three files and returns the result."""
    done = reproduce(name, quick=True, output_dir=folder, workers=1, processes=False, quiet=True)
    assert sorted(p.name for p in folder.iterdir()) == [f"{name}-quick.{s}" for s in ("csv", "md", "png")]
    page = (folder / f"{name}-quick.md").read_text()
    assert f"Made by `recon reproduce {name} --quick`" in page and f"{done.cells} cells on 1 worker" in page
    header = next(csv.reader((folder / f"{name}-quick.csv").read_text().splitlines()))
    assert header == done.report.columns
    return done


def needs(model: str):
    return pytest.mark.skipif(model not in shipped_models(), reason=f"no shipped {model}")


def test_multiband(tmp_path):
    report = quick("multiband", tmp_path).report
    # 32², 150 iterations: joint 33.34 / 33.82 / 34.11, uncoupled 33.19 / 33.76 / 33.87, band by band 25.29 / 24.21 /
    # 27.80 dB
    for band, joint, uncoupled, alone in (("band 1", 33.34, 33.19, 25.29), ("band 2", 33.82, 33.76, 24.21),
                                          ("band 3", 34.11, 33.87, 27.80)):
        assert report.value(band, "joint") == pytest.approx(joint, abs=DB)
        assert report.value(band, "uncoupled") == pytest.approx(uncoupled, abs=DB)
        assert report.value(band, "band by band") == pytest.approx(alone, abs=DB)
    assert all(claim.holds for claim in report.claims)


def test_spiral_tap(tmp_path):
    report = quick("spiral-tap", tmp_path).report
    # 64² camera, over-relaxed ADMM: peak 10 Poisson 21.53, least squares 21.24, RL 20.36; peak 100 24.18, 23.98, 22.66
    for row, poisson, least_squares, rl in (("10, over-relaxed (α = 1.7)", 21.53, 21.24, 20.36),
                                            ("100, over-relaxed (α = 1.7)", 24.18, 23.98, 22.66)):
        assert report.value(row, "Poisson TV") == pytest.approx(poisson, abs=DB)
        assert report.value(row, "least-squares TV") == pytest.approx(least_squares, abs=DB)
        assert report.value(row, "Richardson–Lucy") == pytest.approx(rl, abs=DB)
    assert [claim.holds for claim in report.claims] == [True, True]


def test_deblur_photographs(tmp_path):
    report = quick("deblur-photographs", tmp_path).report
    # 64² views: TV margins +0.91, +2.48, +0.09 and -1.20 on the deep field with the Gaussian PSF, as at 128²
    for row, margin in (("camera, gaussian", 0.91), ("camera, motion", 2.48), ("hubble, motion", 0.09),
                        ("hubble, gaussian", -1.20)):
        assert report.value(row, "TV margin") == pytest.approx(margin, abs=DB)
    assert report.claims[0].holds is False and report.claims[0].measured == "on 3 of 4 image and PSF pairs"


def test_mri_tutorial(tmp_path, testdata_dir):
    require_file(testdata_dir, "mri/brain_alias_8ch.mat")
    report = quick("mri-tutorial", tmp_path).report
    # the random mask alone, which is the full table's too: zero-filled 23.82, CG-SENSE 25.49, l1-wavelet 26.03, TV 27.10
    # (mri-tv's strength auto, λ 0.0053)
    for row, psnr in (("random, zero-filled", 23.82), ("random, CG-SENSE", 25.49), ("random, ℓ1-wavelet", 26.03),
                      ("random, TV", 27.10)):
        assert report.value(row, "PSNR (dB)") == pytest.approx(psnr, abs=DB)
    assert all(claim.holds for claim in report.claims)


@needs("unrolled-galaxy-admm")
def test_galaxy_shear(tmp_path):
    report = quick("galaxy-shear", tmp_path).report
    # 20 galaxies per SNR; adaptive moments: RL 0.0487 / 0.0318 / 0.0299, unrolled 0.0301 / 0.0127 / 0.0079
    adaptive = {row["method"]: row for row in report.rows[:4]}
    for snr, rl, unrolled in (("SNR 20", 0.0487, 0.0301), ("SNR 100", 0.0318, 0.0127), ("SNR 200", 0.0299, 0.0079)):
        assert adaptive["RL 10"][snr] == pytest.approx(rl, abs=0.002)
        assert adaptive["unrolled ADMM"][snr] == pytest.approx(unrolled, abs=0.002)
    assert [c.holds for c in report.claims] == [True, False, False, True, False, False]
    assert report.rows[-2]["SNR 20"] == 0.0805         # the paper's numbers stand beside ours


def test_radar(tmp_path):
    report = quick("radar", tmp_path).report
    # 13x13x25, scenes 0-1, 60 iterations: BP 17.21, Kirchhoff 17.53, l1 20.80, TV+3l1 |x| 22.76, on x 23.18,
    # TV |x| alone 15.81
    column = "13×13×25, 60 it."
    for method, psnr in (("back-projection", 17.21), ("Kirchhoff migration", 17.53), ("ℓ1 on |x|", 20.80),
                         ("TV + 3ℓ1 on |x| (mimo-tv)", 22.76), ("TV + 3ℓ1 on x", 23.18), ("TV on |x| alone", 15.81)):
        assert report.value(method, column) == pytest.approx(psnr, abs=DB)
    assert [c.holds for c in report.claims] == [True, False, False]


@needs("tv-weights-ct")
def test_weighted_tv(tmp_path):
    report = quick("weighted-tv", tmp_path).report
    # 64², 2 + 2 phantoms, 100 iterations: test TV 30.81, network 34.40, pilot 34.29, truth 38.64
    for method, psnr in (("TV (ct-tv)", 30.81), ("wTV, network weights (ct-awtv)", 34.40),
                         ("wTV, TV-pilot weights (ct-wtv)", 34.29), ("wTV, true weights (oracle)", 38.64)):
        assert report.value(method, "test PSNR") == pytest.approx(psnr, abs=DB)
    assert [c.holds for c in report.claims] == [True, True, False, None]


@needs("drunet-small-phantom")
def test_pnp_vs_tv(tmp_path):
    report = quick("pnp-vs-tv", tmp_path).report
    # 64², 2 + 2 phantoms: TV 30.81 (strength 0.001), PnP 35.44 (PnP-ADMM, sigma 0.08)
    assert report.value("few-view CT, TV", "test PSNR") == pytest.approx(30.81, abs=DB)
    assert report.value("few-view CT, PnP", "test PSNR") == pytest.approx(35.44, abs=DB)
    assert "prior.sigma=0.08" in report.value("few-view CT, PnP", "chosen on validation")
    assert report.claims[0].holds


@needs("lpn-phantom")
def test_lpn_vs_tv(tmp_path):
    report = quick("lpn-vs-tv", tmp_path).report
    # 64², 1 + 1 phantom: TV 30.69, LPN 32.34
    assert report.value("TV (ct-tv)", "test PSNR") == pytest.approx(30.69, abs=DB)
    assert report.value("LPN (ct-lpn, ADMM)", "test PSNR") == pytest.approx(32.34, abs=DB)
    assert [c.holds for c in report.claims] == [True, None]


def test_bilevel(tmp_path):
    report = quick("bilevel", tmp_path).report
    # one training photograph, 300 iterations: MAID 26.31 at 300 against HOAG 0.01's 33.45 and 0.06's 9.69
    assert report.value(300, "MAID") == pytest.approx(26.31, abs=0.05)
    assert report.value(300, "HOAG step 0.01") == pytest.approx(33.45, abs=0.05)
    assert report.value(300, "HOAG step 0.06") == pytest.approx(9.69, abs=0.05)
    assert [c.holds for c in report.claims] == [False, False, False, True]


@needs("unrolled-limited-angle-lpd")
def test_limited_angle(tmp_path, testdata_dir):
    require_file(testdata_dir, "ct/htc2022/htc2022_ta_full.mat")
    report = quick("limited-angle", tmp_path).report
    # ta, 30° from 0°: the learned model 0.854, TV (0.002, 30 iterations) 0.584
    assert report.value("30°", "ct-limited-angle (learned)") == pytest.approx(0.854, abs=0.005)
    assert report.value("30°", "ct-tv, strength 0.002") == pytest.approx(0.584, abs=0.005)
    assert report.value("30°", "learned − TV") == pytest.approx(0.271, abs=0.005)
    assert report.claims[0].holds
