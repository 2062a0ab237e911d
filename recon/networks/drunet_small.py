r"""A small DRUNet-type denoiser: a bias-free residual U-Net that takes a noise-level map.

Zhang et al.'s DRUNet (DPIR, 2021) concatenates a constant map :math:`\sigma` to the
noisy image, so one network serves every noise level:

.. math:: \hat x = f_\theta\big([\,x,\ \sigma \mathbf 1\,]\big).

Each level halves the resolution with a 2×2 strided convolution and doubles the
channels; skips add (not concatenate) encoder features to the decoder's, and no
convolution has a bias, which keeps the map :math:`x \mapsto \hat x` positively
homogeneous and helps it generalise across noise levels (Mohan et al., 2020).
With channels (16, 32, 64, 128) and one residual block per level every
convolution costs about the same per input pixel (9 · 16² multiply-adds), and a
256² image takes a few hundredths of a second on one CPU thread.

Inputs whose sides are not multiples of :math:`2^{L-1}` are padded by reflection
and cropped back, so any image size works. ``spatial_dims=3`` makes the same network
of 3D convolutions, for volumes ``(batch, channel, D, H, W)`` (radar magnitudes).

>>> import torch
>>> net = SmallDRUNet(in_channels=1, channels=(8, 16), blocks=1)
>>> net(torch.rand(2, 1, 21, 30), torch.tensor([0.1, 0.2])).shape
torch.Size([2, 1, 21, 30])
>>> SmallDRUNet(channels=(4, 8), spatial_dims=3)(torch.rand(1, 1, 5, 6, 9), 0.1).shape
torch.Size([1, 1, 5, 6, 9])
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


_CONVOLUTIONS = {2: (nn.Conv2d, nn.ConvTranspose2d), 3: (nn.Conv3d, nn.ConvTranspose3d)}


class ResidualBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with 3×3 (3×3×3) bias-free convolutions."""

    def __init__(self, channels: int, spatial_dims: int = 2):
        super().__init__()
        conv = _CONVOLUTIONS[spatial_dims][0]
        self.conv1 = conv(channels, channels, 3, padding=1, bias=False)
        self.conv2 = conv(channels, channels, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def noise_level_map(x: torch.Tensor, sigma) -> torch.Tensor:
    """A ``(batch, 1, *spatial)`` map holding each element's σ (a float or a ``(batch,)`` tensor)."""
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if sigma.ndim == 0:
        sigma = sigma.expand(x.shape[0])
    if sigma.shape != (x.shape[0],):
        raise ValueError(f"sigma must be a float or a (batch,) tensor with batch {x.shape[0]}, "
                         f"got shape {tuple(sigma.shape)}")
    return sigma.view(-1, *([1] * (x.ndim - 1))).expand(x.shape[0], 1, *x.shape[2:])


class SmallDRUNet(nn.Module):
    r"""DRUNet-type denoiser, ``net(x, sigma) -> x_hat``, with σ in the units of ``x`` (images in [0, 1]).

    :param in_channels: image channels (1 for grayscale).
    :param channels: feature channels per level, finest first; the depth is its length.
    :param blocks: residual blocks per level on each side of the U.
    :param spatial_dims: 2 (images) or 3 (volumes).
    """

    def __init__(self, in_channels: int = 1, channels: tuple[int, ...] = (16, 32, 64, 128), blocks: int = 1,
                 spatial_dims: int = 2):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1 or blocks < 1 or in_channels < 1 or spatial_dims not in _CONVOLUTIONS:
            raise ValueError(f"SmallDRUNet: bad sizes in_channels={in_channels}, channels={channels}, blocks={blocks}, "
                             f"spatial_dims={spatial_dims}")
        self.in_channels, self.channels, self.blocks, self.spatial_dims = in_channels, channels, blocks, spatial_dims
        conv, transposed = _CONVOLUTIONS[spatial_dims]

        def blocks_of(c: int) -> nn.Sequential:
            return nn.Sequential(*[ResidualBlock(c, spatial_dims) for _ in range(blocks)])

        self.head = conv(in_channels + 1, channels[0], 3, padding=1, bias=False)
        self.encoders = nn.ModuleList(blocks_of(c) for c in channels[:-1])
        self.downs = nn.ModuleList(conv(a, b, 2, stride=2, bias=False) for a, b in zip(channels, channels[1:]))
        self.body = blocks_of(channels[-1])
        self.ups = nn.ModuleList(transposed(b, a, 2, stride=2, bias=False) for a, b in zip(channels, channels[1:]))
        self.decoders = nn.ModuleList(blocks_of(c) for c in channels[:-1])
        self.tail = conv(channels[0], in_channels, 3, padding=1, bias=False)

    def architecture(self) -> dict:
        """The constructor's arguments, as the weights manifest stores them."""
        arguments = {"in_channels": self.in_channels, "channels": list(self.channels), "blocks": self.blocks}
        if self.spatial_dims != 2:
            arguments["spatial_dims"] = self.spatial_dims
        return arguments

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        if x.ndim != 2 + self.spatial_dims or x.shape[1] != self.in_channels:
            axes = "H, W" if self.spatial_dims == 2 else "D, H, W"
            raise ValueError(f"SmallDRUNet expects (batch, {self.in_channels}, {axes}), got {tuple(x.shape)}")
        sizes = x.shape[2:]
        multiple = 2 ** (len(self.channels) - 1)
        pads = [(-n) % multiple for n in sizes]
        if any(pads):
            mode = "reflect" if all(p < n for p, n in zip(pads, sizes)) else "replicate"
            flat = [value for pad in reversed(pads) for value in (0, pad)]     # F.pad lists the last axis first
            x = F.pad(x, flat, mode=mode)
        h = self.head(torch.cat([x, noise_level_map(x, sigma)], dim=1))
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            h = encoder(h)
            skips.append(h)
            h = down(h)
        h = self.body(h)
        for up, decoder, skip in zip(reversed(self.ups), reversed(self.decoders), reversed(skips)):
            h = decoder(up(h) + skip)
        out = self.tail(h)
        return out[(..., *(slice(0, n) for n in sizes))]
