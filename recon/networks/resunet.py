r"""A residual U-Net: the learned proximal step of an unrolled solver.

The DPIR/USRNet-style U-Net that Li & Alexander (MNRAS Letters 2023) use as the plug-and-play
step of their unrolled ADMM: a 3×3 head, then per level ``blocks`` residual blocks
(:math:`x + W_2 * \mathrm{ReLU}(W_1 * x)`) and a 2×2 stride-2 convolution that halves the size and
doubles the channels, the same mirrored on the way up with 2×2 transposed convolutions, skips
that *add* encoder features to the decoder's, and a 3×3 tail. No convolution has a bias and there
is no normalisation layer; the output is the image itself (no global residual). Unlike
:class:`~recon.networks.drunet_small.SmallDRUNet` it takes no noise level: in an unrolled solver the
iteration fixes what the block sees.

Sides that are not multiples of :math:`2^{L-1}` are padded by replication and cropped back.

>>> import torch
>>> net = ResUNet(channels=(8, 16, 32), blocks=1)
>>> net(torch.rand(2, 1, 48, 45)).shape
torch.Size([2, 1, 48, 45])
>>> sum(p.numel() for p in ResUNet(channels=(64, 128, 256, 512), blocks=2).parameters())   # the paper's size
17007744
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from recon.networks.drunet_small import ResidualBlock


class ResUNet(nn.Module):
    """Bias-free residual U-Net, ``in_channels`` → ``out_channels``, one level per entry of ``channels``."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, channels: tuple[int, ...] = (16, 32, 64, 128),
                 blocks: int = 2):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or blocks < 1:
            raise ValueError(f"ResUNet: needs at least 2 levels and 1 block, got channels {channels}, blocks {blocks}")
        self.in_channels, self.out_channels, self.channels, self.blocks = in_channels, out_channels, channels, blocks
        self.head = nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False)
        self.down = nn.ModuleList(
            nn.Sequential(*(ResidualBlock(c) for _ in range(blocks)), nn.Conv2d(c, c_next, 2, stride=2, bias=False))
            for c, c_next in zip(channels[:-1], channels[1:]))
        self.body = nn.Sequential(*(ResidualBlock(channels[-1]) for _ in range(blocks)))
        self.up = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(c_next, c, 2, stride=2, bias=False), *(ResidualBlock(c) for _ in range(blocks)))
            for c, c_next in zip(channels[:-1], channels[1:]))
        self.tail = nn.Conv2d(channels[0], out_channels, 3, padding=1, bias=False)

    def architecture(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "channels": list(self.channels),
                "blocks": self.blocks}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        multiple = 2 ** (len(self.channels) - 1)
        pad_h, pad_w = (-height) % multiple, (-width) % multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        skips = [self.head(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        h = self.body(skips[-1])
        for level in range(len(self.up), 0, -1):          # up(body + x_L), ..., then tail(· + x_1)
            h = self.up[level - 1](h + skips[level])
        out = self.tail(h + skips[0])
        return out[..., :height, :width]
