r"""Gradients through a forward operator by its explicit adjoint, for training end to end through :math:`A`.

A network trained through a reconstruction (an unrolled solver) needs :math:`\partial L/\partial x`
where :math:`L` depends on :math:`Ax` or :math:`A^{\mathsf H}y`. For a linear :math:`A` the
vector–Jacobian products are the operator's own adjoint pair:

.. math::
    \frac{\partial L}{\partial x} = A^{\mathsf H}\,\frac{\partial L}{\partial (Ax)}, \qquad
    \frac{\partial L}{\partial y} = A\,\frac{\partial L}{\partial (A^{\mathsf H}y)}

(PyTorch's convention for complex tensors gives the same formulas with :math:`A^{\mathsf H}`).
:func:`apply_A` and :func:`apply_A_adjoint` wrap ``operator.A`` and ``operator.A_adjoint`` in one
``torch.autograd.Function`` that runs them without recording a graph and answers the backward
pass with the other one. So no graph is kept through the sparse CT projector's CSR product, astra's
kernels (which leave torch) or the FFTs of MRI and blur, memory does not grow with the operator's
internals, and the backward pass costs one adjoint. The backward is itself built of these
functions, so second derivatives (a gradient step inside an unrolled network, differentiated
again in training) work too. Every recon operator's own ``A``, ``A_adjoint`` and ``A_adjoint_A``
take this path by themselves when their input requires a gradient
(:meth:`recon.operators.base.Operator.__init_subclass__`), so ``operator.A(x)`` is enough.

>>> import torch
>>> from recon.operators import ParallelBeamCT
>>> op = ParallelBeamCT(torch.linspace(0, 3.1, 6), 12, image_shape=(8, 8))
>>> x = torch.rand(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
>>> loss = apply_A(op, x).pow(2).sum() / 2
>>> (gradient,) = torch.autograd.grad(loss, x)
>>> bool(torch.allclose(gradient, op.A_adjoint(op.A(x.detach()))))      # ∇ ½‖Ax‖² = AᵀAx
True
"""

from __future__ import annotations

import torch


class _Linear(torch.autograd.Function):
    """``operator.A`` (``adjoint=False``) or ``operator.A_adjoint`` (``True``), differentiated by the other."""

    @staticmethod
    def forward(ctx, t: torch.Tensor, operator, adjoint: bool) -> torch.Tensor:
        ctx.operator, ctx.adjoint = operator, adjoint
        with torch.no_grad():
            return operator.A_adjoint(t) if adjoint else operator.A(t)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return _Linear.apply(grad, ctx.operator, not ctx.adjoint), None, None


def apply_A(operator, x: torch.Tensor) -> torch.Tensor:
    """:math:`Ax`, with the gradient :math:`A^{\\mathsf H}g` (module text)."""
    return _Linear.apply(x, operator, False)


def apply_A_adjoint(operator, y: torch.Tensor) -> torch.Tensor:
    """:math:`A^{\\mathsf H}y`, with the gradient :math:`Ag` (module text)."""
    return _Linear.apply(y, operator, True)


def apply_normal(operator, x: torch.Tensor) -> torch.Tensor:
    """:math:`A^{\\mathsf H}Ax` (the operator's fast normal form when it has one), self-adjoint in the backward pass."""
    return _Normal.apply(x, operator)


def differentiable_method(method, name: str):
    """``method`` (an operator's ``A``, ``A_adjoint`` or ``A_adjoint_A``), differentiated by the explicit adjoint
    when gradients are recorded and the input needs one; unchanged otherwise."""
    import functools

    @functools.wraps(method)
    def wrapped(self, t, *args, **kwargs):
        # the Functions call the operator again under torch.no_grad, which lands on the plain path below
        if torch.is_grad_enabled() and isinstance(t, torch.Tensor) and t.requires_grad:
            if name == "A_adjoint_A":
                return _Normal.apply(t, self)
            return _Linear.apply(t, self, name == "A_adjoint")
        return method(self, t, *args, **kwargs)

    return wrapped


class _Normal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, operator) -> torch.Tensor:
        ctx.operator = operator
        with torch.no_grad():
            normal = getattr(operator, "A_adjoint_A", None)
            return normal(x) if normal is not None else operator.A_adjoint(operator.A(x))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return _Normal.apply(grad, ctx.operator), None
