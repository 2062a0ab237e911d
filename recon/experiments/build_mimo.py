r"""The radar half of ``recon run``: near-field MIMO imaging by migration or by C-SALSA.

The reconstruction is one of

* ``solver.kind: back-projection`` — the matched filter :math:`A^\mathsf{H}y / \max|A^\mathsf{H}y|`;
* ``solver.kind: kirchhoff`` — Kirchhoff migration (:func:`recon.operators.mimo_migration.kirchhoff_migration`);
* ``solver.kind: csalsa`` with ``prior.kind: l1`` or ``tv`` — the constrained problem of Oral & Öktem (2024),

  .. math:: \min_x R(x) \quad\text{subject to}\quad \|Ax - y\|_2 \le \varepsilon = \sigma\sqrt M,

  by :func:`recon.solvers.csalsa.csalsa`, started at :math:`A^\mathsf{H}y / \max|A^\mathsf{H}y|` and stopped
  when the relative change of :math:`|x|` falls below ``solver.tol`` (the paper's 5e-4).
  :math:`R` is :math:`\lambda\|x\|_1` or :math:`\lambda(\mathrm{TV}_{3D} + \beta\|\cdot\|_1)` with
  :math:`\beta` = ``prior.l1_strength``, applied to :math:`|x|` (``prior.acts_on: magnitude``, the paper's
  regularisation on magnitude, :class:`recon.priors.OnMagnitude`) or to the complex :math:`x`
  (``prior.acts_on: complex``).

:math:`\sigma` is ``solver.noise_sigma`` or the file's ``metadata@noise_sigma`` (:math:`E|n|^2 = \sigma^2`);
``solver.epsilon`` gives :math:`\varepsilon` itself. C-SALSA iterates on the image normalised to
peak :math:`\approx 1`, so :math:`\lambda` = ``prior.strength`` is in those units whatever
``prior.strength_scale`` says, and the prox threshold is :math:`\lambda/\mu` (``solver.penalty``).

The image is complex, ``(scans, 1, nx, ny, nz)``, in the units of the data (migrations: peak 1).

>>> import torch
>>> from recon.experiments.schema import validate
>>> from recon.experiments.experiment_schema import EXPERIMENT_SCHEMA
>>> config = validate({"modality": "mimo", "solver": {"kind": "csalsa", "noise_sigma": 0.5},
...                    "prior": {"kind": "l1", "strength": 1.0}}, EXPERIMENT_SCHEMA, "my.yaml")
>>> noise_radius(config, {"noise_sigma": 9.0}, torch.zeros(2, 1, 3, 4, 5, dtype=torch.complex64), "f.h5")  # 0.5 √60
3.872983346207417
>>> mimo_prior(config)
OnMagnitude(L1(strength=1.0))
"""

from __future__ import annotations

import time

import torch

from recon.experiments.build import Reconstruction, _stopping

DIRECT = ("back-projection", "kirchhoff")


def noise_radius(config: dict, metadata: dict, y: torch.Tensor, source):
    r""":math:`\varepsilon`: ``solver.epsilon``, else :math:`\sigma\sqrt M` per scan (``solver.noise_sigma``,
    else the file's one value or one per scan); a float when every scan has the same, else a list."""
    from recon.experiments.noise_level import noise_sigmas
    from recon.solvers.csalsa import noise_ball_radius

    section = config["solver"]
    if section["epsilon"] is not None:
        return float(section["epsilon"])
    sigmas = noise_sigmas(config, metadata, source, int(y.shape[0]), needs="solver.epsilon: csalsa",
                          fix="set solver.noise_sigma=SIGMA or solver.epsilon=EPS")
    radii = [noise_ball_radius(sigma, y[0].numel()) for sigma in sigmas]
    return radii[0] if len(set(radii)) == 1 else radii


def mimo_prior(config: dict):
    r""":math:`R` of the module text: ℓ1, or TV (plus ``l1_strength`` ℓ1) in 3D, on :math:`|x|` or on :math:`x`."""
    from recon.priors import L1, TV, OnMagnitude
    from recon.priors.tv_l1 import TVPlusL1

    section = config["prior"]
    kind, strength = section["kind"], float(section["strength"])
    if kind == "l1":
        prior = L1(strength)
    elif kind == "tv":
        prior = TV(strength, isotropic=section["isotropic"], ndim=3, prox_max_iter=section["prox_max_iter"])
        if section["l1_strength"] > 0:
            prior = TVPlusL1(prior, section["l1_strength"])
    else:
        raise ValueError(f"prior.kind: csalsa for radar takes l1 or tv, got {kind}")
    return OnMagnitude(prior) if section["acts_on"] == "magnitude" else prior


def reconstruct_mimo(config: dict, measurement, *, device: str = "cpu", callback=None, echo=None) -> Reconstruction:
    """Image every scan of ``measurement`` as the config says; complex ``(scans, 1, nx, ny, nz)``."""
    from recon.operators.mimo_migration import back_projection, kirchhoff_migration

    kind = config["solver"]["kind"]
    if kind not in (*DIRECT, "csalsa"):
        raise ValueError(f"solver.kind: {kind} does not apply to radar; use back-projection, kirchhoff or csalsa")
    if kind in DIRECT and config["prior"]["kind"] != "none":
        raise ValueError(f"solver.kind: {kind} takes no prior; set prior.kind=none or use csalsa")
    operator = measurement.geometry.operator()
    if device != "cpu":
        operator = operator.to(device)
    y = measurement.data.to(device=device, dtype=torch.complex64)
    started = time.perf_counter()
    if kind in DIRECT:
        image = (back_projection if kind == "back-projection" else kirchhoff_migration)(y, operator)
        return Reconstruction(image, None, "closed form", 1, time.perf_counter() - started, None)
    from recon.solvers.csalsa import csalsa

    epsilon = noise_radius(config, measurement.metadata, y, measurement.source)   # checked before the prior
    prior = mimo_prior(config)
    section = config["solver"]
    if echo is not None:
        shown = f"{epsilon:.4g}" if isinstance(epsilon, float) else "[" + ", ".join(f"{e:.4g}" for e in epsilon) + "]"
        echo(f"csalsa: {prior!r}, epsilon = {shown}, penalty = {section['penalty'] or 1.0:g}, "
             f"kappa = {section['kappa']:g}, relaxation = {section['relaxation']:g}")
    penalty = 1.0 if section["penalty"] is None else section["penalty"]
    result = csalsa(y, operator, prior, epsilon=epsilon, penalty=penalty, kappa=section["kappa"],
                    cg_max_iter=section["cg_max_iter"], relaxation=section["relaxation"], stopping=_stopping(config),
                    callback=callback)
    return Reconstruction(result.x, result.history, result.stop_reason, result.iterations,
                          time.perf_counter() - started, float(config["prior"]["strength"]))
