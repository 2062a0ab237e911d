r"""Denoisers under recon's contract ``denoiser(x, sigma) -> x_hat``, each a ``deepinv.models.Denoiser``.

* :class:`NetworkDenoiser`: a trained network (recon's ``SmallDRUNet`` / ``DnCNN``, or
  deepinv's ``DRUNet`` / ``DnCNN`` read from their ``.pth`` files), from a shipped name or
  a path (:func:`load_denoiser`);
* :class:`BM3D`: block matching and 3D filtering through the ``bm3d`` package, the
  classical reference, which needs no weights.

``x`` is ``(batch, channel, *spatial)``, real, in the network's range [0, 1]; ``sigma``
a float or a ``(batch,)`` tensor in the same units. For images in other units or complex
images, wrap the denoiser in :class:`recon.priors.denoiser_scaling.ScaledDenoiser`.
Any deepinv denoiser (``deepinv.models.DRUNet(...)``, ``MedianFilter()``...) satisfies the
same contract and works wherever these do.

>>> import torch
>>> from recon.networks import SmallDRUNet
>>> denoiser = NetworkDenoiser(SmallDRUNet(channels=(8, 16)))
>>> denoiser(torch.rand(1, 1, 16, 16), 0.1).shape
torch.Size([1, 1, 16, 16])
"""

from __future__ import annotations

import numpy as np
import torch
from deepinv.models import Denoiser


class NetworkDenoiser(Denoiser):
    """A network ``net(x, sigma)`` as a deepinv ``Denoiser``; ``description`` says what it is (manifest entry).

    The network is frozen (evaluation mode, no parameter gradients; gradients with respect to the
    image still flow, as DPS needs). A 2D network's weights are kept channels-last, the layout of
    oneDNN's fast convolutions: on one CPU thread a 128² call of ``edm-small-natural`` takes
    about 7.6 ms instead of 12 ms, the same numbers to float rounding. The output is returned in
    the ordinary (contiguous) layout.
    """

    def __init__(self, network: torch.nn.Module, description: dict | None = None):
        super().__init__()
        self.network = network.eval()
        self.description = description or {"name": type(network).__name__}
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)
        if getattr(self.network, "spatial_dims", 2) == 2:
            self.network.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, sigma, **kwargs) -> torch.Tensor:
        if x.is_complex():
            raise ValueError("NetworkDenoiser takes real images; wrap it in ScaledDenoiser for complex ones")
        channels = getattr(self.network, "in_channels", x.shape[1])
        dims = getattr(self.network, "spatial_dims", 2)
        if channels == 1 and dims == 2 and (x.shape[1] > 1 or x.ndim > 4):
            # A grayscale network denoises each channel (colour, band) and each slice of a stack of 2D
            # images (batch, channel, bands, H, W) as an image of its own.
            count = x[0].numel() // (x.shape[-2] * x.shape[-1])
            if torch.is_tensor(sigma) and sigma.ndim == 1:
                sigma = sigma.repeat_interleave(count)
            folded = self.network(x.reshape(-1, 1, *x.shape[-2:]), sigma)
            return folded.contiguous().reshape(x.shape)
        return self.network(x, sigma).contiguous()

    def __repr__(self):
        return f"NetworkDenoiser({self.description.get('name')})"


def load_denoiser(name_or_path: str) -> NetworkDenoiser:
    """A shipped model by name (sha256 checked), or a user's ``.safetensors`` / deepinv ``.pth`` by path.

    Raises :class:`recon.weights.registry.WeightsError` (one line naming the file) for anything unusable.
    """
    from recon.weights.registry import load_network

    network, description = load_network(name_or_path)
    return NetworkDenoiser(network, description)


class BM3D(Denoiser):
    r"""BM3D (Dabov et al., 2007; Mäkinen et al., 2020) through the ``bm3d`` package.

    Each channel of each batch element is denoised on its own, with :math:`\sigma` as the
    white-noise standard deviation; slow (seconds for 256²) but needs no training.

    >>> import torch
    >>> BM3D()(torch.full((1, 1, 16, 16), 0.5), 0.1).shape
    torch.Size([1, 1, 16, 16])
    """

    def forward(self, x: torch.Tensor, sigma, **kwargs) -> torch.Tensor:
        import bm3d

        if x.is_complex() or x.ndim != 4:
            raise ValueError(f"BM3D takes real (batch, channel, H, W) images, got {tuple(x.shape)} {x.dtype}")
        sigmas = torch.as_tensor(sigma, dtype=torch.float64).flatten().expand(x.shape[0]).tolist()
        out = np.empty(tuple(x.shape), dtype=np.float64)
        array = x.detach().cpu().double().numpy()
        for b in range(x.shape[0]):
            for c in range(x.shape[1]):
                out[b, c] = bm3d.bm3d(array[b, c], sigma_psd=max(float(sigmas[b]), 1e-6))
        return torch.from_numpy(out).to(device=x.device, dtype=x.dtype)
