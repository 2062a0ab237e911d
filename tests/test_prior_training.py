"""``recon train weights`` and ``recon train lpn`` on tiny configs: schedules, projection, learning, errors."""

from __future__ import annotations

import math

import pytest
import torch

from recon.training.prior_config import load_prior_config
from recon.training.prior_tasks import TASKS, proximal_matching_loss
from recon.training.unrolled_training import train_unrolled


def test_gamma_falls_geometrically_in_stages_after_the_warmup():
    config = load_prior_config("lpn-phantom", ["training.steps=100"])
    task = TASKS["lpn-phantom"].__new__(TASKS["lpn-phantom"])
    task._setup_schedule(config["training"], 64 * 64)
    gammas = [task.gamma(step) for step in (50, 62, 63, 75, 88, 99)]
    # the authors' 0.08 * sqrt(HWC) * 2^(3 - stage) for 64² patches: 40.96, 20.48, 10.24, 5.12
    assert [round(g, 4) for g in gammas] == [40.96, 40.96, 20.48, 10.24, 5.12, 5.12]
    rates = [task.learning_rate(1e-3, step, 100) for step in (0, 49, 50, 99)]
    assert rates[0] == pytest.approx(1e-3) and rates[1] == pytest.approx(1e-4, rel=0.1)
    assert rates[2] == pytest.approx(1e-4) and rates[3] == pytest.approx(1e-6, rel=0.1)
    task.begin_step(10)
    x = torch.zeros(2, 1, 4, 4)
    assert float(task.loss(x + 0.5, x, None)) == pytest.approx(0.5)                 # the l1 warm-up
    task.begin_step(99)
    assert float(task.loss(x + 0.5, x, None)) == pytest.approx(1 - math.exp(-4 / 5.12**2), rel=1e-5)


def test_proximal_matching_counts_samples_not_pixels():
    x = torch.zeros(3, 1, 8, 8)
    estimate = x.clone()
    estimate[0] += 10.0                                  # one sample far off, two exact
    assert float(proximal_matching_loss(estimate, x, 1.0)) == pytest.approx(1 / 3)


def test_laplace_samples_are_finite_with_unit_scale():
    task = TASKS["lpn-laplace"](load_prior_config("lpn-laplace", ["problem.validation_count=10"]), "cpu")
    truth, noisy = task._draw(torch.Generator().manual_seed(0), 200000)
    assert bool(torch.isfinite(truth).all())
    assert float(truth.abs().mean()) == pytest.approx(1.0, abs=0.01)        # E|x| = b = 1
    assert float((noisy - truth).std()) == pytest.approx(1.0, abs=0.01)


def test_lpn_training_keeps_the_potential_convex_and_lowers_the_validation_error(tmp_path):
    config = load_prior_config("lpn-phantom", [
        "problem.train_count=8", "problem.validation_count=2", "problem.patch=16", "network.hidden=8",
        "network.layers=2", "training.steps=60", "training.batch=8", "training.validate_every=20",
        "training.learning_rate=0.02", "training.warmup_fraction=0.7"])
    entry = train_unrolled(config, tmp_path, progress=False, command="test", tasks=TASKS)
    history = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["history"]["validation_loss"].tolist()
    assert history[-1] < 0.7 * history[0], history
    from recon.weights.registry import load_network

    network, description = load_network(str(tmp_path / entry["file"]))
    assert description["architecture"] == "lpn" and entry["validation"]["loss_kind"] == "validation MSE"
    assert all(bool((weight >= 0).all()) for weight in network.constrained())


def test_edge_map_training_beats_the_gradient_of_the_fbp(tmp_path):
    config = load_prior_config("tv-weights-ct", [
        "problem.size=32", "problem.train_count=16", "problem.validation_count=4", "problem.views=12",
        "network.width=8", "network.levels=2", "training.steps=80", "training.batch=8",
        "training.validate_every=40", "training.learning_rate=0.01"])
    entry = train_unrolled(config, tmp_path, progress=False, command="test", tasks=TASKS)
    final = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["history"]["validation_loss"].tolist()[-1]
    from recon.priors import gradient_magnitude

    (first,), target, _ = TASKS["tv-weights"](config, "cpu").validation()[0]
    zero_map = float((target**2).mean())                                     # measured 0.064
    fbp_gradient = float(((gradient_magnitude(first) - target) ** 2).mean())  # measured 0.042; the network 0.032
    assert final < 0.6 * zero_map and final < 0.85 * fbp_gradient, (final, zero_map, fbp_gradient)
    assert entry["architecture"] == "edge-map-net" and entry["data"]["views"] == 12


def test_the_train_command_must_match_the_problem_kind():
    with pytest.raises(ValueError, match="problem.kind: lpn-phantom is trained by 'recon train lpn', "
                                         "not 'recon train weights'"):
        load_prior_config("lpn-phantom", kind="weights")


def test_cli_trains_a_tiny_lpn_and_reports_a_bad_key(tmp_path, capsys):
    from recon.cli import main

    assert main(["train", "lpn", "lpn-laplace", "--output-dir", str(tmp_path), "--quiet", "--set",
                 "training.steps=4", "--set", "training.batch=64", "--set", "problem.validation_count=64"]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "lpn-laplace-pm.safetensors").exists()
    assert main(["train", "weights", "tv-weights-ct", "--set", "training.stepz=4"]) != 0
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "training.stepz" in error[0]
