r"""A ramp-filter preconditioner for the least-squares data block of PDHG on CT.

Filtered back-projection shows that :math:`A^\top H A \approx c\,I` when :math:`H`
is the (windowed) ramp filter along the detector axis. Using :math:`\Sigma = \sigma H`
as the dual step of the data term therefore makes the data part of PDHG behave
like iterated FBP instead of like SIRT, and cuts the iterations many-fold
(on the few-view CT benchmark: 33 dB in about 15 iterations rather than 105).

Details that keep it exact:

* the dual variable lives on detector rows zero-padded to the filter length
  :math:`L`, where :math:`H` is circulant, so that
  :math:`\operatorname{prox}_{\Sigma f^*}` for :math:`f = \tfrac12\|\cdot - y\|^2` is diagonal in
  Fourier space:

  .. math:: u^+ = \mathcal F^{-1}\Big[\big(\hat u + \sigma\hat h\,\widehat{(A\bar x - y)}\big) / (1 + \sigma \hat h)\Big];

  the padded bins of :math:`Ax` and :math:`y` are zero, so the problem is unchanged;
* :math:`H` is positive semi-definite (the Kak–Slaney ramp has a small positive
  DC gain and every window is non-negative), so it is a valid metric;
* the response is floored at 2 % of its peak: the band-limited ramp's tiny DC
  gain (and the Hann window's zero at Nyquist) would otherwise leave the
  lowest and highest frequencies of the residual with almost no step, which
  slows the final convergence;
* the step bound needs :math:`\|H^{1/2}A\|`, estimated once per operator, window,
  dtype and device by Lanczos iteration on :math:`A^\top H A` and cached; a 2 %
  margin covers Lanczos' approach from below.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F

from recon.operators.lanczos import largest_eigenvalue
from recon.solvers.data_terms import LeastSquares
from recon.solvers.primal_dual_blocks import DualBlock

_NORM_CACHE: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
SAFETY = 1.02
FLOOR = 0.02


def _response(n_detectors: int, window: str, dtype, device) -> tuple[torch.Tensor, int]:
    from recon.operators.filtered_backprojection import ramp_filter

    full = ramp_filter(n_detectors, 1.0, window)
    length = full.shape[0]
    full = full.clamp_min(FLOOR * float(full.max()))
    return full[: length // 2 + 1].to(dtype=dtype, device=device), length


def _filter(u: torch.Tensor, response: torch.Tensor, length: int) -> torch.Tensor:
    return torch.fft.irfft(torch.fft.rfft(u, n=length, dim=-1) * response, n=length, dim=-1)


def preconditioned_norm(operator, window: str, x_like: torch.Tensor) -> float:
    r""":math:`\|H^{1/2} A\|_2` times the safety margin, by Lanczos on :math:`A^\top H A`, cached per operator."""
    key = (window, x_like.dtype, str(x_like.device))
    per_operator = _NORM_CACHE.setdefault(operator, {})
    if key not in per_operator:
        n_detectors = operator.range_shape[-1]
        response, length = _response(n_detectors, window, x_like.real.dtype, x_like.device)

        def normal_map(v):
            return operator.A_adjoint(_filter(operator.A(v), response, length)[..., :n_detectors])

        eigenvalue = largest_eigenvalue(normal_map, (1, *x_like.shape[1:]), dtype=x_like.dtype,
                                        device=x_like.device, tol=1e-3)
        per_operator[key] = SAFETY * eigenvalue**0.5
    return per_operator[key]


class RampPreconditionedData(DualBlock):
    r"""The data block :math:`\tfrac12\|Ax - y\|^2` with dual step :math:`\Sigma = H/\|H^{1/2}A\|`."""

    def __init__(self, operator, y: torch.Tensor, x_like: torch.Tensor, window: str = "hann"):
        n_detectors = operator.range_shape[-1]
        self.response, self.length = _response(n_detectors, window, y.real.dtype, y.device)
        self.n_detectors = n_detectors
        self.y_padded = F.pad(y, (0, self.length - n_detectors))
        norm = preconditioned_norm(operator, window, x_like)
        least_squares = LeastSquares()
        super().__init__(
            name="data (ramp-preconditioned)",
            forward=lambda x: F.pad(operator.A(x), (0, self.length - n_detectors)),
            adjoint=lambda u: operator.A_adjoint(u[..., :n_detectors].contiguous()),
            prox_conjugate=None,
            sigma=1.0 / norm,
            column_sums=norm,
            value=lambda v: least_squares.fn(v[..., :n_detectors], y),
        )

    def dual_step(self, u, forward_bar, ratio):
        sigma_h = (self.sigma / ratio) * self.response
        numerator = torch.fft.rfft(u, dim=-1) + sigma_h * torch.fft.rfft(forward_bar - self.y_padded, dim=-1)
        return torch.fft.irfft(numerator / (1 + sigma_h), n=self.length, dim=-1)

    def dual_residual_norm(self, u, u_new, forward_x, forward_new, ratio):
        sigma_h = (self.sigma / ratio) * self.response
        # Components where the window vanishes never move; leave them out rather than divide by 0.
        scaled = torch.where(sigma_h > 0, torch.fft.rfft(u - u_new, dim=-1) / sigma_h.clamp_min(1e-30), 0.0)
        residual = scaled - torch.fft.rfft(forward_x - forward_new, dim=-1)
        return float(torch.linalg.vector_norm(torch.fft.irfft(residual, n=self.length, dim=-1)))
