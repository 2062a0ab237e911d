"""``PRIOR_TRAINING_SCHEMA``: every key of a learned-regulariser training config.

``recon train weights CONFIG`` trains the network that gives weighted TV its weights
(``problem.kind: tv-weights``); ``recon train lpn CONFIG`` a learned proximal network
(``lpn-phantom``, or the 1D ``lpn-laplace``). The tasks are in :mod:`recon.training.prior_tasks`;
the loop (seeds, progress, checkpoints, resume, curve figure, manifest entry) is the unrolled
solvers' (:mod:`recon.training.unrolled_training`). The same declarative schema as every other
config, so a wrong key or value is a one-line error naming the file and the key.

>>> config = load_prior_config("lpn-phantom", ["training.steps=10"])
>>> config["problem"]["kind"], config["network"]["hidden"], config["training"]["loss"]
('lpn-phantom', 64, 'proximal-matching')
"""

from __future__ import annotations

from recon.experiments.schema import Field, Section
from recon.training.denoiser_config import TRAIN_CONFIG_DIR
from recon.training.training_section import training_section

#: The ``recon train`` kind of each ``problem.kind``.
TRAIN_KINDS = {"tv-weights": "weights", "lpn-phantom": "lpn", "lpn-laplace": "lpn"}

PROBLEM = Section({
    "kind": Field(str, "tv-weights", choices=tuple(TRAIN_KINDS),
                  doc="tv-weights: a network from the FBP of few-view CT to |∇x| (weighted TV's weights); "
                      "lpn-phantom: a learned proximal network on COULE-like phantoms; lpn-laplace: the 1D "
                      "Laplacian experiment of the LPN paper."),
    "size": Field(int, 128, minimum=16, doc="Side of the generated phantoms."),
    "train_count": Field(int, 2000, minimum=1, doc="Training phantoms (seed of the train split)."),
    "validation_count": Field(int, 32, minimum=1,
                              doc="Validation phantoms (seed of the validation split); lpn-laplace: samples."),
    "views": Field(int, 30, minimum=2, doc="tv-weights: parallel-beam views over 180 degrees."),
    "noise": Field(float, 0.02, minimum=0, doc="tv-weights: relative noise of the validation sinograms."),
    "noise_range": Field("float-pair", [0.02, 0.02], minimum=0,
                         doc="tv-weights: each step's relative noise ‖n‖/‖Ax‖ is drawn from this range."),
    "patch": Field(int, 64, minimum=8, doc="lpn-phantom: side of the training crops (a multiple of 4)."),
    "sigma": Field(float, 0.1, minimum=0, exclusive_minimum=True,
                   doc="LPN: the Gaussian noise σ it learns to remove (image units; lpn-laplace: 1)."),
}, doc="What the network learns, and its data.")

NETWORK = Section({
    "width": Field(int, 16, minimum=1, doc="tv-weights: ResUNet channels at the finest level (doubling per level)."),
    "levels": Field(int, 4, minimum=2, maximum=5, doc="tv-weights: ResUNet resolution levels."),
    "blocks": Field(int, 1, minimum=1, doc="tv-weights: residual blocks per level and side."),
    "hidden": Field(int, 64, minimum=1, doc="LPN: hidden channels (lpn-laplace: hidden width)."),
    "layers": Field(int, 4, minimum=1, doc="LPN: hidden layers with non-negative weights."),
    "beta": Field(float, 100.0, minimum=0, exclusive_minimum=True, doc="LPN: softplus sharpness β."),
    "alpha": Field(float, 1e-6, minimum=0, doc="lpn-phantom: strong convexity α‖x‖² of the potential."),
}, doc="The network (recon.networks.edge_map_net, recon.networks.lpn).")

TRAINING = training_section(steps=4000, learning_rate=1e-3, every=250,
                            learning_rate_doc="Adam's initial step (LPN: the schedule of recon.training.prior_tasks).",
                            seed_doc="Seeds the weights, the samples drawn and their order.", extra={
    "batch": Field(int, 8, minimum=1, doc="Samples per step, over all processes."),
    "loss": Field(str, "mse", choices=("mse", "l1", "l2", "proximal-matching"),
                  doc="tv-weights: mse or l1 of the |∇x| map; LPN: l2, l1, or proximal-matching after an l1 "
                      "warm-up."),
    "warmup_fraction": Field(float, 0.5, minimum=0, maximum=1,
                             doc="proximal-matching: share of the steps spent on the l1 warm-up."),
    "gamma_start": Field(float, 0.64, minimum=0, exclusive_minimum=True,
                         doc="proximal-matching: first γ, per √pixels (the authors' 8 × 0.08)."),
    "gamma_end": Field(float, 0.08, minimum=0, exclusive_minimum=True,
                       doc="proximal-matching: last γ, per √pixels (the authors' 0.08)."),
    "gamma_stages": Field(int, 4, minimum=1, doc="proximal-matching: stages of constant γ, geometric in between."),
})

PRIOR_TRAINING_SCHEMA = Section({
    "name": Field(str, "learned-prior", doc="The model's name: NAME.safetensors and its manifest entry."),
    "description": Field(str, "", doc="One line on what the model is for."),
    "problem": PROBLEM,
    "network": NETWORK,
    "training": TRAINING,
}, doc="Training a learned regulariser: weighted TV's weight network or a learned proximal network.")


def load_prior_config(name_or_path: str, overrides=(), *, kind: str | None = None) -> dict:
    """A shipped prior-training config by name or a YAML file, ``--set`` overrides applied.

    ``kind`` (``weights`` or ``lpn``, the ``recon train`` command) must match ``problem.kind``.
    """
    from recon.experiments.config import load_experiment

    config = load_experiment(name_or_path, overrides, schema=PRIOR_TRAINING_SCHEMA, config_dir=TRAIN_CONFIG_DIR)
    expected = TRAIN_KINDS[config["problem"]["kind"]]
    if kind is not None and kind != expected:
        raise ValueError(f"{name_or_path}: problem.kind: {config['problem']['kind']} is trained by "
                         f"'recon train {expected}', not 'recon train {kind}'")
    return config
