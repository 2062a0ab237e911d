r"""The radar half of ``recon run``: near-field MIMO imaging by migration or by C-SALSA.

The reconstruction is one of

* ``solver.kind: back-projection`` — the matched filter :math:`A^\mathsf{H}y / \max|A^\mathsf{H}y|`;
* ``solver.kind: kirchhoff`` — Kirchhoff migration (:func:`recon.operators.mimo_migration.kirchhoff_migration`);
* ``solver.kind: csalsa`` with ``prior.kind: l1``, ``tv`` or ``pnp`` — the constrained problem of Oral & Öktem (2024),

  .. math:: \min_x R(x) \quad\text{subject to}\quad \|Ax - y\|_2 \le \varepsilon = \sigma\sqrt M,

  by :func:`recon.solvers.csalsa.csalsa`, started at :math:`A^\mathsf{H}y / \max|A^\mathsf{H}y|` and stopped
  when the relative change of :math:`|x|` falls below ``solver.tol`` (the paper's 5e-4).
  :math:`R` is :math:`\lambda\|x\|_1` or :math:`\lambda(\mathrm{TV}_{3D} + \beta\|\cdot\|_1)` with
  :math:`\beta` = ``prior.l1_strength``, applied to :math:`|x|` (``prior.acts_on: magnitude``, the paper's
  regularisation on magnitude, :class:`recon.priors.OnMagnitude`) or to the complex :math:`x`
  (``prior.acts_on: complex``).
* ``prior.kind: pnp`` with ``solver.kind: csalsa`` — the paper's own method, PnP-C-SALSA: the prox step is
  a denoiser (``prior.denoiser``, the shipped ``drunet3d-small-radar`` in ``mimo-pnp``) on the magnitude,

  .. math:: v_1 = D\big(|x - d_1|;\ \sigma\big)\, e^{j\angle(x - d_1)}, \qquad \sigma = \sqrt{\alpha/\mu},

  with :math:`\alpha` = ``prior.strength`` (the paper's α, its code's ``noise_var``: σ = √α at
  :math:`\mu` = ``solver.penalty`` = 1) as a fraction of the image range, the same at every iteration.
  ``prior.acts_on: complex`` applies the same denoiser to the real and imaginary parts of :math:`x - d_1`
  instead, the paper's counterpart, as the odd extension :math:`D(u^+) - D(u^-)` of a denoiser trained on
  magnitudes (``prior.complex_mode: signed-parts``; ``real-imag`` shifts the parts into [0, 1]). A denoiser is not
  scale-equivariant, so its image must be in the units it was trained for: the C-SALSA iterate stays in the
  units of the data (no normalisation), and ``prior.image_range`` is the reflectivity's range there,
  :math:`[0, 1]` by default (the simulated scenes' and the paper's convention, :math:`y = Ax` with
  :math:`\max|x| = 1`). Data in other units need it set: normalised-to-fit scales are no substitute,
  since the peak of the solution relative to :math:`A^\mathsf{H}y` varies 2–12× with the number of
  frequencies (measured on the 13 × 13 × 25 scenes).

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


def radar_denoiser_prior(config: dict, penalty: float, device: str = "cpu"):
    r"""``prior.kind: pnp``: the denoiser at :math:`\sigma = \sqrt{\alpha/\mu}` of the image range (module text).

    :class:`~recon.priors.pnp.DenoiserPrior` denoises at :math:`\sqrt{\gamma\lambda}` for C-SALSA's
    :math:`\gamma = 1/\mu`, so :math:`\lambda = \alpha s^2` with :math:`s` the range's span.
    """
    from recon.experiments.build_pnp import configured_image_range, load_configured_denoiser
    from recon.priors.denoiser_scaling import ScaledDenoiser
    from recon.priors.denoisers import BM3D
    from recon.priors.pnp import DenoiserPrior

    section = config["prior"]
    low, high = configured_image_range(section) or (0.0, 1.0)
    complex_mode = "signed-parts" if section["acts_on"] == "complex" else section["complex_mode"]
    denoiser = load_configured_denoiser(section)
    if isinstance(denoiser, BM3D):
        raise ValueError("prior.denoiser: bm3d denoises 2D images and radar images are 3D volumes; "
                         "use drunet3d-small-radar or a 3D network of your own (prior.weights)")
    if isinstance(denoiser, torch.nn.Module):
        denoiser = denoiser.to(device)            # --device cuda: the network goes where the data is
    scaled = ScaledDenoiser(denoiser, (low, high), complex_mode=complex_mode)
    span = high - low
    alpha = float(section["strength"])
    return DenoiserPrior(scaled, sigma=span * (alpha / penalty) ** 0.5, strength=alpha * span ** 2)


def mimo_prior(config: dict, device: str = "cpu"):
    r""":math:`R` of the module text: ℓ1, or TV (plus ``l1_strength`` ℓ1) in 3D, on :math:`|x|` or on :math:`x`;
    or a denoiser (``pnp``)."""
    from recon.priors import L1, TV, OnMagnitude
    from recon.priors.tv_l1 import TVPlusL1

    section = config["prior"]
    kind, strength = section["kind"], float(section["strength"])
    if kind == "pnp":
        if not strength > 0:
            raise ValueError("prior.strength: pnp on radar takes the paper's alpha > 0 (sigma = sqrt(alpha/mu) "
                             "of the image range), got 0")
        return radar_denoiser_prior(config, _penalty(config), device)
    if kind == "l1":
        prior = L1(strength)
    elif kind == "tv":
        prior = TV(strength, isotropic=section["isotropic"], ndim=3, prox_max_iter=section["prox_max_iter"])
        if section["l1_strength"] > 0:
            prior = TVPlusL1(prior, section["l1_strength"])
    else:
        raise ValueError(f"prior.kind: csalsa for radar takes l1, tv or pnp, got {kind}")
    return OnMagnitude(prior) if section["acts_on"] == "magnitude" else prior


def _penalty(config: dict) -> float:
    return 1.0 if config["solver"]["penalty"] is None else float(config["solver"]["penalty"])


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
    prior = mimo_prior(config, device)
    section = config["solver"]
    learned = config["prior"]["kind"] == "pnp"
    penalty = _penalty(config)
    if echo is not None:
        shown = f"{epsilon:.4g}" if isinstance(epsilon, float) else "[" + ", ".join(f"{e:.4g}" for e in epsilon) + "]"
        echo(f"csalsa: {prior!r}, epsilon = {shown}, penalty = {penalty:g}, "
             f"kappa = {section['kappa']:g}, relaxation = {section['relaxation']:g}")
    result = csalsa(y, operator, prior, epsilon=epsilon, penalty=penalty, kappa=section["kappa"],
                    cg_max_iter=section["cg_max_iter"], relaxation=section["relaxation"], normalise=not learned,
                    stopping=_stopping(config), callback=callback)
    return Reconstruction.of(result, time.perf_counter() - started, float(config["prior"]["strength"]))
