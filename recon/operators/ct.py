r"""2D CT forward models: parallel beam and flat-detector fan beam.

The forward model is the discrete Radon (X-ray) transform

.. math::

    y_{\theta, j} = \sum_i a_{(\theta, j), i}\, x_i \approx \int_{L_{\theta, j}} x(\mathbf r)\, d\mathbf r,

where :math:`a_{(\theta, j), i}` is astra-toolbox's CPU kernel weight of pixel
:math:`i` for the ray :math:`L_{\theta, j}` reaching detector pixel :math:`j`
at angle :math:`\theta`. Geometry conventions are in :mod:`recon.operators.ct_geometry`.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from recon.operators.astra_projector import (
    AstraOnTheFly,
    astra_kernel,
    build_sparse_matrix,
    estimate_matrix_bytes,
)
from recon.operators.base import Operator
from recon.operators.ct_geometry import FanBeamGeometry, ParallelBeamGeometry
from recon.operators.sparse_matrix import SparseMatrixPair

log = logging.getLogger(__name__)

DEFAULT_MEMORY_BUDGET = 2e9  # bytes for the matrix and its transpose together


class _CTOperator(Operator):
    """Shared machinery: pick a backend, apply it to (batch, channel, rows, cols) tensors."""

    beam: str
    # Intersection lengths are >= 0, so |A| row and column sums are A 1 and Aᵀ 1
    # (used by the diagonal preconditioner of recon.solvers.pdhg).
    has_nonnegative_entries = True
    # Measurements are (views, detectors): a ramp filter along the last axis is a good PDHG
    # preconditioner (recon.solvers.ramp_preconditioner).
    supports_ramp_preconditioning = True

    def __init__(self, geometry, projector, memory_budget, backend):
        super().__init__(geometry.image_shape, (geometry.n_angles, geometry.n_detectors))
        self.geometry = geometry
        self.projector = projector
        self.kernel = astra_kernel(self.beam, projector, geometry.centre_offset)
        if backend not in ("auto", "matrix", "astra"):
            raise ValueError(f"backend: expected 'auto', 'matrix' or 'astra', got {backend!r}")
        if backend == "auto":
            needed = estimate_matrix_bytes(geometry, self.kernel)
            backend = "matrix" if needed <= memory_budget else "astra"
            if backend == "astra":
                log.warning(
                    "%s: the projection matrix would need %.2f GB, over the %.2f GB memory budget; "
                    "projecting on the fly with astra's CPU kernels instead (slower)",
                    type(self).__name__, needed / 1e9, memory_budget / 1e9,
                )
        self.backend = backend
        if backend == "matrix":
            self._matrix = SparseMatrixPair(build_sparse_matrix(geometry, self.kernel), scale=geometry.pixel_size)
        else:
            self._on_the_fly = AstraOnTheFly(geometry, self.kernel)

    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_domain(x)
        return self._project(x, self.range_shape, forward=True)

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_range(y)
        return self._project(y, self.domain_shape, forward=False)

    def _project(self, t: torch.Tensor, out_shape, forward: bool) -> torch.Tensor:
        if t.is_complex():
            raise TypeError(f"{type(self).__name__}: expected a real tensor, got {t.dtype}")
        batch, channels = t.shape[:2]
        if self.backend == "matrix":
            columns = t.reshape(batch * channels, -1).T
            product = self._matrix.matmul if forward else self._matrix.matmul_transpose
            out = product(columns if columns.shape[1] == 1 else columns.contiguous()).T
            return out.reshape(batch, channels, *out_shape)
        scale = self.geometry.pixel_size
        step = self._on_the_fly.forward if forward else self._on_the_fly.backward
        images = t.detach().to("cpu", torch.float32).reshape(-1, *t.shape[2:]).numpy()
        out = np.stack([step(image) for image in images]) * np.float32(scale)
        return torch.from_numpy(out).to(device=t.device, dtype=t.dtype).reshape(batch, channels, *out_shape)


class ParallelBeamCT(_CTOperator):
    r"""2D parallel-beam CT: :math:`y = A x`, line integrals along parallel rays.

    :param angles: projection angles in radians, any list (full, few-view, limited arc).
    :param n_detectors: number of detector pixels.
    :param detector_spacing: detector pixel pitch, in the unit of ``pixel_size``.
    :param image_shape: (rows, cols) of the reconstructed image.
    :param pixel_size: side of one image pixel.
    :param centre_offset: the rotation axis projects onto detector column
        :math:`(n-1)/2 + \text{centre\_offset}`.
    :param projector: astra CPU kernel: ``"linear"`` (default, Joseph-type
        interpolation), ``"line"`` (intersection length) or ``"strip"`` (area).
    :param memory_budget: bytes allowed for the sparse matrix and its
        transpose; above it the operator projects on the fly with astra.
    :param backend: ``"auto"`` (matrix within the budget), ``"matrix"`` or ``"astra"``.

    The same matrix serves CUDA tensors: it is copied to the GPU on first use,
    so CPU and GPU give the same numbers.

    Example
    -------
    >>> import torch
    >>> from recon.operators import ParallelBeamCT
    >>> op = ParallelBeamCT(torch.linspace(0, torch.pi, 60 + 1)[:-1], n_detectors=96, image_shape=(64, 64))
    >>> x = torch.zeros(1, 1, 64, 64); x[..., 24:40, 24:40] = 1.0
    >>> y = op(x)
    >>> tuple(y.shape), round(float(y[0, 0, 0].sum()), 1)   # each view integrates the whole square
    ((1, 1, 60, 96), 256.0)
    """

    beam = "parallel"

    def __init__(self, angles, n_detectors: int, *, detector_spacing: float = 1.0,
                 image_shape=(256, 256), pixel_size: float = 1.0, centre_offset: float = 0.0,
                 projector: str = "linear", memory_budget: float = DEFAULT_MEMORY_BUDGET,
                 backend: str = "auto"):
        geometry = ParallelBeamGeometry(angles, int(n_detectors), float(detector_spacing), image_shape,
                                        float(pixel_size), float(centre_offset))
        super().__init__(geometry, projector, memory_budget, backend)


class FanBeamCT(_CTOperator):
    r"""2D fan-beam CT with a flat detector: line integrals along rays from a point source.

    :param angles: source angles in radians, any list (full 360° scans, limited arcs).
    :param n_detectors: number of detector pixels.
    :param source_origin: distance from the source to the rotation axis.
    :param origin_detector: distance from the rotation axis to the detector.
    :param detector_spacing: detector pixel pitch (on the detector, not at the axis).
    :param image_shape: (rows, cols) of the reconstructed image.
    :param pixel_size: side of one image pixel.
    :param centre_offset: the rotation axis projects onto detector column
        :math:`(n-1)/2 + \text{centre\_offset}`.
    :param projector: astra CPU kernel, ``"line"`` (default) or ``"strip"``
        (astra has no CPU linear-interpolation kernel for fan beams).
    :param memory_budget: bytes allowed for the sparse matrix and its transpose.
    :param backend: ``"auto"``, ``"matrix"`` or ``"astra"``.

    Example
    -------
    >>> import torch
    >>> from recon.operators import FanBeamCT
    >>> op = FanBeamCT(torch.linspace(0, 2 * torch.pi, 90 + 1)[:-1], n_detectors=128,
    ...                source_origin=200.0, origin_detector=100.0, detector_spacing=1.5, image_shape=(64, 64))
    >>> tuple(op(torch.ones(1, 1, 64, 64)).shape)
    (1, 1, 90, 128)
    """

    beam = "fan"

    def __init__(self, angles, n_detectors: int, source_origin: float, origin_detector: float, *,
                 detector_spacing: float = 1.0, image_shape=(256, 256), pixel_size: float = 1.0,
                 centre_offset: float = 0.0, projector: str = "line",
                 memory_budget: float = DEFAULT_MEMORY_BUDGET, backend: str = "auto"):
        geometry = FanBeamGeometry(angles, int(n_detectors), float(source_origin), float(origin_detector),
                                   float(detector_spacing), image_shape, float(pixel_size), float(centre_offset))
        super().__init__(geometry, projector, memory_budget, backend)
