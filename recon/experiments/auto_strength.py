r"""``prior.strength: auto``: the regularisation strength chosen from the measurement alone (CT, MRI, deblurring).

**Noise.** σ per slice is the file's ``metadata@noise_sigma`` when it has one, else estimated
from the data itself (:mod:`recon.datasets.noise_estimation`: for a sinogram the finest detail of
the detector background, for a blurred image the finest diagonal wavelet band, for k-space the
sampled periphery).

Two rules turn σ into λ (``prior.auto_rule``):

**Noise-proportional** (TV's default): the relative strength κν^p, ν = σg / max|Aᴴy| the noise as it
reaches the image (g the gain of Aᴴ on white noise, :func:`noise_gain`; for MRI on noise with the coils'
own covariance); for undersampled MRI plus
c·α, α the aliasing level of the k-space taken alike (:func:`noise_proportional`). No trial solve:
auto costs one solve, the noise estimate and one back-projection. κ, p (and c) are chosen per
modality on validation data (``scripts/auto_strength_tau.py``); they are in the prior's units, so
the other priors take

**the discrepancy principle** (Morozov), which needs no constant per prior. The residual :math:`r(\lambda) = \|Ax_\lambda - y\|` grows
with λ; the chosen λ is where it meets :math:`\tau\,\sigma\sqrt m` (over the batch,
:math:`\tau\sqrt{\sum_b m_b\,\sigma_b^2}`), :math:`m_b` the measured samples of slice :math:`b`.
It needs no training data and no ground truth, only σ, and :math:`r` is monotone, so a search
along λ finds it:

1. a first short solve (``prior.auto_iterations``) at ``prior.fixed_strength``;
2. a path of solves, each warm-started from the last, half a decade apart, down when the residual
   is over the target and up when under, until it crosses the target;
3. refinements inside the bracket, where log r is interpolated linearly in log λ;

at most ``prior.auto_trials`` solves in all. The config's own solve then starts from the trial
nearest the chosen λ. The warm starts carry the path's iterations along, so the trials near the
crossing are close to converged although each is short.

SURE and GCV need the divergence of the solver's map :math:`y \mapsto Ax_\lambda`, which a
nonlinear TV solve only gives by randomised probing (one more solve per probe and λ, twice the
cost); the discrepancy principle needs one residual per trial. τ is below 1 because the best λ
leaves less residual than the noise: :math:`E\|Ax_\lambda - y\|^2 \approx \sigma^2(m - \mathrm{df})`.
Where the model cannot fit the data to the noise (MRI with estimated coil maps), the residual has a
floor and the discrepancy is poorly posed: on the MRI validation data it lost 1.98 dB to the best λ,
the noise-proportional rule 0.07.

A measurement whose σ is 0 (a noiseless simulation) has no discrepancy to match: the strength
falls back to ``prior.fixed_strength``, and the echo line says so. So it does when the path leaves
[1e-5, 0.1] or runs out of trials without crossing the target, and when two trials at different
strengths leave the same residual under the target (the short solves stopped before the
stronger prior could act, and the search was blind).

>>> AutoStrength(0.0011, [0.43, 0.26], "metadata@noise_sigma", 72.8, [(0.001, 70.1)] * 7).describe()[:57]
'prior.strength auto: 0.0011 by the discrepancy principle,'
>>> check_auto_applies({"prior": {"strength": "auto", "kind": "tv"}, "solver": {}}, "mimo")
Traceback (most recent call last):
ValueError: prior.strength: auto is available for CT, MRI and deblurring; give a number for mimo
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: The relative strengths the search may choose between (``prior.strength_scale: relative``).
LOWEST, HIGHEST = 1e-5, 0.1
#: The path's step in λ: half a decade.
PATH_STEP = math.sqrt(10.0)
#: Refinement solves inside the bracket, when the trials allow.
REFINEMENTS = 2
#: τ of the discrepancy when prior.discrepancy_tau is null, chosen on each modality's validation data
#: (``scripts/auto_strength_tau.py``, TV solved to the end: the τ whose picks lose least to the best λ).
DEFAULT_TAU = {"ct": 0.84, "deblur": 0.98, "mri": 0.98}
#: κ of the noise-proportional rule for TV when prior.noise_kappa is null, chosen the same way. κ is in
#: units of the prior, so it is known for TV only; the other priors take the discrepancy principle.
DEFAULT_KAPPA = {"ct": 3.162, "deblur": 35.48, "mri": 0.3981}
#: p of the noise-proportional rule λ = κν^p when prior.noise_power is null, chosen with κ.
DEFAULT_POWER = {"ct": 1.25, "deblur": 1.75, "mri": 1.0}
#: MRI: c of λ = κν + c·α, α the aliasing level of the undersampled k-space, chosen with κ on the validation
#: data (s1045 and a validation phantom): the strength compressed sensing needs when the noise is low.
DEFAULT_ALIASING_WEIGHT = {"mri": 0.03162}
#: The priors whose strength auto can choose, per modality.
AUTO_PRIORS = {"ct": ("tv", "weighted-tv", "l1-wavelet", "tikhonov"),
               "deblur": ("tv", "l1-wavelet", "l2", "tikhonov"),
               "mri": ("tv", "l1-wavelet", "tikhonov")}


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
    kappa: float | None = None              # set when the noise-proportional rule chose: κ ν^p (+ c α)
    aliasing: tuple[float, float] | None = None    # MRI: (c, α / ν) of the aliasing term
    power: float = 1.0                      # the noise-proportional rule's p: λ = κ ν^p

    def describe(self) -> str:
        sigma = ", ".join(f"{s:.4g}" for s in self.sigmas[:4]) + (" ..." if len(self.sigmas) > 4 else "")
        if self.saturated:
            return (f"prior.strength auto: the trial solves did not resolve ||Ax - y|| = {self.target:.4g} between "
                    f"strengths {LOWEST:g} and {HIGHEST:g} (flat, or all on one side; noise sigma {sigma}, "
                    f"{self.sigma_source}); using prior.fixed_strength {self.strength:g} (raise "
                    f"prior.auto_iterations or prior.auto_trials to resolve it)")
        if self.fallback:
            return (f"prior.strength auto: the data shows no noise (sigma {sigma}, {self.sigma_source}); "
                    f"using prior.fixed_strength {self.strength:g}")
        if self.kappa is not None:
            term = "" if self.aliasing is None else \
                f" + {self.aliasing[0]:g} a (aliasing a = {self.aliasing[1]:.3g} sigma)"
            level = "nu" if self.power == 1 else f"nu^{self.power:g}"
            return (f"prior.strength auto: {self.strength:.4g} by the noise-proportional rule, {self.kappa:g} "
                    f"{level}{term} (nu = sigma x gain / max|A^H y|; noise sigma {sigma}, {self.sigma_source})")
        return (f"prior.strength auto: {self.strength:.4g} by the discrepancy principle, ||Ax - y|| = "
                f"{self.target:.4g} (noise sigma {sigma}, {self.sigma_source}), {len(self.trials)} trial solves")


@dataclass
class Choice:
    """:func:`choose_strength`'s answer: how the strength was found, and the trial image to start from."""

    how: AutoStrength
    start: object | None          # the trial solution nearest the chosen strength (None on a fallback)


def given_noise(measurement) -> list[float] | None:
    """σ per slice from the file's ``metadata@noise_sigma``, or ``None``."""
    given = measurement.metadata.get("noise_sigma")
    if given is None:
        return None
    values = [float(v) for v in given] if hasattr(given, "__len__") else [float(given)] * measurement.n_slices
    return values if len(values) == measurement.n_slices else None


def noise_of(measurement) -> tuple[list[float], str]:
    """σ per slice (per image for deblurring) and where it came from: the file's metadata, else the data itself."""
    from recon.datasets.noise_estimation import image_noise_sigma, sinogram_noise_sigma

    given = given_noise(measurement)
    if given is not None:
        return given, "metadata@noise_sigma"
    if measurement.modality == "deblur":
        return image_noise_sigma(measurement.data), "estimated from the image's finest wavelet band"
    return sinogram_noise_sigma(measurement.data), "estimated from the sinogram's detector background"


def rms_sigma(sigmas) -> float:
    """The root mean square of the slices' σ: one level for a batch solved with one λ."""
    return math.sqrt(sum(float(s) ** 2 for s in sigmas) / len(sigmas))


def discrepancy_target(config: dict, modality: str, sigmas: list[float], samples: list[int]) -> float:
    r""":math:`\tau\sqrt{\sum_b m_b\sigma_b^2}` with τ from ``prior.discrepancy_tau`` or :data:`DEFAULT_TAU`.

    >>> discrepancy_target({"prior": {"discrepancy_tau": 0.5}}, "ct", [0.1, 0.1], [50, 50])
    0.5
    """
    tau = config["prior"]["discrepancy_tau"]
    tau = DEFAULT_TAU[modality] if tau is None else tau
    return tau * math.sqrt(sum(m * s * s for m, s in zip(samples, sigmas)))


def short_config(config: dict) -> dict:
    """The config of a trial solve: ``prior.auto_iterations`` (default ``solver.max_iter / 4``), no tolerance."""
    section = config["prior"]
    iterations = section["auto_iterations"] or max(1, config["solver"]["max_iter"] // 4)
    return {**config, "prior": {**section, "strength_scale": "relative"},
            "solver": {**config["solver"], "max_iter": iterations, "tol": 0.0}}


def auto_rule(config: dict) -> str:
    """``prior.auto_rule``; by default the noise-proportional rule for TV, whose κ is known
    (:data:`DEFAULT_KAPPA`), and the discrepancy principle for the other priors.

    On the validation data TV solved to the end lost 0.01 dB (CT), 0.02 (deblurring) and 0.07 (MRI) to each
    dataset's best λ with the noise-proportional rule, against 0.17, 0.13 and 1.98 with the discrepancy
    principle; the rule needs no trial solve, and it does not depend on how near the trials come to the
    residual of the final solve.
    """
    given = config["prior"]["auto_rule"]
    if given is not None:
        return given
    return "noise-proportional" if config["prior"]["kind"] == "tv" else "discrepancy"


def choose(config: dict, modality: str, noise: tuple[list[float], str], samples: list[int], data_norm: float,
           noise_level: float, trial, aliasing_level: float | None = None) -> Choice:
    """The strength by the config's rule (``prior.auto_rule``): :func:`choose_strength` or
    :func:`noise_proportional`.

    :param noise: σ per slice and where it came from.
    :param samples: measured samples per slice (m_b).
    :param data_norm: ‖y‖, below whose 1e-6 the noise counts as none.
    :param noise_level: ν = σg / max|Aᴴy| (:func:`noise_gain`), the noise relative to the back-projected data.
    :param trial: see :func:`choose_strength`.
    :param aliasing_level: MRI: the aliasing a, as ν is for σ (:func:`noise_proportional`).
    """
    sigmas, source = noise
    if math.sqrt(sum(m * s * s for m, s in zip(samples, sigmas))) <= 1e-6 * data_norm:
        return Choice(AutoStrength(config["prior"]["fixed_strength"], sigmas, source, 0.0, [], fallback=True), None)
    if auto_rule(config) == "noise-proportional":
        return noise_proportional(config, modality, sigmas, source, noise_level, aliasing_level)
    target = discrepancy_target(config, modality, sigmas, samples)
    return choose_strength(config, target, trial, sigmas, source, data_norm)


def noise_gain(adjoint, y: torch.Tensor, coil_covariance: torch.Tensor | None = None) -> float:
    r"""g = :math:`\|A^\mathsf{H}z\| / \sqrt n` for white noise :math:`z` of unit variance shaped like ``y`` (one
    seeded probe; :math:`E|z|^2 = 1`, circular when ``y`` is complex): the rms of a unit noise after
    back-projection, so that σg is the noise in the units of :math:`A^\mathsf{H}y`. It grows as
    √views for CT, as ‖psf‖ for a blur, with the sampled share for MRI.

    ``coil_covariance`` (MRI, ``y`` of shape ``(batch, coils, ...)``): the probe has the coils' covariance
    Ψ scaled to a mean diagonal of 1 (:func:`recon.datasets.noise_estimation.kspace_noise_covariance`),
    so that g carries how unequal and correlated the coils' noise is, and σ its level.

    >>> round(noise_gain(lambda z: 2 * z, torch.zeros(1, 1, 64, 64)), 6)
    2.0
    >>> combine = lambda z: z.sum(dim=1)           # two coils added: correlated noise adds up
    >>> y = torch.zeros(1, 2, 64, 64, dtype=torch.complex64)
    >>> white = noise_gain(combine, y)
    >>> round(noise_gain(combine, y, torch.tensor([[1, 0.9], [0.9, 1]])) / white, 1)    # √(2 + 1.8) / √2
    1.4
    >>> noise_gain(combine, y, torch.zeros(2, 2)) == white                                  # a silent periphery
    True
    """
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(y.shape, generator=generator, dtype=torch.float64)
    if y.is_complex():
        real = torch.complex(real, torch.randn(y.shape, generator=generator, dtype=torch.float64)) / math.sqrt(2)
    probe = real.to(device=y.device, dtype=y.dtype)
    probe = probe / float(torch.linalg.vector_norm(probe.flatten())) * math.sqrt(probe.numel())
    power = None if coil_covariance is None else float(coil_covariance.diagonal().real.mean())
    if power is not None and math.isfinite(power) and power > 0:       # no noise at all: white (auto falls back)
        psi = coil_covariance.to(torch.complex128) / power
        values, vectors = torch.linalg.eigh(psi)         # Ψ = L Lᴴ with L = V √Λ (Ψ is only semi-definite)
        root = (vectors * values.clamp(min=0).sqrt()).to(probe.dtype)
        probe = torch.einsum("cd,bd...->bc...", root, probe)
    back = adjoint(probe)
    return float(torch.linalg.vector_norm(back.flatten())) / math.sqrt(back.numel())


def noise_level(adjoint, y: torch.Tensor, sigma: float) -> float:
    """ν = σg / max|Aᴴy|: the noise as it reaches the image (:func:`noise_gain`), relative to the back-projected data.

    >>> round(noise_level(lambda z: 2 * z, torch.ones(1, 1, 64, 64), 0.1), 6)      # 0.1 × 2 / 2
    0.1
    """
    return sigma * noise_gain(adjoint, y) / (float(adjoint(y).abs().max()) or 1.0)


def noise_proportional(config: dict, modality: str, sigmas: list[float], source: str,
                       noise_level: float, aliasing_level: float | None = None) -> Choice:
    r"""The relative strength :math:`\kappa\nu^p` of the noise level :math:`\nu = \sigma g / \max|A^\mathsf{H}y|`,
    no trial solve; for undersampled MRI :math:`\kappa\nu^p + c\,\alpha` with α the aliasing's level.

    For TV and ℓ1 the minimiser of :math:`\tfrac12\|Ax - y\|^2 + \lambda R(x)` is unchanged when
    :math:`y`, :math:`x` and λ are scaled together, and the noise sets the scale of what the prior
    must remove: the universal threshold :math:`\sigma\sqrt{2\log n}` of wavelet shrinkage is such
    a rule (:math:`p = 1`). σ counts as it reaches the image: times the gain g of :math:`A^\mathsf{H}`
    (:func:`noise_gain`), which grows with the number of views or samples. The best λ of TV grows
    faster than σ where the noise is strong, hence the power :math:`p`. κ and p are chosen on
    validation data (:data:`DEFAULT_KAPPA`, :data:`DEFAULT_POWER`).

    Undersampled k-space adds aliasing, which TV must remove even without noise (compressed sensing):
    its level :math:`a` (:func:`recon.datasets.noise_estimation.kspace_aliasing_sigma`), as
    :math:`\alpha = a g / \max|A^\mathsf{H}y|`, enters with the weight :math:`c` (``prior.aliasing_weight``,
    :data:`DEFAULT_ALIASING_WEIGHT`).

    >>> config = {"prior": {"noise_kappa": 2.0, "noise_power": 1.0, "kind": "tv"}}
    >>> noise_proportional(config, "mri", [0.01], "given", 0.001).how.strength
    0.002
    """
    section = config["prior"]
    kappa = section["noise_kappa"]
    if kappa is None and section["kind"] != "tv":
        raise ValueError(f"prior.noise_kappa: the noise-proportional rule knows κ for tv only; give prior.noise_kappa "
                         f"for {section['kind']}, or use prior.auto_rule=discrepancy")
    kappa = DEFAULT_KAPPA[modality] if kappa is None else kappa
    power = DEFAULT_POWER[modality] if section["noise_power"] is None else section["noise_power"]
    relative, aliasing = kappa * noise_level**power, None
    if aliasing_level is not None:
        weight = section["aliasing_weight"]
        weight = DEFAULT_ALIASING_WEIGHT.get(modality, 0.0) if weight is None else weight
        relative += weight * aliasing_level
        aliasing = (weight, aliasing_level / noise_level if noise_level > 0 else math.inf)
    strength = min(max(relative, LOWEST), HIGHEST)
    return Choice(AutoStrength(strength, sigmas, source, 0.0, [], kappa=kappa, aliasing=aliasing, power=power), None)


def choose_strength(config: dict, target: float, trial, sigmas: list[float], source: str, scale: float) -> Choice:
    """The relative strength where the residual meets ``target`` (module text).

    :param trial: ``trial(strength, start) -> (solution, residual norm)``, a short solve at a relative
        strength from ``start`` (``None``: the solver's own start).
    :param scale: the data's size (its norm), below which a target counts as no noise.
    """
    section = config["prior"]
    fixed = section["fixed_strength"]
    if target <= 1e-6 * scale:
        return Choice(AutoStrength(fixed, sigmas, source, target, [], fallback=True), None)
    budget = section["auto_trials"]
    trials: list[tuple[float, float]] = []
    solutions: dict[float, object] = {}

    def run(strength: float, start):
        solution, value = trial(strength, start)
        trials.append((strength, value))
        solutions[strength] = solution
        return solution, value

    strength = min(max(fixed, LOWEST), HIGHEST)
    solution, value = run(strength, None)
    over = value > target
    bracket = None
    while len(trials) < budget:
        step = strength / PATH_STEP if over else strength * PATH_STEP
        if not LOWEST * 0.999 <= step <= HIGHEST * 1.001:
            break
        solution, next_value = run(step, solution)
        if (next_value > target) != over:
            bracket = (strength, value, step, next_value)
            break
        strength, value = step, next_value
    if bracket is None or _saturated(trials, target):
        return Choice(AutoStrength(fixed, sigmas, source, target, trials, fallback=True, saturated=True), None)
    low, high = sorted([bracket[:2], bracket[2:]])              # (strength, residual), low strength first
    for _ in range(min(REFINEMENTS, budget - len(trials))):
        middle = _crossing(low, high, target)
        start = solutions[low[0] if abs(math.log(middle / low[0])) < abs(math.log(high[0] / middle)) else high[0]]
        _, value = run(middle, start)
        if value > target:
            high = (middle, value)
        else:
            low = (middle, value)
    if _saturated(trials, target):
        return Choice(AutoStrength(fixed, sigmas, source, target, trials, fallback=True, saturated=True), None)
    chosen = _crossing(low, high, target)
    nearest = min(solutions, key=lambda s: abs(math.log(s / chosen)))
    return Choice(AutoStrength(chosen, sigmas, source, target, trials), solutions[nearest])


def _crossing(low: tuple[float, float], high: tuple[float, float], target: float) -> float:
    """Where log r, linear in log λ between the bracket's ends, meets log target (the middle if r is flat)."""
    (s0, r0), (s1, r1) = low, high
    if not (r0 > 0 and r1 > r0):
        return math.sqrt(s0 * s1)
    t = (math.log(target) - math.log(r0)) / (math.log(r1) - math.log(r0))
    t = min(max(t, 0.1), 0.9)             # keep inside the bracket, so that each refinement shrinks it
    return math.exp(math.log(s0) + t * (math.log(s1) - math.log(s0)))


def _saturated(trials: list[tuple[float, float]], target: float) -> bool:
    """Whether two trials at different strengths, both under the target, left the same residual: the short
    solves stopped before the stronger prior could act (TV's dual has not grown to λ), so the search was
    blind there."""
    under = sorted((strength, value) for strength, value in trials if value <= target)
    return any(abs(a[1] - b[1]) <= 1e-5 * b[1] for a, b in zip(under, under[1:]))


def residual_norm(forward, image: torch.Tensor, y: torch.Tensor) -> float:
    """‖A image − y‖ over the batch."""
    return float(torch.linalg.vector_norm((forward(image) - y.to(image.dtype)).flatten()))


def resolve_auto_strength(config: dict, measurement, operator=None, echo=None):
    """``(config, how, start)``: the config with ``prior.strength: auto`` replaced by the chosen relative
    strength, how it was found, and the trial solution to warm-start the final solve from.

    CT and deblurring; MRI resolves its own inside :func:`recon.experiments.build_mri.reconstruct_mri`, where
    the coil maps are. ``operator``: CT's, built already by the caller (deblurring builds its own from the file).
    """
    section = config["prior"]
    if section["strength"] != "auto":
        return config, None, None
    check_auto_applies(config, measurement.modality)
    short = short_config(config)
    if measurement.modality == "ct":
        from recon.experiments.build import reconstruct

        def solve(trial_config, start):
            return reconstruct(trial_config, measurement, operator, x0=start).image

        forward, adjoint = operator.A, operator.A_adjoint
    else:
        from recon.experiments.build_deblur import deblur_setup, reconstruct_deblur
        from recon.experiments.combinations import check_deblur_combination
        from recon.operators.deblur_acquisition import MultibandAcquisition

        setup = deblur_setup(config, measurement)
        if isinstance(setup, MultibandAcquisition):
            check_deblur_combination(config, True)       # a solver that cannot image the bands says so first
            raise ValueError("prior.strength: auto is for single-band deblurring so far; give a number for a "
                             "multiband file")

        def solve(trial_config, start):
            return reconstruct_deblur(trial_config, measurement, x0=start).image

        forward, adjoint = setup.operator().A, setup.operator().A_adjoint
    y = measurement.data

    def trial(strength: float, start):
        image = solve({**short, "prior": {**short["prior"], "strength": strength}}, start)
        return image, residual_norm(forward, image, y)

    sigmas, source = noise_of(measurement)
    level = noise_level(adjoint, y, rms_sigma(sigmas))
    choice = choose(config, measurement.modality, (sigmas, source), [y[0].numel()] * len(sigmas),
                    float(torch.linalg.vector_norm(y.flatten())), level, trial)
    if echo is not None:
        echo(choice.how.describe())
    chosen = {**config, "prior": {**section, "strength": choice.how.strength, "strength_scale": "relative"}}
    return chosen, choice.how, choice.start


def check_auto_applies(config: dict, modality: str) -> None:
    """One line when ``prior.strength: auto`` is asked of a modality or prior it does not serve."""
    if config["prior"]["strength"] != "auto":
        return
    if modality not in AUTO_PRIORS:
        raise ValueError(f"prior.strength: auto is available for CT, MRI and deblurring; give a number for "
                         f"{modality}")
    kinds = AUTO_PRIORS[modality]
    if config["prior"]["kind"] not in kinds:
        raise ValueError(f"prior.strength: auto chooses the strength of {', '.join(kinds)}, not "
                         f"{config['prior']['kind']}; give a number")
    if config["solver"].get("data_term") == "poisson":
        raise ValueError("prior.strength: auto matches a Gaussian discrepancy; give a number with data_term poisson")
