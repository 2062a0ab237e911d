"""The base class of every recon forward operator.

An operator is a :class:`deepinv.physics.LinearPhysics` with an explicit
``A`` and ``A_adjoint`` (no autograd adjoint in a hot loop), known input and
output shapes, and a cached spectral norm.
"""

from __future__ import annotations

import math

import torch
from deepinv.physics import LinearPhysics

from recon.euclidean import euclidean_norm


class Operator(LinearPhysics):
    r"""A linear forward model :math:`y = A x` with a known adjoint :math:`A^\top`.

    Subclasses set ``domain_shape`` (the spatial shape of ``x``) and
    ``range_shape`` (the trailing shape of ``y``) and implement ``A`` and
    ``A_adjoint`` for tensors shaped ``(batch, channel, *shape)``.

    :meth:`norm` returns :math:`\|A\|_2`, computed once by power iteration on
    :math:`A^\top A` and cached, because solvers ask for it to set step sizes.

    Example
    -------
    >>> import torch
    >>> from recon.operators import ParallelBeamCT
    >>> op = ParallelBeamCT(angles=torch.linspace(0, 3.14, 8), n_detectors=24, image_shape=(16, 16))
    >>> round(float(op.norm()), 1) > 0
    True
    """

    domain_shape: tuple[int, ...]
    range_shape: tuple[int, ...]

    def __init_subclass__(cls, **kwargs):
        """Make each subclass's ``A``, ``A_adjoint`` and ``A_adjoint_A`` differentiable by the explicit adjoint.

        When gradients are being recorded and the input requires them, the call goes through
        :mod:`recon.operators.differentiable` (the backward pass is the other map of the pair);
        otherwise it is the subclass's own method, unchanged. So an operator inside a user's torch
        model trains through astra's kernels (which leave torch) and the sparse projector alike,
        with one adjoint per backward pass and no graph of the operator's internals.
        """
        super().__init_subclass__(**kwargs)
        from recon.operators.differentiable import differentiable_method

        for name in ("A", "A_adjoint", "A_adjoint_A"):
            if name in cls.__dict__:
                setattr(cls, name, differentiable_method(cls.__dict__[name], name))

    def __init__(self, domain_shape, range_shape, **kwargs):
        super().__init__(**kwargs)
        self.domain_shape = tuple(int(s) for s in domain_shape)
        self.range_shape = tuple(int(s) for s in range_shape)
        self.img_size = (1, *self.domain_shape)
        self._norm_cache: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    def check_domain(self, x: torch.Tensor) -> None:
        """Raise a one-line ``ValueError`` if ``x`` is not shaped (batch, channel, *domain_shape)."""
        self._check(x, self.domain_shape, "an image")

    def check_range(self, y: torch.Tensor) -> None:
        """Raise a one-line ``ValueError`` if ``y`` is not shaped (batch, channel, *range_shape)."""
        self._check(y, self.range_shape, "a measurement")

    def _check(self, t: torch.Tensor, shape: tuple[int, ...], what: str) -> None:
        if tuple(t.shape[2:]) != shape or t.dim() != len(shape) + 2:
            raise ValueError(
                f"{type(self).__name__}: expected {what} shaped (batch, channel, "
                f"{', '.join(map(str, shape))}), got {tuple(t.shape)}"
            )

    def norm(self, *, dtype: torch.dtype = torch.float32, device="cpu",
             max_iter: int = 200, tol: float = 1e-7) -> torch.Tensor:
        r"""Spectral norm :math:`\|A\|_2 = \sqrt{\lambda_{\max}(A^\top A)}`, cached per device and dtype.

        Power iteration from a seeded random start; it stops when the
        Rayleigh quotient changes by less than ``tol`` (relative).
        """
        key = (str(torch.device(device)), dtype)
        if key not in self._norm_cache:
            self._norm_cache[key] = self._power_iteration(dtype, device, max_iter, tol)
        return self._norm_cache[key]

    def lanczos_norm(self, precision: torch.dtype, device, tol: float, max_iter: int) -> torch.Tensor:
        r""":math:`\|A\|_2` by Lanczos on :math:`A^{\mathsf H}A` in ``complex128``, cached under ``(device, precision)``.

        For complex operators whose top singular values cluster (multi-coil MRI,
        radar), where power iteration converges slowly; see
        :func:`recon.operators.lanczos.largest_eigenvalue`.
        """
        from recon.operators.lanczos import largest_eigenvalue

        key = (str(torch.device(device)), precision)
        if key not in self._norm_cache:
            eigenvalue = largest_eigenvalue(self.A_adjoint_A, (1, 1, *self.domain_shape), dtype=torch.complex128,
                                            device=device, tol=tol, max_iter=max_iter)
            self._norm_cache[key] = torch.tensor(math.sqrt(max(eigenvalue, 0.0)), dtype=torch.float64)
        return self._norm_cache[key]

    def _power_iteration(self, dtype, device, max_iter, tol) -> torch.Tensor:
        generator = torch.Generator(device="cpu").manual_seed(0)
        x = torch.randn((1, 1, *self.domain_shape), generator=generator, dtype=dtype).to(device)
        x = x / euclidean_norm(x)
        eigenvalue = 0.0
        for _ in range(max_iter):
            z = self.A_adjoint(self.A(x))
            new_eigenvalue = float(torch.real(torch.vdot(x.flatten(), z.flatten())))
            x = z / euclidean_norm(z)
            if abs(new_eigenvalue - eigenvalue) <= tol * abs(new_eigenvalue):
                eigenvalue = new_eigenvalue
                break
            eigenvalue = new_eigenvalue
        return torch.tensor(math.sqrt(max(eigenvalue, 0.0)), dtype=torch.float64)

    def A_adjoint_A(self, x, **kwargs):
        return self.A_adjoint(self.A(x))
