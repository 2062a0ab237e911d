"""``recon run deblur-galaxy-unrolled``: a trained unrolled solver on a file, and its one-line errors."""

from __future__ import annotations

import json

import h5py
import pytest
import torch

from recon.cli import main


@pytest.fixture(scope="module")
def galaxy_file(tmp_path_factory):
    from recon.experiments.examples import write_example

    return write_example("galaxy", tmp_path_factory.mktemp("galaxy") / "galaxy.h5", seed=3)


@pytest.fixture(scope="module")
def untrained_model(tmp_path_factory):
    """An untrained unrolled ADMM saved as recon train unrolled saves one (the plumbing, not the quality)."""
    from safetensors.torch import save_file

    from recon.solvers.unrolled_deconvolution import UnrolledDeconvolutionADMM

    arguments = {"iterations": 2, "prox": {"in_channels": 1, "out_channels": 1, "channels": [4, 8], "blocks": 1},
                 "penalties": {"iterations": 2, "width": 8}}
    torch.manual_seed(0)
    model = UnrolledDeconvolutionADMM.from_arguments(arguments)
    path = tmp_path_factory.mktemp("model") / "tiny-unrolled.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"architecture": "unrolled-deconvolution-admm", "arguments": json.dumps(arguments)})
    return path


def _run(capsys, *args):
    code = main(["run", *args])
    return code, capsys.readouterr()


def test_the_unrolled_model_runs_on_a_galaxy_file(capsys, tmp_path, galaxy_file, untrained_model):
    out = tmp_path / "out.h5"
    code, printed = _run(capsys, "deblur-galaxy-unrolled", "--input", str(galaxy_file), "--output", str(out),
                         "--set", f"prior.weights={untrained_model}")
    assert code == 0, printed.err
    with h5py.File(out) as h5:
        image = h5["reconstruction"][()]
        observed = h5["measurement"][()] if "measurement" in h5 else None
    assert image.shape[-2:] == (48, 48) and torch.isfinite(torch.from_numpy(image)).all()
    assert observed is None or observed.shape[-2:] == (48, 48)
    assert "2 unrolled iterations" in printed.out


@pytest.mark.parametrize("overrides, message", [
    (["solver.kind=pdhg"], "solver.kind: a trained unrolled solver is prior and solver in one"),
    (["prior.kind=tv"], "prior.kind: a trained unrolled solver is prior and solver in one"),
    (["operator.boundary=reflect"], "operator.boundary: the unrolled deconvolution was trained on circular blurs"),
    (["prior.weights=drunet-small-general"], "prior.weights: drunet-small-general is a small-drunet network, "
                                             "not an unrolled solver"),
])
def test_wrong_settings_are_one_line_errors(capsys, tmp_path, galaxy_file, untrained_model, overrides, message):
    sets = [f"prior.weights={untrained_model}"] + overrides
    code, printed = _run(capsys, "deblur-galaxy-unrolled", "--input", str(galaxy_file), "--output",
                         str(tmp_path / "out.h5"), *[a for s in sets for a in ("--set", s)])
    assert code != 0
    assert message in printed.err and len(printed.err.strip().splitlines()) == 1, printed.err
    assert not (tmp_path / "out.h5").exists()


def test_a_file_without_its_noise_level_names_the_key(capsys, tmp_path, galaxy_file, untrained_model):
    bare = tmp_path / "bare.h5"
    bare.write_bytes(galaxy_file.read_bytes())
    with h5py.File(bare, "r+") as h5:
        del h5["metadata"].attrs["noise_sigma"]
    code, printed = _run(capsys, "deblur-galaxy-unrolled", "--input", str(bare), "--output", str(tmp_path / "o.h5"),
                         "--set", f"prior.weights={untrained_model}")
    assert code != 0 and "solver.noise_sigma" in printed.err
    code, printed = _run(capsys, "deblur-galaxy-unrolled", "--input", str(bare), "--output", str(tmp_path / "o.h5"),
                         "--set", f"prior.weights={untrained_model}", "--set", "solver.noise_sigma=8.06")
    assert code == 0, printed.err
