r"""Diffusion priors in ``recon run``: the ``dps | diffpir | red-diff | ula`` solvers and posterior samples.

``prior.kind: diffusion`` builds like ``pnp`` (:func:`recon.experiments.build_pnp.pnp_prior`): the score
network ``prior.denoiser`` (a shipped ``edm-small-*`` model, or any denoiser) sees images scaled into
[0, 1] by the image range. The samplers of :mod:`recon.samplers` then draw ``solver.samples``
posterior samples, each from its own seed (``solver.seed`` + k), and the reconstruction is their
mean, with the per-pixel standard deviation beside it (and the samples themselves with
``solver.keep_samples``). σs are fractions of the image range: the schedule runs from
``solver.sigma_max`` to ``solver.sigma_min`` over ``solver.max_iter`` steps (one network evaluation
each); the measurement's noise level is ``solver.noise_sigma`` or the file's ``metadata@noise_sigma``,
in the units of the data.

Per sampler (the paper's parameters; ``prior.strength`` is each one's λ):

* ``dps``: ``solver.step`` is ζ, the residual-normalised step;
* ``diffpir``: ρ_i = λσ_y²/σ_i², ``solver.zeta`` the share of fresh noise;
* ``red-diff``: λ weighs the prior, Adam at ``solver.learning_rate``;
* ``ula``: each sample is the last state of its own chain (seed + k), started at the CGLS image and
  run for ``solver.burn_in`` + ``max_iter`` steps of δ = ``solver.step`` × the paper's default, with
  ε = (``prior.sigma`` × range)².
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from recon.experiments.build_pnp import PlugAndPlayPrior
from recon.experiments.noise_level import noise_sigmas_of


@dataclass
class PosteriorSamples:
    """Posterior samples of one measurement batch, shaped like a solver's result: ``x`` is their mean.

    ``std`` is the per-pixel standard deviation (0 for one sample), ``samples`` the samples
    ``(samples, batch, ...)`` when kept; ``iterations`` counts sampler steps over all samples.
    """

    x: torch.Tensor
    std: torch.Tensor
    samples: torch.Tensor | None
    iterations: int
    stop_reason: str
    history: object | None = None


def _draw_one(kind: str, config: dict, y, operator, denoiser, span: float, noise_sigma: float, seed: int, x_init,
              step_callback=None):
    """One sample per batch element of ``y`` from sampler ``kind`` (``step_callback(i, x)`` after each step)."""
    from recon.samplers import diffpir, dps, pnp_ula, red_diff

    solver, section = config["solver"], config["prior"]
    generator = torch.Generator().manual_seed(seed)
    schedule = dict(steps=solver["max_iter"], sigma_max=solver["sigma_max"] * span,
                    sigma_min=solver["sigma_min"] * span)
    if kind == "dps":
        return dps(y, operator, denoiser, noise_sigma=noise_sigma, step_size=solver["step"], generator=generator,
                   callback=step_callback, **schedule)
    if kind == "diffpir":
        return diffpir(y, operator, denoiser, noise_sigma=noise_sigma, lam=section["strength"], zeta=solver["zeta"],
                       cg_steps=solver["cg_max_iter"], generator=generator, callback=step_callback, **schedule)
    if kind == "red-diff":
        return red_diff(y, operator, denoiser, noise_sigma=noise_sigma, lam=section["strength"],
                        learning_rate=solver["learning_rate"], cg_steps=solver["cg_max_iter"], generator=generator,
                        callback=step_callback, **schedule)
    chain = pnp_ula(y, operator, denoiser, noise_sigma=noise_sigma, epsilon=(section["sigma"] * span) ** 2,
                    iterations=solver["max_iter"], burn_in=solver["burn_in"], thin=solver["max_iter"],
                    x_init=x_init, generator=generator, step_scale=solver["step"])
    return chain[-1]


def solve_sampler(config: dict, y: torch.Tensor, operator, built, callback=None, *, measurement=None,
                  data_scale: float = 1.0) -> PosteriorSamples:
    """``solver.samples`` posterior samples of ``y`` by ``solver.kind`` (module text).

    :param built: the :class:`~recon.experiments.build_pnp.PlugAndPlayPrior` of ``prior.kind: diffusion``.
    :param measurement: where the noise level comes from when the config does not give it.
    :param data_scale: the factor the builder multiplied the data by (CT's pixel units).
    """
    kind = config["solver"]["kind"]
    if not isinstance(built, PlugAndPlayPrior):
        raise ValueError(f"solver.kind: {kind} samples with a diffusion prior; set prior.kind=diffusion, "
                         f"got {config['prior']['kind']}")
    sigmas = noise_sigmas_of(config, measurement, y.shape[0], data_scale)
    denoiser = built.prior.denoiser
    count, seed = config["solver"]["samples"], config["solver"]["seed"]
    # scans with one noise level are sampled as one batch; otherwise each scan with its own
    groups = [slice(0, y.shape[0])] if len(set(sigmas)) == 1 else [slice(b, b + 1) for b in range(y.shape[0])]
    steps = config["solver"]["max_iter"]
    draws = []
    for k in range(count):
        def step_callback(i, x, k=k):             # recon run's bar counts steps over all samples
            if callback is not None:
                callback(k * steps + i + 1, x)

        parts = [_draw_one(kind, config, y[part], operator, denoiser, built.span, sigmas[part.start], seed + k,
                           built.x0[part], step_callback) for part in groups]
        draws.append(torch.cat(parts))
        if callback is not None:
            callback((k + 1) * steps, draws[-1])
    stacked = torch.stack(draws)
    std = stacked.std(dim=0) if count > 1 else torch.zeros_like(stacked[0])
    return PosteriorSamples(stacked.mean(dim=0), std, stacked if config["solver"]["keep_samples"] else None,
                            config["solver"]["max_iter"] * count, f"{count} sample(s)")
