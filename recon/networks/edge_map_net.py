r"""A network that looks at a quick reconstruction and predicts the gradient magnitude of the true image.

Adaptive weighted TV (Morotti, Evangelista, Sebastiani and Loli Piccolomini) lets a network
choose the weights of :math:`\lambda\sum_i w_i|(\nabla x)_i|`: from an FBP :math:`x_0` of a
few-view sinogram the network predicts :math:`g \approx |\nabla x|`, the gradient magnitude of the
unknown image, and the weight rule of :mod:`recon.priors.weighted_tv` turns it into weights,
:math:`w_i = (\eta / \sqrt{\eta^2 + g_i^2})^{1-p}`. Training is "gradient focused": the loss
compares :math:`g` with :math:`|\nabla x|` itself, not an image with an image.

The map is scale-equivariant: the input is divided by its scale :math:`s` (the 99th
percentile of :math:`|x_0|` per image), a :class:`~recon.networks.resunet.ResUNet` and an
absolute value give a non-negative map (a softplus there lets training collapse to the all-zero
map, which most pixels of a piecewise-constant image have), and the result is multiplied by
:math:`s` again, so
:math:`g(c\,x_0) = c\,g(x_0)` for :math:`c > 0` and :math:`g` is in the image's units per pixel.

>>> import torch
>>> net = EdgeMapNet(channels=(8, 16), blocks=1)
>>> x0 = torch.rand(2, 1, 32, 32)
>>> g = net(x0)
>>> g.shape, bool((g >= 0).all()), torch.allclose(net(3 * x0), 3 * g, atol=1e-5)
(torch.Size([2, 1, 32, 32]), True, True)
"""

from __future__ import annotations

import torch
from torch import nn

from recon.networks.resunet import ResUNet


def image_scale(images: torch.Tensor, quantile: float = 0.99) -> torch.Tensor:
    """The ``quantile`` of :math:`|x|` per image, shaped ``(batch, 1, 1, 1)`` (1 for an all-zero image)."""
    flat = images.detach().abs().flatten(1).float()
    scale = torch.quantile(flat, quantile, dim=1).to(images.dtype)
    return torch.where(scale > 0, scale, torch.ones_like(scale)).view(-1, *([1] * (images.dim() - 1)))


class EdgeMapNet(nn.Module):
    """``(batch, 1, H, W)`` reconstruction → ``(batch, 1, H, W)`` predicted :math:`|\\nabla x|` (module text)."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64, 128), blocks: int = 1):
        super().__init__()
        self.unet = ResUNet(1, 1, channels, blocks)

    def architecture(self) -> dict:
        return {"channels": list(self.unet.channels), "blocks": self.unet.blocks}

    def forward(self, reconstruction: torch.Tensor) -> torch.Tensor:
        scale = image_scale(reconstruction)
        return scale * self.unet(reconstruction / scale).abs()
