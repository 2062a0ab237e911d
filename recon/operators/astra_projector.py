"""astra-toolbox's 2D CPU projectors: as a sparse matrix, or applied on the fly.

astra computes the weight of every (ray, pixel) pair with one of its CPU
kernels. Built once into a sparse matrix, a projection is a single sparse
matrix–vector product, which is several times faster than asking astra again
on every call; the matrix is built angle by angle in chunks so that building
never holds more than one float64 chunk in memory beside the result.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse

log = logging.getLogger(__name__)

#: recon's projector names → astra's CPU kernel, per beam type.
ASTRA_KERNELS = {
    "parallel": {"linear": "linear", "line": "line", "strip": "strip"},
    "fan": {"line": "line_fanflat", "strip": "strip_fanflat"},
}
DEFAULT_KERNEL = {"parallel": "linear", "fan": "line"}

_BYTES_PER_NONZERO = 8  # float32 value + int32 column index


def astra_kernel(beam: str, projector: str | None, centre_offset: float = 0.0) -> str:
    """The astra kernel name for ``projector`` on a ``beam`` ("parallel" or "fan") geometry."""
    projector = projector or DEFAULT_KERNEL[beam]
    kernels = ASTRA_KERNELS[beam]
    if projector not in kernels:
        raise ValueError(
            f"projector: expected one of {sorted(kernels)} for a {beam}-beam geometry, got {projector!r}"
            + (" (astra has no CPU linear-interpolation kernel for fan beams)" if projector == "linear" else "")
        )
    if beam == "fan" and projector == "strip" and centre_offset != 0:
        raise ValueError("projector: astra's fan-beam 'strip' kernel needs centre_offset=0; use 'line'")
    return kernels[projector]


def _matrix_chunk(geometry, kernel: str, angle_slice: slice) -> scipy.sparse.csr_matrix:
    import astra

    vol, proj = geometry.astra_geometries(angle_slice)
    projector_id = astra.create_projector(kernel, proj, vol)
    matrix_id = astra.projector.matrix(projector_id)
    try:
        chunk = astra.matrix.get(matrix_id)
    finally:
        astra.matrix.delete(matrix_id)
        astra.projector.delete(projector_id)
    chunk = chunk.astype(np.float32)
    chunk.eliminate_zeros()
    return chunk


def estimate_matrix_bytes(geometry, kernel: str, n_samples: int = 4) -> int:
    """Bytes that the CSR matrix and its transpose will take, from a few sampled angles."""
    picks = np.unique(np.linspace(0, geometry.n_angles - 1, min(n_samples, geometry.n_angles)).astype(int))
    nonzeros = sum(_matrix_chunk(geometry, kernel, slice(i, i + 1)).nnz for i in picks)
    nonzeros_total = nonzeros / len(picks) * geometry.n_angles
    n_rows = geometry.n_angles * geometry.n_detectors
    n_cols = int(np.prod(geometry.image_shape))
    return int(2 * nonzeros_total * _BYTES_PER_NONZERO + 4 * (n_rows + n_cols + 2))


def build_sparse_matrix(geometry, kernel: str, chunk_nonzeros: int = 20_000_000) -> scipy.sparse.csr_matrix:
    """The projection matrix, rows ordered (angle, detector), columns in raster order.

    Weights are in pixel units (astra's); multiply by the pixel size for
    physical line integrals.
    """
    first = _matrix_chunk(geometry, kernel, slice(0, 1))
    angles_per_chunk = max(1, int(chunk_nonzeros // max(first.nnz, 1)))
    chunks = [first]
    for start in range(1, geometry.n_angles, angles_per_chunk):
        chunks.append(_matrix_chunk(geometry, kernel, slice(start, min(start + angles_per_chunk, geometry.n_angles))))
    matrix = scipy.sparse.vstack(chunks, format="csr", dtype=np.float32)
    matrix.indices = matrix.indices.astype(np.int32, copy=False)
    matrix.indptr = matrix.indptr.astype(np.int64 if matrix.nnz >= 2**31 else np.int32, copy=False)
    return matrix


class AstraOnTheFly:
    """Forward and back projection by astra's CPU kernels, one image at a time.

    Used when the sparse matrix would not fit the memory budget. astra's CPU
    forward and back projectors share one kernel, so they are exact
    transposes of each other.
    """

    def __init__(self, geometry, kernel: str):
        import astra

        self._astra = astra
        vol, proj = geometry.astra_geometries()
        self._vol, self._proj = vol, proj
        self._projector_id = astra.create_projector(kernel, proj, vol)
        self.sinogram_shape = (geometry.n_angles, geometry.n_detectors)

    def forward(self, image: np.ndarray) -> np.ndarray:
        sino_id, sino = self._astra.create_sino(np.ascontiguousarray(image, dtype=np.float32), self._projector_id)
        self._astra.data2d.delete(sino_id)
        return sino

    def backward(self, sinogram: np.ndarray) -> np.ndarray:
        bp_id, image = self._astra.create_backprojection(
            np.ascontiguousarray(sinogram, dtype=np.float32), self._projector_id
        )
        self._astra.data2d.delete(bp_id)
        return image

    def __del__(self):
        try:
            self._astra.projector.delete(self._projector_id)
        except Exception:  # interpreter shutdown: astra may be gone already
            pass
