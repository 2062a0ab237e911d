r"""The deblurring half of ``recon run``: Wiener, Richardson–Lucy, TV/L1-wavelet ADMM, Poisson TV, multiband.

The forward model is the file's (:mod:`recon.datasets.deblur_format`): a
:class:`~recon.operators.blur.Blur` :math:`H` by its PSF, or the multiband
:class:`~recon.operators.multiband.MultibandImaging`. ``operator.psf`` replaces the PSF by one
from a file (``.npy``, or HDF5 as ``file.h5`` with one dataset or ``file.h5:dataset``), and
``operator.boundary`` the boundary model. The reconstruction is ``solver.kind``:

* ``wiener`` — :math:`\min_x \|Hx - y\|^2 + \lambda\|Rx\|^2` in closed form (FFT for the circular
  boundary, DCT for a reflected one with a symmetric PSF, CG otherwise), :math:`R = I` for ``prior.kind: l2``, :math:`R = \nabla` for ``tikhonov``;
* ``richardson-lucy`` — EM for Poisson counts, stopped by ``solver.max_iter``, ``solver.tol``
  or the discrepancy principle (``solver.discrepancy``: ``poisson``, or ``gaussian`` with
  :math:`\sigma` from ``solver.noise_sigma`` or the file's ``metadata@noise_sigma``, or ``auto``:
  gaussian when :math:`\sigma` is known, else poisson; threshold ``solver.tau``); negative pixels of
  Gaussian-noise data are set to 0 first;
* ``deconvolution-admm`` — :math:`\min_x f(Hx) + \lambda R(x)` with :math:`f` least squares or the
  Poisson likelihood (``solver.data_term``), :math:`R` TV or L1-wavelet, ``solver.constraint:
  nonnegative`` optional, every split in closed form
  (:func:`~recon.solvers.deconvolution_admm.deconvolution_admm`). TV is taken periodic with the
  circular boundary (FFT x-updates) and with Neumann boundaries otherwise (DCT x-updates for a
  reflected blur by a symmetric PSF, preconditioned CG else);
* ``pdhg`` — any prior PDHG takes, with the joint TV across bands (``prior.kind: joint-tv``,
  :class:`~recon.priors.joint_tv.JointTV`) for multiband files.

**Strengths.** For least squares with TV, L1-wavelet or joint TV, ``prior.strength_scale: relative``
gives :math:`\lambda = s\,\max|H^\top y|`, so one value suits images in any units. A quadratic
prior (Wiener's) is scale-free already: :math:`\lambda = s` whatever ``strength_scale`` says. For
the Poisson likelihood, relative means :math:`\lambda = s / \bar y` (:math:`\bar y` the mean count):
near the data the likelihood is :math:`\sum (v - y)^2 / 2y \approx \|v - y\|^2 / 2\bar y`, so
:math:`\lambda\bar y` is the least-squares weight in counts. Measured on a 96² ``camera``
(tests/test_deblur_photographs.py), the best :math:`\lambda` was 0.15 at peak 10 and 0.022 at peak 100,
:math:`s` = 0.68 and 0.99: ``deblur-poisson-tv`` takes :math:`s` = 0.8.

>>> from recon.experiments.schema import validate
>>> from recon.experiments.experiment_schema import EXPERIMENT_SCHEMA
>>> config = validate({"modality": "deblur", "solver": {"kind": "wiener"}, "prior": {"kind": "l2"}},
...                   EXPERIMENT_SCHEMA, "my.yaml")
>>> scale_free(config)
True
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch

from recon.experiments.build import Reconstruction, _stopping
from recon.experiments.learned_registry import LEARNED_PRIORS, LEARNED_SOLVERS
from recon.experiments.combinations import check_deblur_combination


def scale_free(config: dict) -> bool:
    """Whether λ is taken as given whatever ``strength_scale`` says: a quadratic prior (module text)."""
    return config["prior"]["kind"] in ("l2", "tikhonov")


def deblur_setup(config: dict, measurement):
    """The measurement's set-up with ``operator.psf`` and ``operator.boundary`` applied."""
    from recon.datasets.errors import InputError
    from recon.operators.deblur_acquisition import BlurAcquisition
    from recon.operators.psf import load_psf

    setup, section = measurement.geometry, config["operator"]
    changes = {}
    if section["boundary"] != "from-input":
        changes["boundary"] = section["boundary"]
    if section["psf"] is not None:
        if not isinstance(setup, BlurAcquisition):
            raise ValueError("operator.psf: a multiband file carries one PSF per band; replace them in the file")
        file, dataset = psf_source(section["psf"])
        psf = load_psf(file, dataset)
        channels = int(measurement.data.shape[1])
        if psf.dim() == 3 and psf.shape[0] != channels:
            raise InputError(file, dataset, f"one PSF, or one per channel ({channels})", f"{psf.shape[0]} PSFs")
        changes["psf"] = psf
    return replace(setup, **changes) if changes else setup


def psf_source(text: str) -> tuple[str, str | None]:
    """``operator.psf`` as (file, dataset): ``psf.npy``, ``psfs.h5`` (its only dataset) or ``psfs.h5:band/r``.

    >>> psf_source("psfs.h5:band/r"), psf_source("psf.npy")
    (('psfs.h5', 'band/r'), ('psf.npy', None))
    """
    from pathlib import Path

    file, colon, dataset = text.rpartition(":")
    if not colon or Path(text).is_file() or not file:
        return text, None
    return file, dataset or None


def _strength(config: dict, operator, y: torch.Tensor) -> float:
    section = config["prior"]
    if scale_free(config) or section["strength_scale"] == "absolute":
        return float(section["strength"])
    if config["solver"]["data_term"] == "poisson":
        return float(section["strength"]) / max(float(y.mean()), torch.finfo(torch.float32).tiny)
    return float(section["strength"]) * float(operator.A_adjoint(y).abs().max())


def _wavelet_prior(section: dict, strength: float):
    """``prior.kind: l1-wavelet``: the orthogonal transform, or the undecimated frame (``prior.undecimated``)."""
    from recon.priors import L1UndecimatedWavelet, L1Wavelet

    kind = L1UndecimatedWavelet if section["undecimated"] else L1Wavelet
    return kind(strength, section["wavelet"], levels=section["levels"])


def _admm_prior(config: dict, boundary: str, strength: float):
    from recon.priors import TV
    from recon.solvers.deconvolution_transforms import PeriodicTV

    section = config["prior"]
    if section["kind"] == "tv":
        kind = PeriodicTV if boundary == "circular" else TV
        return kind(strength, isotropic=section["isotropic"])
    return _wavelet_prior(section, strength)      # l1-wavelet: checked first


def reconstruct_deblur(config: dict, measurement, *, device: str = "cpu", callback=None,
                       echo=None, x0: torch.Tensor | None = None) -> Reconstruction:
    """Deblur every image of ``measurement`` as the config says (module text); ``x0``: a warm start for
    ADMM and PDHG."""
    from recon.operators.deblur_acquisition import MultibandAcquisition

    setup = deblur_setup(config, measurement)
    multiband = isinstance(setup, MultibandAcquisition)
    check_deblur_combination(config, multiband)
    solver = config["solver"]
    kind = solver["kind"]
    operator = setup.operator()
    y = measurement.data.to(device=device, dtype=torch.float32)
    if device != "cpu":
        operator = operator.to(device)
    stopping = _stopping(config)
    started = time.perf_counter()
    explicit = config["prior"]["kind"] not in ("none", *LEARNED_PRIORS)
    strength = _strength(config, operator, y) if explicit else None
    if echo is not None:
        echo(f"{kind}: {operator!r}" + ("" if strength is None else f", lambda = {strength:.4g}"))
    if kind in LEARNED_SOLVERS:
        prior = LEARNED_PRIORS[config["prior"]["kind"]](config, operator, y, echo)
        result = LEARNED_SOLVERS[kind](config, y, operator, prior, callback, measurement=measurement)
        return Reconstruction.of(result, time.perf_counter() - started, None)
    if kind == "wiener":
        from recon.solvers.wiener import wiener_deconvolution

        regulariser = "identity" if config["prior"]["kind"] == "l2" else "gradient"
        image = wiener_deconvolution(y, operator, strength, regulariser=regulariser)
        return Reconstruction(image, None, "closed form", 1, time.perf_counter() - started, strength)
    if kind == "richardson-lucy":
        result = _richardson_lucy(config, measurement, y, operator, stopping, callback, echo)
    elif kind == "deconvolution-admm":
        from recon.solvers.data_terms import LeastSquares, PoissonLikelihood
        from recon.solvers.deconvolution_admm import deconvolution_admm

        poisson = solver["data_term"] == "poisson"
        if poisson and float(y.min()) < 0:
            raise ValueError(f"solver.data_term: poisson needs counts >= 0, and {measurement.source} has values "
                             f"down to {float(y.min()):g}; use data_term least-squares")
        result = deconvolution_admm(y, operator, _admm_prior(config, setup.boundary, strength),
                                    data=PoissonLikelihood() if poisson else LeastSquares(),
                                    nonnegative=solver["constraint"] == "nonnegative", penalty=solver["penalty"],
                                    relaxation=solver["relaxation"], stopping=stopping, callback=callback, x0=x0)
    else:
        from recon.experiments.build import _constraint
        from recon.priors import TV, Tikhonov
        from recon.priors.joint_tv import JointTV
        from recon.solvers.pdhg import pdhg

        section = config["prior"]
        prior = {"tv": lambda: TV(strength, isotropic=section["isotropic"]),
                 "joint-tv": lambda: JointTV(strength),
                 "l1-wavelet": lambda: _wavelet_prior(section, strength),
                 "tikhonov": lambda: Tikhonov(strength, "gradient"),
                 "none": lambda: None}[section["kind"]]()
        result = pdhg(y, operator, prior, constraint=_constraint(config), stopping=stopping, callback=callback,
                      x0=x0)
    return Reconstruction.of(result, time.perf_counter() - started, strength)


def _richardson_lucy(config, measurement, y, operator, stopping, callback, echo):
    from recon.solvers.richardson_lucy import richardson_lucy

    solver = config["solver"]
    discrepancy = None if solver["discrepancy"] == "none" else solver["discrepancy"]
    if discrepancy == "auto":
        known = solver["noise_sigma"] is not None or measurement.metadata.get("noise_sigma") is not None
        discrepancy = "gaussian" if known else "poisson"
    sigma = None
    if discrepancy == "gaussian":
        from recon.experiments.noise_level import noise_sigma

        sigma = noise_sigma(config, measurement.metadata, measurement.source, needs="solver.discrepancy: gaussian",
                            fix="set solver.noise_sigma=SIGMA", allow_zero=False)
    if float(y.min()) < 0:
        if echo is not None:
            echo(f"richardson-lucy: {int((y < 0).sum())} negative pixel(s) set to 0 (RL needs y >= 0)")
        y = y.clamp_min(0)
    return richardson_lucy(y, operator, stopping=stopping, callback=callback, discrepancy=discrepancy,
                           noise_sigma=sigma, tau=solver["tau"])
