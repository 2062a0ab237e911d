"""A sparse matrix and its transpose, applied with torch on any device and dtype.

Both the matrix and its transpose are stored in CSR form, because a CSR
product reads rows contiguously: computing :math:`A^\top y` from the CSR of
:math:`A^\top` is as fast as :math:`A x`, while a product with a transposed
view of :math:`A` scatters and is several times slower.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse
import torch


def _to_torch_csr(matrix: scipy.sparse.csr_matrix) -> torch.Tensor:
    with warnings.catch_warnings():  # torch calls CSR support "beta"; it is what we measured and test
        warnings.simplefilter("ignore", UserWarning)
        return _csr_tensor(matrix)


def _csr_tensor(matrix: scipy.sparse.csr_matrix) -> torch.Tensor:
    return torch.sparse_csr_tensor(
        torch.from_numpy(matrix.indptr),
        torch.from_numpy(matrix.indices),
        torch.from_numpy(matrix.data),
        size=matrix.shape,
        check_invariants=False,
    )


class SparseMatrixPair:
    """``A`` and ``Aᵀ`` as torch CSR tensors, copied once per (device, dtype) on first use.

    Example
    -------
    >>> import numpy as np, scipy.sparse, torch
    >>> pair = SparseMatrixPair(scipy.sparse.csr_matrix(np.array([[1., 2.], [0., 3.]], dtype=np.float32)))
    >>> pair.matmul(torch.ones(2, 1)).flatten().tolist(), pair.matmul_transpose(torch.ones(2, 1)).flatten().tolist()
    ([3.0, 3.0], [1.0, 5.0])
    """

    def __init__(self, matrix: scipy.sparse.csr_matrix, scale: float = 1.0):
        matrix = matrix.astype(np.float32, copy=False)
        if scale != 1.0:
            matrix = matrix.copy()
            matrix.data *= np.float32(scale)
        transpose = matrix.T.tocsr()
        transpose.indices = transpose.indices.astype(matrix.indices.dtype, copy=False)
        transpose.indptr = transpose.indptr.astype(matrix.indptr.dtype, copy=False)
        self.shape = matrix.shape
        self.nnz = int(matrix.nnz)
        self._cache = {("cpu", torch.float32): (_to_torch_csr(matrix), _to_torch_csr(transpose))}

    @property
    def nbytes(self) -> int:
        forward, transpose = self._cache[("cpu", torch.float32)]
        return sum(t.crow_indices().nbytes + t.col_indices().nbytes + t.values().nbytes for t in (forward, transpose))

    def _pair(self, device: torch.device, dtype: torch.dtype):
        key = (str(device), dtype)
        if key not in self._cache:
            forward, transpose = self._cache[("cpu", torch.float32)]
            self._cache[key] = tuple(m.to(device=device, dtype=dtype) for m in (forward, transpose))
        return self._cache[key]

    @staticmethod
    def _product(matrix: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        if columns.shape[1] == 1:  # torch.mv is about twice as fast as a one-column matmul
            return torch.mv(matrix, columns[:, 0]).unsqueeze(1)
        return matrix @ columns

    def matmul(self, columns: torch.Tensor) -> torch.Tensor:
        """``A @ columns`` for ``columns`` shaped (n_cols, k)."""
        forward, _ = self._pair(columns.device, columns.dtype)
        return self._product(forward, columns)

    def matmul_transpose(self, columns: torch.Tensor) -> torch.Tensor:
        """``Aᵀ @ columns`` for ``columns`` shaped (n_rows, k)."""
        _, transpose = self._pair(columns.device, columns.dtype)
        return self._product(transpose, columns)
