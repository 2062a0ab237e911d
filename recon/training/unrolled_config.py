"""``UNROLLED_TRAINING_SCHEMA``: every key of an unrolled-solver training config (``recon train unrolled CONFIG``).

The same declarative schema as experiment and denoiser-training configs (:mod:`recon.experiments.schema`):
a wrong key or value is a one-line error naming the file and the key. Shipped configs live in
``recon/configs/train`` and are found by name.

>>> config = load_unrolled_config("unrolled-galaxy", ["training.steps=10"])
>>> config["problem"]["kind"], config["network"]["iterations"], config["training"]["steps"]
('galaxy-deconvolution', 8, 10)
"""

from __future__ import annotations

from recon.experiments.schema import Field, Section
from recon.training.denoiser_config import TRAIN_CONFIG_DIR
from recon.training.training_section import training_section

PROBLEM = Section({
    "kind": Field(str, "galaxy-deconvolution", choices=("galaxy-deconvolution", "limited-angle-ct"),
                  doc="galaxy-deconvolution: Sérsic galaxies through Moffat PSFs (recon.datasets.galaxies.shear_galaxy), "
                      "Li & Alexander's unrolled ADMM; limited-angle-ct: synthetic HTC2022 discs "
                      "(recon.datasets.disc_phantoms) over arcs of arc_range, a learned primal-dual."),
    "snr_range": Field("float-pair", [18.0, 220.0], minimum=0, exclusive_minimum=True,
                       doc="Training SNRs are drawn from this range."),
    "snr_power": Field(float, -0.7, doc="SNR density ∝ SNR^power on snr_range (the authors': -0.7)."),
    "train_count": Field(int, 20000, minimum=1, doc="Training samples, generated once (seeds of the train split)."),
    "validation_count": Field(int, 256, minimum=1, doc="Validation samples (seeds of the validation split)."),
    "arc_range": Field("float-pair", [30.0, 90.0], minimum=1, maximum=360,
                       doc="limited-angle-ct: each step's arc length is drawn from this range, in degrees."),
    "grid": Field(int, 128, minimum=16, doc="limited-angle-ct: the side of the network's image grid."),
    "cells_share": Field(float, 0.0, minimum=0, maximum=1,
                         doc="limited-angle-ct: share of discs cut into Voronoi cells (the tb scan's pattern) rather "
                             "than holes."),
}, doc="What the solver learns to invert, and its data.")

NETWORK = Section({
    "iterations": Field(int, 8, minimum=1, doc="Unrolled iterations (Li & Alexander's ADMM: 8)."),
    "width": Field(int, 16, minimum=1, doc="ResUNet channels at the finest level (doubling per level); "
                                           "limited-angle-ct: the primal and dual blocks' channels."),
    "levels": Field(int, 4, minimum=2, maximum=5, doc="ResUNet resolution levels."),
    "blocks": Field(int, 1, minimum=1, doc="ResUNet residual blocks per level and side."),
    "penalty_width": Field(int, 64, minimum=1, doc="Hidden width of the penalty network's MLP."),
    "checkpoint": Field(bool, False, doc="Recompute each iteration in the backward pass (less memory, more time)."),
}, doc="The unrolled solver (recon.solvers.unrolled_deconvolution).")

TRAINING = training_section(steps=5000, learning_rate=5e-4, every=250,
                            seed_doc="Seeds the weights, the stamps drawn and their order.", extra={
    "batch": Field(int, 16, minimum=1, doc="Stamps per step, over all processes (torchrun splits it)."),
    "loss": Field(str, "multiscale-l1", choices=("multiscale-l1", "mse"),
                  doc="multiscale-l1: the authors' L1 at 1, 1/2 and 1/4 resolution with weights 1, 1/2, 1/4; mse."),
})

UNROLLED_TRAINING_SCHEMA = Section({
    "name": Field(str, "unrolled", doc="The model's name: NAME.safetensors and its manifest entry."),
    "description": Field(str, "", doc="One line on what the model is for."),
    "problem": PROBLEM,
    "network": NETWORK,
    "training": TRAINING,
}, doc="Training one unrolled solver end to end.")


def load_unrolled_config(name_or_path: str, overrides=()) -> dict:
    """A shipped unrolled training config by name (``unrolled-galaxy``) or a YAML file, ``--set`` overrides applied."""
    from recon.experiments.config import load_experiment

    return load_experiment(name_or_path, overrides, schema=UNROLLED_TRAINING_SCHEMA, config_dir=TRAIN_CONFIG_DIR)
