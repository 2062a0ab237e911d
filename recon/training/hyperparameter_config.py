"""``HYPERPARAMETER_TRAINING_SCHEMA``: every key of a bilevel-learning config (``recon train hyperparameters``).

Bilevel learning of a variational model's hyperparameters θ from clean and noisy image pairs
(:mod:`recon.training.hyperparameter_training`): the lower-level energy (``problem.kind``), the
images, the outer method (MAID or HOAG) and its accuracies. The same declarative schema as every
other config, so a wrong key or value is a one-line error naming the file and the key. Shipped
configs (``bilevel-tv``, ``bilevel-weighted-tv``) live in ``recon/configs/train``.

>>> config = load_hyperparameter_config("bilevel-tv", ["method.max_iterations=3"])
>>> config["problem"]["kind"], config["problem"]["theta_start"], config["method"]["kind"]
('smoothed-tv', [-5.0, -5.0], 'maid')
"""

from __future__ import annotations

from recon.experiments.schema import Field, Section
from recon.training.denoiser_config import TRAIN_CONFIG_DIR

PROBLEM = Section({
    "kind": Field(str, "smoothed-tv", choices=("smoothed-tv", "weighted-tv"),
                  doc="smoothed-tv: ½‖x − y‖² + ½e^θ₀ Σ√(|∇x|² + e^2θ₁) (Salehi et al.); weighted-tv: "
                      "½‖x − y‖² + e^θ₀ Σ wᵢ√(|∇x|ᵢ² + ν²), wᵢ = e^θ₁/√(e^2θ₁ + |∇x̃|ᵢ²) from a TV pilot x̃ "
                      "(recon.training.bilevel_problems)."),
    "train_images": Field(str, "coins,moon,page,clock,rocket,brick",
                          doc="Comma-separated scikit-image names (skimage.data.NAME) of the training pairs."),
    "test_images": Field(str, "camera,astronaut,coffee",
                         doc="Comma-separated scikit-image names of the test pairs (never trained on)."),
    "pairs": Field(str, None, nullable=True,
                   doc="An .npz file with arrays clean and noisy (images, H, W) to train on instead of "
                       "train_images."),
    "size": Field(int, 96, minimum=8, doc="Side of the images: the central square resized to size²."),
    "sigma": Field(float, 0.1, minimum=0, doc="Gaussian noise σ (images in [0, 1])."),
    "seed": Field(int, 0, minimum=0, doc="Seed of the noise (image k: seed + k; the test set: seed + 1000 + k)."),
    "theta_start": Field("float-pair", [-5.0, -5.0], doc="θ at the start."),
    "smoothing": Field(float, 0.01, minimum=0, exclusive_minimum=True, doc="weighted-tv: the fixed smoothing ν."),
    "pilot_strength": Field(float, 0.06, minimum=0, exclusive_minimum=True,
                            doc="weighted-tv: strength λ of the smoothed-TV pilot reconstruction x̃."),
}, doc="The lower-level energy and the image pairs.")

METHOD = Section({
    "kind": Field(str, "maid", choices=("maid", "hoag"),
                  doc="maid: adaptive accuracies and inexact backtracking (recon.training.maid); hoag: fixed step, "
                      "a-priori accuracies (recon.training.hoag)."),
    "max_iterations": Field(int, 300, minimum=1, doc="Outer (upper-level) iterations at most."),
    "budget": Field(int, 30000, minimum=1, nullable=True,
                    doc="Stop once lower-level gradients + CG iterations reach this; null: no budget."),
    "epsilon": Field(float, 0.1, minimum=0, exclusive_minimum=True,
                     doc="Starting lower-level accuracy ε: ‖x̃ − x̂‖ ≤ ε (over the whole batch)."),
    "delta": Field(float, 0.1, minimum=0, exclusive_minimum=True,
                   doc="Starting adjoint accuracy δ: CG residual ‖Hq − ∇f‖ ≤ δ."),
    "step": Field(float, 0.01, minimum=0, exclusive_minimum=True,
                  doc="maid: the first trial step; hoag: the fixed step 1/L."),
    "shrink": Field(float, 0.5, minimum=0, maximum=1, exclusive_minimum=True, doc="maid: backtracking factor ρ."),
    "decrease": Field(float, 1e-4, minimum=0, maximum=1, exclusive_minimum=True,
                      doc="maid: sufficient-decrease constant η."),
    "step_growth": Field(float, 1.05, minimum=1, doc="maid: step growth after a success."),
    "accuracy_shrink": Field(float, 0.5, minimum=0, maximum=1, exclusive_minimum=True,
                             doc="maid: ε and δ shrink by this after a failure."),
    "accuracy_growth": Field(float, 1.05, minimum=1, doc="maid: ε and δ grow by this after a success."),
    "max_backtracks": Field(int, 10, minimum=1, doc="maid: trial steps per line search."),
    "decay": Field(str, "quadratic", choices=("quadratic", "geometric", "power"),
                   doc="hoag: εₖ = ε₀k⁻² (quadratic), ε₀·rateᵏ (geometric) or ε₀k^-1.1 (power); δₖ alike."),
    "rate": Field(float, 0.9, minimum=0, maximum=1, exclusive_minimum=True, doc="hoag: the geometric rate."),
}, doc="The upper-level method.")

OUTPUT = Section({
    "exact_loss": Field(bool, True,
                        doc="Also record the loss at a tightly solved lower level (1e-6) each iteration, uncounted "
                            "(for the curve figure)."),
}, doc="What is written beside the learned config.")

HYPERPARAMETER_TRAINING_SCHEMA = Section({
    "name": Field(str, "bilevel", doc="Output names: NAME.yaml (recon run config), NAME.json, NAME.png."),
    "description": Field(str, "", doc="One line on what is learned."),
    "problem": PROBLEM,
    "method": METHOD,
    "output": OUTPUT,
}, doc="Bilevel learning of a variational model's hyperparameters (MAID or HOAG).")


def load_hyperparameter_config(name_or_path: str, overrides=()) -> dict:
    """A shipped bilevel config by name or a YAML file, ``--set`` overrides applied."""
    from recon.experiments.config import load_experiment

    return load_experiment(name_or_path, overrides, schema=HYPERPARAMETER_TRAINING_SCHEMA,
                           config_dir=TRAIN_CONFIG_DIR)
