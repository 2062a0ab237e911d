r"""A DnCNN-type denoiser: a plain stack of 3×3 convolutions that predicts the noise.

Zhang et al. (2017): ``depth`` convolutions with ReLUs between them estimate the
noise :math:`n`, and the output is the residual

.. math:: \hat x = x - g_\theta\big([\,x,\ \sigma\mathbf 1\,]\big).

With ``noise_map=True`` a constant σ map is a second input channel (as in
FFDNet), so one network serves a range of noise levels and plug-and-play
schedules can lower σ as they go; with ``noise_map=False`` the network is blind,
like deepinv's ``DnCNN``, and ignores σ. Batch normalisation is left out: at
inference it is an affine map that the convolution's bias absorbs. The default size (8
convolutions of 24 channels, 32 k parameters) takes under 0.1 s per 256² image on one CPU
thread; Zhang et al.'s 17 × 64 takes about 1 s.

>>> import torch
>>> net = DnCNN(in_channels=1, depth=4, features=8)
>>> net(torch.rand(2, 1, 20, 20), 0.1).shape
torch.Size([2, 1, 20, 20])
"""

from __future__ import annotations

import torch
from torch import nn

from recon.networks.drunet_small import noise_level_map


class DnCNN(nn.Module):
    """Residual DnCNN, ``net(x, sigma) -> x_hat`` (σ in the units of ``x``, images in [0, 1]).

    :param in_channels: image channels.
    :param depth: number of convolutions (≥ 2).
    :param features: channels of the hidden convolutions.
    :param noise_map: feed σ as an extra input channel (non-blind).
    """

    def __init__(self, in_channels: int = 1, depth: int = 8, features: int = 24, noise_map: bool = True):
        super().__init__()
        if depth < 2 or features < 1 or in_channels < 1:
            raise ValueError(f"DnCNN: bad sizes in_channels={in_channels}, depth={depth}, features={features}")
        self.in_channels, self.depth, self.features, self.noise_map = in_channels, depth, features, bool(noise_map)
        layers: list[nn.Module] = [nn.Conv2d(in_channels + int(self.noise_map), features, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(features, in_channels, 3, padding=1))
        self.layers = nn.Sequential(*layers)

    def architecture(self) -> dict:
        """The constructor's arguments, as the weights manifest stores them."""
        return {"in_channels": self.in_channels, "depth": self.depth, "features": self.features,
                "noise_map": self.noise_map}

    def forward(self, x: torch.Tensor, sigma=None) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"DnCNN expects (batch, {self.in_channels}, H, W), got {tuple(x.shape)}")
        inputs = torch.cat([x, noise_level_map(x, sigma)], dim=1) if self.noise_map else x
        return x - self.layers(inputs)
