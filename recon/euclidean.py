r"""The Euclidean norm :math:`\|t\|_2` of a whole tensor, fast for complex ones.

``torch.linalg.vector_norm`` on a ``complex64`` tensor runs a slow scalar loop on
the CPU (torch 2.14: 12 ms for 8 × 256² values, against 0.16 ms for the same
numbers seen as reals). Since :math:`\|t\|_2^2 = \|\mathrm{Re}\,t\|_2^2 + \|\mathrm{Im}\,t\|_2^2`,
:func:`euclidean_norm` takes the norm of the real view.
"""

from __future__ import annotations

import torch


def euclidean_norm(t: torch.Tensor) -> torch.Tensor:
    """:math:`\\|t\\|_2` over every entry, as a 0-dim real tensor.

    >>> import torch
    >>> float(euclidean_norm(torch.tensor([3 + 4j, 0j])))
    5.0
    """
    if t.is_complex():
        return torch.linalg.vector_norm(torch.view_as_real(t.resolve_conj()))
    return torch.linalg.vector_norm(t)
