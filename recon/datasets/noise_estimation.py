r"""The noise level of a measurement, from the measurement alone: white Gaussian noise of standard deviation σ.

Each estimator looks where the signal is (nearly) absent, and takes a median, so that the
signal that is left there moves it little (Donoho and Johnstone's MAD; for a real Gaussian,
:math:`\operatorname{median}|n| = 0.6745\,\sigma`):

* **images** (deblurring): the finest diagonal wavelet band (Daubechies 2), where a blurred image
  has almost no energy: :func:`skimage.restoration.estimate_sigma`;
* **sinograms** (CT): the finest Daubechies-2 detail along the detector axis of each view. A
  projection is smooth along its detector except at the object's edges, whereas neighbouring
  *views* of a few-view scan differ by far more than the noise, so a 2D band would count them;
* **k-space** (MRI): the sampled samples farthest from the centre (the outer ``periphery`` of
  radii), where an image's spectrum has decayed. The noise is circular complex with
  :math:`E|n|^2 = \sigma^2` (recon's convention, :func:`recon.datasets.simulate.add_gaussian_noise`),
  so :math:`|n|` is Rayleigh with median :math:`\sigma\sqrt{\ln 2}`. Real receive coils are not
  independent: :func:`kspace_noise_covariance` takes their covariance from the same samples.

Each returns one σ per batch item, in the data's units.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> images = torch.zeros(2, 1, 64, 64) + torch.tensor([0.01, 0.1]).view(2, 1, 1, 1) * torch.randn(2, 1, 64, 64, generator=g)
>>> [round(s, 2) for s in image_noise_sigma(images)]
[0.01, 0.1]
"""

from __future__ import annotations

import math

import numpy as np
import torch

MAD_TO_SIGMA = 1 / 0.6744897501960817          # 1 / Φ⁻¹(3/4)
AIR = 0.02               # a sinogram bin whose smoothed value is below this share of the maximum is background
MIN_BACKGROUND = 64      # fewer background coefficients than this: use every bin


def _batched(data: torch.Tensor, name: str, spatial: int) -> np.ndarray:
    if data.dim() < spatial + 1:
        raise ValueError(f"{name}: expected a batch of {spatial}D arrays, got shape {tuple(data.shape)}")
    return data.detach().cpu().numpy()


def image_noise_sigma(images: torch.Tensor) -> list[float]:
    """σ of each image of ``(batch, channel, H, W)`` from its finest diagonal wavelet band (channels averaged)."""
    from skimage.restoration import estimate_sigma

    array = _batched(images, "image_noise_sigma", 2)
    return [float(np.mean([estimate_sigma(channel) for channel in item.reshape(-1, *item.shape[-2:])]))
            for item in array]


def sinogram_noise_sigma(sinograms: torch.Tensor) -> list[float]:
    """σ of each sinogram of ``(batch, channel, views, detectors)`` from the finest detail along its detectors."""
    import pywt

    array = _batched(sinograms, "sinogram_noise_sigma", 2)
    out = []
    for item in array:
        approximation, detail = pywt.dwt(item.reshape(-1, item.shape[-1]).astype(np.float64), "db2", axis=-1)
        # the detector background: bins outside the object's shadow, where the projection is about 0
        background = np.abs(approximation) <= AIR * np.abs(approximation).max()
        chosen = detail[background] if background.sum() >= MIN_BACKGROUND else detail
        out.append(float(np.median(np.abs(chosen)) * MAD_TO_SIGMA))
    return out


def kspace_noise_sigma(kspace: torch.Tensor, mask: torch.Tensor | None = None, *, periphery: float = 0.1) -> list[float]:
    r"""σ (:math:`E|n|^2 = \sigma^2`) of each k-space of ``(batch, coils, rows, cols)``, centred.

    :param mask: the sampled positions ``(rows, cols)`` (default: the non-zero samples of each item).
    :param periphery: the share of sampled positions, farthest from the centre, that are used.
    """
    return [float(outer.abs().flatten().double().median()) / math.sqrt(math.log(2))
            for outer in _periphery_samples(kspace, mask, periphery, "kspace_noise_sigma")]


def kspace_noise_covariance(kspace: torch.Tensor, mask: torch.Tensor | None = None, *,
                            periphery: float = 0.1) -> list[torch.Tensor]:
    r"""The coils' noise covariance :math:`\Psi = E[n n^\mathsf{H}]` (coils × coils, complex128) of each k-space
    ``(batch, coils, rows, cols)``, from the samples :func:`kspace_noise_sigma` uses.

    Real receive arrays have coils of unequal noise whose noise is correlated (shared inductive and
    resistive coupling); what reaches a coil-combined image depends on both, not on σ alone.

    >>> g = torch.Generator().manual_seed(0)
    >>> white = torch.complex(torch.randn(1, 2, 64, 64, generator=g), torch.randn(1, 2, 64, 64, generator=g))
    >>> mixed = torch.stack([white[:, 0], 0.6 * white[:, 0] + 0.8 * white[:, 1]], dim=1)   # correlation 0.6
    >>> psi = kspace_noise_covariance(mixed)[0]
    >>> round(float((psi[0, 1] / (psi[0, 0] * psi[1, 1]).sqrt()).real), 1)
    0.6
    """
    return [outer.to(torch.complex128) @ outer.to(torch.complex128).conj().T / outer.shape[1]
            for outer in _periphery_samples(kspace, mask, periphery, "kspace_noise_covariance")]


def _periphery_samples(kspace: torch.Tensor, mask, periphery: float, caller: str) -> list[torch.Tensor]:
    """Each item's ``(coils, samples)`` at the sampled positions of the outer ``periphery`` of radii."""
    if not kspace.is_complex():
        raise ValueError(f"{caller}: expected complex k-space")
    rows, cols = kspace.shape[-2:]
    v, u = torch.meshgrid(torch.arange(rows) - rows // 2, torch.arange(cols) - cols // 2, indexing="ij")
    radius = torch.sqrt((v / rows) ** 2 + (u / cols) ** 2)
    out = []
    for item in kspace.detach().cpu():
        sampled = (item.abs().sum(dim=0) > 0) if mask is None else mask.detach().cpu().bool()
        if not bool(sampled.any()):
            raise ValueError(f"{caller}: no sampled position")
        cut = torch.quantile(radius[sampled].double(), 1 - periphery)
        out.append(item[:, sampled & (radius >= cut)])
    return out


def kspace_aliasing_sigma(kspace: torch.Tensor, mask: torch.Tensor, sigmas: list[float], *, bins: int = 64) -> list[float]:
    r"""The aliasing of an undersampled k-space as a noise level: :math:`a = \sqrt{E_\text{missing} / m}`.

    :math:`E_\text{missing}` is the energy the unsampled positions would hold, predicted from the sampled
    ones: the mean power of the sampled samples in each ring of radius (``bins`` rings), less the
    noise :math:`\sigma^2`, at every unsampled position of that ring, summed over the coils; :math:`m` is
    the number of measured samples (sampled positions × coils). The zero-filled image misses
    :math:`E_\text{missing}` and holds :math:`m\sigma^2` of noise (Parseval), so :math:`a` and σ are
    comparable: the artefacts compressed sensing must remove, and the noise.

    :param kspace: ``(batch, coils, rows, cols)``, centred. :param mask: sampled positions ``(rows, cols)``.
    :param sigmas: σ of each item (:func:`kspace_noise_sigma`).

    >>> k = torch.ones(1, 2, 8, 8, dtype=torch.complex64)
    >>> mask = torch.zeros(8, 8); mask[:, ::2] = 1          # half the positions missing, power 2 each
    >>> [round(a, 6) for a in kspace_aliasing_sigma(k * mask, mask, [0.0], bins=1)]
    [1.0]
    """
    rows, cols = kspace.shape[-2:]
    v, u = torch.meshgrid(torch.arange(rows) - rows // 2, torch.arange(cols) - cols // 2, indexing="ij")
    radius = torch.sqrt((v / rows) ** 2 + (u / cols) ** 2)
    ring = (radius / radius.max() * (bins - 1)).round().long()
    sampled = mask.detach().cpu().bool()
    out = []
    for item, sigma in zip(kspace.detach().cpu(), sigmas):
        power = item.abs().double().square().sum(dim=0)
        total = torch.zeros(bins, dtype=torch.float64).index_add_(0, ring[sampled], power[sampled])
        count = torch.zeros(bins, dtype=torch.float64).index_add_(0, ring[sampled], torch.ones(int(sampled.sum()),
                                                                                               dtype=torch.float64))
        profile = (total / count.clamp_min(1) - item.shape[0] * sigma**2).clamp_min(0)
        missing = float(profile[ring[~sampled]].sum())
        out.append(math.sqrt(missing / (int(sampled.sum()) * item.shape[0])))
    return out
