r"""The problems of ``recon bench diffusion``, built once and handed to recon's samplers and deepinv's alike.

Two 128² posterior-sampling problems with the shipped score networks (EDM denoisers,
:mod:`recon.networks.edm`), the data those of ``recon bench pnp`` (:mod:`recon.bench.pnp_problems`)
at the diffusion issue's size:

* ``diffusion-ct``: the first COULE-like test phantom, 30 parallel views over 180°, noise with
  :math:`\|n\| = 0.02\|Ax\|`; score network ``edm-small-phantom``; start the Hann-filtered FBP.
* ``diffusion-deblur``: scikit-image's ``camera`` (a test image of ``edm-small-natural``, never
  trained on), a Gaussian PSF of σ = 2 pixels with a **circular** boundary (so deepinv's
  ``BlurFFT`` is the same operator and both data steps are one FFT division), noise σ = 0.01;
  score network ``edm-small-natural``; start the blurred image.

The noise level :math:`\sigma_y` is the measured one, :math:`\|y - Ax\|/\sqrt m`.

Each problem carries the sampler parameters: recon's are the validated ones of
``scripts/diffusion_vs_tv.py`` (the ``ct-diffusion`` and ``deblur-diffusion`` configs and
``docs/diffusion_vs_tv_*.json``); deepinv's are translated from them where the two methods
share a parameter (DiffPIR's λ and ζ) and chosen on a validation image where they do not
(DPS's guidance weight: ``scripts/bench_diffusion_validation.py``). Every sampler takes
``steps`` network evaluations per sample.

DiffPIR's λ in deepinv: its state lives in [-1, 1], so its noise levels are :math:`2\sigma_t`, and
its data step is :math:`\operatorname{prox}_{\gamma f}` with :math:`\gamma = 1/(2\rho')`,
:math:`\rho' = \lambda'\sigma_y^2/(2\sigma_t)^2`: the minimiser of
:math:`\|Au - y\|^2 + 2\rho'\|u - v\|^2`. recon's is that of :math:`\|Au - y\|^2 + \rho\|u - v\|^2`
with :math:`\rho = \lambda\sigma_y^2/\sigma_t^2`, so :math:`\lambda' = 2\lambda` gives both the
same data step.

>>> setup = DiffusionSetup(size=32, n_views=8, steps=3)
>>> problem = ct_problem(setup)
>>> tuple(problem.y.shape), problem.score, problem.deepinv_diffpir_lambda == 2 * problem.diffpir.lam
((1, 1, 8, 48), 'edm-small-phantom', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

CT = "diffusion-ct"
DEBLUR = "diffusion-deblur"
#: (recon's method, deepinv's method): the same sampler, each library's implementation
DPS_PAIR = ("dps", "DPS")
DIFFPIR_PAIR = ("diffpir", "DiffPIR")
RED_DIFF = "red-diff"


@dataclass(frozen=True)
class DiffusionSetup:
    """What ``recon bench diffusion`` runs; the defaults are the issue's, smaller ones serve smoke tests.

    ``max_iter`` (the CLI's ``--max-iter``) is accepted as the number of steps.
    """

    size: int = 128
    n_views: int = 30
    steps: int = 100
    samples: int = 3                 # seeds 0..samples-1 per method; PSNR is their mean, time the fastest
    phantom_score: str = "edm-small-phantom"
    natural_score: str = "edm-small-natural"
    max_iter: int | None = None
    budget_s: float = 120.0          # per sample

    @property
    def step_count(self) -> int:
        return int(self.max_iter) if self.max_iter is not None else int(self.steps)


@dataclass(frozen=True)
class DiffPIRParameters:
    lam: float
    zeta: float
    sigma_max: float
    cg_steps: int


@dataclass(frozen=True)
class DPSParameters:
    step: float                      # recon's ζ, in units of 1/‖A‖²
    sigma_max: float
    deepinv_weight: float            # deepinv's guidance weight (its "norm" guidance, the paper's)


@dataclass(frozen=True)
class REDDiffParameters:
    lam: float
    learning_rate: float
    sigma_max: float
    cg_steps: int


@dataclass(frozen=True)
class DiffusionProblem:
    """One posterior-sampling problem, everything both libraries need; ``operator`` is recon's."""

    name: str
    truth: torch.Tensor
    y: torch.Tensor
    operator: object
    x0: torch.Tensor                 # the start deepinv's DiffPIR is given (recon's samplers start from noise or A†y)
    baseline: str
    baseline_image: torch.Tensor
    noise_sigma: float
    score: str                       # a shipped name or a path
    steps: int
    diffpir: DiffPIRParameters
    dps: DPSParameters
    red_diff: REDDiffParameters
    description: str

    @property
    def deepinv_diffpir_lambda(self) -> float:
        """deepinv's λ' = 2λ: the same data step as recon's λ (module text)."""
        return 2.0 * self.diffpir.lam


def _measured_sigma(y: torch.Tensor, clean: torch.Tensor) -> float:
    return float((y - clean).pow(2).mean().sqrt())


def ct_problem(setup: DiffusionSetup, truth: torch.Tensor | None = None) -> DiffusionProblem:
    """``diffusion-ct`` (module text), or the same scan of ``truth`` (validation)."""
    from recon.bench import pnp_problems

    data = pnp_problems.ct_problem(pnp_problems.PnPSetup(size=setup.size, n_views=setup.n_views), truth)
    return DiffusionProblem(
        CT, data.truth, data.y, data.operator, data.x0, "FBP", data.baseline_image,
        _measured_sigma(data.y, data.operator.A(data.truth)), setup.phantom_score, setup.step_count,
        DiffPIRParameters(lam=0.1, zeta=0.9, sigma_max=1.0, cg_steps=5),
        DPSParameters(step=2.0, sigma_max=1.0, deepinv_weight=5.0),
        REDDiffParameters(lam=1000.0, learning_rate=0.02, sigma_max=10.0, cg_steps=20),
        f"{setup.size}² test phantom, {setup.n_views} parallel views, 2% relative noise")


def deblur_problem(setup: DiffusionSetup, truth: torch.Tensor | None = None) -> DiffusionProblem:
    """``diffusion-deblur`` (module text), or the same blur of ``truth`` (validation)."""
    from recon.bench import pnp_problems

    data = pnp_problems.deblur_problem(pnp_problems.PnPSetup(size=setup.size), truth)
    return DiffusionProblem(
        DEBLUR, data.truth, data.y, data.operator, data.y, "blurred", data.y,
        _measured_sigma(data.y, data.operator.A(data.truth)), setup.natural_score, setup.step_count,
        DiffPIRParameters(lam=1.0, zeta=0.9, sigma_max=1.0, cg_steps=20),
        DPSParameters(step=1.0, sigma_max=1.0, deepinv_weight=300.0),
        REDDiffParameters(lam=1000.0, learning_rate=0.02, sigma_max=10.0, cg_steps=20),
        f"{setup.size}² camera, circular Gaussian blur sigma 2 (25x25), noise 0.01")


PROBLEMS = (ct_problem, deblur_problem)


def seconds_text(value: float | None) -> str:
    return "never" if value is None or math.isnan(value) else f"{value:.2f} s"
