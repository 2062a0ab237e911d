"""Priors (regularisers): stateless ``fn(x)`` and ``prox(x, gamma)``, each a valid ``deepinv.optim.Prior``.

Total variation, weighted TV, sparsity, denoiser and magnitude priors live here, one idea per file.
"""
