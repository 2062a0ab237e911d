r"""The problems of ``recon bench pnp``, built once and handed to recon and to deepinv alike.

Two reconstructions with the same trained denoiser :math:`D(\cdot, \sigma)` and the same
least-squares data term :math:`\tfrac12\|Ax - y\|^2`:

* ``pnp-deblur``: scikit-image's ``camera`` at 256² in [0, 1] (a test image of the
  denoisers, never trained on), a Gaussian PSF of σ = 2 pixels in a 25 × 25 kernel with a
  **circular** boundary (so deepinv's ``BlurFFT`` is the same operator as recon's ``Blur``),
  Gaussian noise σ = 0.01; start :math:`x_0 = A^\top y` (DPIR's); denoiser the one
  ``deblur-pnp`` ships (``drunet-small-photo``).
* ``pnp-ct``: the first COULE-like test phantom (``random_phantoms(size, 1, seed=3)``) at
  256², 30 parallel views over 180°, Gaussian noise with :math:`\|n\| = 0.02\|Ax\|`; start
  the Hann-filtered FBP; denoiser ``drunet-small-phantom``. Both libraries run on recon's
  ``ParallelBeamCT`` (a deepinv ``LinearPhysics``), so their data steps differ only in how
  they solve :math:`(A^\top A + \alpha I)x = A^\top y + \alpha v`.

Each problem carries the parameters of two algorithms that recon and deepinv both have:

* **HQS with DPIR's schedule**: :math:`\sigma_k` geometric from ``sigma_start`` to
  ``sigma_end`` over the run, :math:`x_k = (A^\top A + \alpha_k I)^{-1}(A^\top y + \alpha_k z_{k-1})`,
  :math:`z_k = D(x_k, \sigma_k)`, :math:`\alpha_k = s\,\|A\|^2(\sigma_{\text{end}}/\sigma_k)^2`.
  For deblurring these are DPIR's own numbers (σ from 49/255 to the noise level, 8
  iterations, :math:`s = 0.23`, :math:`\|A\| = 1`): ``deepinv.optim.DPIR(sigma=0.01)``'s
  schedule exactly. deepinv's ``stepsize`` is :math:`\gamma_k = 1/\alpha_k`.
* **PnP-ADMM** with a fixed σ and :math:`\alpha = p\,\|A\|^2` (deepinv's ``stepsize`` :math:`1/\alpha`).

The CT parameters and the ADMM parameters for deblurring were chosen with the shipped
models on validation images (three phantoms of seed 2; ``chelsea`` and ``china``), never on
the test images scored here: ``scripts/bench_pnp_validation.py`` (best mean PSNR after the
last iteration).
:math:`\|A\|` is computed when the problem is built (like the operator itself, not timed)
and both libraries use that number.

>>> setup = PnPSetup(size=32, n_views=8)
>>> problem = ct_problem(setup)
>>> tuple(problem.y.shape), problem.baseline
((1, 1, 8, 48), 'FBP')
>>> round(hqs_schedule(deblur_problem(setup).hqs)[0][-1] * 255, 2)     # DPIR ends at the noise level
2.55
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

DEBLUR = "pnp-deblur"
CT = "pnp-ct"
DENOISER = "pnp-denoiser"
#: (recon's method, deepinv's method): the same algorithm with the same parameters
HQS_PAIR = ("hqs, DPIR schedule", "DPIR iteration: HQS + PnP")
ADMM_PAIR = ("pnp_admm", "ADMM + PnP")
#: (recon's HQS with the shipped config's schedule, deepinv's DPIR with its own): each library as it ships
SHIPPED_PAIR = ("hqs, deblur-pnp's schedule", "DPIR iteration: HQS + PnP")
#: The recon config whose denoiser and HQS schedule (σ start and end, strength, iterations, constraint)
#: SHIPPED_PAIR runs
SHIPPED_DEBLUR_CONFIG = "deblur-pnp"


@dataclass(frozen=True)
class PnPSetup:
    """What ``recon bench pnp`` runs; the defaults are the issue's, smaller ones serve smoke tests.

    ``max_iter`` ``None`` gives each algorithm its own count (DPIR's 8 for deblurring); a
    number gives every algorithm that many iterations (HQS's schedule then spans them).
    """

    size: int = 256
    n_views: int = 30
    general_denoiser: str = "drunet-small-general"   # the pnp-denoiser timings
    phantom_denoiser: str = "drunet-small-phantom"   # pnp-ct
    deblur_denoiser: str | None = None               # pnp-deblur; None: the one SHIPPED_DEBLUR_CONFIG ships
    max_iter: int | None = None
    budget_s: float = 60.0
    seed: int = 0
    repeats: int = 1                 # runs per method; the fastest is reported
    time_denoisers: bool = True      # the pnp-denoiser records (seconds per call)


@dataclass(frozen=True)
class HQSParameters:
    sigma_start: float
    sigma_end: float
    strength: float
    iterations: int
    nonnegative: bool = False


@dataclass(frozen=True)
class ADMMParameters:
    sigma: float
    penalty: float
    iterations: int


@dataclass(frozen=True)
class PnPProblem:
    """One reconstruction problem, everything both libraries need; ``operator`` is recon's."""

    name: str
    truth: torch.Tensor
    y: torch.Tensor
    operator: object
    x0: torch.Tensor
    baseline: str                    # what x0 or y is called in the table ("blurred", "FBP")
    baseline_image: torch.Tensor
    norm_squared: float              # ‖A‖², computed once here
    denoiser: str                    # a shipped name or a path
    hqs: HQSParameters
    admm: ADMMParameters
    description: str
    shipped: HQSParameters | None = None      # the shipped config's HQS schedule, run beside DPIR's own


def _iterations(setup: PnPSetup, default: int) -> int:
    return default if setup.max_iter is None else int(setup.max_iter)


def _norm_squared(operator, like: torch.Tensor) -> float:
    from recon.solvers.pnp_common import operator_norm_squared

    return operator_norm_squared(operator, like)


def deblur_problem(setup: PnPSetup, truth: torch.Tensor | None = None) -> PnPProblem:
    """``pnp-deblur``: circular Gaussian blur of ``camera`` (see the module text), or of ``truth`` (validation)."""
    from recon.datasets.phantoms import camera
    from recon.operators.blur import Blur
    from recon.operators.psf import gaussian_psf

    noise = 0.01
    truth = camera(setup.size) if truth is None else truth
    blur = Blur(gaussian_psf(25, 2.0).to(torch.float32), (setup.size, setup.size), boundary="circular")
    generator = torch.Generator().manual_seed(setup.seed)
    y = (blur.A(truth) + noise * torch.randn(truth.shape, generator=generator)).to(torch.float32)
    denoiser, shipped = shipped_deblur(setup)
    return PnPProblem(
        DEBLUR, truth, y, blur, blur.A_adjoint(y), "blurred", y, _norm_squared(blur, y), denoiser,
        HQSParameters(sigma_start=49 / 255, sigma_end=noise, strength=0.23, iterations=_iterations(setup, 8)),
        ADMMParameters(sigma=16 / 255, penalty=0.01, iterations=_iterations(setup, 20)),
        f"{setup.size}² camera, circular Gaussian blur sigma 2 (25x25), noise {noise:g}", shipped)


def shipped_deblur(setup: PnPSetup) -> tuple[str, HQSParameters]:
    """``(denoiser, schedule)`` of :data:`SHIPPED_DEBLUR_CONFIG` (chosen on validation images), the schedule as
    :func:`~recon.solvers.hqs.hqs` takes it; the set-up's ``deblur_denoiser``, when given, replaces the config's.

    >>> denoiser, schedule = shipped_deblur(PnPSetup())
    >>> denoiser, schedule.iterations, schedule.nonnegative
    ('drunet-small-photo', 3, True)
    """
    from recon.experiments.config import load_experiment

    config = load_experiment(SHIPPED_DEBLUR_CONFIG)
    prior, solver = config["prior"], config["solver"]
    if solver["kind"] != "hqs":
        raise ValueError(f"{SHIPPED_DEBLUR_CONFIG}: solver.kind is {solver['kind']!r}, not hqs")
    return setup.deblur_denoiser or prior["denoiser"], HQSParameters(
        sigma_start=prior["sigma_start"], sigma_end=prior["sigma"], strength=prior["strength"],
        iterations=_iterations(setup, solver["max_iter"]), nonnegative=solver["constraint"] == "nonnegative")


def ct_problem(setup: PnPSetup, truth: torch.Tensor | None = None) -> PnPProblem:
    """``pnp-ct``: 30-view parallel-beam CT of a test phantom, 2 % relative noise (see the module text),
    or of ``truth`` (validation)."""
    from recon.datasets.phantoms import random_phantoms
    from recon.datasets.simulate import add_gaussian_noise
    from recon.operators import ParallelBeamCT, fbp

    angles = torch.linspace(0, math.pi, setup.n_views + 1, dtype=torch.float64)[:-1]
    n_detectors = int(math.ceil(setup.size * math.sqrt(2))) + 2
    operator = ParallelBeamCT(angles, n_detectors, image_shape=(setup.size, setup.size))
    truth = random_phantoms(setup.size, 1, seed=3) if truth is None else truth
    y = add_gaussian_noise(operator.A(truth), 0.02, seed=setup.seed)
    start = fbp(y, operator, "hann")
    return PnPProblem(
        CT, truth, y, operator, start, "FBP", start, _norm_squared(operator, y), setup.phantom_denoiser,
        HQSParameters(sigma_start=49 / 255, sigma_end=8 / 255, strength=0.002, iterations=_iterations(setup, 24)),
        ADMMParameters(sigma=30 / 255, penalty=0.005, iterations=_iterations(setup, 40)),
        f"{setup.size}² test phantom, {setup.n_views} parallel views, 2% relative noise")


def hqs_schedule(parameters: HQSParameters) -> tuple[list[float], list[float]]:
    r"""``(sigmas, weights)``: :math:`\sigma_k` and :math:`\alpha_k / \|A\|^2`, as recon's ``hqs`` computes them."""
    from recon.solvers.hqs import sigma_schedule

    sigmas = sigma_schedule(parameters.sigma_start, parameters.sigma_end, max(parameters.iterations, 1))
    return sigmas, [parameters.strength * (parameters.sigma_end / s) ** 2 for s in sigmas]

