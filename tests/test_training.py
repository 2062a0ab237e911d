"""The training loop's mechanics on a throwaway 2-channel network (a few steps, seconds): seeding, resume,
checkpoints, the curve figure and the manifest entry. No test depends on what it learns: the shipped
weights are trained by `recon train` (scripts/train_denoisers.sh), never in tests."""

from __future__ import annotations

import json

import pytest
import torch

from recon.training import denoiser_training
from recon.training.denoiser_config import load_training_config
from recon.weights.registry import load_network, sha256_of

TINY = ["network.width=2", "network.levels=2", "data.natural=0", "data.medical=0", "data.phantom=1",
        "data.phantom_count=3", "data.phantom_size=32", "data.patch=16", "data.batch=2",
        "data.validation_crop=32", "training.steps=4", "training.validate_every=2", "training.checkpoint_every=2",
        "name=tiny"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Bit-identical resumes need a fixed reduction order: oneDNN's multi-threaded weight gradients may vary
    in the last bits from run to run (seen with 2 threads on a loaded machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _train(folder, **kwargs):
    return denoiser_training.train_denoiser(load_training_config("denoiser-phantom", TINY), folder,
                                            device="cpu", progress=False, command="test", **kwargs)


@pytest.fixture(scope="module")
def straight(tmp_path_factory, one_thread):
    folder = tmp_path_factory.mktemp("straight")
    return folder, _train(folder)


def test_training_writes_weights_manifest_entry_curve_and_checkpoint(straight):
    folder, entry = straight
    weights = folder / "tiny.safetensors"
    assert entry["sha256"] == sha256_of(weights)
    assert json.loads((folder / "tiny.json").read_text()) == entry
    assert (folder / "tiny-training.png").stat().st_size > 1000 and (folder / "checkpoint.pt").exists()
    assert entry["architecture"] == "small-drunet" and entry["arguments"]["channels"] == [2, 4]
    assert entry["training"]["steps"] == 4 and entry["training"]["command"] == "test"
    assert entry["data"]["phantom"]["train"].endswith("seed=1)") and entry["data"]["phantom"]["test"].endswith("seed=3)")
    assert len(entry["validation"]) == 2 and entry["validation"]["psnr_db"] > 0
    network, description = load_network(str(weights))     # the sidecar's sha256 is checked
    assert description["sha256"] == entry["sha256"]
    assert sum(p.numel() for p in network.parameters()) == entry["parameters"]


def test_same_seed_same_weights_and_a_resumed_run_matches_an_uninterrupted_one(straight, tmp_path, monkeypatch):
    folder, entry = straight
    again = _train(tmp_path / "again")
    _assert_same_weights(tmp_path / "again", folder)               # seeded
    other = denoiser_training.train_denoiser(load_training_config("denoiser-phantom", TINY + ["training.seed=1"]),
                                             tmp_path / "other", device="cpu", progress=False)
    with pytest.raises(AssertionError):                            # another seed: other weights
        _assert_same_weights(tmp_path / "other", folder)

    saved = denoiser_training._save_checkpoint

    def crash_after_first_checkpoint(path, state):
        saved(path, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(denoiser_training, "_save_checkpoint", crash_after_first_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "interrupted")
    assert torch.load(tmp_path / "interrupted" / "checkpoint.pt", weights_only=True)["step"] == 2
    monkeypatch.setattr(denoiser_training, "_save_checkpoint", saved)
    _train(tmp_path / "interrupted")
    _assert_same_weights(tmp_path / "interrupted", folder)


def _assert_same_weights(folder, reference):
    """Equal to float32 rounding: the same patches, noise and optimiser state. (oneDNN may pick another
    convolution algorithm on a later call in the same process, so the last bits can differ.)"""
    from safetensors.torch import load_file

    a, b = load_file(str(folder / "tiny.safetensors")), load_file(str(reference / "tiny.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_training_config_errors_name_the_key():
    from recon.experiments.schema import ConfigError

    with pytest.raises(ConfigError, match="--set data.patch=4: data.patch: expected an integer >= 8"):
        load_training_config("denoiser-general", ["data.patch=4"])
    with pytest.raises(ConfigError, match="no shipped config of that name .*denoiser-general"):
        load_training_config("denoiser-nonesuch")


def test_a_3d_network_trains_on_radar_volumes_alone(tmp_path):
    tiny_3d = ["network.spatial_dims=3", "network.width=2", "network.levels=2", "data.radar_count=3",
               "data.patch=8", "data.batch=2", "data.validation_crop=16", "training.steps=2",
               "training.validate_every=2", "training.checkpoint_every=2", "name=tiny3d"]
    entry = denoiser_training.train_denoiser(load_training_config("denoiser-radar3d", tiny_3d), tmp_path,
                                             device="cpu", progress=False)
    assert entry["arguments"]["spatial_dims"] == 3 and entry["data"]["radar"]["train"].endswith("100002")
    network, _ = load_network(str(tmp_path / "tiny3d.safetensors"))
    assert network(torch.rand(1, 1, 9, 9, 9), 0.1).shape == (1, 1, 9, 9, 9)
    with pytest.raises(ValueError, match="data.radar: radar volumes train a 3D network alone"):
        denoiser_training.train_denoiser(load_training_config("denoiser-radar3d", tiny_3d + ["data.phantom=1"]),
                                         tmp_path / "mixed", device="cpu", progress=False)


def test_a_diffusion_model_trains_with_edm_noise_and_loss_weight(tmp_path):
    tiny = [item for item in TINY if not item.startswith("name=")] + ["name=tiny-edm", "training.steps=2"]
    config = load_training_config("diffusion-phantom", tiny)
    entry = denoiser_training.train_denoiser(config, tmp_path, device="cpu", progress=False)
    assert entry["architecture"] == "edm-drunet" and entry["arguments"]["sigma_data"] == 0.5
    assert entry["noise"] == {"kind": "edm", "ln_sigma_mean": -1.2, "ln_sigma_std": 1.2}
    assert "sigma_range_255" not in entry
    network, _ = load_network(str(tmp_path / "tiny-edm.safetensors"))
    x = torch.rand(1, 1, 16, 16)
    torch.testing.assert_close(network(x, 1e-5), x, atol=1e-3, rtol=0)      # EDM: the identity as σ → 0


def test_edm_loss_weight_and_log_normal_noise():
    from recon.training.patches import PatchSampler

    data = {"noise": "edm"}
    sigma = torch.tensor([0.1, 0.5, 2.0])
    weight = denoiser_training._loss_weight(sigma, data, {"sigma_data": 0.5})
    torch.testing.assert_close(weight, (sigma**2 + 0.25) / (sigma * 0.5) ** 2)
    assert torch.equal(denoiser_training._loss_weight(sigma, {"noise": "uniform"}, {}), torch.ones(3))
    images = {"phantom": [torch.rand(32, 32).numpy()]}
    sampler = PatchSampler(images, {"phantom": 1.0}, patch=8, generator=torch.Generator().manual_seed(0))
    _, _, drawn = sampler.batch(4000, (0.0, 1.0), log_normal=(-1.2, 1.2))
    logs = drawn.double().log()
    assert abs(float(logs.mean()) + 1.2) < 0.06 and abs(float(logs.std()) - 1.2) < 0.05


def test_recon_train_checks_the_kind_against_the_config(tmp_path, capsys):
    from recon.cli import main

    assert main(["train", "diffusion", "denoiser-phantom", "--output-dir", str(tmp_path), "--quiet"]) == 2
    assert "recon train diffusion needs network.kind edm-drunet and data.noise edm" in capsys.readouterr().err
    assert main(["train", "denoiser", "diffusion-phantom", "--output-dir", str(tmp_path), "--quiet"]) == 2
    assert "edm-drunet is a diffusion model; use recon train diffusion" in capsys.readouterr().err


def test_fine_tuning_starts_from_the_given_weights_and_the_manifest_names_them(straight, tmp_path):
    folder, _ = straight
    start = folder / "tiny.safetensors"
    tuned = denoiser_training.train_denoiser(
        load_training_config("denoiser-phantom", TINY + ["training.steps=1", "training.learning_rate=1e-9",
                                                         f"training.initial_weights={start}", "name=tuned"]),
        tmp_path, device="cpu", progress=False, command="test")
    assert tuned["training"]["initial_weights"] == {"name": "tiny", "sha256": sha256_of(start)}
    before, _ = load_network(str(start))
    after, _ = load_network(str(tmp_path / "tuned.safetensors"))
    for (name, old), new in zip(before.state_dict().items(), after.state_dict().values()):
        torch.testing.assert_close(new, old, atol=1e-6, rtol=0, msg=name)     # one step of 1e-9 from the start
    scratch = denoiser_training.train_denoiser(
        load_training_config("denoiser-phantom", TINY + ["training.steps=1", "name=scratch"]), tmp_path / "scratch",
        device="cpu", progress=False, command="test")
    assert "initial_weights" not in scratch["training"]


def test_fine_tuning_from_another_architecture_is_one_line_naming_the_key(straight, tmp_path):
    from recon.weights.registry import WeightsError

    folder, _ = straight
    start = folder / "tiny.safetensors"
    wider = [item for item in TINY if not item.startswith("network.width")] + [
        "network.width=3", f"training.initial_weights={start}"]
    with pytest.raises(WeightsError, match=r"^training.initial_weights: .*tiny.safetensors is a small-drunet "
                                           r".*'channels': \[2, 4\].*not the small-drunet .*'channels': \[3, 6\]"):
        denoiser_training.train_denoiser(load_training_config("denoiser-phantom", wider), tmp_path,
                                         device="cpu", progress=False)
    with pytest.raises(WeightsError, match=r"^training.initial_weights: no-such-model: no such weights file, and not "
                                           r"a shipped model"):
        denoiser_training.train_denoiser(load_training_config("denoiser-phantom", TINY + [
            "training.initial_weights=no-such-model"]), tmp_path / "never", device="cpu", progress=False)
    assert not (tmp_path / "never").exists()                 # nothing written before the start is found
