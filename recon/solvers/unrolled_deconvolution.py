r"""Unrolled plug-and-play ADMM for deconvolution with a PSF per image (Li & Alexander, MNRAS Letters 2023).

The model :math:`y = h * x + n` with a circular blur :math:`H` (one PSF per batch element) is split
twice, :math:`v = Hx` (the data) and :math:`z = x` (the prior), and K iterations of ADMM run with
per-image, per-iteration penalties :math:`\rho_{1,k}, \rho_{2,k}` from a
:class:`~recon.networks.penalty_net.PenaltyNet` and one learned proximal network :math:`P`
(a :class:`~recon.networks.resunet.ResUNet`) shared by every iteration. In units of the image's
flux scale :math:`\alpha` (its mean, as the authors'), :math:`\tilde y = y/\alpha`:

.. math::
    v &= \frac{\rho_2 (Hx + u_2) + \tilde y}{1 + \rho_2}, \qquad
    z = P(x + u_1), \\
    x &= \mathcal F^{-1}\Big[\frac{\mathcal F\big(\rho_1 (z - u_1) + \rho_2 H^\top (v - u_2)\big)}
         {\rho_1 + \rho_2 |\hat h|^2}\Big], \qquad
    u_1 \mathrel{+}= x - z, \quad u_2 \mathrel{+}= Hx - v,

starting from the Tikhonov solution :math:`x_0 = \mathcal F^{-1}[\overline{\hat h}\hat{\tilde y}/(|\hat h|^2 + 1/\alpha)]`
and :math:`u_1 = u_2 = 0`; the estimate is :math:`\alpha x_K`. The x-update is the exact minimiser
(:math:`\rho_1 + \rho_2|\hat h|^2` in the denominator; the authors' code at publication had the two
penalties swapped there, fixed by them in 2024). Their SubNet read the PSF and the flux; here the
penalty network also reads the noise level :math:`\sigma/\alpha`.

>>> import torch
>>> from recon.networks import PenaltyNet, ResUNet
>>> model = UnrolledDeconvolutionADMM(ResUNet(channels=(8, 16), blocks=1), PenaltyNet(iterations=2), iterations=2)
>>> y, psf = torch.rand(3, 1, 24, 24), torch.full((3, 5, 5), 1 / 25)
>>> model(y, transfer_functions(psf, (24, 24)), torch.full((3,), 0.1)).shape
torch.Size([3, 1, 24, 24])
"""

from __future__ import annotations

import torch
from torch import nn

from recon.solvers.unrolled import Unroller
from recon.solvers.unrolled_data_steps import per_batch


def transfer_functions(psfs: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """:math:`\\hat h` of each PSF ``(batch, kh, kw)`` as a circular blur on ``shape``: ``(batch, 1, H, W // 2 + 1)``.

    The PSF's centre (``kh // 2, kw // 2``) goes to pixel (0, 0), as :class:`~recon.operators.blur.Blur` does.
    """
    height, width = shape
    batch, kh, kw = psfs.shape
    if kh > height or kw > width:
        raise ValueError(f"transfer_functions: PSF {kh}×{kw} is larger than the image {height}×{width}")
    grid = psfs.new_zeros(batch, height, width)
    grid[:, :kh, :kw] = psfs
    grid = torch.roll(grid, shifts=(-(kh // 2), -(kw // 2)), dims=(1, 2))
    return torch.fft.rfft2(grid)[:, None]


def flux_scale(y: torch.Tensor) -> torch.Tensor:
    """α, each image's flux scale: the mean of its observation, floored at 1e-3 of its largest value ``(batch,)``."""
    floor = 1e-3 * y.abs().flatten(1).max(dim=1).values.clamp_min(1e-12)
    return torch.maximum(y.mean(dim=tuple(range(1, y.ndim))), floor)


def centred_power_spectrum(transfer: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """:math:`|\\hat h|^2` on the whole grid, zero frequency at the centre: the penalty network's input."""
    half = transfer.real ** 2 + transfer.imag ** 2
    width = shape[1]
    mirrored = torch.flip(half[..., 1:(width + 1) // 2], dims=(-1,))        # the conjugate half's columns
    mirrored = torch.roll(torch.flip(mirrored, dims=(-2,)), shifts=1, dims=-2)
    full = torch.cat([half, mirrored], dim=-1)
    return torch.fft.fftshift(full, dim=(-2, -1))


class UnrolledDeconvolutionADMM(Unroller):
    """``model(y, transfer, noise_sigma) -> x``: K iterations of the module text's ADMM on counts ``y``."""

    def __init__(self, prox: nn.Module, penalties: nn.Module, iterations: int = 8, *, checkpoint: bool = False):
        super().__init__(iterations, checkpoint)
        self.prox, self.penalties = prox, penalties

    @classmethod
    def from_arguments(cls, arguments: dict) -> "UnrolledDeconvolutionADMM":
        """Built from :meth:`architecture`'s dict (a weights manifest's ``arguments``)."""
        from recon.networks import PenaltyNet, ResUNet

        return cls(ResUNet(**arguments["prox"]), PenaltyNet(**arguments["penalties"]), int(arguments["iterations"]))

    def architecture(self) -> dict:
        return {"iterations": self.iterations, "prox": self.prox.architecture(),
                "penalties": self.penalties.architecture()}

    def forward(self, y: torch.Tensor, transfer: torch.Tensor, noise_sigma, callback=None) -> torch.Tensor:
        shape = tuple(y.shape[-2:])
        alpha = per_batch(flux_scale(y), y)
        y_tilde = y / alpha
        gram = transfer.real ** 2 + transfer.imag ** 2

        def blur(x):
            return torch.fft.irfft2(transfer * torch.fft.rfft2(x), s=shape)

        def blur_adjoint(r):
            return torch.fft.irfft2(transfer.conj() * torch.fft.rfft2(r), s=shape)

        noise = per_batch(noise_sigma, y).reshape(-1) / alpha.reshape(-1)
        rho1, rho2 = self.penalties(centred_power_spectrum(transfer, shape), noise)
        x = torch.fft.irfft2(transfer.conj() * torch.fft.rfft2(y_tilde) / (gram + 1 / alpha), s=shape)
        u1, u2 = torch.zeros_like(x), torch.zeros_like(x)

        def step(k, x, u1, u2):
            r1, r2 = per_batch(rho1[k], x), per_batch(rho2[k], x)
            hx = blur(x)
            v = (r2 * (hx + u2) + y_tilde) / (1 + r2)
            z = self.prox(x + u1)
            x = torch.fft.irfft2(torch.fft.rfft2(r1 * (z - u1) + r2 * blur_adjoint(v - u2)) / (r1 + r2 * gram), s=shape)
            return x, u1 + x - z, u2 + blur(x) - v

        for k in range(self.iterations):
            x, u1, u2 = self._run(step, k, x, u1, u2)
            if callback is not None:
                callback(k, x * alpha)
        return x * alpha


#: architecture name -> builder from a manifest's ``arguments`` (the weights registry's unrolled models)
UNROLLED_ARCHITECTURES = {"unrolled-deconvolution-admm": UnrolledDeconvolutionADMM.from_arguments}


def _limited_angle(arguments: dict):
    from recon.solvers.limited_angle import LimitedAngleLPD

    return LimitedAngleLPD.from_arguments(arguments)


UNROLLED_ARCHITECTURES["limited-angle-lpd"] = _limited_angle
