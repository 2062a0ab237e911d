"""The noise level σ a config or its input file gives: ``solver.noise_sigma``, else the file's ``metadata@noise_sigma``.

A file of several scans may give one σ per scan (an array attribute); :func:`noise_sigmas` returns
one per scan either way.

>>> noise_sigma({"solver": {"noise_sigma": None}}, {"noise_sigma": 0.02}, "f.h5", needs="x", fix="y")
0.02
>>> noise_sigma({"solver": {"noise_sigma": None}}, {}, "f.h5", needs="solver.epsilon: csalsa",
...             fix="set solver.noise_sigma=SIGMA")
Traceback (most recent call last):
ValueError: solver.epsilon: csalsa needs the noise level, and f.h5 has no metadata@noise_sigma; set solver.noise_sigma=SIGMA
"""

from __future__ import annotations

import math


def _check(value, source, allow_zero: bool) -> float:
    bound = ">= 0" if allow_zero else "> 0"
    try:
        sigma = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: metadata@noise_sigma: expected a number {bound}, got {value!r}") from None
    if not math.isfinite(sigma) or sigma < 0 or (sigma == 0 and not allow_zero):
        raise ValueError(f"{source}: metadata@noise_sigma: expected a finite number {bound}, got {sigma}")
    return sigma


def noise_sigmas(config: dict, metadata: dict, source, scans: int, *, needs: str, fix: str,
                 allow_zero: bool = True) -> list[float]:
    """One σ per scan: ``solver.noise_sigma``, or the file's single value, or its one value per scan.

    A file read with ``input.index`` (``metadata["slice"]`` set) gets its scan's own value.

    >>> noise_sigmas({"solver": {"noise_sigma": None}}, {"noise_sigma": [0.1, 0.2, 0.3], "slice": 2}, "f.h5", 1,
    ...              needs="x", fix="y")
    [0.3]
    """
    value = metadata.get("noise_sigma")
    if config["solver"]["noise_sigma"] is not None or not hasattr(value, "__len__") or isinstance(value, str):
        return [noise_sigma(config, metadata, source, needs=needs, fix=fix, allow_zero=allow_zero)] * scans
    values = [_check(v, source, allow_zero) for v in value]
    if len(values) == scans:
        return values
    index = metadata.get("slice")
    if scans == 1 and index is not None and 0 <= int(index) < len(values):
        return [values[int(index)]]
    raise ValueError(f"{source}: metadata@noise_sigma: expected one value or one per scan ({scans}), "
                     f"got {len(values)}")


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
    return _check(sigma, source, allow_zero)


def noise_sigmas_of(config: dict, measurement, scans: int, scale: float = 1.0) -> list[float]:
    """One measurement noise level per scan, in the units of the (scaled) data."""
    metadata, source = (measurement.metadata, measurement.source) if measurement is not None else ({}, "the input")
    sigmas = noise_sigmas(config, metadata, source, scans,
                          needs=f"solver.kind: {config['solver']['kind']}", fix="set solver.noise_sigma=SIGMA",
                          allow_zero=False)
    return [sigma * scale for sigma in sigmas]
