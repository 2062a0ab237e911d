r"""The largest eigenvalue of a symmetric positive semi-definite operator, by Lanczos iteration.

Power iteration converges like :math:`(\lambda_2/\lambda_1)^k`, which is slow
when the top of the spectrum is clustered (as for :math:`A^\top H A` in CT).
Lanczos builds the Krylov basis :math:`q_1, \dots, q_k` (fully
re-orthogonalised, in float64) and the tridiagonal :math:`T_k = Q_k^\top B Q_k`,
whose largest eigenvalue approaches :math:`\lambda_{\max}(B)` from below, much
faster: on the ramp-preconditioned CT operator 15 steps are within 0.1 %
where power iteration needs about 70.
"""

from __future__ import annotations

import torch


def largest_eigenvalue(apply, shape, *, dtype=torch.float32, device="cpu", tol: float = 1e-3,
                       min_iter: int = 8, max_iter: int = 50, seed: int = 0) -> float:
    r""":math:`\lambda_{\max}` of the PSD map ``apply`` on tensors of ``shape`` (a lower estimate).

    Stops when the Ritz value changes by less than ``tol`` (relative) from one
    step to the next, after at least ``min_iter`` steps, or at an invariant subspace.

    >>> import torch
    >>> diagonal = torch.linspace(0.1, 4.0, 200, dtype=torch.float64)
    >>> round(largest_eigenvalue(lambda v: diagonal * v, (200,), dtype=torch.float64, tol=1e-10), 6)
    4.0
    """
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(shape, generator=generator, dtype=torch.float64).to(device)
    q /= torch.linalg.vector_norm(q)
    basis = [q]
    alphas: list[float] = []
    betas: list[float] = []
    ritz = 0.0
    for k in range(max_iter):
        w = apply(basis[-1].to(dtype)).to(torch.float64)
        alphas.append(float(torch.vdot(basis[-1].flatten(), w.flatten()).real))
        for previous in basis:  # full re-orthogonalisation keeps the Ritz values honest
            w = w - torch.vdot(previous.flatten(), w.flatten()) * previous
        beta = float(torch.linalg.vector_norm(w))
        tridiagonal = torch.diag(torch.tensor(alphas, dtype=torch.float64))
        if betas:
            off = torch.tensor(betas, dtype=torch.float64)
            tridiagonal += torch.diag(off, 1) + torch.diag(off, -1)
        new_ritz = float(torch.linalg.eigvalsh(tridiagonal)[-1])
        converged = k + 1 >= min_iter and abs(new_ritz - ritz) <= tol * abs(new_ritz)
        ritz = new_ritz
        if converged or beta <= 1e-12 * max(abs(new_ritz), 1e-300):
            break
        betas.append(beta)
        basis.append(w / beta)
    return ritz
