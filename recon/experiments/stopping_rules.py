"""The solver section's stopping keys as a :class:`recon.solvers.common.Stopping`, for every builder.

>>> stopping_from_config({"solver": {"max_iter": 30, "tol": 1e-5, "residual_tol": 0.0, "time_limit": None}}).max_iter
30
"""

from __future__ import annotations


def stopping_from_config(config: dict):
    """``solver.max_iter``, ``tol``, ``residual_tol`` and ``time_limit`` as one ``Stopping``."""
    from recon.solvers.common import Stopping

    section = config["solver"]
    return Stopping(max_iter=section["max_iter"], tol=section["tol"], residual_tol=section["residual_tol"],
                    time_limit=section["time_limit"])
