r"""deepinv's samplers in ``recon bench diffusion``: its DPS and DiffPIR, on the problem's score network object.

* **DiffPIR**: ``deepinv.sampling.DiffPIR(model, L2(), sigma=σ_y, max_iter=steps, zeta=ζ, lambda_=2λ)``
  (:mod:`recon.bench.diffusion_problems` says why 2λ), started at the problem's ``x0`` (FBP or the
  blurred image); its own VP noise schedule (1000 DDPM levels, ``steps`` of them used). The data
  step is ``L2.prox`` → ``physics.prox_l2``: a closed-form FFT division with deepinv's ``BlurFFT``
  (deblurring), deepinv's conjugate gradients on recon's ``ParallelBeamCT`` (CT; up to
  ``physics.max_iter`` = 50 iterations, relative residual ``physics.tol`` = 1e-4, its defaults).
* **DPS**: ``deepinv.sampling.DPS(denoiser, num_steps=steps + 1, weight=w, dtype=torch.float32)``:
  the VP SDE with the DDPM solver, the paper's norm guidance :math:`w\nabla_x\|y - AD(x, \sigma)\|`
  by autograd through the network and the operator. Its ``num_steps`` time points from 1 to 0 make
  ``num_steps - 1`` steps, each one network evaluation (at t = 0 there is no noise left to remove),
  so ``steps + 1`` gives ``steps`` evaluations, recon's count. ``dtype=float32``
  rather than deepinv's default float64, the faster of the two for it; ``w`` chosen on a
  validation image (``scripts/bench_diffusion_validation.py``).

Both are seeded per sample (``torch.manual_seed`` for DiffPIR, which draws from the global
generator; ``rng`` for DPS).
"""

from __future__ import annotations

import warnings

import torch

from recon.bench.diffusion_problems import CT, DIFFPIR_PAIR, DPS_PAIR, DiffusionProblem


def physics(problem: DiffusionProblem):
    """deepinv's ``BlurFFT`` with the same PSF for deblurring, recon's operator itself for CT."""
    if problem.name == CT:
        return problem.operator
    from deepinv.physics import BlurFFT

    return BlurFFT(img_size=tuple(problem.truth.shape[1:]), filter=problem.operator.psf.to(problem.y.dtype)[None, None])


def deepinv_diffpir(problem: DiffusionProblem, denoiser, seed: int) -> torch.Tensor:
    """One DiffPIR sample by deepinv (module text)."""
    from deepinv.optim.data_fidelity import L2
    from deepinv.sampling import DiffPIR

    p = problem.diffpir
    model = DiffPIR(denoiser, L2(), sigma=problem.noise_sigma, max_iter=problem.steps, zeta=p.zeta,
                    lambda_=problem.deepinv_diffpir_lambda)
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model(problem.y, physics(problem), x_init=problem.x0)


def deepinv_dps(problem: DiffusionProblem, denoiser, seed: int, weight: float | None = None) -> torch.Tensor:
    """One DPS sample by deepinv (module text); ``weight`` overrides the problem's (validation)."""
    from deepinv.sampling import DPS

    model = DPS(denoiser, num_steps=problem.steps + 1, weight=problem.dps.deepinv_weight if weight is None else weight,
                dtype=torch.float32, rng=torch.Generator().manual_seed(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model(problem.y, physics(problem), seed=seed)


#: deepinv's method name -> sampler(problem, denoiser, seed) -> one sample
PEERS = {DPS_PAIR[1]: deepinv_dps, DIFFPIR_PAIR[1]: deepinv_diffpir}
