r"""A noise-conditional score network: a small U-Net inside Karras et al.'s EDM preconditioning.

Karras, Aittala, Aila and Laine (NeurIPS 2022, "Elucidating the design space of diffusion-based
generative models") write the denoiser of a diffusion model as

.. math::
    D(x, \sigma) = c_\text{skip}(\sigma)\, x + c_\text{out}(\sigma)\,
        F_\theta\big(c_\text{in}(\sigma)\, x,\ c_\text{noise}(\sigma)\big),

    c_\text{skip} = \frac{\sigma_d^2}{\sigma^2 + \sigma_d^2}, \quad
    c_\text{out} = \frac{\sigma \sigma_d}{\sqrt{\sigma^2 + \sigma_d^2}}, \quad
    c_\text{in} = \frac{1}{\sqrt{\sigma^2 + \sigma_d^2}}, \quad
    c_\text{noise} = \tfrac14 \ln \sigma,

so that the network :math:`F_\theta` sees inputs and targets of unit variance at every noise level
from :math:`10^{-3}` to :math:`10^2`. :math:`\sigma_d` is the data's standard deviation. Trained by
:math:`\min \mathbb E\,\lambda(\sigma)\|D(x + \sigma n, \sigma) - x\|^2` with
:math:`\lambda = 1/c_\text{out}^2`, :math:`D` is the MMSE denoiser :math:`E[x \mid x + \sigma n]`, and
Tweedie's formula gives the score of the noisy density:

.. math:: \nabla \log p_\sigma(x) = \big(D(x, \sigma) - x\big) / \sigma^2.

So the same module is a diffusion prior (:mod:`recon.samplers`) and a plug-and-play denoiser
(the denoiser contract, ``net(x, sigma)`` with images in [0, 1]). :math:`F_\theta` is a
:class:`~recon.networks.drunet_small.SmallDRUNet` whose noise-map channel carries
:math:`c_\text{noise}`; it is fully convolutional, so a model trained on 64² patches runs on any size.

>>> import torch
>>> net = EDMDenoiser(channels=(8, 16), blocks=1)
>>> net(torch.rand(2, 1, 20, 24), torch.tensor([0.1, 5.0])).shape
torch.Size([2, 1, 20, 24])
>>> [round(float(v), 4) for v in net.coefficients(torch.tensor(0.5))]     # σ = σ_d: skip 1/2, out and in 1/√2
[0.5, 0.3536, 1.4142]
"""

from __future__ import annotations

import torch
from torch import nn

from recon.networks.drunet_small import SmallDRUNet


class EDMDenoiser(nn.Module):
    """``D(x, sigma)``: EDM-preconditioned SmallDRUNet, σ in the units of ``x`` (images in [0, 1]).

    :param in_channels, channels, blocks: the SmallDRUNet backbone's.
    :param sigma_data: :math:`\\sigma_d`, the training images' standard deviation (about 0.5 for
        images spread over [0, 1]; EDM's default for [-1, 1] data is 0.5 as well).
    """

    def __init__(self, in_channels: int = 1, channels: tuple[int, ...] = (32, 64, 128), blocks: int = 1,
                 sigma_data: float = 0.5):
        super().__init__()
        if not sigma_data > 0:
            raise ValueError(f"EDMDenoiser: sigma_data must be positive, got {sigma_data}")
        self.sigma_data = float(sigma_data)
        self.backbone = SmallDRUNet(in_channels=in_channels, channels=channels, blocks=blocks)

    def architecture(self) -> dict:
        """The constructor's arguments, as the weights manifest stores them."""
        backbone = self.backbone.architecture()
        return {**backbone, "sigma_data": self.sigma_data}

    def coefficients(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:math:`(c_\\text{skip}, c_\\text{out}, c_\\text{in})` at ``sigma``."""
        total = sigma ** 2 + self.sigma_data ** 2
        return self.sigma_data ** 2 / total, sigma * self.sigma_data / total.sqrt(), 1.0 / total.sqrt()

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        sigma = sigma.clamp_min(1e-4)                       # σ = 0: the identity, up to 1e-4 of smoothing
        skip, out, scale = (c.view(-1, *([1] * (x.ndim - 1))) for c in self.coefficients(sigma))
        return skip * x + out * self.backbone(scale * x, sigma.log() / 4)

    def score(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """Tweedie: :math:`\\nabla \\log p_\\sigma(x) = (D(x, \\sigma) - x)/\\sigma^2`."""
        sigma_b = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, *([1] * (x.ndim - 1)))
        return (self(x, sigma) - x) / sigma_b ** 2
