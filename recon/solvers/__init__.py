"""Solvers: ``solve(y, operator, prior, x0=None, ...)`` returning the estimate and a per-iteration history.

One algorithm per file (pdhg, fista, admm, cg, sirt, unrolled); stopping rules and results in ``common``.
"""
