"""The learned priors and solvers of ``recon run``, by kind: what a modality's builder calls for them.

A builder (CT, MRI, deblurring) that meets a learned ``prior.kind`` calls
``LEARNED_PRIORS[kind](config, operator, y, echo)`` for the prior and
``LEARNED_SOLVERS[solver.kind](config, y, operator, prior, callback, ...)`` for the solve, instead of
growing a branch per prior and solver. A diffusion prior is a denoiser (Tweedie) scaled like a
plug-and-play one; an unrolled prior is a trained unrolled solver (prior and solver in one model).
The kinds, and which go together, are named in :mod:`recon.experiments.combinations`
(``tests/test_fast_start.py`` checks that the two agree).

>>> sorted(LEARNED_PRIORS)
['diffusion', 'pnp', 'unrolled']
>>> LEARNED_SOLVERS["hqs"].__name__, LEARNED_SOLVERS["red-diff"].__name__
('solve_pnp', 'solve_sampler')
"""

from __future__ import annotations

from recon.experiments.build_diffusion import solve_sampler
from recon.experiments.build_pnp import pnp_prior, solve_pnp
from recon.experiments.build_unrolled import solve_unrolled, unrolled_prior
from recon.experiments.combinations import SAMPLER_KINDS

#: prior.kind -> builder(config, operator, y, echo)
LEARNED_PRIORS = {"pnp": pnp_prior, "diffusion": pnp_prior, "unrolled": unrolled_prior}
#: solver.kind -> solve(config, y, operator, built_prior, callback, measurement=..., data_scale=...)
LEARNED_SOLVERS = {kind: solve_pnp for kind in ("pnp-admm", "pnp-fista", "hqs", "red")}
LEARNED_SOLVERS.update({kind: solve_sampler for kind in SAMPLER_KINDS})
LEARNED_SOLVERS["unrolled"] = solve_unrolled
