"""Priors (regularisers): stateless ``fn(x)`` and ``prox(x, gamma)``, each a valid ``deepinv.optim.Prior``.

Priors of the form :math:`g(Kx)` also offer ``split() -> (K, g)`` for primal–dual
solvers. One idea per file: ``tv`` (TV), ``weighted_tv`` (space-variant TV),
``finite_difference`` (the gradient), ``wavelet_transform`` (orthogonal
Daubechies wavelets), ``sparsity`` (wavelet ℓ1), ``tikhonov`` (squared norm of
:math:`x` or of its gradient), ``constraints`` (non-negativity, box), ``l1``
(pixel ℓ1, the soft threshold), ``magnitude`` (any prior on :math:`|x|` of a complex :math:`x`),
``pnp`` (a denoiser as a prior; the denoisers in ``denoisers``, their scaling to physical
units and complex images in ``denoiser_scaling``).
"""

from recon.priors.constraints import Box, NonNegativity
from recon.priors.finite_difference import FiniteDifference
from recon.priors.l1 import L1, soft_threshold
from recon.priors.magnitude import OnMagnitude, unit_phase
from recon.priors.pnp import DenoiserPrior
from recon.priors.sparsity import L1UndecimatedWavelet, L1Wavelet, WaveletL1Norm
from recon.priors.tikhonov import Identity, SquaredNorm, Tikhonov, solve_screened_poisson
from recon.priors.tv import TV, GradientNorm
from recon.priors.wavelet_transform import WaveletTransform, wavelet_filters
from recon.priors.weighted_tv import WeightedTV, gradient_magnitude, weights_from_magnitude, weights_from_pilot

__all__ = ["Box", "NonNegativity", "FiniteDifference", "GradientNorm", "TV", "WeightedTV", "gradient_magnitude",
           "weights_from_magnitude", "weights_from_pilot",
           "WaveletTransform", "wavelet_filters", "L1Wavelet", "L1UndecimatedWavelet", "WaveletL1Norm",
           "Tikhonov", "SquaredNorm", "Identity", "solve_screened_poisson",
           "L1", "soft_threshold", "OnMagnitude", "unit_phase", "DenoiserPrior"]
