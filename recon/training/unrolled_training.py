r"""Training an unrolled solver end to end: seeded, with progress, checkpoints, resume, a curve figure, DDP.

``recon train unrolled CONFIG`` (:mod:`recon.training.unrolled_config`) trains the model of the config's
``problem.kind`` (:mod:`recon.training.unrolled_tasks`: Li & Alexander's unrolled ADMM on galaxy
stamps, or a learned primal–dual on synthetic HTC2022 discs): every step draws ``training.batch``
samples (the order from the seed), runs the K iterations and back-propagates the task's loss through
all of them, the operators included (by their explicit adjoints). Adam with a cosine-decayed step.
Every ``validate_every`` steps the mean loss on the task's validation set is recorded and shown in
the progress bar.

**Several processes.** Under ``torchrun --nproc_per_node N`` each process takes every N-th stamp of
the step's batch (the batch is drawn from the same seed everywhere), ``DistributedDataParallel``
averages the gradients (gloo on CPU, NCCL on GPUs), and rank 0 validates, checkpoints and writes the
files. The update is then that of one process on the whole batch, up to floating-point order
(``tests/test_unrolled_training.py`` compares 2 processes with 1).

``OUTPUT_DIR/checkpoint.pt`` (tensors and numbers only, read with ``weights_only=True``) holds the
model, the optimiser, the generator and the curves; a rerun resumes from it. At the end
``NAME.safetensors``, ``NAME.json`` (its manifest entry) and ``NAME-training.png`` are written.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from recon.training.denoiser_training import _learning_rate, _save_checkpoint, resume, training_curve_figure


def _distributed() -> tuple[int, int]:
    """``(rank, world size)``; starts the process group when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def train_unrolled(config: dict, output_dir, *, device: str | None = None, progress: bool = True,
                   command: str | None = None, tasks: dict | None = None) -> dict | None:
    """Train the unrolled solver ``config`` describes into ``output_dir``; returns its manifest entry (rank 0).

    Resumes from ``output_dir/checkpoint.pt`` when there is one. ``tasks`` maps ``problem.kind`` to
    its task (default: the unrolled solvers'; :mod:`recon.training.prior_tasks` for learned
    regularisers). A task may also have ``begin_step(step)``, ``learning_rate(base, step, steps)``
    and ``validation_loss``; a model with ``project()`` is projected after every step (the LPN's
    non-negative weights).
    """
    from safetensors.torch import save_file
    from tqdm import tqdm

    from recon.training.unrolled_tasks import TASKS
    from recon.weights.registry import sha256_of

    rank, world = _distributed()
    output_dir = Path(output_dir)
    if rank == 0:
        output_dir.mkdir(parents=True, exist_ok=True)
    if torch.cuda.is_available() and device in (None, "cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if world > 1 else "cuda"
    device = device or "cpu"
    network_section, training = config["network"], config["training"]
    if training["batch"] % world:
        raise ValueError(f"training.batch: {training['batch']} samples do not split over {world} processes")
    torch.manual_seed(training["seed"])
    started_data = time.perf_counter()
    task = (TASKS if tasks is None else tasks)[config["problem"]["kind"]](config, device)
    data_seconds = time.perf_counter() - started_data
    from recon.solvers.unrolled import Unroller

    model = task.model().to(device)
    for part in model.modules():                      # the model and any unrolled solver inside it
        if isinstance(part, Unroller):
            part.checkpoint = network_section["checkpoint"]
    optimiser = torch.optim.Adam(model.parameters(), lr=training["learning_rate"])
    generator = torch.Generator().manual_seed(training["seed"])
    history = {"step": [], "loss": [], "validation_step": [], "validation_loss": []}
    checkpoint = output_dir / "checkpoint.pt"
    history, step, seconds = resume(checkpoint, device, model, optimiser, generator, history, key="model")
    trained = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        trained = DistributedDataParallel(model)

    validation_loss = getattr(task, "validation_loss", task.loss)
    schedule = getattr(task, "learning_rate", _learning_rate)
    project = getattr(model, "project", None)

    def validate() -> float:
        model.eval()
        with torch.no_grad():
            total, count = 0.0, 0
            for inputs, truth, scale in task.validation():
                total += float(validation_loss(model(*inputs), truth, scale)) * truth.shape[0]
                count += truth.shape[0]
        model.train()
        return total / count

    steps = training["steps"]
    bar = tqdm(total=steps, initial=step, desc=config["name"], disable=not progress or rank != 0, dynamic_ncols=True)
    started = time.perf_counter() - seconds
    model.train()
    while step < steps:
        for group in optimiser.param_groups:
            group["lr"] = schedule(training["learning_rate"], step, steps)
        if hasattr(task, "begin_step"):
            task.begin_step(step)
        inputs, truth, scale = task.batch(generator, training["batch"], rank, world)
        loss = task.loss(trained(*inputs), truth, scale)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if project is not None:
            project()
        step += 1
        history["step"].append(step)
        history["loss"].append(_mean_over_processes(float(loss.detach()), world, device))
        elapsed = time.perf_counter() - started
        last = step == steps or bool(training["time_limit"] and _agreed(elapsed > training["time_limit"], world,
                                                                         device))
        if (step % training["validate_every"] == 0 or last) and rank == 0:
            history["validation_step"].append(step)
            history["validation_loss"].append(validate())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(history['loss'][-50:]):.4f}",
                        val=f"{history['validation_loss'][-1]:.4f}" if history["validation_loss"] else "-")
        if (step % training["checkpoint_every"] == 0 or last) and rank == 0:
            _save_checkpoint(checkpoint, {
                "model": model.state_dict(), "optimiser": optimiser.state_dict(), "generator": generator.get_state(),
                "step": step, "seconds": time.perf_counter() - started,
                "history": {key: torch.tensor(value, dtype=torch.float64) for key, value in history.items()}})
        if last:
            break
    bar.close()
    if rank != 0:
        return None
    wall = time.perf_counter() - started
    name = config["name"]
    weights = output_dir / f"{name}.safetensors"
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    save_file(state, str(weights), metadata={"architecture": task.architecture, "arguments": json.dumps(task.arguments)})
    training_curve_figure(history, output_dir / f"{name}-training.png", f"{name}: {step} steps",
                          loss_label="training loss (smoothed)", validation="validation_loss",
                          validation_label=getattr(task, "validation_label", f"validation loss ({training['loss']})"))
    entry = {
        "name": name, "file": weights.name, "description": config["description"],
        "architecture": task.architecture, "arguments": task.arguments, "sha256": sha256_of(weights),
        "parameters": int(sum(v.numel() for v in state.values())),
        "training": {
            "command": command or " ".join(shlex.quote(a) for a in sys.argv), "config": config, "steps": step,
            "wall_seconds": round(wall, 1), "data_seconds": round(data_seconds, 1), "processes": world,
            "device": "cpu" if str(device) == "cpu" else torch.cuda.get_device_name(),
            "host": platform.processor() or platform.machine(), "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "data": task.data_manifest(),
        "validation": {"loss": history["validation_loss"][-1] if history["validation_loss"] else None,
                       "loss_kind": getattr(task, "validation_label", training["loss"])},
    }
    (output_dir / f"{name}.json").write_text(json.dumps(entry, indent=2) + "\n")
    return entry


def _mean_over_processes(value: float, world: int, device) -> float:
    if world == 1:
        return value
    import torch.distributed as dist

    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor) / world


def _agreed(flag: bool, world: int, device) -> bool:
    """Whether any process says ``flag`` (so that every process stops at the same step)."""
    if world == 1:
        return flag
    import torch.distributed as dist

    tensor = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor > 0)
