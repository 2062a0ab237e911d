"""The noise level σ a config or its input file gives: ``solver.noise_sigma``, else the file's ``metadata@noise_sigma``.

>>> noise_sigma({"solver": {"noise_sigma": None}}, {"noise_sigma": 0.02}, "f.h5", needs="x", fix="y")
0.02
>>> noise_sigma({"solver": {"noise_sigma": None}}, {}, "f.h5", needs="solver.epsilon: csalsa",
...             fix="set solver.noise_sigma=SIGMA")
Traceback (most recent call last):
ValueError: solver.epsilon: csalsa needs the noise level, and f.h5 has no metadata@noise_sigma; set solver.noise_sigma=SIGMA
"""

from __future__ import annotations

import math


def noise_sigma(config: dict, metadata: dict, source, *, needs: str, fix: str, allow_zero: bool = True) -> float:
    """σ (module text), checked: finite and ≥ 0 (> 0 unless ``allow_zero``); one-line errors name the file's field.

    :param needs: who needs it, the start of the error (``"solver.discrepancy: gaussian"``).
    :param fix: what the user can set instead (``"set solver.noise_sigma=SIGMA"``).
    """
    sigma = config["solver"]["noise_sigma"]
    if sigma is None:
        sigma = metadata.get("noise_sigma")
    if sigma is None:
        raise ValueError(f"{needs} needs the noise level, and {source} has no metadata@noise_sigma; {fix}")
    bound = ">= 0" if allow_zero else "> 0"
    try:
        sigma = float(sigma)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: metadata@noise_sigma: expected a number {bound}, got {sigma!r}") from None
    if not math.isfinite(sigma) or sigma < 0 or (sigma == 0 and not allow_zero):
        raise ValueError(f"{source}: metadata@noise_sigma: expected a finite number {bound}, got {sigma}")
    return sigma
