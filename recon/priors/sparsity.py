r"""Wavelet sparsity :math:`\lambda \|Wx\|_{1,w} = \lambda \sum_i w_i\, |(Wx)_i|` for an orthogonal wavelet :math:`W`.

:math:`W` is :class:`recon.priors.WaveletTransform` (coefficients in the Mallat
layout, shaped like the image). The weights are :math:`w_i = 1` on detail
coefficients and :math:`w_i = 0` on the coarsest approximation band unless it
is penalised too, so that the mean and the coarse shape of the image cost
nothing. For a complex image :math:`|\cdot|` is the modulus of each complex
coefficient.

Because :math:`W` is orthogonal the prox is exact and costs two transforms:

.. math::
    \operatorname{prox}_{\gamma\lambda\|W\cdot\|_{1,w}}(x) = W^\top \operatorname{soft}(Wx, \gamma\lambda w),
    \qquad \operatorname{soft}(z, t)_i = z_i \max\big(0, 1 - t_i / |z_i|\big).

Primal–dual solvers use :meth:`L1Wavelet.split` :math:`= (W, \lambda\|\cdot\|_{1,w})`
and the projection :meth:`WaveletL1Norm.prox_conjugate`.
"""

from __future__ import annotations

import torch
from deepinv.optim import Prior

from recon.priors.tv import dual_gradient_projection
from recon.priors.wavelet_frame import UndecimatedWaveletTransform
from recon.priors.wavelet_transform import WaveletTransform


class WaveletL1Norm:
    r"""The weighted norm :math:`g(z) = \lambda \sum_i w_i |z_i|` on wavelet coefficients ``z`` (Mallat layout).

    :math:`w_i = 0` on the coarsest approximation block of ``transform`` unless
    ``penalise_approximation``, else 1. :meth:`prox` is the soft threshold
    :math:`z_i \max(0, 1 - \gamma\lambda w_i / |z_i|)`; :meth:`prox_conjugate` the projection
    onto :math:`\{|z_i| \le \lambda w_i\}` (independent of :math:`\sigma`).

    >>> import torch
    >>> g = WaveletL1Norm(1.0, WaveletTransform("haar", levels=1, ndim=1), penalise_approximation=True)
    >>> z = torch.tensor([[[4.0, -0.5]]])
    >>> g.fn(z).item(), g.prox(z, 1.0).tolist(), g.prox_conjugate(z, 1.0).tolist()
    (4.5, [[[3.0, -0.0]]], [[[1.0, -0.5]]])
    """

    def __init__(self, strength: float, transform: WaveletTransform, penalise_approximation: bool = False):
        self.strength = float(strength)
        self.transform = transform
        self.penalise_approximation = penalise_approximation

    def _unpenalised(self, z: torch.Tensor):
        """Index of the coefficients with weight 0, or ``None`` when every weight is 1."""
        if self.penalise_approximation:
            return None
        return self.transform.unpenalised_index(z)

    def fn(self, z: torch.Tensor) -> torch.Tensor:
        magnitude = z.abs()
        free = self._unpenalised(z)
        if free is not None:
            magnitude[free] = 0
        return self.strength * magnitude.reshape(z.shape[0], -1).sum(dim=1)

    def prox(self, z: torch.Tensor, gamma=1.0) -> torch.Tensor:
        threshold = gamma * self.strength
        magnitude = z.abs()
        out = z * torch.clamp(1 - threshold / magnitude.clamp_min(torch.finfo(magnitude.dtype).tiny), min=0.0)
        free = self._unpenalised(z)
        if free is not None:
            out[free] = z[free]
        return out

    def prox_conjugate(self, z: torch.Tensor, sigma=1.0) -> torch.Tensor:
        if self.strength == 0:
            return torch.zeros_like(z)
        out = z / torch.clamp(z.abs() / self.strength, min=1.0)
        free = self._unpenalised(z)
        if free is not None:
            out[free] = 0
        return out


class L1Wavelet(Prior):
    r"""Wavelet sparsity :math:`\lambda \sum_i w_i |(Wx)_i|`, a :class:`deepinv.optim.Prior`.

    :param strength: :math:`\lambda \ge 0`.
    :param wavelet: ``"haar"`` (= ``"db1"``), ``"db2"``, ``"db3"`` or ``"db4"``.
    :param levels: wavelet levels :math:`J`; image sizes must be divisible by :math:`2^J`.
    :param ndim: spatial axes: 2 for ``(batch, channel, H, W)``, 3 for ``(batch, channel, D, H, W)``.
    :param penalise_approximation: also penalise the coarsest approximation band (:math:`w_i = 1` there).

    A point source at the corner of a 4×4 image has four Haar coefficients of
    1/2 at one level; the approximation one is free:

    >>> import torch
    >>> x = torch.zeros(1, 1, 4, 4, dtype=torch.float64); x[..., 0, 0] = 1.0
    >>> round(L1Wavelet(2.0, "haar", levels=1)(x).item(), 12)          # 2 * (3 * 1/2)
    3.0
    >>> p = L1Wavelet(2.0, "haar", levels=1).prox(x, gamma=0.1)    # details shrink from 0.5 to 0.3
    >>> round(p[0, 0, 0, 0].item(), 12)                           # (0.5 + 3 * 0.3) / 2
    0.7
    """

    def __init__(self, strength: float = 1.0, wavelet: str = "db4", levels: int = 3, ndim: int = 2,
                 penalise_approximation: bool = False):
        super().__init__()
        if strength < 0:
            raise ValueError(f"{type(self).__name__}: strength must be >= 0, got {strength}")
        self.explicit_prior = True
        self.strength = float(strength)
        self.transform = WaveletTransform(wavelet, levels, ndim)
        self.penalise_approximation = penalise_approximation

    def split(self) -> tuple[WaveletTransform, WaveletL1Norm]:
        """:math:`(K, g) = (W, \\lambda\\|\\cdot\\|_{1,w})` for primal–dual solvers."""
        return self.transform, WaveletL1Norm(self.strength, self.transform, self.penalise_approximation)

    def fn(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        transform, norm = self.split()
        return norm.fn(transform.A(x))

    def prox(self, x: torch.Tensor, *args, gamma: float = 1.0, **kwargs) -> torch.Tensor:
        r""":math:`W^\top \operatorname{soft}(Wx, \gamma\lambda w)`, the exact minimiser of
        :math:`\tfrac12\|p-x\|^2 + \gamma\lambda\|Wp\|_{1,w}`.
        """
        transform, norm = self.split()
        return transform.A_adjoint(norm.prox(transform.A(x), gamma))

    def __repr__(self):
        t = self.transform
        return (f"{type(self).__name__}(strength={self.strength}, wavelet={t.wavelet!r}, levels={t.levels}, "
                f"ndim={t.ndim}, penalise_approximation={self.penalise_approximation})")


class L1UndecimatedWavelet(L1Wavelet):
    r"""Shift-invariant wavelet sparsity :math:`\lambda \sum_i w_i |(Wx)_i|` with the undecimated frame :math:`W`.

    :math:`W` is :class:`~recon.priors.wavelet_frame.UndecimatedWaveletTransform` (2D, any image
    size, :math:`W^\top W = I`); the approximation band is free unless ``penalise_approximation``.
    A frame is not orthogonal (:math:`WW^\top \ne I`), so :math:`W^\top\operatorname{soft}(W\cdot)` is
    not this prior's prox. :meth:`prox` solves it iteratively instead, by the fast gradient
    projection on the dual that TV's prox uses (:func:`~recon.priors.tv.dual_gradient_projection`,
    ``prox_max_iter`` / ``prox_tol``); solvers that split :math:`z = Wx` need no inner iterations —
    :func:`~recon.solvers.deconvolution_admm.deconvolution_admm` (every step stays closed form, as
    :math:`W^\top W = I`) and PDHG (:meth:`split`).

    >>> import torch
    >>> x = torch.zeros(1, 1, 8, 8, dtype=torch.float64); x[..., 3, 4] = 1.0
    >>> prior = L1UndecimatedWavelet(1.0, "haar", levels=1)
    >>> value = prior(x).item()
    >>> shifted = prior(torch.roll(x, shifts=(1, 1), dims=(-2, -1))).item()    # the same at every position
    >>> abs(value - shifted) < 1e-12, round(value, 12)        # three bands of four taps ±1/4
    (True, 3.0)
    """

    def __init__(self, strength: float = 1.0, wavelet: str = "db4", levels: int = 3,
                 penalise_approximation: bool = False, prox_max_iter: int = 200, prox_tol: float = 1e-5):
        super().__init__(strength, wavelet, levels, 2, penalise_approximation)
        self.transform = UndecimatedWaveletTransform(wavelet, levels)
        self.prox_max_iter, self.prox_tol = prox_max_iter, prox_tol

    def prox(self, x: torch.Tensor, *args, gamma: float = 1.0, **kwargs) -> torch.Tensor:
        r"""Solve :math:`\min_p \tfrac12\|p - x\|^2 + \gamma\lambda\|Wp\|_{1,w}` (FGP on the dual, class text)."""
        if self.strength == 0 or gamma == 0:
            return x.clone()
        ball = WaveletL1Norm(gamma * self.strength, self.transform, self.penalise_approximation)
        return dual_gradient_projection(x, self.transform, ball, self.prox_max_iter, self.prox_tol)

    def __repr__(self):
        t = self.transform
        return (f"{type(self).__name__}(strength={self.strength}, wavelet={t.wavelet!r}, levels={t.levels}, "
                f"penalise_approximation={self.penalise_approximation})")
