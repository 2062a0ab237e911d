r"""A plain stack of 3×3 convolutions: the update blocks of a learned primal–dual network.

Adler & Öktem's learned primal–dual (2018) updates its primal and dual states with small
networks of three 3×3 convolutions, 32 channels and PReLU activations; the same shape serves on
images and on sinograms (views × detectors):

.. math:: \Lambda(u) = W_3 * \phi(W_2 * \phi(W_1 * u + b_1) + b_2) + b_3 .

The last layer starts at zero, so an untrained block is the zero update and an untrained unrolled
network returns its start.

>>> import torch
>>> block = ConvStack(3, 2, width=8)
>>> block(torch.rand(4, 3, 10, 12)).shape
torch.Size([4, 2, 10, 12])
>>> float(block(torch.rand(1, 3, 5, 5)).detach().abs().max())
0.0
"""

from __future__ import annotations

import torch
from torch import nn


class ConvStack(nn.Module):
    """``layers`` 3×3 convolutions ``in_channels → width → … → out_channels`` with PReLU between them."""

    def __init__(self, in_channels: int, out_channels: int, *, width: int = 32, layers: int = 3):
        super().__init__()
        if layers < 2:
            raise ValueError(f"ConvStack: layers must be >= 2, got {layers}")
        self.in_channels, self.out_channels, self.width, self.layers = in_channels, out_channels, width, layers
        modules: list[nn.Module] = []
        channels = in_channels
        for _ in range(layers - 1):
            modules += [nn.Conv2d(channels, width, 3, padding=1), nn.PReLU(width)]
            channels = width
        last = nn.Conv2d(channels, out_channels, 3, padding=1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.body = nn.Sequential(*modules, last)

    def architecture(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "width": self.width,
                "layers": self.layers}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
