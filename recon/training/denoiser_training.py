r"""Training a denoiser: seeded, with progress, checkpoints, resume, a curve figure and shipped-style weights.

The network learns :math:`\min_\theta \mathbb E\,\|f_\theta(x + \sigma n, \sigma) - x\|^2` over
patches of the training split (:mod:`recon.training.patches`), with σ drawn per patch;
its minimiser is the MMSE denoiser :math:`E[x \mid x + \sigma n]` the denoiser contract asks
for. Adam with a cosine-decayed step. Every ``validate_every`` steps the mean PSNR on the
validation split (centre crops, noise fixed by the seed) is recorded and shown in the
progress bar beside the running loss.

``OUTPUT_DIR/checkpoint.pt`` (tensors and plain numbers only, read with
``weights_only=True``) holds the weights, the optimiser, the random generator and the
curves; a rerun with the same directory resumes from it and gives the same weights as an
uninterrupted run. At the end ``NAME.safetensors``, ``NAME.json`` (its manifest entry)
and ``NAME-training.png`` (loss and validation PSNR against step) are written.
The device is CUDA when there is one, else CPU; nothing else changes.
"""

from __future__ import annotations

import json
import math
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from recon.datasets.image_sources import PHANTOM_SEEDS, images
from recon.metrics import psnr
from recon.training.patches import PatchSampler

FAMILIES = ("natural", "medical", "phantom", "radar")


def network_arguments(section: dict) -> tuple[str, dict]:
    """``(architecture, constructor arguments)`` from a training config's ``network`` section."""
    if section["kind"] == "small-drunet":
        channels = [section["width"] * 2**level for level in range(section["levels"])]
        arguments = {"in_channels": 1, "channels": channels, "blocks": section["blocks"]}
        if section["spatial_dims"] != 2:
            arguments["spatial_dims"] = section["spatial_dims"]
        return "small-drunet", arguments
    if section["spatial_dims"] != 2:
        raise ValueError(f"network.spatial_dims: {section['kind']} is 2D only; use kind small-drunet for volumes")
    if section["kind"] == "edm-drunet":
        channels = [section["width"] * 2**level for level in range(section["levels"])]
        return "edm-drunet", {"in_channels": 1, "channels": channels, "blocks": section["blocks"],
                              "sigma_data": section["sigma_data"]}
    return "dncnn", {"in_channels": 1, "depth": section["depth"], "features": section["features"],
                     "noise_map": section["noise_map"]}


def _family_images(data: dict, split: str) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for family in FAMILIES:
        if data[family] > 0:
            count = data[f"{family}_count"] if family in ("phantom", "radar") and split == "train" else 8
            out[family] = images(family, split, count=count, size=data["phantom_size"])
    return out


def _validation_set(data: dict, seed: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Centre crops (cubes, for volumes) of the validation images of every family trained on, and fixed noisy copies."""
    generator = torch.Generator().manual_seed(seed + 1)
    sigma = data["validation_sigma"] / 255.0
    clean, noisy = [], []
    for named in _family_images(data, "validation").values():
        for image in named.values():
            side = min(data["validation_crop"], *image.shape)
            window = tuple(slice((n - side) // 2, (n - side) // 2 + side) for n in image.shape)
            crop = torch.from_numpy(np.ascontiguousarray(image[window]))[None, None]
            clean.append(crop)
            noisy.append(crop + sigma * torch.randn(crop.shape, generator=generator))
    return clean, noisy


def _loss_weight(sigma: torch.Tensor, data: dict, network: dict) -> torch.Tensor:
    r"""1 for a denoiser; EDM's :math:`(\sigma^2 + \sigma_d^2)/(\sigma\sigma_d)^2` for a diffusion model."""
    if data["noise"] != "edm":
        return torch.ones_like(sigma)
    sigma_data = network["sigma_data"]
    return (sigma ** 2 + sigma_data ** 2) / (sigma * sigma_data) ** 2


def noise_fields(data: dict) -> dict:
    """The manifest's record of the training noise: a uniform σ range (/255), or EDM's log-normal σ."""
    if data["noise"] == "edm":
        return {"noise": {"kind": "edm", "ln_sigma_mean": data["edm_mean"], "ln_sigma_std": data["edm_std"]}}
    return {"sigma_range_255": list(data["sigma_range"])}


def check_training_kind(kind: str, config: dict, source) -> None:
    """``recon train diffusion`` needs an EDM network and EDM noise; ``denoiser`` the other two networks."""
    diffusion = config["network"]["kind"] == "edm-drunet" and config["data"]["noise"] == "edm"
    if kind == "diffusion" and not diffusion:
        raise ValueError(f"{source}: network.kind: recon train diffusion needs network.kind edm-drunet and "
                         f"data.noise edm, got {config['network']['kind']} and {config['data']['noise']}")
    if kind == "denoiser" and config["network"]["kind"] == "edm-drunet":
        raise ValueError(f"{source}: network.kind: edm-drunet is a diffusion model; use recon train diffusion")


def _learning_rate(base: float, step: int, steps: int) -> float:
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / steps)))


def resume(checkpoint: Path, device, module, optimiser, generator, history: dict, *, key: str) -> tuple[dict, int, float]:
    """``(history, step, seconds)`` of ``checkpoint`` with ``module`` (its weights under ``key``), the optimiser and
    the generator restored from it; the fresh ``history``, 0 and 0 when there is none yet."""
    if not checkpoint.exists():
        return history, 0, 0.0
    state = torch.load(checkpoint, map_location=device, weights_only=True)
    module.load_state_dict(state[key])
    optimiser.load_state_dict(state["optimiser"])
    generator.set_state(state["generator"])
    return ({name: [float(v) for v in values] for name, values in state["history"].items()}, int(state["step"]),
            float(state["seconds"]))


def _save_checkpoint(path: Path, state: dict) -> None:
    temporary = path.with_suffix(".partial")
    torch.save(state, temporary)
    temporary.replace(path)


def training_curve_figure(history: dict, path: Path, title: str, *, loss_label: str = "training MSE (smoothed)",
                          validation: str = "validation_psnr", validation_label: str = "PSNR (dB)") -> None:
    """Running training loss (smoothed, log scale) and the validation figure ``history[validation]`` against step."""
    from recon.figures import pyplot

    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    steps, losses = np.asarray(history["step"]), np.asarray(history["loss"])
    if len(losses):
        window = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        axes[0].semilogy(steps[window - 1:], smooth)
    axes[0].set(xlabel="step", ylabel=loss_label, title="loss")
    axes[1].plot(history["validation_step"], history[validation], "o-")
    if validation != "validation_psnr":
        axes[1].set_yscale("log")
    axes[1].set(xlabel="step", ylabel=validation_label, title="validation")
    figure.suptitle(title)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def train_denoiser(config: dict, output_dir, *, device: str | None = None, progress: bool = True,
                   command: str | None = None) -> dict:
    """Train the denoiser ``config`` describes into ``output_dir``; returns its manifest entry.

    Resumes from ``output_dir/checkpoint.pt`` when there is one.
    """
    from safetensors.torch import save_file
    from tqdm import tqdm

    from recon.networks import build_network
    from recon.weights.registry import sha256_of

    output_dir = Path(output_dir)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    data, training = config["data"], config["training"]
    volumes = data["radar"] > 0
    images_too = any(data[family] > 0 for family in FAMILIES if family != "radar")
    if volumes != (config["network"]["spatial_dims"] == 3) or (volumes and images_too):
        raise ValueError("data.radar: radar volumes train a 3D network alone (network.spatial_dims=3, the image "
                         "shares 0), and a 3D network trains on them alone")
    torch.manual_seed(training["seed"])
    architecture, arguments = network_arguments(config["network"])
    network = build_network(architecture, arguments).to(device)
    initial = initial_weights(network, architecture, arguments, training["initial_weights"])
    output_dir.mkdir(parents=True, exist_ok=True)     # after every check of the config and the starting weights
    optimiser = torch.optim.Adam(network.parameters(), lr=training["learning_rate"])
    generator = torch.Generator().manual_seed(training["seed"])
    train_named = _family_images(data, "train")
    train_images = {family: list(named.values()) for family, named in train_named.items()}
    sampler = PatchSampler(train_images, {f: data[f] for f in FAMILIES}, patch=data["patch"], generator=generator)
    val_clean, val_noisy = _validation_set(data, training["seed"])
    sigma_range = (data["sigma_range"][0] / 255.0, data["sigma_range"][1] / 255.0)
    log_normal = (data["edm_mean"], data["edm_std"]) if data["noise"] == "edm" else None
    history = {"step": [], "loss": [], "validation_step": [], "validation_psnr": []}
    checkpoint = output_dir / "checkpoint.pt"
    history, step, seconds = resume(checkpoint, device, network, optimiser, generator, history, key="network")

    def validate() -> float:
        network.eval()
        with torch.no_grad():
            scores = [psnr(network(noisy.to(device), data["validation_sigma"] / 255.0).cpu().clamp(0, 1), clean,
                           data_range=1.0) for clean, noisy in zip(val_clean, val_noisy)]
        network.train()
        return float(np.mean(scores)) if scores else math.nan

    steps = training["steps"]
    bar = tqdm(total=steps, initial=step, desc=config["name"], disable=not progress, dynamic_ncols=True)
    started = time.perf_counter() - seconds
    network.train()
    while step < steps:
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(training["learning_rate"], step, steps)
        clean, noisy, sigma = sampler.batch(data["batch"], sigma_range, device, log_normal=log_normal)
        squared = ((network(noisy, sigma) - clean) ** 2).flatten(1).mean(dim=1)
        loss = torch.mean(squared * _loss_weight(sigma, data, config["network"]))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        history["step"].append(step)
        history["loss"].append(float(loss.detach()))
        last = step == steps or (training["time_limit"] and time.perf_counter() - started > training["time_limit"])
        if step % training["validate_every"] == 0 or last:
            history["validation_step"].append(step)
            history["validation_psnr"].append(validate())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(history['loss'][-50:]):.2e}",
                        val_psnr=f"{history['validation_psnr'][-1]:.2f}" if history["validation_psnr"] else "-")
        if step % training["checkpoint_every"] == 0 or last:
            _save_checkpoint(checkpoint, {
                "network": network.state_dict(), "optimiser": optimiser.state_dict(),
                "generator": generator.get_state(), "step": step, "seconds": time.perf_counter() - started,
                "history": {key: torch.tensor(value, dtype=torch.float64) for key, value in history.items()}})
        if last:
            break
    bar.close()
    wall = time.perf_counter() - started
    name = config["name"]
    weights = output_dir / f"{name}.safetensors"
    state = {key: value.detach().cpu().contiguous() for key, value in network.state_dict().items()}
    save_file(state, str(weights), metadata={"architecture": architecture, "arguments": json.dumps(arguments)})
    training_curve_figure(history, output_dir / f"{name}-training.png", f"{name}: {step} steps")
    entry = {
        "name": name,
        "file": weights.name,
        "description": config["description"],
        "architecture": architecture,
        "arguments": arguments,
        "sha256": sha256_of(weights),
        "parameters": int(sum(v.numel() for v in state.values())),
        **noise_fields(data),
        "training": {
            "command": command or " ".join(shlex.quote(a) for a in sys.argv),
            "config": config,
            "steps": step,
            "wall_seconds": round(wall, 1),
            "device": device if device == "cpu" else torch.cuda.get_device_name(),
            "host": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            **({"initial_weights": initial} if initial else {}),
        },
        "data": _data_manifest(data, {family: sorted(named) for family, named in train_named.items()}),
        "validation": {"psnr_db": history["validation_psnr"][-1] if history["validation_psnr"] else None,
                       "sigma_255": data["validation_sigma"]},
    }
    (output_dir / f"{name}.json").write_text(json.dumps(entry, indent=2) + "\n")
    return entry


def initial_weights(network, architecture: str, arguments: dict, name_or_path: str | None) -> dict | None:
    """Load ``name_or_path`` (a shipped model or a file) into ``network`` before training; returns what it was, for
    the manifest.

    The file must hold the same architecture with the same arguments: fine-tuning keeps the network's shape.
    """
    if name_or_path is None:
        return None
    from recon.weights.registry import WeightsError, load_configured_network, sha256_of

    start, description = load_configured_network("training.initial_weights", name_or_path)
    if description.get("architecture") != architecture or description.get("arguments") != arguments:
        raise WeightsError(f"training.initial_weights: {name_or_path} is a {description.get('architecture')} "
                           f"{description.get('arguments')}, not the {architecture} {arguments} this config trains")
    network.load_state_dict(start.state_dict())
    # a manifest entry's sha256 was checked against the file as it loaded; a bare file is hashed here
    return {"name": description["name"], "sha256": description.get("sha256") or sha256_of(Path(description["file"]))}


def _data_manifest(data: dict, trained_on: dict[str, list[str]]) -> dict:
    """Which images were trained on (``trained_on``: those found), tuned on and held out, for the manifest."""
    from recon.datasets.image_sources import RADAR_GRID, RADAR_SEEDS, SPLITS

    out = {}
    for family in FAMILIES:
        if family == "radar":
            if data[family] > 0:
                out[family] = {"share": data[family],
                               "train": f"|extended_targets({RADAR_GRID}, seed)|, seeds {RADAR_SEEDS['train']} to "
                                        f"{RADAR_SEEDS['train'] + data['radar_count'] - 1}",
                               "validation": f"seeds {RADAR_SEEDS['validation']} to {RADAR_SEEDS['validation'] + 7}",
                               "test": "seeds 0 to 99 (recon's radar tests and scripts)"}
        elif family == "phantom":
            out[family] = {"share": data[family],
                           "train": f"random_phantoms({data['phantom_size']}, {data['phantom_count']}, "
                                    f"seed={PHANTOM_SEEDS['train']})",
                           "validation": f"random_phantoms(size, n, seed={PHANTOM_SEEDS['validation']})",
                           "test": f"random_phantoms(size, n, seed={PHANTOM_SEEDS['test']})"}
        else:
            out[family] = {"share": data[family], **SPLITS[family], "train": trained_on.get(family, [])}
    return out
