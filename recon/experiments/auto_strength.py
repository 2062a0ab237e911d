r"""``prior.strength: auto``: the regularisation strength chosen from the measurement alone (CT, deblurring).

**Noise.** σ per slice is the file's ``metadata@noise_sigma`` when it has one, else estimated
from the data itself (:mod:`recon.datasets.noise_estimation`: for a sinogram the finest detail of
the detector background, for a blurred image the finest diagonal wavelet band).

**Discrepancy principle** (Morozov). The residual :math:`r(\lambda) = \|Ax_\lambda - y\|` grows
with λ; the chosen λ is where it meets :math:`\tau\,\sigma\sqrt m` (over the batch,
:math:`\tau\sqrt{\sum_b m\,\sigma_b^2}`), :math:`m` the samples per slice. It needs no training
data and no ground truth, only σ, and it is monotone, so a bisection on :math:`\log\lambda`
finds it: ``prior.auto_trials`` short solves (``prior.auto_iterations`` each) bracket and halve
the interval, then the config's own solve runs at the chosen strength. SURE and GCV need the
divergence or the trace of the solver's Jacobian, which a nonlinear TV solve only gives by
randomised probing (one more solve per probe); the discrepancy principle needs one residual.

A measurement whose σ is 0 (a noiseless simulation) has no discrepancy to match: the strength
falls back to ``prior.fixed_strength``, and the echo line says so. So it does when two trials at
different strengths leave the same residual under the target: the short solves stopped before the
stronger prior could act (TV's dual variable had not grown to λ), and the bisection was blind; and
when every trial falls on one side of the target (short solves of a well-posed scan that never fit
the data down to the noise).

>>> AutoStrength(0.0011, [0.43, 0.26], "metadata@noise_sigma", 72.8, [(0.001, 70.1)] * 7).describe()[:57]
'prior.strength auto: 0.0011 by the discrepancy principle,'
>>> check_auto_applies({"prior": {"strength": "auto", "kind": "tv"}, "solver": {}}, "mri")
Traceback (most recent call last):
ValueError: prior.strength: auto is available for CT and deblurring so far; give a number for mri
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: The relative strengths the bisection may choose between (``prior.strength_scale: relative``).
LOWEST, HIGHEST = 1e-5, 0.1
#: τ of the discrepancy when prior.discrepancy_tau is null, chosen on each modality's validation data.
DEFAULT_TAU = {"ct": 0.8, "deblur": 1.0}
#: The priors whose strength auto can choose, per modality.
AUTO_PRIORS = {"ct": ("tv", "weighted-tv", "l1-wavelet", "tikhonov"), "deblur": ("tv", "l1-wavelet", "l2", "tikhonov")}


@dataclass
class AutoStrength:
    """What ``auto`` chose and how: the strength, σ per slice and where it came from, the trials."""

    strength: float
    sigmas: list[float]
    sigma_source: str
    target: float
    trials: list[tuple[float, float]]       # (strength, residual norm)
    fallback: bool = False
    saturated: bool = False                 # the trial solves could not resolve the discrepancy

    def describe(self) -> str:
        sigma = ", ".join(f"{s:.4g}" for s in self.sigmas[:4]) + (" ..." if len(self.sigmas) > 4 else "")
        if self.saturated:
            return (f"prior.strength auto: the trial solves did not resolve ||Ax - y|| = {self.target:.4g} between "
                    f"strengths {LOWEST:g} and {HIGHEST:g} (flat, or all on one side; noise sigma {sigma}, "
                    f"{self.sigma_source}); using prior.fixed_strength {self.strength:g} (raise "
                    f"prior.auto_iterations to resolve it)")
        if self.fallback:
            return (f"prior.strength auto: the data shows no noise (sigma {sigma}, {self.sigma_source}); "
                    f"using prior.fixed_strength {self.strength:g}")
        return (f"prior.strength auto: {self.strength:.4g} by the discrepancy principle, ||Ax - y|| = "
                f"{self.target:.4g} (noise sigma {sigma}, {self.sigma_source}), {len(self.trials)} trial solves")


def _given_noise(measurement) -> list[float] | None:
    given = measurement.metadata.get("noise_sigma")
    if given is None:
        return None
    values = [float(v) for v in given] if hasattr(given, "__len__") else [float(given)] * measurement.n_slices
    return values if len(values) == measurement.n_slices else None


def noise_of(measurement) -> tuple[list[float], str]:
    """σ per slice (per image for deblurring) and where it came from: the file's metadata, else the data itself."""
    from recon.datasets.noise_estimation import image_noise_sigma, sinogram_noise_sigma

    given = _given_noise(measurement)
    if given is not None:
        return given, "metadata@noise_sigma"
    if measurement.modality == "deblur":
        return image_noise_sigma(measurement.data), "estimated from the image's finest wavelet band"
    return sinogram_noise_sigma(measurement.data), "estimated from the sinogram's detector background"


def choose_strength(config: dict, measurement, solve, forward) -> AutoStrength:
    """The relative strength of the discrepancy principle for ``config`` on ``measurement`` (module text).

    :param solve: ``solve(config) -> image``, the modality's reconstruction at a numeric strength.
    :param forward: ``forward(image) -> A image``, in the units of ``measurement.data``.
    """
    section = config["prior"]
    sigmas, source = noise_of(measurement)
    y = measurement.data
    samples = y[0].numel()
    tau = section["discrepancy_tau"] if section["discrepancy_tau"] is not None else DEFAULT_TAU[measurement.modality]
    target = tau * math.sqrt(samples * sum(s * s for s in sigmas))
    scale = float(y.abs().max()) or 1.0
    if target <= 1e-6 * scale * math.sqrt(samples * len(sigmas)):
        return AutoStrength(section["fixed_strength"], sigmas, source, target, [], fallback=True)

    iterations = section["auto_iterations"] or max(1, config["solver"]["max_iter"] // 4)
    short = {**config, "prior": {**section, "strength_scale": "relative"},
             "solver": {**config["solver"], "max_iter": iterations, "tol": 0.0}}
    trials: list[tuple[float, float]] = []

    def residual(strength: float) -> float:
        image = solve({**short, "prior": {**short["prior"], "strength": strength}})
        value = float(torch.linalg.vector_norm((forward(image) - y.to(image.dtype)).flatten()))
        trials.append((strength, value))
        return value

    low, high = math.log(LOWEST), math.log(HIGHEST)
    for _ in range(config["prior"]["auto_trials"]):
        middle = 0.5 * (low + high)
        if residual(math.exp(middle)) > target:
            high = middle
        else:
            low = middle
    bracketed = any(v > target for _, v in trials) and any(v <= target for _, v in trials)
    if _saturated(trials, target) or not bracketed:
        return AutoStrength(section["fixed_strength"], sigmas, source, target, trials, fallback=True,
                            saturated=True)
    return AutoStrength(math.exp(0.5 * (low + high)), sigmas, source, target, trials)


def _saturated(trials: list[tuple[float, float]], target: float) -> bool:
    """Whether two trials at different strengths, both under the target, left the same residual: the short
    solves stopped before the stronger prior could act (TV's dual has not grown to λ), so the bisection was
    blind there."""
    under = sorted((strength, value) for strength, value in trials if value <= target)
    return any(abs(a[1] - b[1]) <= 1e-5 * b[1] for a, b in zip(under, under[1:]))


def resolve_auto_strength(config: dict, measurement, operator=None, echo=None) -> tuple[dict, AutoStrength | None]:
    """``(config, how)``: the config with ``prior.strength: auto`` replaced by the chosen relative strength.

    ``operator``: CT's, built already by the caller (deblurring builds its own from the file).
    """
    section = config["prior"]
    if section["strength"] != "auto":
        return config, None
    check_auto_applies(config, measurement.modality)
    if measurement.modality == "ct":
        from recon.experiments.build import reconstruct

        def solve(trial):
            return reconstruct(trial, measurement, operator).image

        forward = operator.A
    else:
        from recon.experiments.build_deblur import deblur_setup, reconstruct_deblur
        from recon.operators.deblur_acquisition import MultibandAcquisition

        setup = deblur_setup(config, measurement)
        if isinstance(setup, MultibandAcquisition):
            raise ValueError("prior.strength: auto is for single-band deblurring so far; give a number for a "
                             "multiband file")

        def solve(trial):
            return reconstruct_deblur(trial, measurement).image

        forward = setup.operator().A
    chosen = choose_strength(config, measurement, solve, forward)
    if echo is not None:
        echo(chosen.describe())
    return {**config, "prior": {**section, "strength": chosen.strength, "strength_scale": "relative"}}, chosen


def check_auto_applies(config: dict, modality: str) -> None:
    """One line when ``prior.strength: auto`` is asked of a modality or prior it does not serve yet."""
    if config["prior"]["strength"] != "auto":
        return
    if modality not in AUTO_PRIORS:
        raise ValueError(f"prior.strength: auto is available for CT and deblurring so far; give a number for "
                         f"{modality}")
    kinds = AUTO_PRIORS[modality]
    if config["prior"]["kind"] not in kinds:
        raise ValueError(f"prior.strength: auto chooses the strength of {', '.join(kinds)}, not "
                         f"{config['prior']['kind']}; give a number")
    if config["solver"].get("data_term") == "poisson":
        raise ValueError("prior.strength: auto matches a Gaussian discrepancy; give a number with data_term poisson")
