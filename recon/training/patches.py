r"""Random training patches from mixed image families, with their noisy copies.

Each patch comes from a family drawn by its share, then an image drawn in
proportion to its area, then a uniformly placed crop, then one of the eight
flips and quarter turns (of the first two axes, for volumes). Noise is :math:`y = x + \sigma n`, :math:`n \sim N(0, I)`,
with :math:`\sigma` drawn uniformly per patch. Everything is drawn from one
``torch.Generator``, so a seed names the whole stream of batches, on CPU and CUDA.

>>> import numpy as np, torch
>>> sampler = PatchSampler({"a": [np.zeros((40, 40), np.float32)]}, {"a": 1.0}, patch=16,
...                        generator=torch.Generator().manual_seed(0))
>>> clean, noisy, sigma = sampler.batch(4, (0.1, 0.2))
>>> clean.shape, noisy.shape, sigma.shape
(torch.Size([4, 1, 16, 16]), torch.Size([4, 1, 16, 16]), torch.Size([4]))
"""

from __future__ import annotations

import numpy as np
import torch


class PatchSampler:
    """Draws ``(clean, noisy, sigma)`` batches from ``{family: [images]}`` mixed by ``{family: share}``."""

    def __init__(self, families: dict[str, list[np.ndarray]], shares: dict[str, float], *, patch: int,
                 generator: torch.Generator):
        usable = {name: [torch.from_numpy(np.ascontiguousarray(im)) for im in images if min(im.shape) >= patch]
                  for name, images in families.items() if shares.get(name, 0.0) > 0}
        usable = {name: images for name, images in usable.items() if images}
        if not usable:
            raise ValueError(f"no training image of any family with a positive share is at least {patch}² pixels")
        self.names = list(usable)
        self.images = usable
        self.family_weights = torch.tensor([shares[name] for name in self.names], dtype=torch.float64)
        self.image_weights = {name: torch.tensor([im.numel() for im in images], dtype=torch.float64)
                              for name, images in usable.items()}
        self.patch = patch
        self.generator = generator

    def _draw(self, weights: torch.Tensor) -> int:
        return int(torch.multinomial(weights, 1, generator=self.generator))

    def _integer(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def patch_once(self) -> torch.Tensor:
        """One crop, ``(p, p)`` of an image or ``(p, p, p)`` of a volume (turned and flipped in its first two axes)."""
        family = self.names[self._draw(self.family_weights)]
        image = self.images[family][self._draw(self.image_weights[family])]
        starts = [self._integer(n - self.patch + 1) for n in image.shape]
        crop = image[tuple(slice(start, start + self.patch) for start in starts)]
        crop = torch.rot90(crop, self._integer(4), dims=(0, 1))
        return crop.flip(1) if self._integer(2) else crop

    def batch(self, size: int, sigma_range: tuple[float, float], device="cpu", *, log_normal=None):
        r"""``size`` clean patches ``(size, 1, p, p)`` (or ``p, p, p``), their noisy copies and each one's σ.

        σ is uniform on ``sigma_range``, or with ``log_normal=(mean, std)`` :math:`\ln\sigma \sim
        \mathcal N(\text{mean}, \text{std}^2)` (EDM's training distribution for diffusion models).
        """
        clean = torch.stack([self.patch_once() for _ in range(size)])[:, None]
        if log_normal is not None:
            mean, std = log_normal
            sigma = (mean + std * torch.randn(size, generator=self.generator, dtype=torch.float64)).exp()
        else:
            low, high = sigma_range
            sigma = low + (high - low) * torch.rand(size, generator=self.generator, dtype=torch.float64)
        noise = torch.randn(clean.shape, generator=self.generator)
        sigma = sigma.float()
        noisy = clean + sigma.view(-1, *([1] * (clean.ndim - 1))) * noise
        return clean.to(device), noisy.to(device), sigma.to(device)
