r"""Galaxy stamps for training and validating the unrolled deconvolution ADMM, split by seed.

Each stamp is :func:`recon.datasets.galaxies.shear_galaxy` (a Sérsic galaxy, lensing shear, a Moffat
PSF, sky and read noise, sky-subtracted): the network sees the observation, the PSF's transfer
function and the background noise level :math:`\sigma = \sqrt{B + r^2}` (sky counts per pixel
:math:`B`, read noise :math:`r`: what an observer knows of the instrument), and learns the truth.

Seeds split the data: training stamps use seeds from ``SEEDS["train"]``, validation from
``SEEDS["validation"]``; the shear table (``scripts/galaxy_shear_baselines.py``) reports on seeds
0, 1, ... and chose its Tikhonov strengths on 10000–10039, so no stamp is in two splits. Training
SNRs are drawn with density :math:`\propto \text{SNR}^{p}` on a range (the authors': :math:`p = -0.7`
on [18, 220]) by inverting the distribution function.

>>> stamps = galaxy_stamps([5, 6], [20.0, 200.0])
>>> tuple(stamps.observations.shape), tuple(stamps.transfers.shape), [round(v, 3) for v in stamps.noise_sigmas.tolist()]
((2, 1, 48, 48), (2, 1, 48, 25), [8.062, 8.062])
>>> s = power_law_snrs(1000, (18.0, 220.0), -0.7, torch.Generator().manual_seed(0))
>>> bool(s.min() >= 18.0 and s.max() <= 220.0), bool(s.median() < 119.0)     # skewed to low SNR
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

SEEDS = {"train": 1_000_000, "validation": 2_000_000}


@dataclass
class GalaxyStamps:
    """A batch of stamps: ``(N, 1, H, W)`` observations and truths, ``(N, 1, H, W // 2 + 1)`` transfers, ``(N,)``."""

    observations: torch.Tensor
    transfers: torch.Tensor
    noise_sigmas: torch.Tensor
    truths: torch.Tensor

    def __len__(self) -> int:
        return self.observations.shape[0]

    def subset(self, index: torch.Tensor) -> "GalaxyStamps":
        return GalaxyStamps(self.observations[index], self.transfers[index], self.noise_sigmas[index],
                            self.truths[index])

    def to(self, device) -> "GalaxyStamps":
        return GalaxyStamps(*(t.to(device) for t in (self.observations, self.transfers, self.noise_sigmas,
                                                      self.truths)))


def power_law_snrs(count: int, snr_range, power: float, generator: torch.Generator) -> torch.Tensor:
    """``count`` SNRs with density :math:`\\propto \\text{SNR}^{power}` on ``snr_range`` (inverse CDF)."""
    low, high = (float(v) for v in snr_range)
    if not 0 < low < high:
        raise ValueError(f"snr_range must be increasing and positive, got {snr_range}")
    u = torch.rand(count, generator=generator, dtype=torch.float64)
    if abs(power + 1) < 1e-12:
        return low * (high / low) ** u
    a = power + 1
    return (low**a + u * (high**a - low**a)) ** (1 / a)


def galaxy_stamps(seeds, snrs, *, dtype: torch.dtype = torch.float32) -> GalaxyStamps:
    """The stamps of ``seeds`` at ``snrs`` (one SNR per seed)."""
    from recon.datasets.galaxies import shear_galaxy
    from recon.solvers.unrolled_deconvolution import transfer_functions

    observations, psfs, sigmas, truths = [], [], [], []
    for seed, snr in zip(seeds, snrs):
        galaxy = shear_galaxy(int(seed), float(snr))
        observations.append(galaxy.observation)
        psfs.append(galaxy.psf)
        sigmas.append(math.sqrt(galaxy.sky + galaxy.read_noise**2))
        truths.append(galaxy.truth)
    shape = tuple(observations[0].shape)
    transfers = transfer_functions(torch.stack(psfs).to(torch.float64), shape)
    complex_dtype = torch.complex64 if dtype == torch.float32 else torch.complex128
    return GalaxyStamps(torch.stack(observations)[:, None].to(dtype), transfers.to(complex_dtype),
                        torch.tensor(sigmas, dtype=dtype), torch.stack(truths)[:, None].to(dtype))


def split_stamps(split: str, count: int, snr_range, power: float, seed: int = 0) -> GalaxyStamps:
    """``count`` stamps of ``split`` (``train`` or ``validation``) with power-law SNRs drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed + (0 if split == "train" else 1))
    snrs = power_law_snrs(count, snr_range, power, generator)
    return galaxy_stamps(range(SEEDS[split], SEEDS[split] + count), snrs.tolist())
