"""The samplers against an exact posterior: a Gaussian-mixture prior on 8 x 8 images, no trained network.

The prior has three components (a flat grey image, a bright square, a ramp), each with per-pixel
variances; :class:`recon.priors.gaussian_mixture.GaussianMixture` gives its exact MMSE denoiser at every
σ and the exact posterior for ``y = A x + n`` with a random 32 x 64 matrix A (‖A‖ ≈ 1.4) and σ_y = 0.05.
Truths are drawn from the prior, measurements from the model, so Bayesian credible intervals must
cover the truth at their nominal rate.

* PnP-ULA with the exact denoiser at ε samples the posterior of the ε-smoothed prior: its mean and
  per-pixel variance are compared with that posterior's, in units of their Monte Carlo standard errors
  (from the spread between independent chains), and its 90 % intervals' coverage is counted.
* DPS, DiffPIR and RED-diff are compared with the exact posterior mean of the unsmoothed prior: the
  relative error of their sample mean, and the error in units of the posterior's standard deviation.

    python scripts/gmm_sampler_check.py [--truths 8] [--chains 50] [--json docs/samplers_gmm.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

SIDE, MEASUREMENTS, NOISE_SIGMA, EPSILON = 8, 32, 0.05, 0.05**2


def mixture():
    """The 8 x 8 three-component prior of the module text."""
    from recon.priors.gaussian_mixture import GaussianMixture

    flat = torch.full((SIDE, SIDE), 0.4, dtype=torch.float64)
    square = flat.clone()
    square[2:6, 2:6] = 0.8
    ramp = torch.linspace(0.1, 0.9, SIDE, dtype=torch.float64).expand(SIDE, SIDE)
    means = torch.stack([flat, square, ramp]).reshape(3, -1)
    variances = torch.tensor([0.02, 0.01, 0.015], dtype=torch.float64)[:, None].expand(3, SIDE * SIDE)
    return GaussianMixture(torch.tensor([0.3, 0.4, 0.3]), means, variances, shape=(1, SIDE, SIDE))


def problem(seed: int = 0):
    """(matrix, physics) of the random 32 x 64 forward operator."""
    from deepinv.physics import LinearPhysics

    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(MEASUREMENTS, SIDE * SIDE, generator=generator, dtype=torch.float64) / SIDE
    physics = LinearPhysics(A=lambda x: x.reshape(x.shape[0], -1) @ matrix.T,
                            A_adjoint=lambda y: (y @ matrix).reshape(y.shape[0], 1, SIDE, SIDE))
    return matrix, physics


def measurements(prior, matrix, truths: int, seed: int):
    """``truths`` draws from ``prior`` and their noisy measurements."""
    generator = torch.Generator().manual_seed(seed)
    x = prior.sample(truths, generator)
    y = x.reshape(truths, -1) @ matrix.T + NOISE_SIGMA * torch.randn(truths, MEASUREMENTS, generator=generator,
                                                                      dtype=torch.float64)
    return x, y


def ula_check(truths: int = 8, chains: int = 50, iterations: int = 8000, burn_in: int = 4000, thin: int = 20,
              step: float = 1e-4, seed: int = 0) -> dict:
    """PnP-ULA with the exact denoiser against the exact posterior of the ε-smoothed prior."""
    from recon.samplers.ula import pnp_ula

    matrix, physics = problem(seed)
    smoothed = mixture().smoothed(EPSILON)
    x, y = measurements(smoothed, matrix, truths, seed + 1)
    exact_mean, exact_variance = smoothed.posterior(matrix, y, NOISE_SIGMA)
    repeated = y.repeat_interleave(chains, dim=0)
    chain = pnp_ula(repeated, physics, mixture(), noise_sigma=NOISE_SIGMA, epsilon=EPSILON, step=step,
                    iterations=iterations, burn_in=burn_in, thin=thin,
                    generator=torch.Generator().manual_seed(seed + 2))
    samples = chain.reshape(chain.shape[0], truths, chains, -1)           # (kept, truth, chain, pixel)
    chain_means = samples.mean(dim=0)                                     # (truth, chain, pixel)
    chain_variances = samples.var(dim=0)
    pooled = samples.permute(1, 0, 2, 3).reshape(truths, -1, samples.shape[-1])
    mean, variance = pooled.mean(dim=1), pooled.var(dim=1)
    mean_error = chain_means.std(dim=1) / chains**0.5
    variance_error = chain_variances.std(dim=1) / chains**0.5
    z_mean = (mean - exact_mean.reshape(truths, -1)) / mean_error
    z_variance = (variance - exact_variance.reshape(truths, -1)) / variance_error
    low, high = torch.quantile(pooled, 0.05, dim=1), torch.quantile(pooled, 0.95, dim=1)
    truth = x.reshape(truths, -1)
    covered = ((truth >= low) & (truth <= high)).double().mean()
    return {"truths": truths, "chains": chains, "iterations": iterations, "burn_in": burn_in, "thin": thin,
            "step": step, "epsilon": EPSILON,
            "mean_z_max_abs": float(z_mean.abs().max()), "mean_z_rms": float(z_mean.square().mean().sqrt()),
            "variance_z_max_abs": float(z_variance.abs().max()),
            "variance_z_rms": float(z_variance.square().mean().sqrt()),
            "variance_ratio_mean": float((variance / exact_variance.reshape(truths, -1)).mean()),
            "coverage_90": float(covered)}


def diffusion_check(truths: int = 8, samples: int = 32, steps: int = 100, seed: int = 0) -> dict:
    """DPS, DiffPIR and RED-diff with the exact denoiser against the exact posterior mean of the prior."""
    from recon.samplers import diffpir, dps, red_diff

    matrix, physics = problem(seed)
    prior = mixture()
    x, y = measurements(prior, matrix, truths, seed + 1)
    exact_mean, exact_variance = prior.posterior(matrix, y, NOISE_SIGMA)
    repeated = y.repeat_interleave(samples, dim=0)
    runs = {"dps": lambda g: dps(repeated, physics, prior, noise_sigma=NOISE_SIGMA, steps=steps, sigma_max=5.0,
                                 step_size=0.3, generator=g),
            "diffpir": lambda g: diffpir(repeated, physics, prior, noise_sigma=NOISE_SIGMA, steps=steps,
                                         sigma_max=5.0, generator=g),
            "red-diff": lambda g: red_diff(repeated, physics, prior, noise_sigma=NOISE_SIGMA, steps=steps,
                                           generator=g)}
    report = {"truths": truths, "samples": samples, "steps": steps}
    for name, run in runs.items():
        drawn = run(torch.Generator().manual_seed(seed + 3)).reshape(truths, samples, -1)
        mean = drawn.mean(dim=1)
        reference = exact_mean.reshape(truths, -1)
        report[name] = {
            "relative_mean_error": float((mean - reference).norm() / reference.norm()),
            "mean_error_in_posterior_sd": float(((mean - reference) / exact_variance.reshape(truths, -1).sqrt())
                                                .square().mean().sqrt()),
            "spread_ratio": float(drawn.var(dim=1).mean() / exact_variance.mean()),
        }
    return report


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truths", type=int, default=8)
    parser.add_argument("--chains", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    record = {"ula": ula_check(args.truths, args.chains), "diffusion": diffusion_check(args.truths)}
    print(json.dumps(record, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    main()
