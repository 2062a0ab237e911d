"""``recon bench diffusion`` at tiny sizes: recon's and deepinv's samplers share one network, steps and data steps."""

from __future__ import annotations

import json
import math

import pytest
import torch

from recon.bench.diffusion_problems import (CT, DEBLUR, DIFFPIR_PAIR, DPS_PAIR, RED_DIFF, DiffusionSetup, ct_problem,
                                            deblur_problem)

SHIPPED = ("edm-small-phantom", "edm-small-natural")


def _tiny_score_network():
    from recon.networks import EDMDenoiser
    from recon.priors.denoisers import NetworkDenoiser

    torch.manual_seed(0)
    return NetworkDenoiser(EDMDenoiser(channels=(8, 16)))


@pytest.mark.parametrize("build", [deblur_problem, ct_problem])
def test_deepinv_diffpir_lambda_gives_recons_data_step(build):
    """deepinv's DiffPIR data step with λ' = 2λ at its noise level 2σ_t is recon's with λ at σ_t."""
    from deepinv.optim.data_fidelity import L2

    from recon.bench.diffusion_peers import physics
    from recon.solvers.data_consistency import QuadraticDataStep

    problem = build(DiffusionSetup(size=32, n_views=8))
    sigma_t = 0.3
    v = problem.truth + 0.1 * torch.randn(problem.truth.shape, generator=torch.Generator().manual_seed(1))
    rho = problem.diffpir.lam * problem.noise_sigma**2 / sigma_t**2
    theirs_rho = problem.deepinv_diffpir_lambda * problem.noise_sigma**2 / (2 * sigma_t) ** 2   # deepinv's rhos
    peer = physics(problem)
    if problem.name == CT:
        peer.max_iter, peer.tol = 500, 1e-9
    theirs = L2().prox(v, problem.y, peer, gamma=1.0 / (2 * theirs_rho))
    untranslated = L2().prox(v, problem.y, peer, gamma=1.0 / theirs_rho)       # λ' = λ: half the weight on v
    mine = QuadraticDataStep(problem.operator, problem.y, cg_steps=500, cg_tol=1e-9).prox(v, rho)
    if problem.name == CT:
        peer.max_iter, peer.tol = 50, 1e-4
    error = float((theirs - mine).norm() / mine.norm())
    assert error < 2e-3           # float32 arithmetic (FFT division, CG) on an ill-conditioned system
    assert float((untranslated - mine).norm() / mine.norm()) > 10 * error


def test_every_sampler_takes_the_same_network_evaluations():
    """At 4 steps each sampler, recon's and deepinv's, calls the network 4 times per sample."""
    from recon.bench.diffusion import recon_samplers
    from recon.bench.diffusion_peers import PEERS

    denoiser = _tiny_score_network()
    problem = ct_problem(DiffusionSetup(size=32, n_views=8, steps=4))
    draws = dict(recon_samplers(problem, denoiser))
    draws.update({f"deepinv {name}": (lambda seed, peer=peer: peer(problem, denoiser, seed)) for name, peer in PEERS.items()})
    for name, draw in draws.items():
        calls = []
        handle = denoiser.register_forward_hook(lambda *_: calls.append(1))
        try:
            sample = draw(0)
        finally:
            handle.remove()
        assert len(calls) == 4, name
        assert sample.shape == problem.truth.shape and torch.isfinite(sample).all(), name


def test_recon_samplers_are_reproducible_by_seed():
    from recon.bench.diffusion import recon_samplers

    problem = deblur_problem(DiffusionSetup(size=32, steps=3))
    for name, draw in recon_samplers(problem, _tiny_score_network()).items():
        assert torch.equal(draw(0), draw(0)), name
        assert not torch.equal(draw(0), draw(1)), name


@pytest.fixture(scope="module")
def small_diffusion_run(tmp_path_factory):
    from recon.weights.registry import shipped_models

    missing = [name for name in SHIPPED if name not in shipped_models()]
    if missing:
        pytest.skip(f"shipped score network(s) {', '.join(missing)} not in recon/weights/manifest.json")
    from recon.cli import main

    json_path = tmp_path_factory.mktemp("bench-diffusion") / "bench.json"
    code = main(["bench", "diffusion", "--size", "48", "--views", "12", "--max-iter", "8", "--samples", "2",
                 "--json", str(json_path)])
    return code, json.loads(json_path.read_text())


def test_small_diffusion_bench_records(small_diffusion_run):
    """Five samplers per problem, 8 evaluations each; the target and times follow the records' own numbers."""
    code, records = small_diffusion_run
    assert code == 0
    expected = {("recon", DPS_PAIR[0]), ("recon", DIFFPIR_PAIR[0]), ("recon", RED_DIFF),
                ("deepinv", DPS_PAIR[1]), ("deepinv", DIFFPIR_PAIR[1])}
    for problem in (CT, DEBLUR):
        runs = [r for r in records if r["problem"] == problem]
        assert {(r["library"], r["method"]) for r in runs} == expected
        target = runs[0]["target_psnr_db"]
        for r in runs:
            assert r["iterations"] == 8 and "2 sample(s)" in r["note"]
            assert math.isfinite(r["best_psnr_db"]) and r["seconds"] > 0
            assert r["ms_per_iter"] == pytest.approx(1e3 * r["seconds"] / 8)
            assert (r["time_to_target_s"] is not None) == (r["best_psnr_db"] >= target)
        # recon's DiffPIR with the shipped network improves on the FBP / blurred start even at 8 steps
        start = ct_problem(DiffusionSetup(size=48, n_views=12)) if problem == CT else \
            deblur_problem(DiffusionSetup(size=48))
        from recon.bench.trace import psnr_db

        diffpir = next(r for r in runs if r["method"] == DIFFPIR_PAIR[0])
        assert diffpir["best_psnr_db"] > psnr_db(start.baseline_image, start.truth)
