"""``DENOISER_TRAINING_SCHEMA``: every key of a denoiser or diffusion-model training config.

``recon train denoiser CONFIG`` and ``recon train diffusion CONFIG`` read it; a diffusion model is a
denoiser trained over every noise level (``network.kind: edm-drunet``, ``data.noise: edm``).

The same declarative schema as experiment configs (:mod:`recon.experiments.schema`), so a
wrong key or value is a one-line error naming the file and the key. Shipped training configs
live in ``recon/configs/train`` and are found by name.

>>> from recon.experiments.schema import validate
>>> config = validate({"network": {"kind": "dncnn"}}, DENOISER_TRAINING_SCHEMA, "my.yaml")
>>> config["network"]["kind"], config["data"]["patch"], config["training"]["seed"]
('dncnn', 64, 0)
"""

from __future__ import annotations

from pathlib import Path

from recon.experiments.schema import Field, Section
from recon.training.training_section import training_section

TRAIN_CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs" / "train"

NETWORK = Section({
    "kind": Field(str, "small-drunet", choices=("small-drunet", "dncnn", "edm-drunet"),
                  doc="small-drunet: residual U-Net with a noise-level map (one model for every σ); "
                      "dncnn: a plain stack of convolutions predicting the noise; edm-drunet: a small-drunet "
                      "inside EDM's preconditioning, the score network of a diffusion prior (recon train "
                      "diffusion)."),
    "width": Field(int, 16, minimum=1, doc="small-drunet: channels of the finest level (doubling per level)."),
    "levels": Field(int, 4, minimum=1, maximum=6, doc="small-drunet: resolution levels."),
    "blocks": Field(int, 1, minimum=1, doc="small-drunet: residual blocks per level and side."),
    "depth": Field(int, 8, minimum=2, doc="dncnn: convolutions (8 × 24 features: under 0.1 s per 256² call on one CPU thread)."),
    "features": Field(int, 24, minimum=1, doc="dncnn: hidden channels."),
    "noise_map": Field(bool, True, doc="dncnn: take σ as an input channel (false: blind)."),
    "sigma_data": Field(float, 0.5, minimum=0, exclusive_minimum=True,
                        doc="edm-drunet: σ_d of EDM's preconditioning, the training images' spread."),
    "spatial_dims": Field(int, 2, minimum=2, maximum=3,
                          doc="small-drunet: 2 for images, 3 for volumes (radar magnitudes; train with data.radar)."),
}, doc="The architecture (recon.networks).")

DATA = Section({
    "natural": Field(float, 1.0, minimum=0, doc="Share of patches from natural photographs (training split)."),
    "medical": Field(float, 0.0, minimum=0, doc="Share of patches from DICOM CT/MR/radiograph slices."),
    "phantom": Field(float, 0.0, minimum=0, doc="Share of patches from COULE-like phantoms."),
    "radar": Field(float, 0.0, minimum=0,
                   doc="Share of cubic patches from magnitudes of simulated radar scenes (3D networks only)."),
    "radar_count": Field(int, 2000, minimum=1, doc="Training radar scenes generated (seeds of the train split)."),
    "phantom_count": Field(int, 400, minimum=0, doc="Training phantoms generated (seed of the train split)."),
    "phantom_size": Field(int, 128, minimum=16, doc="Side of each generated phantom."),
    "patch": Field(int, 64, minimum=8, doc="Side of the square (cubic, for volumes) training patches."),
    "batch": Field(int, 16, minimum=1, doc="Patches per step."),
    "sigma_range": Field("float-pair", [1.0, 60.0], minimum=0,
                         doc="Noise σ drawn uniformly from this range, in units of 1/255 of the image range."),
    "noise": Field(str, "uniform", choices=("uniform", "edm"),
                   doc="uniform: σ from sigma_range, plain MSE (a denoiser); edm: ln σ ~ N(edm_mean, edm_std²) in "
                       "image units and EDM's loss weight (σ² + σ_d²)/(σ σ_d)² (a diffusion model)."),
    "edm_mean": Field(float, -1.2, doc="noise edm: mean of ln σ (EDM's P_mean)."),
    "edm_std": Field(float, 1.2, minimum=0, exclusive_minimum=True, doc="noise edm: std of ln σ (EDM's P_std)."),
    "validation_sigma": Field(float, 25.0, minimum=0, doc="σ (of 255) of the validation PSNR."),
    "validation_crop": Field(int, 128, minimum=16, doc="Side of the centre crop of each validation image."),
}, doc="Training images and noise.")

TRAINING = training_section(steps=10000, learning_rate=1e-3, every=500, validated="validation PSNRs",
                            seed_doc="Seeds the weights, the patches and the noise.", extra={
    "initial_weights": Field(str, None, nullable=True,
                             doc="Fine-tune: start from these weights (a shipped model's name or a .safetensors "
                                 "file of the same architecture and size) instead of random ones; null: from scratch. "
                                 "A resumed run takes its checkpoint's weights."),
})

DENOISER_TRAINING_SCHEMA = Section({
    "name": Field(str, "denoiser", doc="The model's name: NAME.safetensors and its manifest entry."),
    "description": Field(str, "", doc="One line on what the model is for."),
    "network": NETWORK,
    "data": DATA,
    "training": TRAINING,
}, doc="Training one denoiser.")


def load_training_config(name_or_path: str, overrides=()) -> dict:
    """A shipped training config by name (``denoiser-general``) or a YAML file, ``--set`` overrides applied.

    >>> load_training_config("denoiser-phantom", ["training.steps=10"])["training"]["steps"]
    10
    """
    from recon.experiments.config import load_experiment

    return load_experiment(name_or_path, overrides, schema=DENOISER_TRAINING_SCHEMA, config_dir=TRAIN_CONFIG_DIR)
