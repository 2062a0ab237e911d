"""`recon run` with a diffusion prior: posterior samples, their mean and standard deviation in the output, seeds, errors.

The plumbing is tested with an untrained EDM score network written to a weights file (no training:
its weights are the seeded initialisation), so these tests hold whether or not the shipped diffusion
models are present; what the trained models achieve is measured elsewhere.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from recon.cli import main


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    from recon.networks.edm import EDMDenoiser

    torch.manual_seed(0)
    network = EDMDenoiser(channels=(4, 8), blocks=1)
    path = tmp_path_factory.mktemp("weights") / "edm-untrained.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(path),
              metadata={"architecture": "edm-drunet", "arguments": json.dumps(network.architecture())})
    return path


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    from recon.experiments.ct_demo import run_ct_demo

    folder = tmp_path_factory.mktemp("demo")
    run_ct_demo(folder, size=32, n_views=12, quiet=True, echo=lambda *a: None)
    return folder / "scan.h5"


def _run(scan, output, weights, *settings):
    arguments = ["--threads", "1", "run", "ct-diffusion", "--input", str(scan), "--output", str(output), "--quiet",
                 "--set", f"prior.weights={weights}", "--set", "solver.noise_sigma=0.05",
                 "--set", "solver.max_iter=4", "--set", "solver.burn_in=2"]
    for setting in settings:
        arguments += ["--set", setting]
    return main(arguments)


@pytest.mark.parametrize("kind", ["dps", "diffpir", "red-diff", "ula"])
def test_each_sampler_writes_mean_std_and_samples(scan, weights, tmp_path, kind):
    output = tmp_path / f"{kind}.h5"
    assert _run(scan, output, weights, f"solver.kind={kind}", "solver.samples=3", "solver.keep_samples=true") == 0
    with h5py.File(output) as f:
        mean, std, samples = f["reconstruction"][()], f["std"][()], f["samples"][()]
        assert samples.shape == (3, *mean.shape) and std.shape == mean.shape
        np.testing.assert_allclose(mean, samples.mean(axis=0), atol=1e-5)
        np.testing.assert_allclose(std, samples.std(axis=0, ddof=1), atol=1e-5)
        assert f["provenance"].attrs["stop_reason"] == "3 sample(s)"
        assert f["provenance"].attrs["iterations"] == 12
    figure = output.with_suffix(".png")
    assert figure.stat().st_size > 10_000


def test_the_same_seed_gives_the_same_samples_and_another_seed_others(scan, weights, tmp_path):
    paths = [tmp_path / f"{name}.h5" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (3, 3, 4)):
        assert _run(scan, path, weights, "solver.kind=diffpir", "solver.samples=2", f"solver.seed={seed}") == 0
    a, b, c = (h5py.File(p)["reconstruction"][()] for p in paths)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_one_sample_has_zero_spread(scan, weights, tmp_path):
    output = tmp_path / "one.h5"
    assert _run(scan, output, weights, "solver.kind=red-diff", "solver.samples=1") == 0
    with h5py.File(output) as f:
        assert not np.any(f["std"][()]) and "samples" not in f


def test_the_demo_scan_gives_its_noise_level_and_a_file_without_one_needs_it(scan, weights, tmp_path, capsys):
    from dataclasses import replace

    from recon.datasets.formats import read_measurement
    from recon.datasets.recon_format import write_measurement

    assert _run(scan, tmp_path / "own.h5", weights, "solver.noise_sigma=null") == 0     # metadata@noise_sigma
    measurement = read_measurement(scan)
    metadata = {k: v for k, v in measurement.metadata.items() if k != "noise_sigma"}
    bare = write_measurement(tmp_path / "bare.h5", replace(measurement, metadata=metadata))
    capsys.readouterr()
    assert _run(bare, tmp_path / "out.h5", weights, "solver.noise_sigma=null") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "solver.kind: diffpir needs the noise level, and " in err
    assert str(bare) in err and "solver.noise_sigma=SIGMA" in err
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("settings, message", [
    (["prior.kind=tv"], "prior.kind: solver.kind diffpir takes prior.kind pnp or diffusion (a denoiser), not tv"),
    (["solver.kind=pdhg"], "solver.kind: prior.kind diffusion is solved by "),
    (["solver.samples=0"], "solver.samples: expected an integer >= 1"),
    (["solver.zeta=2"], "solver.zeta: expected a number in [0, 1], got 2"),
])
def test_bad_settings_are_one_line_errors(scan, weights, tmp_path, capsys, settings, message):
    output = tmp_path / "bad.h5"
    assert _run(scan, output, weights, *settings) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not output.exists()
