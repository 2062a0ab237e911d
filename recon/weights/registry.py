r"""Shipped and user weights: the manifest, the sha256 check, and loading without unpickling.

A shipped model is ``recon/weights/NAME.safetensors`` plus its entry in
``manifest.json`` (architecture and arguments, sha256, training data and command,
wall time, device, validation figures). :func:`load_network` takes

* a shipped model's name (``drunet-small-general``): its sha256 is checked first;
* a path to a ``.safetensors`` file written by ``recon train`` (its header names the
  architecture; a manifest-style ``NAME.json`` beside it, if any, supplies the sha256
  to check);
* a path to deepinv's ``drunet_gray.pth`` or a ``dncnn_*.pth`` (or any state dict of
  deepinv's ``DRUNet`` / ``DnCNN``): read with ``torch.load(weights_only=True)``, so a
  pickle that would run code is refused, never executed.

Every failure is a :class:`WeightsError` whose message is one line naming the file and
what was expected.

>>> sorted(shipped_models())      # doctest: +NORMALIZE_WHITESPACE
['drunet-small-general', 'drunet-small-phantom', 'drunet-small-photo', 'drunet3d-small-radar', 'edm-small-natural',
 'edm-small-phantom', 'lpn-laplace-l2', 'lpn-laplace-pm', 'lpn-phantom', 'tv-weights-ct', 'unrolled-galaxy-admm',
 'unrolled-limited-angle-lpd']
>>> network, entry = load_network("drunet-small-phantom")
>>> entry["architecture"], entry["sha256"] == sha256_of(WEIGHTS_DIR / entry["file"])
('small-drunet', True)
"""

from __future__ import annotations

import json
from pathlib import Path

from recon.datasets.output_format import sha256_of

WEIGHTS_DIR = Path(__file__).resolve().parent
MANIFEST = WEIGHTS_DIR / "manifest.json"


class WeightsError(ValueError):
    """A weight file that cannot be used; the message is one line naming the file."""


def shipped_models() -> dict[str, dict]:
    """The manifest's entries by model name (empty when nothing is shipped)."""
    if not MANIFEST.exists():
        return {}
    return {entry["name"]: entry for entry in json.loads(MANIFEST.read_text())["models"]}


def resolve(name_or_path: str) -> tuple[Path, dict | None]:
    """The weight file a name or path means, and its manifest entry (``None`` for an unlisted file)."""
    models = shipped_models()
    if name_or_path in models:
        entry = models[name_or_path]
        path = WEIGHTS_DIR / entry["file"]
        if not path.exists():
            raise WeightsError(f"{name_or_path}: the shipped model's file {path} is missing; reinstall recon")
        return path, entry
    path = Path(name_or_path).expanduser()
    if not path.exists():
        known = ", ".join(sorted(models)) or "none shipped"
        raise WeightsError(f"{name_or_path}: no such weights file, and not a shipped model (shipped: {known})")
    sidecar = path.with_suffix(".json")
    entry = None
    if path.suffix == ".safetensors" and sidecar.exists():
        try:
            entry = json.loads(sidecar.read_text())
        except (OSError, ValueError) as error:
            raise WeightsError(f"{sidecar}: not a readable manifest entry ({_first_line(error)})") from None
        if not isinstance(entry, dict):
            raise WeightsError(f"{sidecar}: expected a manifest entry (a JSON object with sha256), "
                               f"got {type(entry).__name__}")
    return path, entry


def _check_sha256(path: Path, entry: dict | None) -> None:
    expected = (entry or {}).get("sha256")
    actual = sha256_of(path) if expected else None
    if expected and actual != expected:
        raise WeightsError(f"{path}: sha256 {actual[:12]}... does not match the manifest's "
                           f"{expected[:12]}...; the file is corrupt or not the one the manifest describes")


def _read_safetensors(path: Path) -> tuple[dict, dict]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise WeightsError(f"{path}: not a readable safetensors file ({_first_line(error)})") from None


def _read_pickled_state_dict(path: Path) -> dict:
    import pickle

    import torch

    if path.stat().st_size == 0:
        raise WeightsError(f"{path}: not a readable torch weights file (it is empty)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "truncated" in str(error).lower() or "ran out of input" in str(error).lower():
            raise WeightsError(f"{path}: truncated or corrupt torch file") from None
        raise WeightsError(f"{path}: refused: it holds pickled objects other than tensors, which recon does not "
                           f"unpickle (that could run code); expected a state dict of tensors (.pth) or a "
                           f".safetensors file") from None
    except Exception as error:      # zip, EOF, storage errors: torch raises many kinds for a damaged file
        raise WeightsError(f"{path}: not a readable torch weights file ({_first_line(error)})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise WeightsError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    return state


def _deepinv_network(path: Path, state: dict):
    """deepinv's DRUNet or DnCNN with the sizes the state dict implies."""
    try:
        return _deepinv_network_from_keys(path, state)
    except (KeyError, IndexError, AttributeError):
        raise WeightsError(f"{path}: looks like deepinv's DRUNet or DnCNN but lacks some of their weights") from None


def _deepinv_network_from_keys(path: Path, state: dict):
    import deepinv

    keys = set(state)
    if "m_head.weight" in keys:
        blocks = _blocks(state, "m_down1")
        downs = [state[f"m_down{k}.{blocks}.weight"] for k in (1, 2, 3)]     # the strided convolutions
        channels = [int(d.shape[1]) for d in downs] + [int(downs[-1].shape[0])]
        in_channels = int(state["m_head.weight"].shape[1]) - 1
        network = deepinv.models.DRUNet(in_channels=in_channels, out_channels=int(state["m_tail.weight"].shape[0]),
                                        nc=channels, nb=blocks, pretrained=None)
        return "deepinv-drunet", network
    if "in_conv.weight" in keys:
        depth = 2 + len({k.split(".")[1] for k in keys if k.startswith("conv_list.")})
        network = deepinv.models.DnCNN(in_channels=int(state["in_conv.weight"].shape[1]),
                                       out_channels=int(state["out_conv.weight"].shape[0]), depth=depth,
                                       bias="in_conv.bias" in keys, nf=int(state["in_conv.weight"].shape[0]),
                                       pretrained=None)
        return "deepinv-dncnn", network
    raise WeightsError(f"{path}: not the weights of a known network (expected deepinv's DRUNet or DnCNN, "
                       f"or a recon .safetensors file)")


def _first_line(error: Exception) -> str:
    """An exception's first line without terminal escapes, at most 160 characters."""
    import re

    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = re.sub(r"\x1b\[[0-9;]*m", "", lines[0]) if lines else type(error).__name__
    return text[:160]


def _blocks(state: dict, prefix: str) -> int:
    return len({k.split(".")[1] for k in state if k.startswith(prefix + ".") and ".res." in k})


def _load_state(path: Path, network, state: dict, architecture: str) -> None:
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = [line.strip() for line in str(error).splitlines() if line.strip()][1:2]
        raise WeightsError(f"{path}: the weights do not fit a {architecture} network "
                           f"({first[0][:160] if first else 'shapes differ'})") from None


def _builders() -> dict:
    """Architecture name -> ``build(arguments)``: recon's networks, and the unrolled solvers made of them."""
    from recon.networks import ARCHITECTURES, build_network
    from recon.solvers.unrolled_deconvolution import UNROLLED_ARCHITECTURES

    return {**{name: (lambda arguments, name=name: build_network(name, arguments)) for name in ARCHITECTURES},
            **UNROLLED_ARCHITECTURES}


def load_network(name_or_path: str):
    """``(network, description)``: the network in eval mode and what it is (its manifest entry, or a dict)."""

    path, entry = resolve(str(name_or_path))
    _check_sha256(path, entry)
    if path.suffix in (".pth", ".pt", ".ckpt", ".pkl", ".pickle"):
        state = _read_pickled_state_dict(path)
        architecture, network = _deepinv_network(path, state)
        _load_state(path, network, state, architecture)
        return network.eval(), {"name": path.name, "architecture": architecture, "file": str(path)}
    if path.suffix != ".safetensors":
        raise WeightsError(f"{path}: unknown weights format {path.suffix or '(no suffix)'!r}; expected "
                           f".safetensors, or a .pth state dict of deepinv's DRUNet / DnCNN")
    state, metadata = _read_safetensors(path)
    architecture = (entry or {}).get("architecture") or metadata.get("architecture")
    arguments = (entry or {}).get("arguments")
    if arguments is None and "arguments" in metadata:
        try:
            arguments = json.loads(metadata["arguments"])
        except ValueError:
            arguments = None
    builders = _builders()
    if architecture not in builders or not isinstance(arguments, dict):
        raise WeightsError(f"{path}: its header names no known architecture (expected metadata 'architecture' "
                           f"in {', '.join(builders)} and 'arguments'; got {architecture!r})")
    try:
        network = builders[architecture](arguments)
    except (TypeError, ValueError, KeyError) as error:
        raise WeightsError(f"{path}: bad arguments for {architecture}: {error}") from None
    _load_state(path, network, state, architecture)
    description = dict(entry) if entry else {"name": path.stem, "architecture": architecture,
                                             "arguments": arguments, "file": str(path)}
    return network.eval(), description


def load_configured_network(key: str, name_or_path: str):
    """:func:`load_network` for a config key: a failure's one line starts with the key (``prior.weights: ...``)."""
    try:
        return load_network(name_or_path)
    except WeightsError as error:
        raise WeightsError(f"{key}: {error}") from None


def _noise_line(entry: dict) -> str:
    """How the model's training noise was drawn: a σ range, or a diffusion model's log-normal σ."""
    noise = entry.get("noise")
    if noise is not None and noise.get("kind") == "edm":
        return (f"diffusion model: ln sigma ~ N({noise['ln_sigma_mean']:g}, {noise['ln_sigma_std']:g}^2) "
                f"(image range [0, 1])")
    low, high = entry["sigma_range_255"]
    return f"sigma range: {low:g}-{high:g} /255"


def describe_shipped(*, verify: bool = False) -> list[str]:
    """``recon weights``: a block per shipped model (name, architecture, data, σ range, size, sha256)."""
    models = shipped_models()
    if not models:
        return ["no shipped models (recon/weights/manifest.json is missing or empty)"]
    lines = []
    for name, entry in models.items():
        path = WEIGHTS_DIR / entry["file"]
        data = entry.get("data", {})
        validation = entry.get("validation", {})
        training = entry.get("training", {})
        lines += [f"{name}  ({entry['architecture']}, {entry.get('parameters', 0) / 1e6:.2f} M parameters, "
                  f"{path.stat().st_size / 1e6 if path.exists() else 0:.1f} MB)",
                  f"  {entry.get('description', '')}"]
        if "kind" in data:          # an unrolled solver: its problem, the seeds it trained on, its validation loss
            lines += [f"  trained on: {data['train']}",
                      f"  validation loss ({validation.get('loss_kind')}): {validation.get('loss', float('nan')):.4g}; "
                      f"test: {data.get('test', '')}"]
        else:
            shares = ", ".join(f"{family} {info['share']:g}" for family, info in data.items() if info.get("share"))
            lines += [f"  trained on: {shares} (patch shares; test images held out, see manifest.json)",
                      f"  {_noise_line(entry)}; "
                      f"validation PSNR {validation.get('psnr_db', float('nan')):.2f} dB at "
                      f"{validation.get('sigma_255', float('nan')):g}/255"]
        lines += [f"  trained: {training.get('steps')} steps, {training.get('wall_seconds', 0) / 60:.0f} min on "
                  f"{training.get('device')}; {training.get('command', '')}",
                  f"  sha256: {entry['sha256']}"]
        if verify:
            ok = path.exists() and sha256_of(path) == entry["sha256"]
            lines.append(f"  file: {'ok' if ok else 'MISMATCH or missing'}")
    return lines
