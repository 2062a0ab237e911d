"""The ``training`` section every trained model's config shares: steps, step size, seed, validation, checkpoints.

Denoisers, diffusion models, unrolled solvers and learned regularisers are all trained by a seeded
optimiser that validates and checkpoints every so many steps and can stop on a time limit. Their
configs differ in defaults and in the fields that follow (batch, loss, fine-tuning); the shared
fields are written once here so that their names, bounds and documentation cannot drift apart.

>>> from recon.experiments.schema import Field, validate
>>> section = training_section(steps=100, learning_rate=1e-3, every=10, seed_doc="Seeds everything.",
...                            extra={"batch": Field(int, 8, minimum=1, doc="Samples per step.")})
>>> validate({}, section, "my.yaml")
{'steps': 100, 'learning_rate': 0.001, 'seed': 0, 'validate_every': 10, 'checkpoint_every': 10, 'time_limit': None, 'batch': 8}
"""

from __future__ import annotations

from recon.experiments.schema import Field, Section

COSINE_DECAY = "Adam's initial step; cosine decay to 1% of it."


def training_section(*, steps: int, learning_rate: float, every: int, seed_doc: str,
                     learning_rate_doc: str = COSINE_DECAY, validated: str = "validation losses",
                     extra: dict | None = None) -> Section:
    """The shared optimisation fields with these defaults, then ``extra`` (the model's own fields, in order).

    ``every`` is the default of both ``validate_every`` and ``checkpoint_every``; ``validated`` names
    what the validation computes (``"validation PSNRs"`` for a denoiser).
    """
    fields = {
        "steps": Field(int, steps, minimum=1, doc="Optimiser steps."),
        "learning_rate": Field(float, learning_rate, minimum=0, exclusive_minimum=True, doc=learning_rate_doc),
        "seed": Field(int, 0, minimum=0, doc=seed_doc),
        "validate_every": Field(int, every, minimum=1, doc=f"Steps between {validated}."),
        "checkpoint_every": Field(int, every, minimum=1, doc="Steps between checkpoints."),
        "time_limit": Field(float, None, minimum=0, exclusive_minimum=True, nullable=True,
                            doc="Stop (and export) after this many seconds; null: run every step."),
    }
    clashes = sorted(set(fields) & set(extra or {}))
    if clashes:
        raise TypeError(f"training_section: extra fields {clashes} are already shared fields")
    return Section({**fields, **(extra or {})}, doc="The optimisation.")
