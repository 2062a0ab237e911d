r"""Near-field 3D MIMO radar under the Born approximation, :math:`y = A x`, evaluated without storing :math:`A`.

With isotropic antennas, transmitter :math:`t`, receiver :math:`r`, frequency
:math:`f` (wavenumber :math:`k = 2\pi f / c`) and the distances
:math:`R_t(p), R_r(p)` from voxel :math:`p` to the antennas,

.. math::

    y(f, t, r) = \sum_p x(p)\, \frac{e^{-jk(R_t(p) + R_r(p))}}{4\pi R_t(p) R_r(p)}
               = \sum_p a_{ft}(p)\, x(p)\, b_{fr}(p), \qquad
    a_{ft} = \frac{e^{-jkR_t}}{4\pi R_t},\quad b_{fr} = \frac{e^{-jkR_r}}{R_r},

    (A^{\mathsf H} y)(p) = \sum_f \sum_t \overline{a_{ft}(p)} \sum_r \overline{b_{fr}(p)}\, y(f, t, r).

The kernel factorises into a transmitter factor and a receiver factor, so for
one frequency :math:`A` is the matrix product
:math:`Y_f = (a_f \odot x)\, b_f^{\mathsf T}` of an ``(N_t, N_vox)`` and an
``(N_vox, N_r)`` matrix, and :math:`A^{\mathsf H} y = \overline{\sum_f \sum_t a_f
\odot (\overline{Y_f}\, b_f)}`: only :math:`(N_t + N_r) N_{vox}` exponentials per
frequency instead of :math:`N_t N_r N_{vox}`, and a BLAS product for the rest.
The dense matrix (``N_f x N_t x N_r x N_vox``: 764 MB in ``complex64`` for the
paper's 20 frequencies, 12 x 13 array and 25 x 25 x 49 grid) is never formed.

**Uniform frequencies** (:math:`k_i = k_0 + i\Delta k`, checked to 1e-12
relative) use the recursion :math:`a_{k_{i+1}} = a_{k_i} \odot e^{-j\Delta k R_t}`
(and the same for :math:`b`): the start tables :math:`a_{k_0}, b_{k_0}` and the
step tables :math:`e^{-j\Delta k R}` are computed once from ``float64`` phases
(reduced modulo :math:`2\pi`) and cached per device and precision, and each
frequency step is one complex multiply per table entry instead of a sine and a
cosine (a sine and cosine pair costs about 25 times a complex64 multiply on the CPU).
The rounding of the recursion grows linearly with the step (in ``complex64``
about 1e-7 per step, 1.3e-6 after 19 steps, measured in the tests); every
``RESEED`` steps the factors are recomputed exactly. Other frequency lists
evaluate every factor exactly (slower, as accurate).

**Memory**: the cached tables hold :math:`2(N_t + N_r) N_{vox}` complex values
(12 MB in ``complex64`` on the paper grid) and the distances
:math:`(N_t + N_r) N_{vox}` ``float64`` (6 MB). The work is done over blocks of
voxels (and, for a large batch, of batch entries) sized so that the working
temporaries stay within ``memory_budget`` bytes; on the CPU blocks are at most
``CPU_BLOCK`` voxels, the fastest size measured (they stay in cache). The input
and output tensors themselves are not counted.

Conventions:

- Images are ``(batch, channel, nx, ny, nz)`` complex, indexed like
  :meth:`recon.operators.mimo_geometry.VoxelGrid.points` (x slowest, z fastest);
  measurements are ``(batch, channel, N_f, N_t, N_r)`` complex. Every channel is
  transformed independently.
- dtypes: a complex input keeps its dtype (``complex64`` or ``complex128``); a
  real ``float64`` input becomes ``complex128``, any other real input ``dtype``.
  Tables and distances follow the input's device, so CUDA tensors work as given.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import torch

from recon.operators.base import Operator
from recon.operators.mimo_geometry import (
    VoxelGrid,
    checked_frequencies,
    checked_positions,
)

SPEED_OF_LIGHT = 299_792_458.0  # m/s
RESEED = 32  # recursion steps between exact recomputations of the factors
CPU_BLOCK = 8192  # voxels per block on the CPU (the (N_t, block) factor tables stay in cache)
_TWO_PI = 2 * math.pi


class _Tables(NamedTuple):
    start_tx: torch.Tensor  # a_{k_0} = exp(-j k_0 R_t) / (4 pi R_t), (N_t, N_vox)
    start_rx: torch.Tensor  # b_{k_0} = exp(-j k_0 R_r) / R_r, (N_r, N_vox)
    step_tx: torch.Tensor  # exp(-j dk R_t)
    step_rx: torch.Tensor  # exp(-j dk R_r)


def _exact_factor(distances: torch.Tensor, k: float, amplitude: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``amplitude * exp(-j k R)`` from a ``float64`` phase reduced modulo 2 pi, then cast to ``dtype``."""
    phase = torch.remainder(k * distances, _TWO_PI)
    return torch.polar(amplitude, -phase).to(dtype)


class NearFieldMIMO(Operator):
    r"""Near-field MIMO radar (Born approximation, isotropic antennas), :math:`y(f,t,r) = \sum_p x(p)\, e^{-jk(R_t+R_r)} / (4\pi R_t R_r)`.

    :param transmitters: ``(N_t, 3)`` positions in metres.
    :param receivers: ``(N_r, 3)`` positions in metres.
    :param frequencies: ``N_f`` frequencies in hertz, any list (evenly spaced ones are faster).
    :param grid: the :class:`recon.operators.mimo_geometry.VoxelGrid` of the image.
    :param memory_budget: bytes allowed for the working temporaries (see the module text).
    :param dtype: the complex dtype of real non-``float64`` inputs and of :meth:`norm`'s default.

    >>> import torch
    >>> from recon.operators.mimo_geometry import VoxelGrid, paper_array, paper_frequencies
    >>> tx, rx = paper_array()
    >>> grid = VoxelGrid(x=(-0.1, 0.1), y=(-0.1, 0.1), z=(0.4, 0.6), counts=(4, 4, 5))
    >>> op = NearFieldMIMO(tx, rx, paper_frequencies(5), grid)
    >>> x = torch.randn(2, 1, 4, 4, 5, dtype=torch.complex64)
    >>> y = op.A(x)
    >>> y.shape, y.dtype
    (torch.Size([2, 1, 5, 12, 13]), torch.complex64)
    >>> z = torch.randn_like(y)
    >>> float(abs(torch.vdot(y.flatten(), z.flatten()) - torch.vdot(x.flatten(), op.A_adjoint(z).flatten()))
    ...       / (y.norm() * z.norm())) < 1e-5
    True
    """

    def __init__(self, transmitters, receivers, frequencies, grid: VoxelGrid, *,
                 memory_budget: int = 256 * 2**20, dtype: torch.dtype = torch.complex64):
        transmitters = checked_positions(transmitters, "transmitters")
        receivers = checked_positions(receivers, "receivers")
        frequencies = checked_frequencies(frequencies)
        if not isinstance(grid, VoxelGrid):
            raise TypeError(f"NearFieldMIMO: grid must be a VoxelGrid, got {type(grid).__name__}")
        if dtype not in (torch.complex64, torch.complex128):
            raise ValueError(f"NearFieldMIMO: dtype must be torch.complex64 or torch.complex128, got {dtype}")
        if not float(memory_budget) >= 1:
            raise ValueError(f"NearFieldMIMO: memory_budget must be a positive number of bytes, got {memory_budget}")
        super().__init__(grid.shape, (frequencies.numel(), transmitters.shape[0], receivers.shape[0]))
        self.grid = grid
        self.memory_budget = int(memory_budget)
        self.dtype = dtype
        self.n_frequencies, self.n_transmitters, self.n_receivers = self.range_shape
        points = grid.points()
        exact = "donot_use_mm_for_euclid_dist"  # the matrix-product form loses digits to cancellation
        tx_distances = torch.cdist(transmitters, points, compute_mode=exact)
        rx_distances = torch.cdist(receivers, points, compute_mode=exact)
        closest = min(float(tx_distances.min()), float(rx_distances.min()))
        if not closest > 1e-9:
            raise ValueError(f"NearFieldMIMO: a voxel centre coincides with an antenna (distance {closest:.1e} m); "
                             "move the grid off the array")
        wavenumbers = _TWO_PI * frequencies / SPEED_OF_LIGHT
        self.register_buffer("transmitters", transmitters)
        self.register_buffer("receivers", receivers)
        self.register_buffer("frequencies", frequencies)
        self.register_buffer("wavenumbers", wavenumbers)
        self.register_buffer("tx_distances", tx_distances)
        self.register_buffer("rx_distances", rx_distances)
        self.wavenumber_step = self._uniform_step(wavenumbers)
        self._tables: dict[tuple[str, torch.dtype], _Tables] = {}
        self._distances_on: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    @staticmethod
    def _uniform_step(k: torch.Tensor) -> float | None:
        """:math:`\\Delta k` if the wavenumbers are evenly spaced to 1e-12 (relative), else ``None``."""
        if k.numel() == 1:
            return 0.0
        step = float(k[-1] - k[0]) / (k.numel() - 1)
        ideal = k[0] + step * torch.arange(k.numel(), dtype=torch.float64)
        return step if float((k - ideal).abs().max()) <= 1e-12 * float(k.abs().max()) else None

    # ----- tables -------------------------------------------------------------------------------

    def _distances(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if self.tx_distances.device == device:
            return self.tx_distances, self.rx_distances
        key = str(device)
        if key not in self._distances_on:
            self._distances_on[key] = (self.tx_distances.to(device), self.rx_distances.to(device))
        return self._distances_on[key]

    def _amplitudes(self, r_tx: torch.Tensor, r_rx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return 1 / (4 * math.pi * r_tx), 1 / r_rx

    def tables(self, device, dtype: torch.dtype) -> _Tables:
        """The cached start and step tables of the frequency recursion on ``device`` in ``dtype``."""
        device = torch.device(device)
        key = (str(device), dtype)
        if key not in self._tables:
            r_tx, r_rx = self._distances(device)
            amp_tx, amp_rx = self._amplitudes(r_tx, r_rx)
            k0, step = float(self.wavenumbers[0]), self.wavenumber_step or 0.0
            self._tables[key] = _Tables(
                _exact_factor(r_tx, k0, amp_tx, dtype), _exact_factor(r_rx, k0, amp_rx, dtype),
                _exact_factor(r_tx, step, torch.ones_like(r_tx), dtype),
                _exact_factor(r_rx, step, torch.ones_like(r_rx), dtype))
        return self._tables[key]

    def _factors(self, start: int, stop: int, dtype: torch.dtype, device: torch.device,
                 weights: tuple[torch.Tensor, torch.Tensor] | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(a_f, b_f)`` on voxels ``start:stop`` for each frequency in turn (the yielded tensors are reused)."""
        r_tx, r_rx = (r[:, start:stop] for r in self._distances(device))
        w_tx = w_rx = None
        if weights is not None:
            w_tx, w_rx = (w[:, start:stop].to(device=device, dtype=torch.float64) for w in weights)

        def exact(k: float) -> tuple[torch.Tensor, torch.Tensor]:
            amp_tx, amp_rx = self._amplitudes(r_tx, r_rx)
            if w_tx is not None:
                amp_tx, amp_rx = amp_tx * w_tx, amp_rx * w_rx
            return _exact_factor(r_tx, k, amp_tx, dtype), _exact_factor(r_rx, k, amp_rx, dtype)

        if self.wavenumber_step is None:
            for k in self.wavenumbers.tolist():
                yield exact(k)
            return
        tables = self.tables(device, dtype)
        a, b = tables.start_tx[:, start:stop], tables.start_rx[:, start:stop]
        if w_tx is not None:
            a, b = a * w_tx.to(a.real.dtype), b * w_rx.to(b.real.dtype)
        else:
            a, b = a.clone(), b.clone()
        step_a, step_b = tables.step_tx[:, start:stop], tables.step_rx[:, start:stop]
        k0, dk = float(self.wavenumbers[0]), self.wavenumber_step
        for i in range(self.n_frequencies):
            if i and i % RESEED == 0:
                a, b = exact(k0 + i * dk)
            elif i:
                a.mul_(step_a)
                b.mul_(step_b)
            yield a, b

    def _plan(self, batch: int, itemsize: int, device: torch.device) -> tuple[int, int]:
        """(batch entries, voxels) per block, so that the working temporaries fit in ``memory_budget``."""
        n_t, n_r = self.n_transmitters, self.n_receivers

        def per_voxel(b: int) -> int:  # running factors, the (b, N_t, block) product, the accumulator, reseeds
            return itemsize * (n_t + n_r + b * (n_t + 1)) + 24 * max(n_t, n_r)

        n_voxels = self.grid.n_voxels
        wanted = min(n_voxels, 256)
        batch_block = batch
        while batch_block > 1 and per_voxel(batch_block) * wanted > self.memory_budget:
            batch_block = (batch_block + 1) // 2
        voxel_block = max(1, min(n_voxels, self.memory_budget // per_voxel(batch_block)))
        if device.type == "cpu":
            voxel_block = min(voxel_block, CPU_BLOCK)
        return batch_block, voxel_block

    # ----- the operator ---------------------------------------------------------------------

    def _promote(self, t: torch.Tensor) -> torch.Tensor:
        if t.is_complex():
            return t
        return t.to(torch.complex128 if t.dtype == torch.float64 else self.dtype)

    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        self.check_domain(x)
        x = self._promote(x)
        batch, channels = x.shape[:2]
        flat = x.reshape(batch * channels, -1)
        n_t, n_r = self.n_transmitters, self.n_receivers
        out = torch.zeros((flat.shape[0], self.n_frequencies, n_t, n_r), dtype=x.dtype, device=x.device)
        batch_block, voxel_block = self._plan(flat.shape[0], x.element_size(), x.device)
        for b0 in range(0, flat.shape[0], batch_block):
            rows = slice(b0, b0 + batch_block)
            n_b = flat[rows].shape[0]
            for v0 in range(0, flat.shape[1], voxel_block):
                v1 = min(v0 + voxel_block, flat.shape[1])
                x_block = flat[rows, v0:v1].unsqueeze(1)  # (b, 1, block)
                for i, (a, b) in enumerate(self._factors(v0, v1, x.dtype, x.device, None)):
                    product = (a * x_block).reshape(n_b * n_t, v1 - v0)
                    out[rows, i] += (product @ b.T).reshape(n_b, n_t, n_r)
        return out.reshape(batch, channels, *self.range_shape)

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.weighted_adjoint(y)

    def weighted_adjoint(self, y: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        r""":math:`A^{\mathsf H} y` with the kernel's amplitudes multiplied by real ``weights = (w_t, w_r)``.

        ``w_t`` is ``(N_t, N_vox)``, ``w_r`` ``(N_r, N_vox)``: the result is
        :math:`\sum_{f,t,r} w_t(p) w_r(p)\, \overline{a_{ft}(p) b_{fr}(p)}\, y(f,t,r)`
        (Kirchhoff migration, :mod:`recon.operators.mimo_migration`, is one such sum).
        ``None`` is the plain adjoint.
        """
        self.check_range(y)
        y = self._promote(y)
        if weights is not None:
            w_tx, w_rx = weights
            if tuple(w_tx.shape) != tuple(self.tx_distances.shape) or tuple(w_rx.shape) != tuple(self.rx_distances.shape):
                raise ValueError(f"NearFieldMIMO: weights must be shaped {tuple(self.tx_distances.shape)} and "
                                 f"{tuple(self.rx_distances.shape)}, got {tuple(w_tx.shape)} and {tuple(w_rx.shape)}")
        batch, channels = y.shape[:2]
        n_t, n_r = self.n_transmitters, self.n_receivers
        conj_y = y.reshape(batch * channels, self.n_frequencies, n_t, n_r).conj().resolve_conj()
        n_voxels = self.grid.n_voxels
        out = torch.empty((conj_y.shape[0], n_voxels), dtype=y.dtype, device=y.device)
        batch_block, voxel_block = self._plan(conj_y.shape[0], y.element_size(), y.device)
        for b0 in range(0, conj_y.shape[0], batch_block):
            rows = slice(b0, b0 + batch_block)
            y_rows = conj_y[rows]
            n_b = y_rows.shape[0]
            for v0 in range(0, n_voxels, voxel_block):
                v1 = min(v0 + voxel_block, n_voxels)
                acc = torch.zeros((n_b, v1 - v0), dtype=y.dtype, device=y.device)
                for i, (a, b) in enumerate(self._factors(v0, v1, y.dtype, y.device, weights)):
                    u = (y_rows[:, i].reshape(n_b * n_t, n_r) @ b).reshape(n_b, n_t, v1 - v0)
                    acc += u.mul_(a).sum(dim=1)
                out[rows, v0:v1] = acc.conj()
        return out.reshape(batch, channels, *self.domain_shape)

    def norm(self, *, dtype: torch.dtype | None = None, device="cpu", tol: float = 1e-6,
             max_iter: int = 100) -> torch.Tensor:
        r""":math:`\|A\|_2 = \lambda_{\max}(A^{\mathsf H}A)^{1/2}` by Lanczos iteration in ``complex128``, cached per device and precision."""
        precision = self._promote(torch.empty(0, dtype=dtype or self.dtype)).dtype
        return self.lanczos_norm(precision, device, tol, max_iter)

    def __repr__(self):
        return (f"NearFieldMIMO(transmitters={self.n_transmitters}, receivers={self.n_receivers}, "
                f"frequencies={self.n_frequencies}, grid={self.grid.shape})")
