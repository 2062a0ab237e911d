"""Tuned tables as cells: every candidate on the validation data is a cell, then the chosen one on the test data.

The tables that compare methods "each tuned on validation, measured on held-out test data"
(:mod:`recon.reproduce.weighted_tv`, :mod:`~recon.reproduce.pnp_vs_tv`, :mod:`~recon.reproduce.lpn_vs_tv`)
share this: the candidates of a method's grids (a shipped config with ``--set``-style overrides, so a
chosen setting is exactly what a user would pass) as validation cells scored by
:func:`recon.experiments.tuning.evaluate`, the choice, and the chosen setting's test cells. The
measurements are those of :mod:`recon.datasets.heldout_problems`, named by a small tuple (a *spec*) so a
cell's arguments stay tiny, and built once per worker.

The choice follows :func:`recon.experiments.tuning.best_of` (the highest mean PSNR; among candidates
within 0.05 dB of it, the cheapest), made deterministic: among those near-ties the setting the
method's config ships with wins, then the fewest iterations, then the higher PSNR. ``best_of``'s
"fastest" by measured seconds would let a near-tie go to whichever candidate a busy worker happened
to run faster, and a rerun would not give the same table.

>>> scores = [{"config": "c", "overrides": {"a": 1}, "psnr_db": 30.00, "iterations": 300, "seconds": 2.0},
...           {"config": "c", "overrides": {"a": 2}, "psnr_db": 30.03, "iterations": 300, "seconds": 3.0},
...           {"config": "c", "overrides": {"a": 3}, "psnr_db": 29.00, "iterations": 30, "seconds": 0.1}]
>>> chosen(scores)["overrides"], chosen(scores, {"c": {"a": 1}})["overrides"]
({'a': 2}, {'a': 1})
"""

from __future__ import annotations

import functools
import itertools

NEAR_TIE_DB = 0.05


def candidates(grid: dict) -> list[dict]:
    """Every combination of ``grid`` (``{key: [values]}``) as overrides, in the grid's order."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def overrides_text(overrides: dict) -> str:
    """A setting as a cell key and a table show it: ``strength=0.001 eta=0.01``."""
    return " ".join(f"{k.split('.')[-1]}={v}" for k, v in overrides.items())


def ships(config: dict, overrides: dict) -> bool:
    """Whether the (nested) ``config`` has every dotted key of ``overrides`` at that value."""
    for key, value in overrides.items():
        found = config
        for part in key.split("."):
            if not isinstance(found, dict) or part not in found:
                return False
            found = found[part]
        if found != value:
            return False
    return True


def chosen(scores: list[dict], shipped: dict | None = None) -> dict:
    """The best of ``scores`` (each with ``config``, ``overrides``, ``psnr_db``, ``iterations``; module text).

    :param shipped: ``{config name: its resolved config}`` of the configs whose shipped setting wins near-ties.
    """
    top = max(s["psnr_db"] for s in scores)
    near = [s for s in scores if s["psnr_db"] >= top - NEAR_TIE_DB]
    for score in near:
        if score["config"] in (shipped or {}) and ships(shipped[score["config"]], score["overrides"]):
            return score
    return min(near, key=lambda s: (s["iterations"], -s["psnr_db"]))


def shipped_configs(*names: str) -> dict:
    """``{name: resolved config}`` of shipped configs, for :func:`chosen`."""
    from recon.experiments.config import load_experiment

    return {name: load_experiment(name) for name in names}


@functools.lru_cache(maxsize=8)
def measurement(spec: tuple):
    """The measurement a spec names, built once per worker:

    * ``("ct", split, count, size)``: :func:`~recon.datasets.heldout_problems.few_view_ct`;
    * ``("ct-shepp-logan", size)``: the modified Shepp–Logan phantom through the same scan;
    * ``("deblur", split)``: :func:`~recon.datasets.heldout_problems.gaussian_deblur`'s photographs;
    * ``("mri", split)``: validation, :func:`~recon.datasets.heldout_problems.mri_validation` (the simulated scan
      at 4× and 6×, a list); test, the real brain.
    """
    from recon.datasets import heldout_problems

    kind = spec[0]
    if kind == "ct":
        _, split, count, size = spec
        return heldout_problems.few_view_ct(split, count=count, size=size)
    if kind == "ct-shepp-logan":
        from recon.datasets.phantoms import shepp_logan

        return heldout_problems.few_view_ct_of(shepp_logan(spec[1]), "modified Shepp-Logan")
    if kind == "deblur":
        return heldout_problems.gaussian_deblur(spec[1])[0]
    if kind == "mri":
        if spec[1] == "validation":
            return heldout_problems.mri_validation()
        from recon.reproduce.mri_tutorial import brain_path

        return heldout_problems.brain_mri(brain_path())
    raise ValueError(f"no held-out measurement {spec!r}")


def evaluate_cell(config_name: str, overrides: dict, spec: tuple) -> dict:
    """:func:`recon.experiments.tuning.evaluate` of a config with ``overrides`` on the measurement ``spec`` names:
    PSNR, SSIM, seconds, iterations, per-image PSNR."""
    from recon.experiments.tuning import evaluate

    return scored(evaluate(config_name, overrides, measurement(spec)))


def scored(outcome: dict) -> dict:
    """An outcome without its image: plain numbers for the client."""
    return {k: v for k, v in outcome.items() if k != "image"}


def validation_key(label: str, config_name: str, overrides: dict) -> str:
    return f"{label} validation {config_name} {overrides_text(overrides)}"


def validation_cells(label: str, subgrids: list, spec: tuple, cell=evaluate_cell, extra: tuple = ()) -> dict:
    """``{key: call}`` of every candidate of ``subgrids`` (``[(config name, grid)]``) on the validation spec."""
    return {validation_key(label, name, overrides): (cell, (name, overrides, spec, *extra), {})
            for name, grid in subgrids for overrides in candidates(grid)}


def choice(label: str, subgrids: list, done: dict, shipped: dict | None = None) -> dict | None:
    """The chosen candidate (``config``, ``overrides`` and its validation scores) once every validation cell is in."""
    scores = []
    for name, grid in subgrids:
        for overrides in candidates(grid):
            key = validation_key(label, name, overrides)
            if key not in done:
                return None
            scores.append({"config": name, "overrides": overrides, **done[key]})
    return chosen(scores, shipped)

