"""Unrolled solvers: exact data steps, gradients through the operators, the untrained iterations' known answers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from recon.operators import ParallelBeamCT, SingleCoilMRI
from recon.operators.blur import Blur
from recon.operators.mri_masks import random_mask
from recon.operators.psf import gaussian_psf
from recon.solvers.unrolled import LearnedPrimalDual, PositiveParameters, UnrolledADMM, UnrolledProximalGradient
from recon.solvers.unrolled_data_steps import FourierDataStep, OperatorDataStep
from recon.solvers.unrolled_deconvolution import (UnrolledDeconvolutionADMM, centred_power_spectrum,
                                                  transfer_functions)


def _ct():
    return ParallelBeamCT(torch.linspace(0, math.pi, 13)[:-1], 18, image_shape=(12, 12))


def _mri():
    return SingleCoilMRI(random_mask((12, 12), 2, 0.2, seed=0))


def _blur():
    return Blur(gaussian_psf(5, 1.0).double(), (12, 12), "zero")


OPERATORS = {"ct": _ct, "mri": _mri, "blur": _blur}


def _image(operator, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, 1, *operator.domain_shape), generator=generator, dtype=torch.float64)
    return x.to(torch.complex128) if isinstance(operator, SingleCoilMRI) else x


@pytest.mark.parametrize("name", list(OPERATORS))
def test_operator_data_step_prox_is_the_exact_minimiser(name):
    """(AᴴA + ρI) x = Aᴴy + ρv to 1e-10 after enough CG steps, with ρ per batch element."""
    operator = OPERATORS[name]()
    x = _image(operator)
    y = operator.A(x)
    v, rho = _image(operator, seed=1), torch.tensor([0.05, 3.0], dtype=torch.float64)
    step = OperatorDataStep(operator, y, cg_steps=300)
    out = step.prox(v, rho)
    residual = operator.A_adjoint(operator.A(out)) + rho.view(-1, 1, 1, 1) * out - operator.A_adjoint(y) \
        - rho.view(-1, 1, 1, 1) * v
    assert float(residual.abs().max()) < 1e-9 * float(operator.A_adjoint(y).abs().max())
    torch.testing.assert_close(step.gradient(x), operator.A_adjoint(operator.A(x) - y))


@pytest.mark.parametrize("name", list(OPERATORS))
def test_gradients_through_unrolled_iterations(name):
    """gradcheck of 3 proximal-gradient and 2 ADMM iterations (unrolled CG inside) w.r.t. the measurement."""
    operator = OPERATORS[name]()
    y = operator.A(_image(operator, batch=1)).detach()
    prox = nn.Identity()
    gradient_steps = UnrolledProximalGradient(prox, 3, step=0.5 / float(operator.norm()) ** 2).double()
    admm = UnrolledADMM(prox, 2, penalty=0.3).double()
    x0 = torch.zeros_like(operator.A_adjoint(y))

    def through(model):
        return lambda t: model(OperatorDataStep(operator, t, cg_steps=3), x0)

    assert torch.autograd.gradcheck(through(gradient_steps), (y.clone().requires_grad_(),), fast_mode=True)
    assert torch.autograd.gradcheck(through(admm), (y.clone().requires_grad_(),), fast_mode=True)


def test_learned_scalars_get_gradients_and_checkpointing_changes_nothing():
    """Recomputing each iteration in the backward pass gives the same loss and the same gradients."""
    operator = _ct()
    y = operator.A(_image(operator)).float()
    torch.manual_seed(0)
    blocks = [nn.Conv2d(1, 1, 3, padding=1) for _ in range(4)]
    results = []
    for checkpoint in (False, True):
        model = UnrolledProximalGradient(blocks, 4, step=1 / float(operator.norm()) ** 2, checkpoint=checkpoint)
        loss = model(OperatorDataStep(operator, y), torch.zeros(2, 1, 12, 12)).square().mean()
        grads = torch.autograd.grad(loss, list(model.parameters()))
        results.append((float(loss.detach()), grads))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)
    assert float(results[0][1][-1].abs().sum()) > 0          # the learned steps are trained too


def test_untrained_iterations_give_the_classical_answers():
    """Identity prox: proximal gradient = Landweber; ADMM = repeated prox of f (its fixed point); LPD's zero
    blocks return the start."""
    operator = _ct()
    x = _image(operator, batch=1).float()
    y = operator.A(x)
    data = OperatorDataStep(operator, y, cg_steps=50)
    tau = 1 / float(operator.norm()) ** 2
    landweber = torch.zeros_like(x)
    for _ in range(5):
        landweber = landweber - tau * operator.A_adjoint(operator.A(landweber) - y)
    with torch.no_grad():
        unrolled = UnrolledProximalGradient(nn.Identity(), 5, step=tau)(data, torch.zeros_like(x))
        torch.testing.assert_close(unrolled, landweber, rtol=1e-4, atol=1e-5)
        from recon.networks import ConvStack

        lpd = LearnedPrimalDual(ConvStack(6, 5, width=8), ConvStack(7, 5, width=8), 3)
        start = torch.rand_like(x)
        torch.testing.assert_close(lpd(data, start), start)


def test_positive_parameters_start_where_asked():
    assert PositiveParameters(3, 0.02)().tolist() == pytest.approx([0.02] * 3, rel=1e-5)
    assert PositiveParameters(1, 50.0)().tolist() == pytest.approx([50.0], rel=1e-5)
    with pytest.raises(ValueError, match="positive"):
        PositiveParameters(2, 0.0)


@pytest.mark.parametrize("shape", [(48, 48), (47, 45)])
def test_transfer_functions_match_recons_circular_blur(shape):
    from recon.datasets.galaxies import moffat_psf

    psf = moffat_psf(31, 4.0, 3.5).double()
    full = Blur(psf, shape, "circular").transfer_function()
    transfer = transfer_functions(psf[None], shape)
    torch.testing.assert_close(transfer[0, 0], full[..., : shape[1] // 2 + 1])
    torch.testing.assert_close(centred_power_spectrum(transfer, shape)[0, 0], torch.fft.fftshift(full.abs() ** 2))
    x = torch.rand(1, 1, *shape, dtype=torch.float64)
    torch.testing.assert_close(FourierDataStep(transfer, x).A(x), Blur(psf, shape, "circular").A(x))


def test_deconvolution_admm_x_update_is_the_exact_minimiser():
    """Identity prox, ρ₁ = 0.7, ρ₂ = 0.3, one iteration: x₁ solves ρ₁(x − z) + ρ₂Hᵀ(Hx − v) = 0 (z = x₀, u = 0)."""

    class Fixed(nn.Module):
        def forward(self, power, noise):
            rho = torch.tensor([0.7, 0.3], dtype=power.dtype)
            return rho.view(2, 1, 1).expand(2, 1, power.shape[0])

    psf = gaussian_psf(7, 1.5).double()
    blur = Blur(psf, (16, 16), "circular")
    transfer = transfer_functions(psf[None], (16, 16))
    y = blur.A(torch.rand(1, 1, 16, 16, dtype=torch.float64)) + 0.5
    seen = []
    model = UnrolledDeconvolutionADMM(nn.Identity(), Fixed(), iterations=1).double()
    out = model(y, transfer, 0.1, callback=lambda k, x: seen.append(x))
    alpha = float(y.mean())
    gram = transfer.real**2 + transfer.imag**2
    x0 = torch.fft.irfft2(transfer.conj() * torch.fft.rfft2(y / alpha) / (gram + 1 / alpha), s=(16, 16))
    v = (0.3 * blur.A(x0) + y / alpha) / 1.3
    x1 = out / alpha
    optimality = 0.7 * (x1 - x0) + 0.3 * blur.A_adjoint(blur.A(x1) - v)
    assert len(seen) == 1 and torch.equal(seen[0], out)
    assert float(optimality.abs().max()) < 1e-12 * float(x1.abs().max())
