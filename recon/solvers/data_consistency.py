r"""The least-squares data term of plug-and-play solvers: its gradient and its proximal step, fast where it can be.

For :math:`f(x) = \tfrac12\|Ax - y\|^2`,

.. math::

    \nabla f(x) = A^{\mathsf H}(Ax - y), \qquad
    \operatorname{prox}_{f/\alpha}(v) = \arg\min_x \tfrac12\|Ax - y\|^2 + \tfrac\alpha2\|x - v\|^2
    = (A^{\mathsf H}A + \alpha I)^{-1}(A^{\mathsf H}y + \alpha v).

The proximal step is solved in closed form where recon has one, and by conjugate
gradients warm-started at the previous solution otherwise:

* a circular :class:`~recon.operators.blur.Blur`: one FFT division (``"fft"``);
* a reflected blur by a symmetric PSF: one DCT division (``"dct"``, Ng, Chan & Tang 1999);
* :class:`~recon.operators.mri.SingleCoilMRI`: :math:`A^{\mathsf H}A` is a Fourier mask (``"fourier-mask"``);
* anything else (CT, multi-coil MRI through its fast normal operator ``A_adjoint_A``,
  multiband): CG (``"cg"``).

:math:`A^{\mathsf H}y` and the transforms' symbols are computed once.

>>> import torch
>>> from recon.operators.blur import Blur
>>> from recon.operators.psf import gaussian_psf
>>> blur = Blur(gaussian_psf(7, 1.5), (16, 16), "circular")
>>> y = blur.A(torch.rand(1, 1, 16, 16, dtype=torch.float64))
>>> step = QuadraticDataStep(blur, y)
>>> step.path
'fft'
>>> v = torch.rand(1, 1, 16, 16, dtype=torch.float64)
>>> x = step.prox(v, 0.3)
>>> float((blur.A_adjoint(blur.A(x) - y) + 0.3 * (x - v)).abs().max()) < 1e-10    # optimality
True
"""

from __future__ import annotations

import torch

from recon.euclidean import euclidean_norm


def _operator_path(operator) -> str:
    from recon.operators.blur import Blur
    from recon.operators.mri import SingleCoilMRI
    from recon.solvers.deconvolution_transforms import cosine_diagonalises

    if isinstance(operator, Blur):
        if operator.boundary == "circular":
            return "fft"
        if cosine_diagonalises(operator):
            return "dct"
    if isinstance(operator, SingleCoilMRI):
        return "fourier-mask"
    return "cg"


class QuadraticDataStep:
    r""":math:`f(x) = \tfrac12\|Ax - y\|^2` with its gradient and proximal step (see the module text).

    :param operator: the forward operator (``A``, ``A_adjoint``, optionally ``A_adjoint_A``).
    :param y: the measurement.
    :param cg_steps: CG iterations per proximal step when there is no closed form.
    :param cg_tol: relative residual at which those CG iterations stop early.
    """

    def __init__(self, operator, y: torch.Tensor, *, cg_steps: int = 10, cg_tol: float = 1e-10):
        if cg_steps < 1:
            raise ValueError(f"QuadraticDataStep: cg_steps must be >= 1, got {cg_steps}")
        self.operator, self.y = operator, y
        self.cg_steps, self.cg_tol = int(cg_steps), float(cg_tol)
        self.Aty = operator.A_adjoint(y)
        self.path = _operator_path(operator)
        self._transform = None
        self._previous: torch.Tensor | None = None
        if self.path in ("fft", "dct"):
            from recon.solvers.deconvolution_transforms import CosineDiagonal, FourierDiagonal

            self._transform = (FourierDiagonal if self.path == "fft" else CosineDiagonal)(operator, y)
            symbol = self._transform.blur_symbol
            self._gram_symbol = symbol.real**2 + symbol.imag**2 if symbol.is_complex() else symbol**2
            self._Aty_coefficients = self._transform.forward(self.Aty)
        elif self.path == "fourier-mask":
            from recon.operators.mri import _normal_form

            self._normal = _normal_form(operator)
            self._Aty_coefficients = self._normal.forward(self.Aty)

    def gram(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`A^{\\mathsf H}A x` (the operator's fast normal form when it has one)."""
        normal = getattr(self.operator, "A_adjoint_A", None)
        return normal(x) if normal is not None else self.operator.A_adjoint(self.operator.A(x))

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`A^{\\mathsf H}(Ax - y)`."""
        return self.gram(x) - self.Aty

    def misfit(self, x: torch.Tensor) -> float:
        """:math:`\\tfrac12\\|Ax - y\\|^2` summed over the batch."""
        return 0.5 * float(euclidean_norm(self.operator.A(x) - self.y)) ** 2

    def prox(self, v: torch.Tensor, alpha: float, *, start: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`(A^{\mathsf H}A + \alpha I)^{-1}(A^{\mathsf H}y + \alpha v)`, α > 0.

        Without a closed form, CG starts from ``start`` when given, else from the previous solution
        (ADMM's x moves little between iterations; for HQS the denoised v is the better start).
        """
        if not alpha > 0:
            raise ValueError(f"QuadraticDataStep.prox: alpha must be positive, got {alpha}")
        if self._transform is not None:
            t = self._transform
            coefficients = (self._Aty_coefficients + alpha * t.forward(v)) / (self._gram_symbol + alpha)
            return t.inverse(coefficients)
        if self.path == "fourier-mask":
            n = self._normal
            coefficients = (self._Aty_coefficients + alpha * n.forward(v)) / (n.mask_like(v) + alpha)
            return n.adjoint(coefficients)
        return self._conjugate_gradient(v, alpha, start)

    def _conjugate_gradient(self, v: torch.Tensor, alpha: float, start: torch.Tensor | None) -> torch.Tensor:
        from recon.solvers.conjugate_gradient import conjugate_gradient

        if start is None:
            start = v if self._previous is None or self._previous.shape != v.shape else self._previous
        outcome = conjugate_gradient(lambda p: self.gram(p) + alpha * p, self.Aty + alpha * v, start,
                                     max_iter=self.cg_steps, tol=self.cg_tol)
        self._previous = outcome.x
        return outcome.x.clone()
