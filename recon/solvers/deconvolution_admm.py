r"""ADMM for deblurring with every split in closed form: :math:`\min_x f(Hx) + g(Kx) + \iota_{\ge 0}(x)`.

:math:`H` is a :class:`~recon.operators.blur.Blur`, :math:`f` least squares
:math:`\tfrac12\|v - y\|^2` or the Poisson likelihood of :class:`~recon.solvers.data_terms.PoissonLikelihood`
(the SPIRAL-TAP setting), :math:`g \circ K` a prior's ``split()`` (TV: :math:`K = \nabla`,
L1-wavelet: :math:`K = W`), and the non-negativity is optional. The splits are
:math:`z = Kx` (shrinkage), :math:`w = x` (projection, with ``nonnegative=True``)
and, for the Poisson term only, :math:`v = Hx` (its prox, a quadratic root). With
scaled duals :math:`a, b, c` and penalties :math:`\rho_v, \rho_z, \rho_w`, one iteration is

.. math::
    x &\leftarrow (\alpha H^\top H + \rho_z K^\top K + \rho_w I)^{-1}
         \big(r_H + \rho_z K^\top(z - b) + \rho_w (w - c)\big), \\
    z &\leftarrow \operatorname{prox}_{g/\rho_z}(Kx + b), \quad
    w \leftarrow \max(x + c, 0), \quad
    v \leftarrow \operatorname{prox}_{f/\rho_v}(Hx + a),

then :math:`b \mathrel{+}= Kx - z`, :math:`c \mathrel{+}= x - w`, :math:`a \mathrel{+}= Hx - v`;
least squares folds into the x-update (:math:`\alpha = 1`, :math:`r_H = H^\top y`),
Poisson does not (:math:`\alpha = \rho_v`, :math:`r_H = \rho_v H^\top(v - a)`).

**The x-update** is one division in a transform domain where :math:`H` and
:math:`K^\top K` are both diagonal (:mod:`recon.solvers.deconvolution_transforms`):

* circular blur + :class:`~recon.solvers.deconvolution_transforms.PeriodicTV` (or an orthogonal
  wavelet, :math:`K^\top K = I`): the FFT, exact;
* reflected blur of a symmetric PSF + recon's Neumann :class:`~recon.priors.TV`: the DCT-II, exact;
* anything else (Neumann TV with a circular blur, zero boundary, an asymmetric
  PSF): ``pcg_steps`` warm-started conjugate-gradient steps preconditioned by
  the FFT solve of the periodic model.

Measured on the benchmark of :mod:`recon.bench.deblur_tv_problem` (256² ``camera``, Gaussian
σ = 2 in a 25 × 25 kernel, circular data, noise 0.01, λ = 5·10⁻⁴, one thread), the
boundary choice:

* FFT path (:class:`~recon.solvers.deconvolution_transforms.PeriodicTV`): 1.4–1.6 ms an
  iteration (one forward and one inverse real FFT: with least squares the misfit is valued
  from the Fourier coefficients, by Parseval); with the default over-relaxation within 0.01 dB of
  its best, 28.20 dB, after 9 iterations (0.014 s), 28.1 dB after 5 (0.009 s);
* Neumann TV with the circular blur, 3 PCG steps an x-update: about 10 ms an
  iteration, best 28.28 dB (its TV is the better model at the image's edges),
  28.1 dB after 2–3 iterations (0.04–0.07 s);
* DCT path (reflected blur, Neumann TV, exact) at 128²: about 7 ms an iteration,
  converged to 3·10⁻⁴ of PDHG's optimum. On photographs, whose edges do not wrap
  around, the reflected model is the right one; :mod:`tests.test_deblur_photographs` uses it.

**Over-relaxation** (Eckstein & Bertsekas 1992; Boyd et al. 2011, §3.4.3): each split sees
:math:`\alpha\,Kx + (1 - \alpha)\,z` in place of :math:`Kx` (likewise :math:`x` for :math:`w`, :math:`Hx` for
:math:`v`), converging for every :math:`\alpha \in (0, 2)`. On the benchmark, :math:`\alpha` = 1.7
(the default) comes within 0.01 dB of its best (28.205 dB) after 9 iterations, plain ADMM (1) after 16
(28.188 dB); 1.5 after 10, 1.9 after 8.

**Penalties.** :math:`\rho_z` (``penalty``, default :math:`10\lambda` for least squares on
images in [0, 1], :math:`2\lambda` for Poisson counts) trades the speed of the
shrinkage against that of the data fit; on the benchmark :math:`\rho_z` = 0.003–0.01
(6–20 λ) reach the best PSNR in 17–41 iterations, 0.03 needs 120. :math:`\rho_w`
defaults to :math:`\rho_z`, :math:`\rho_v` to :math:`1/\max(\bar y, 1)` (below). The recorded
objective is :math:`f(Hx) + g(Kx)` at the iterate.
"""

from __future__ import annotations

import torch

from recon.euclidean import euclidean_norm
from recon.priors.finite_difference import FiniteDifference
from recon.priors.wavelet_transform import WaveletTransform
from recon.solvers.common import IterationLoop, Result, Stopping, over_relaxed, relative_change
from recon.solvers.conjugate_gradient import real_inner
from recon.solvers.data_terms import LeastSquares, PoissonLikelihood
from recon.solvers.deconvolution_transforms import (
    CosineDiagonal,
    FourierDiagonal,
    PeriodicDifference,
    cosine_diagonalises,
)

_STEP_HINT = "lower the penalties, or check that the PSF and the data are finite"


def _laplacian_kind(K) -> str:
    if isinstance(K, PeriodicDifference):
        return "periodic"
    if type(K) is FiniteDifference and K.ndim == 2:
        return "neumann"
    if isinstance(K, WaveletTransform) or getattr(K, "isometry", False):
        return "orthogonal"          # KᵀK = I: the orthogonal wavelet or the undecimated frame
    raise ValueError(f"deconvolution_admm: the prior's K must be a 2D gradient (TV, PeriodicTV) or a wavelet "
                     f"with KᵀK = I (L1Wavelet, L1UndecimatedWavelet), got {type(K).__name__}")


def x_update_path(blur, K) -> str:
    """``"fft"``, ``"dct"`` (exact) or ``"pcg"`` (preconditioned CG), the x-update this blur and this K get.

    >>> from recon.operators.blur import Blur
    >>> from recon.operators.psf import gaussian_psf
    >>> from recon.priors import TV
    >>> from recon.solvers.deconvolution_transforms import PeriodicTV
    >>> psf = gaussian_psf(5, 1.0)
    >>> [x_update_path(Blur(psf, (8, 8), b), p.split()[0]) for b, p in
    ...  (("circular", PeriodicTV()), ("reflect", TV()), ("circular", TV()))]
    ['fft', 'dct', 'pcg']
    """
    kind = _laplacian_kind(K)
    if blur.boundary == "circular" and kind in ("periodic", "orthogonal"):
        return "fft"
    if kind in ("neumann", "orthogonal") and cosine_diagonalises(blur):
        return "dct"
    return "pcg"


class _DiagonalSolve:
    r"""Applies :math:`T^{-1} (T r) / (\alpha|\hat h|^2 + \rho_z \hat L + \rho_w)` and keeps :math:`T` at hand."""

    def __init__(self, transform, kind: str, alpha: float, rho_z: float, rho_w: float):
        self.transform = transform
        symbol = transform.blur_symbol
        laplacian = 1.0 if kind == "orthogonal" else transform.laplacian_symbol
        self.denominator = alpha * (symbol.real**2 + symbol.imag**2 if symbol.is_complex() else symbol**2) \
            + rho_z * laplacian + rho_w
        self.reciprocal = 1.0 / self.denominator

    def __call__(self, rhs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:math:`x` and :math:`T(Hx)`, the coefficients of the blurred image (no second inverse transform)."""
        t = self.transform
        coefficients = t.forward(rhs).mul_(self.reciprocal)     # 7x faster than dividing a complex array
        return t.inverse(coefficients), coefficients * t.blur_symbol


def _pcg(normal, rhs, x, precondition, steps: int) -> torch.Tensor:
    """``steps`` preconditioned CG steps on ``normal(x) = rhs`` from ``x``."""
    r = rhs - normal(x)
    s = precondition(r)
    p, rs = s, real_inner(r, s)
    for _ in range(steps):
        if rs <= 0:
            break
        q = normal(p)
        step = rs / real_inner(p, q)
        x = x + step * p
        r = r - step * q
        s = precondition(r)
        rs_new = real_inner(r, s)
        p, rs = s + (rs_new / rs) * p, rs_new
    return x


def deconvolution_admm(y: torch.Tensor, blur, prior, *, data=None, nonnegative: bool = False,
                       penalty: float | None = None, constraint_penalty: float | None = None,
                       data_penalty: float | None = None, pcg_steps: int = 3, x0: torch.Tensor | None = None,
                       relaxation: float = 1.7, stopping: Stopping | None = None, callback=None) -> Result:
    r"""Minimise ``data(Hx, y) + prior(x)`` (optionally with :math:`x \ge 0`) by ADMM with closed-form splits.

    :param y: the blurred image ``(batch, channels, H, W)``, real (counts for the Poisson term).
    :param blur: a :class:`~recon.operators.blur.Blur`.
    :param prior: a prior with ``split()``: :class:`~recon.priors.TV` (Neumann),
        :class:`~recon.solvers.deconvolution_transforms.PeriodicTV`, :class:`~recon.priors.L1Wavelet`.
    :param data: :class:`~recon.solvers.data_terms.LeastSquares` (default) or
        :class:`~recon.solvers.data_terms.PoissonLikelihood`.
    :param nonnegative: add the split :math:`w = x \ge 0`.
    :param penalty: :math:`\rho_z` (default :math:`10\lambda`, λ the prior's strength; :math:`2\lambda`
        with the Poisson term, λ then in units of counts).
    :param constraint_penalty: :math:`\rho_w` (default :math:`\rho_z`).
    :param data_penalty: :math:`\rho_v`, Poisson only (default :math:`1/\max(\bar y, 1)`: the
        likelihood's curvature :math:`y/v^2` is about :math:`1/\bar y` where :math:`v \approx y`).
    :param pcg_steps: CG steps per x-update where no transform diagonalises it (module text).
    :param x0: start (default :math:`H^\top y`, clipped at 0 with ``nonnegative``).
    :param relaxation: over-relaxation :math:`\alpha \in (0, 2)` (module text); 1 is plain ADMM.
    :param stopping: when to stop (default ``Stopping()``, 500 iterations).
    :param callback: ``callback(iteration, x)``, untimed; returning ``False`` stops.

    Example: TV deblurring of a square, circular model, exact FFT x-updates.

    >>> import torch
    >>> from recon.operators.blur import Blur
    >>> from recon.operators.psf import gaussian_psf
    >>> from recon.solvers.deconvolution_transforms import PeriodicTV
    >>> truth = torch.zeros(1, 1, 32, 32); truth[..., 8:24, 10:20] = 1.0
    >>> blur = Blur(gaussian_psf(9, 1.5), (32, 32))
    >>> y = blur.A(truth) + 0.01 * torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    >>> x = deconvolution_admm(y, blur, PeriodicTV(0.005), stopping=Stopping(max_iter=100)).x
    >>> bool((x - truth).norm() < 0.5 * (y - truth).norm())
    True
    """
    if y.is_complex():
        raise ValueError("deconvolution_admm: y must be real, got a complex tensor")
    if not hasattr(prior, "split"):
        raise ValueError(f"deconvolution_admm: the prior must have split() -> (K, g) (TV, PeriodicTV, L1Wavelet); "
                         f"{type(prior).__name__} has none")
    data = LeastSquares() if data is None else data
    poisson = isinstance(data, PoissonLikelihood)
    if not (poisson or isinstance(data, LeastSquares)):
        raise ValueError(f"deconvolution_admm: data must be LeastSquares or PoissonLikelihood, got {type(data).__name__}")
    if pcg_steps < 1:
        raise ValueError(f"deconvolution_admm: pcg_steps must be >= 1, got {pcg_steps}")
    if not 0 < relaxation < 2:
        raise ValueError(f"deconvolution_admm: relaxation must be in (0, 2), got {relaxation}")
    K, g = prior.split()
    kind = _laplacian_kind(K)
    strength = float(getattr(prior, "strength", 1.0))
    rho_z = float(penalty) if penalty is not None else (2.0 if poisson else 10.0) * strength
    rho_w = (float(constraint_penalty) if constraint_penalty is not None else rho_z) if nonnegative else 0.0
    rho_v = 0.0
    if poisson:
        rho_v = float(data_penalty) if data_penalty is not None else 1.0 / max(float(y.mean()), 1.0)
    for name, value in (("penalty", rho_z), ("constraint_penalty", rho_w if nonnegative else 1.0),
                        ("data_penalty", rho_v if poisson else 1.0)):
        if not value > 0:
            raise ValueError(f"deconvolution_admm: {name} must be positive, got {value}")
    alpha = rho_v if poisson else 1.0
    loop = IterationLoop("deconvolution_admm", Stopping() if stopping is None else stopping, step_hint=_STEP_HINT, callback=callback)

    path = x_update_path(blur, K)
    if path == "pcg":
        from recon.operators.blur import Blur

        # The preconditioner: the same PSF circular, and the periodic Laplacian (exact for periodic K).
        periodic = FourierDiagonal(Blur(blur.psf, blur.domain_shape, "circular"), y)
        precondition = _DiagonalSolve(periodic, "orthogonal" if kind == "orthogonal" else "periodic",
                                      alpha, rho_z, rho_w)

        def normal(p):
            out = alpha * blur.A_adjoint(blur.A(p)) + rho_z * K.A_adjoint(K.A(p))
            return out + rho_w * p if nonnegative else out

        def solve_x(rhs, x):
            x = _pcg(normal, rhs, x, lambda r: precondition(r)[0], pcg_steps)
            return x, blur.A(x)

        def least_squares(hx):
            return 0.5 * float(euclidean_norm(hx - y)) ** 2
    else:
        transform = (FourierDiagonal if path == "fft" else CosineDiagonal)(blur, y)
        diagonal = _DiagonalSolve(transform, kind, alpha, rho_z, rho_w)
        y_coefficients = None if poisson else transform.forward(y)

        def solve_x(rhs, x):
            # Least squares needs Hx only for its value: kept as coefficients, valued by Parseval
            # (one inverse transform an iteration fewer); the Poisson split needs Hx itself.
            x, blurred = diagonal(rhs)
            return x, (transform.inverse(blurred) if poisson else blurred)

        def least_squares(blurred_coefficients):
            return 0.5 * transform.squared_distance(blurred_coefficients, y_coefficients)

    Hty = blur.A_adjoint(y)
    x = (Hty.clamp_min(0) if nonnegative else Hty) if x0 is None else x0.to(y).clone()
    kx = K.A(x)
    z, b = kx.clone(), torch.zeros_like(kx)
    w, c = x.clone(), torch.zeros_like(x)
    hx = blur.A(x) if poisson else None
    v, a = (hx.clamp_min(0), torch.zeros_like(y)) if poisson else (None, None)
    while not loop.done:
        rhs = K.A_adjoint(z - b).mul_(rho_z)
        if nonnegative:
            rhs.add_(w - c, alpha=rho_w)
        rhs.add_(rho_v * blur.A_adjoint(v - a) if poisson else Hty)
        x_new, hx = solve_x(rhs, x)        # hx: Hx, or its coefficients (least squares, exact x-updates)
        kx = K.A(x_new)
        # Each split as u = (its argument + dual), z = prox(u), dual = u - z: b + Kx - z with one add fewer.
        # With over-relaxation each split's argument is alpha (its value) + (1 - alpha) (the split's old variable).
        shifted = over_relaxed(kx, z, relaxation).add_(b)
        z = g.prox(shifted, gamma=1.0 / rho_z)
        b = shifted.sub_(z)
        if nonnegative:
            shifted = over_relaxed(x_new, w, relaxation).add_(c)
            w = shifted.clamp_min(0)
            c = shifted.sub_(w)
        if poisson:
            shifted = over_relaxed(hx, v, relaxation).add_(a)
            v = data.prox(shifted, y, 1.0 / rho_v)
            a = shifted.sub_(v)
            fit = float(data.fn(hx, y).sum())
        else:
            fit = least_squares(hx)
        objective = fit + float(g.fn(kx).sum())
        change = relative_change(x_new, x)
        x = x_new
        loop.record(objective=objective, change=change, x=x)
    return loop.result(x)
