"""Weights: the issue's four bad files are refused with one line naming them (``recon run`` and the API),
deepinv's ``.pth`` and recon's ``.safetensors`` files rebuild their networks exactly, and every shipped model
matches its manifest.

The bad files: (a) a sha256 that does not match the sidecar manifest entry, (b) weights of another
architecture than the header says, (c) a truncated file, (d) a pickle that would run code if unpickled.
Shipped-model plumbing (names, sha256 check, ``recon weights``) is also exercised against a manifest of a
tiny network in ``tmp_path``, so it is tested before the real weights exist.
"""

import json
import pathlib
import pickle

import deepinv
import pytest
import torch
from safetensors.torch import save_file

from recon.cli import main
from recon.networks import ARCHITECTURES, DnCNN, SmallDRUNet
from recon.priors.denoisers import NetworkDenoiser, load_denoiser
from recon.weights import registry
from recon.weights.registry import WeightsError, load_network, sha256_of, shipped_models

SIGMA = 25 / 255


def _image(size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(seed))


def _small_drunet(seed: int = 0, channels=(8, 16)) -> SmallDRUNet:
    torch.manual_seed(seed)
    return SmallDRUNet(channels=channels, blocks=1).eval()


def _save_safetensors(network, path, *, architecture="small-drunet", arguments=None) -> pathlib.Path:
    state = {key: value.contiguous() for key, value in network.state_dict().items()}
    arguments = network.architecture() if arguments is None else arguments
    save_file(state, str(path), metadata={"architecture": architecture, "arguments": json.dumps(arguments)})
    return path


class _Payload:
    """Unpickling this creates ``marker``: the stand-in for a malicious pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def deblur_input(tmp_path_factory):
    path = tmp_path_factory.mktemp("deblur") / "blurred.h5"
    assert main(["example", "deblur", "--output", str(path)]) == 0
    return path


def _run_deblur_pnp(deblur_input, output, weights):
    return main(["run", "deblur-pnp", "--input", str(deblur_input), "--output", str(output),
                 "--set", f"prior.weights={weights}", "--set", "solver.max_iter=2", "--set", "output.figure=false",
                 "--quiet"])


def _refused(capsys, tmp_path, deblur_input, weights, *expect) -> str:
    """``recon run deblur-pnp --set prior.weights=FILE``: status 2, one stderr line naming FILE, no output;
    then ``load_network(FILE)`` raises WeightsError with one line naming FILE. Returns the API's message."""
    folder = tmp_path / "out"
    folder.mkdir()
    capsys.readouterr()
    assert _run_deblur_pnp(deblur_input, folder / "result.h5", weights) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("recon run: error: ") and str(weights) in lines[0], err
    assert "Traceback" not in err
    for piece in expect:
        assert piece in lines[0], err
    assert list(folder.iterdir()) == []
    with pytest.raises(WeightsError) as info:
        load_network(str(weights))
    message = str(info.value)
    assert "\n" not in message and str(weights) in message
    for piece in expect:
        assert piece in message
    return message


def test_good_user_weights_run_through_the_cli(tmp_path, deblur_input):
    """The control for the refusals below: the same command with a valid file writes its output."""
    weights = _save_safetensors(_small_drunet(), tmp_path / "mine.safetensors")
    assert _run_deblur_pnp(deblur_input, tmp_path / "result.h5", weights) == 0
    assert (tmp_path / "result.h5").is_file()


# --------------------------------------------------------------------------------------------------------
# (a) sha256 mismatch
# --------------------------------------------------------------------------------------------------------

def test_sha256_mismatch_is_refused(capsys, tmp_path, deblur_input):
    weights = _save_safetensors(_small_drunet(), tmp_path / "mine.safetensors")
    wrong = "0" * 64
    assert sha256_of(weights) != wrong
    (tmp_path / "mine.json").write_text(json.dumps({"sha256": wrong}))
    _refused(capsys, tmp_path, deblur_input, weights, "sha256", "does not match", "000000000000")


# --------------------------------------------------------------------------------------------------------
# (b) another architecture than the header (or file type) says
# --------------------------------------------------------------------------------------------------------

def _dncnn_under_a_drunet_header(folder):
    torch.manual_seed(0)
    return _save_safetensors(DnCNN(depth=4, features=8), folder / "dncnn.safetensors",
                             arguments={"channels": [8, 16], "blocks": 1})


def _drunet_with_other_channels(folder):
    return _save_safetensors(_small_drunet(), folder / "narrow.safetensors", arguments={"channels": [16, 32]})


def _recon_drunet_as_pth(folder):
    torch.save(_small_drunet().state_dict(), folder / "recon-drunet.pth")
    return folder / "recon-drunet.pth"


@pytest.mark.parametrize("make, expect", [
    (_dncnn_under_a_drunet_header, ("do not fit a small-drunet", "Missing key")),
    (_drunet_with_other_channels, ("do not fit a small-drunet", "size mismatch")),
    (_recon_drunet_as_pth, ("not the weights of a known network",)),
], ids=["dncnn-weights-drunet-header", "drunet-other-channels", "recon-state-dict-as-pth"])
def test_weights_of_another_architecture_are_refused(capsys, tmp_path, deblur_input, make, expect):
    _refused(capsys, tmp_path, deblur_input, make(tmp_path), *expect)


# --------------------------------------------------------------------------------------------------------
# (c) truncated files
# --------------------------------------------------------------------------------------------------------

def _truncated_safetensors(folder):
    whole = _save_safetensors(_small_drunet(), folder / "whole.safetensors").read_bytes()
    (folder / "half.safetensors").write_bytes(whole[: len(whole) // 2])
    return folder / "half.safetensors"


def _truncated_pth(folder):
    torch.save(deepinv.models.DnCNN(1, 1, depth=5, nf=8, pretrained=None).state_dict(), folder / "whole.pth")
    whole = (folder / "whole.pth").read_bytes()
    (folder / "half.pth").write_bytes(whole[: len(whole) // 2])
    return folder / "half.pth"


def _empty_pth(folder):
    (folder / "empty.pth").write_bytes(b"")
    return folder / "empty.pth"


@pytest.mark.parametrize("make, expect", [
    (_truncated_safetensors, ("not a readable safetensors file",)),
    (_truncated_pth, ("not a readable torch weights file",)),
    (_empty_pth, ("not a readable torch weights file",)),
], ids=["half-safetensors", "half-pth", "empty-pth"])
def test_truncated_files_are_refused(capsys, tmp_path, deblur_input, make, expect):
    _refused(capsys, tmp_path, deblur_input, make(tmp_path), *expect)


# --------------------------------------------------------------------------------------------------------
# (d) a pickle that would run code
# --------------------------------------------------------------------------------------------------------

def _torch_saved_object(folder, marker):
    torch.save(_Payload(marker), folder / "object.pth")
    return folder / "object.pth"


def _payload_inside_state_dict(folder, marker):
    torch.save({"in_conv.weight": torch.zeros(8, 1, 3, 3), "hook": _Payload(marker)}, folder / "mixed.pth")
    return folder / "mixed.pth"


def _plain_pickle(folder, marker):
    with open(folder / "plain.pth", "wb") as handle:
        pickle.dump(_Payload(marker), handle)
    return folder / "plain.pth"


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 4")      # torch's note on the plain pickle
@pytest.mark.parametrize("make", [_torch_saved_object, _payload_inside_state_dict, _plain_pickle],
                         ids=["torch-save-object", "payload-in-state-dict", "plain-pickle"])
def test_pickle_is_refused_and_never_executed(capsys, tmp_path, deblur_input, make):
    # The payload is live: unpickling it does create its marker.
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_Payload(control)))
    assert control.exists()

    marker = tmp_path / "marker"
    weights = make(tmp_path, marker)
    _refused(capsys, tmp_path, deblur_input, weights, "refused", "unpickle")
    assert not marker.exists()
    with pytest.raises(WeightsError, match="refused"):
        load_denoiser(str(weights))
    assert not marker.exists()


def test_pickle_refusal_message_is_plain_text(tmp_path):
    weights = _torch_saved_object(tmp_path, tmp_path / "marker")
    with pytest.raises(WeightsError) as info:
        load_network(str(weights))
    assert "\x1b" not in str(info.value)


# --------------------------------------------------------------------------------------------------------
# deepinv .pth files: rebuilt with the right sizes, same outputs
# --------------------------------------------------------------------------------------------------------

def _same_outputs(original, path):
    x = _image()
    network, description = load_network(str(path))
    denoiser = load_denoiser(str(path))
    assert isinstance(denoiser, NetworkDenoiser) and not network.training
    with torch.no_grad():
        expected = original.eval()(x, SIGMA)
        assert torch.equal(network(x, SIGMA), expected)
        # the denoiser keeps the weights channels-last (oneDNN's layout): the same sums in another order
        torch.testing.assert_close(denoiser(x, SIGMA), expected, rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in network.parameters()) == sum(p.numel() for p in original.parameters())
    return network, description


@pytest.mark.parametrize("blocks", [
    1,
    2,
])
def test_deepinv_drunet_pth_loads_and_reproduces(tmp_path, blocks):
    torch.manual_seed(0)
    original = deepinv.models.DRUNet(in_channels=1, out_channels=1, nc=(8, 16, 32, 64), nb=blocks, pretrained=None)
    torch.save(original.state_dict(), tmp_path / "drunet_gray.pth")
    network, description = _same_outputs(original, tmp_path / "drunet_gray.pth")
    assert isinstance(network, deepinv.models.DRUNet)
    assert description["architecture"] == "deepinv-drunet"


def test_deepinv_dncnn_pth_loads_and_reproduces(tmp_path):
    torch.manual_seed(0)
    original = deepinv.models.DnCNN(1, 1, depth=5, nf=8, pretrained=None)
    torch.save(original.state_dict(), tmp_path / "dncnn_sigma2_gray.pth")
    network, description = _same_outputs(original, tmp_path / "dncnn_sigma2_gray.pth")
    assert isinstance(network, deepinv.models.DnCNN) and len(network.conv_list) == 3
    assert description["architecture"] == "deepinv-dncnn"


def test_deepinv_pth_with_state_dict_key_loads(tmp_path):
    """Checkpoints that wrap the weights as {"state_dict": ...} are read too."""
    torch.manual_seed(1)
    original = deepinv.models.DnCNN(1, 1, depth=5, nf=8, pretrained=None)
    torch.save({"state_dict": original.state_dict()}, tmp_path / "wrapped.pth")
    _same_outputs(original, tmp_path / "wrapped.pth")


# --------------------------------------------------------------------------------------------------------
# recon .safetensors files
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("architecture", ["small-drunet", "dncnn"])
def test_recon_safetensors_loads_and_reproduces(tmp_path, architecture):
    torch.manual_seed(0)
    original = _small_drunet() if architecture == "small-drunet" else DnCNN(depth=4, features=8).eval()
    path = _save_safetensors(original, tmp_path / "mine.safetensors", architecture=architecture)
    network, description = _same_outputs(original, path)
    assert type(network) is ARCHITECTURES[architecture]
    assert description == {"name": "mine", "architecture": architecture, "arguments": original.architecture(),
                           "file": str(path)}


def test_recon_safetensors_with_correct_sidecar_sha256_loads(tmp_path):
    original = _small_drunet(seed=3)
    path = _save_safetensors(original, tmp_path / "mine.safetensors")
    (tmp_path / "mine.json").write_text(json.dumps({"name": "mine", "sha256": sha256_of(path)}))
    _, description = _same_outputs(original, path)
    assert description["sha256"] == sha256_of(path)


def test_sidecar_that_is_not_an_object_is_refused(tmp_path):
    path = _save_safetensors(_small_drunet(), tmp_path / "mine.safetensors")
    (tmp_path / "mine.json").write_text("[1, 2]")
    with pytest.raises(WeightsError, match="mine"):
        load_network(str(path))


# --------------------------------------------------------------------------------------------------------
# unknown names
# --------------------------------------------------------------------------------------------------------

def test_unknown_name_names_it_and_lists_the_shipped_models(tmp_path):
    missing = tmp_path / "no-such-model.safetensors"
    for name in ("no-such-model", str(missing)):
        with pytest.raises(WeightsError) as info:
            load_network(name)
        message = str(info.value)
        assert message.startswith(f"{name}: no such weights file, and not a shipped model")
        shipped = sorted(shipped_models())
        assert f"(shipped: {', '.join(shipped) or 'none shipped'})" in message


# --------------------------------------------------------------------------------------------------------
# shipped-model plumbing against a manifest in tmp_path
# --------------------------------------------------------------------------------------------------------

@pytest.fixture
def fake_shipped(tmp_path, monkeypatch):
    """A weights folder holding one tiny model, ``tiny-test``, with a manifest entry as ``recon train`` writes."""
    folder = tmp_path / "weights"
    folder.mkdir()
    network = _small_drunet(seed=5)
    path = _save_safetensors(network, folder / "tiny-test.safetensors")
    entry = {"name": "tiny-test", "file": path.name, "description": "a tiny test network",
             "architecture": "small-drunet", "arguments": network.architecture(), "sha256": sha256_of(path),
             "parameters": sum(p.numel() for p in network.parameters()), "sigma_range_255": [1.0, 60.0],
             "training": {"steps": 0, "wall_seconds": 0.0, "device": "cpu", "command": "none"},
             "data": {"phantom": {"share": 1.0}}, "validation": {"psnr_db": 30.0, "sigma_255": 25.0}}
    (folder / "manifest.json").write_text(json.dumps({"models": [entry]}))
    monkeypatch.setattr(registry, "WEIGHTS_DIR", folder)
    monkeypatch.setattr(registry, "MANIFEST", folder / "manifest.json")
    return network, path, entry


def test_shipped_name_loads_with_its_manifest_entry(fake_shipped):
    network, path, entry = fake_shipped
    assert list(shipped_models()) == ["tiny-test"]
    loaded, description = load_network("tiny-test")
    assert description == entry
    with torch.no_grad():
        assert torch.equal(loaded(_image(), SIGMA), network(_image(), SIGMA))
    with pytest.raises(WeightsError, match=r"\(shipped: tiny-test\)"):
        load_network("tiny")


def test_tampered_shipped_file_is_refused(capsys, tmp_path, deblur_input, fake_shipped):
    _, path, entry = fake_shipped
    _save_safetensors(_small_drunet(seed=6), path)          # same name and size, other weights
    assert sha256_of(path) != entry["sha256"]
    with pytest.raises(WeightsError, match="does not match the manifest") as info:
        load_network("tiny-test")
    assert str(path) in str(info.value)
    output = tmp_path / "result.h5"
    capsys.readouterr()
    assert main(["run", "deblur-pnp", "--input", str(deblur_input), "--output", str(output),
                 "--set", "prior.denoiser=tiny-test", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "does not match" in err
    assert not output.exists()
    assert main(["weights", "--verify"]) == 0
    assert "file: MISMATCH or missing" in capsys.readouterr().out


def test_recon_weights_lists_and_verifies(capsys, fake_shipped):
    _, _, entry = fake_shipped
    capsys.readouterr()
    assert main(["weights"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny-test  (small-drunet, 0.01 M parameters")
    assert f"sha256: {entry['sha256']}" in out and "file:" not in out
    assert main(["weights", "--verify"]) == 0
    assert capsys.readouterr().out.count("file: ok") == 1


def test_missing_shipped_file_is_a_weights_error(fake_shipped):
    _, path, _ = fake_shipped
    path.unlink()
    with pytest.raises(WeightsError, match="tiny-test"):
        load_network("tiny-test")


# --------------------------------------------------------------------------------------------------------
# the real shipped models
# --------------------------------------------------------------------------------------------------------

def _shipped_or_skip() -> dict:
    models = shipped_models()
    if not models:
        pytest.skip("no shipped models yet: recon/weights/manifest.json is missing or empty")
    return models


def test_every_shipped_model_matches_its_manifest():
    from recon.datasets.phantoms import random_phantom
    from recon.metrics import psnr

    from recon.solvers.unrolled_deconvolution import UNROLLED_ARCHITECTURES

    for name, entry in _shipped_or_skip().items():
        path = registry.WEIGHTS_DIR / entry["file"]
        assert path.is_file(), name
        assert sha256_of(path) == entry["sha256"], name
        network, description = load_network(name)
        assert description == entry
        if entry["architecture"] in UNROLLED_ARCHITECTURES:     # a solver, not a denoiser: tests/test_unrolled_*
            assert network.architecture() == entry["arguments"], name
            assert sum(p.numel() for p in network.parameters()) == entry["parameters"], name
            continue
        assert type(network) is ARCHITECTURES[entry["architecture"]], name
        assert {key: network.architecture()[key] for key in entry["arguments"]} == entry["arguments"], name
        assert sum(p.numel() for p in network.parameters()) == entry["parameters"], name
        if entry["architecture"] in ("lpn", "lpn-1d", "edge-map-net"):
            continue    # learned regularisers, not denoisers of (x, sigma): tests/test_lpn*.py, test_weighted_tv_*
        if entry["arguments"].get("spatial_dims", 2) == 3:
            # A held-out radar magnitude volume (the radar tests' scene 0; training seeds start at 100000).
            from recon.datasets.image_sources import radar_volumes

            clean = torch.from_numpy(radar_volumes("test", 1)["radar-0"])[None, None]
        else:
            # A held-out phantom (the training phantoms are seeded (1, k), validation (2, k)).
            clean = random_phantom(64, seed=(3, 0))
        noisy = clean + SIGMA * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            out = network(noisy, SIGMA)
        assert out.shape == clean.shape and bool(torch.isfinite(out).all()), name
        # A trained denoiser denoises: a mid-training checkpoint measured +8 dB here.
        assert psnr(out, clean, 1.0) > psnr(noisy, clean, 1.0) + 3.0, name
        # the denoiser wrapper keeps 2D weights channels-last: the same network up to float rounding
        torch.testing.assert_close(load_denoiser(name)(noisy, SIGMA), out, rtol=1e-5, atol=1e-5, msg=name)


def test_recon_weights_prints_every_shipped_model(capsys):
    models = _shipped_or_skip()
    capsys.readouterr()
    assert main(["weights"]) == 0
    out = capsys.readouterr().out
    for name, entry in models.items():
        assert f"{name}  ({entry['architecture']}" in out
        assert f"sha256: {entry['sha256']}" in out
    assert main(["weights", "--verify"]) == 0
    out = capsys.readouterr().out
    assert out.count("file: ok") == len(models) and "MISMATCH" not in out
