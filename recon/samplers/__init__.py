"""Diffusion and Langevin samplers: posterior samples, their mean and their spread.

Every sampler takes the measurement ``y``, the operator (``A``, ``A_adjoint``: any recon
operator or deepinv ``LinearPhysics``), a denoiser ``denoiser(x, sigma)`` (recon's contract: a
score network by Tweedie, a trained PnP denoiser, or an exact one such as
:class:`recon.priors.gaussian_mixture.GaussianMixture`), the noise level and a
``torch.Generator``; the same seed gives the same samples.

* :func:`~recon.samplers.dps.dps`: diffusion posterior sampling (gradient through the network);
* :func:`~recon.samplers.diffpir.diffpir`: DiffPIR (data step in closed form or by CG);
* :func:`~recon.samplers.red_diff.red_diff`: RED-diff (Adam on μ, no network gradient);
* :func:`~recon.samplers.ula.pnp_ula`: PnP-ULA (Langevin with the denoiser's score).
"""

from recon.samplers.diffpir import diffpir
from recon.samplers.dps import dps
from recon.samplers.red_diff import red_diff
from recon.samplers.schedule import karras_sigmas
from recon.samplers.ula import pnp_ula

__all__ = ["diffpir", "dps", "karras_sigmas", "pnp_ula", "red_diff"]
