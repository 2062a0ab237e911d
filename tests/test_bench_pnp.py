"""Smoke tests of ``recon bench pnp`` at tiny sizes: recon and deepinv share one denoiser and the same maths."""

from __future__ import annotations

import json
import math

import pytest
import torch

from recon.bench.pnp_problems import (ADMM_PAIR, CT, DEBLUR, DENOISER, HQS_PAIR, SHIPPED_PAIR, PnPSetup, ct_problem,
                                      deblur_problem, hqs_schedule)
from recon.bench.trace import psnr_db

SHIPPED = ("drunet-small-general", "drunet-small-photo", "drunet-small-phantom")


def _random_denoiser():
    """A tiny untrained network: enough to check plumbing and maths, not to score PSNR."""
    from recon.networks import SmallDRUNet
    from recon.priors.denoisers import NetworkDenoiser

    torch.manual_seed(0)
    return NetworkDenoiser(SmallDRUNet(channels=(8, 16)))


@pytest.fixture(scope="module")
def small_pnp_run(tmp_path_factory):
    from recon.weights.registry import shipped_models

    missing = [name for name in SHIPPED if name not in shipped_models()]
    if missing:
        pytest.skip(f"shipped denoiser(s) {', '.join(missing)} not in recon/weights/manifest.json yet")
    from recon.cli import main

    json_path = tmp_path_factory.mktemp("bench-pnp") / "bench.json"
    code = main(["bench", "pnp", "--size", "48", "--views", "12", "--max-iter", "5", "--budget", "10",
                 "--json", str(json_path)])
    return code, json.loads(json_path.read_text())


def test_small_pnp_bench_beats_its_input(small_pnp_run):
    """Every solver record improves on the blurred / FBP image and reaches the problem's common target."""
    code, records = small_pnp_run
    assert code == 0
    setup = PnPSetup(size=48, n_views=12, max_iter=5)
    deblur, ct = deblur_problem(setup), ct_problem(setup)
    baseline = {DEBLUR: psnr_db(deblur.y, deblur.truth), CT: psnr_db(ct.x0, ct.truth)}
    for problem in (DEBLUR, CT):
        runs = [r for r in records if r["problem"] == problem]
        assert {(r["library"], r["method"]) for r in runs} == {
            (lib, pair[i]) for pair in (HQS_PAIR, ADMM_PAIR) for i, lib in enumerate(("recon", "deepinv"))} | (
            {("recon", SHIPPED_PAIR[0])} if problem == DEBLUR else set())
        for r in runs:
            assert r["iterations"] == 5
            assert math.isfinite(r["best_psnr_db"]) and r["best_psnr_db"] > baseline[problem] + 0.5, r
            assert r["time_to_target_s"] is not None and r["time_to_target_s"] <= r["seconds"]
        assert min(r["best_psnr_db"] for r in runs) - runs[0]["target_psnr_db"] == pytest.approx(0.1)
    timed = {r["method"]: r for r in records if r["problem"] == DENOISER}
    assert set(timed) == {"drunet-small-general", "DRUNet (random weights)", "DnCNN (random weights)", "BM3D"}
    assert all(r["ms_per_iter"] > 0 for r in timed.values())
    assert timed["drunet-small-general"]["best_psnr_db"] > timed["drunet-small-general"]["target_psnr_db"]


def test_deblur_schedule_is_deepinvs_dpir():
    """For deblurring, the HQS schedule both libraries run is ``deepinv.optim.DPIR(sigma=0.01)``'s own."""
    from deepinv.optim.dpir import get_DPIR_params

    problem = deblur_problem(PnPSetup(size=32))
    sigmas, weights = hqs_schedule(problem.hqs)
    dpir_sigmas, dpir_steps, dpir_iterations = get_DPIR_params(0.01)
    assert problem.hqs.iterations == dpir_iterations == 8
    assert problem.norm_squared == pytest.approx(1.0, rel=1e-4)
    assert sigmas == pytest.approx(dpir_sigmas.tolist(), rel=1e-5)
    assert [1 / (w * problem.norm_squared) for w in weights] == pytest.approx(dpir_steps.tolist(), rel=1e-4)


@pytest.fixture(scope="module")
def shared_denoiser_runs():
    """Both problems solved by recon and deepinv with one (untrained) denoiser object, counted from outside."""
    from recon.bench.pnp import solve_problem
    from recon.bench.pnp_measure import Tally

    setup = PnPSetup(size=32, n_views=8, max_iter=3, time_denoisers=False)
    denoiser = _random_denoiser()
    out = {}
    for build in (deblur_problem, ct_problem):
        problem = build(setup)
        with Tally(denoiser) as tally:
            records = solve_problem(problem, denoiser, setup, echo=lambda *_: None)
        out[problem.name] = (records, tally.calls)
    return out


def test_recon_and_deepinv_call_the_same_denoiser_object(shared_denoiser_runs):
    for records, calls in shared_denoiser_runs.values():
        assert {r.library for r in records} == {"recon", "deepinv"}
        assert calls == sum(r.iterations for r in records) + 1 == len(records) * 3 + 1   # + the untimed warm-up
        assert len(records) == 4 + (records[0].problem == DEBLUR)      # deblurring: also deblur-pnp's schedule
        for r in records:   # each run's own tally was hooked on the object given, and saw its calls
            assert r.note.split("denoiser ")[1].startswith("3 calls"), r.note


def test_time_records_increase(shared_denoiser_runs):
    for records, _ in shared_denoiser_runs.values():
        for r in records:
            seconds = r.trace.seconds
            assert len(seconds) == 3 and seconds[0] > 0
            assert all(b > a for a, b in zip(seconds, seconds[1:])), (r.library, r.method, seconds)


def test_deblur_runs_are_the_same_iteration(shared_denoiser_runs):
    """Closed-form data steps on both sides: recon's and deepinv's iterates agree, iteration by iteration."""
    records, _ = shared_denoiser_runs[DEBLUR]
    by = {r.method: r.trace.psnr_db for r in records}
    for mine, theirs in (HQS_PAIR, ADMM_PAIR):
        assert by[mine] == pytest.approx(by[theirs], abs=0.02)


def test_the_shipped_pair_runs_deblur_pnps_schedule_against_deepinvs_dpir():
    """recon as it ships (deblur-pnp's HQS schedule, chosen on validation photographs) against DPIR as deepinv
    ships it: the schedule the bench's third pair compares."""
    from recon.experiments.config import load_experiment

    problem = deblur_problem(PnPSetup(size=32))
    config = load_experiment("deblur-pnp")
    shipped = problem.shipped
    assert (shipped.sigma_start, shipped.sigma_end, shipped.strength, shipped.iterations, shipped.nonnegative) == (
        config["prior"]["sigma_start"], config["prior"]["sigma"], config["prior"]["strength"],
        config["solver"]["max_iter"], True)
    assert SHIPPED_PAIR[1] == HQS_PAIR[1]                 # deepinv's side: the DPIR run of the first pair
    assert ct_problem(PnPSetup(size=32, n_views=8)).shipped is None
    assert deblur_problem(PnPSetup(size=32, max_iter=5)).shipped.iterations == 5
