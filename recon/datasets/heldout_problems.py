r"""The held-out problems learned priors are tuned and judged on: validation and test splits that never meet.

Each function returns a :class:`~recon.datasets.measurement.Measurement` with its ground
truth (or, for the real MRI scan, its fully sampled reference), so ``recon run``'s
builders and scores apply unchanged. The images come from
:mod:`recon.datasets.image_sources`, whose splits the denoisers' manifest names: a
``test`` image was never trained on, and the parameters of every method are chosen on
``validation`` (``scripts/pnp_vs_tv.py``).

* :func:`few_view_ct`: COULE-like phantoms, 30 parallel views over 180°, 2 % noise
  (:math:`\|n\| = 0.02\,\|Ax\|` per phantom);
* :func:`gaussian_deblur`: natural photographs (central square resized to 256²), a
  Gaussian PSF of σ = 2 pixels, reflected boundary, white noise σ = 0.01;
* :func:`simulated_mri`: matplotlib's MR slice ``s1045`` (validation only) through 8
  birdcage coils, 4× (or 6×) random columns with an 8 % centre, 1 % noise (:func:`mri_validation`:
  both);
* :func:`brain_mri`: the real 8-coil brain of ``testdata/mri`` (test), 4× undersampled
  the same way; the reference is the root-sum-of-squares of its fully sampled columns.

>>> scan = few_view_ct("validation", count=2, size=32)
>>> scan.data.shape[0], scan.ground_truth.shape
(2, torch.Size([2, 1, 32, 32]))
"""

from __future__ import annotations

import math

import numpy as np
import torch

from recon.datasets.measurement import Measurement

BRAIN_COLUMNS = slice(44, 212)   # the filled phase-encode columns of brain_alias_8ch.mat


def few_view_ct(split: str, *, count: int = 10, size: int = 128, views: int = 30, noise: float = 0.02,
                seed: int = 0) -> Measurement:
    """``count`` phantoms of ``split`` as one few-view parallel-beam measurement (a slice each)."""
    from recon.datasets.image_sources import phantom_batch

    return few_view_ct_of(phantom_batch(split, count, size), f"{count} COULE-like {split} phantoms", views=views, noise=noise, seed=seed)


def few_view_ct_of(truth: torch.Tensor, name: str, *, views: int = 30, noise: float = 0.02,
                   seed: int = 0) -> Measurement:
    """Images ``truth`` ``(n, 1, size, size)`` through :func:`few_view_ct`'s scan (e.g. Shepp–Logan)."""
    from recon.datasets.simulate import add_gaussian_noise, relative_noise_sigmas
    from recon.operators import ParallelBeamCT
    from recon.operators.ct_geometry import ParallelBeamGeometry

    size = truth.shape[-1]
    angles = np.linspace(0, math.pi, views, endpoint=False)
    geometry = ParallelBeamGeometry(angles, int(math.ceil(size * math.sqrt(2))) + 2, image_shape=(size, size))
    operator = ParallelBeamCT(torch.from_numpy(angles), geometry.n_detectors, image_shape=(size, size))
    clean = operator(truth.double())
    sinogram = add_gaussian_noise(clean, noise, seed=seed).float()
    return Measurement("ct", sinogram, geometry, "recon", None, ground_truth=truth.float(),
                       metadata={"description": f"{name}, {views} views, {noise:.0%} noise", "noise_relative": noise,
                                 "noise_sigma": relative_noise_sigmas(clean, noise)})


def _square(image: np.ndarray, size: int) -> torch.Tensor:
    from skimage.transform import resize

    side = min(image.shape)
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    square = resize(image[top:top + side, left:left + side], (size, size), anti_aliasing=True)
    return torch.from_numpy(square.astype(np.float32))


def natural_squares(split: str, size: int = 256) -> dict[str, torch.Tensor]:
    """The natural photographs of ``split``, central square resized to ``size``², ``(size, size)`` each."""
    from recon.datasets.image_sources import natural_images

    return {name: _square(image, size) for name, image in natural_images(split).items()}


def gaussian_deblur(split: str, *, size: int = 256, psf_sigma: float = 2.0, noise: float = 0.01,
                    seed: int = 0) -> tuple[Measurement, list[str]]:
    """The natural images of ``split`` blurred (reflected boundary) plus white noise; and their names."""
    from recon.operators.blur import Blur
    from recon.operators.deblur_acquisition import BlurAcquisition
    from recon.operators.psf import gaussian_psf

    images = natural_squares(split, size)
    truth = torch.stack(list(images.values()))[:, None]
    psf = gaussian_psf(25, psf_sigma)
    blurred = Blur(psf, (size, size), "reflect").A(truth.double())
    generator = torch.Generator().manual_seed(seed)
    data = (blurred + noise * torch.randn(blurred.shape, generator=generator, dtype=torch.float64)).float()
    setup = BlurAcquisition(psf, (size, size), "reflect")
    return Measurement("deblur", data, setup, "recon-deblur", None, ground_truth=truth,
                       metadata={"noise_sigma": noise}), list(images)


def _undersampled(kspace: torch.Tensor, seed: int, acceleration: float = 4) -> tuple[torch.Tensor, torch.Tensor]:
    from recon.operators.mri_masks import random_mask

    mask = random_mask(tuple(kspace.shape[-2:]), acceleration, 0.08, seed=seed)
    return kspace * mask, mask


def simulated_mri(*, coils: int = 8, noise: float = 0.01, acceleration: float = 4, seed: int = 0) -> Measurement:
    """Validation MRI: matplotlib's ``s1045`` MR slice (256², never trained on) through birdcage coils."""
    import gzip

    import matplotlib.cbook

    from recon.datasets.coil_simulation import birdcage_coil_maps
    from recon.datasets.simulate import add_gaussian_noise
    from recon.operators.fourier import centred_fft
    from recon.operators.mri_acquisition import CartesianAcquisition
    from recon.operators.mri_zero_filled import zero_filled

    with matplotlib.cbook.get_sample_data("s1045.ima.gz") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    image = np.frombuffer(raw, np.uint16).astype(np.float64).reshape(256, 256)
    image = torch.from_numpy(image / image.max())
    maps = birdcage_coil_maps(coils, (256, 256), dtype=torch.complex128)
    kspace = add_gaussian_noise(centred_fft(maps * image, 2)[None], noise, seed=seed)[0]
    measured, mask = _undersampled(kspace, seed, acceleration)
    reference = zero_filled(kspace[None]).float()
    return Measurement("mri", measured[None].to(torch.complex64), CartesianAcquisition(mask), "recon", None,
                       reference=reference, reference_name="RSS of the fully sampled k-space",
                       metadata={"description": f"s1045 through {coils} simulated coils, {acceleration:g}x random "
                                                f"columns"})


def band_limited_mri(image: torch.Tensor, name: str, *, coils: int = 8, noise: float = 0.02,
                     acceleration: float = 4, seed: int = 0) -> Measurement:
    """``image`` ``(H, W)`` through ``coils`` birdcage coils, ``acceleration``× random columns with an 8 % centre,
    noise ‖n‖ = ``noise``·‖k‖ over the full k-space (σ per sample in ``metadata@noise_sigma``); the
    reference is the root-sum-of-squares of the noiseless k-space.

    Smooth ``image`` first, as an acquisition band-limits an MR image: then its k-space periphery holds noise,
    which is what :func:`recon.datasets.noise_estimation.kspace_noise_sigma` measures.
    """
    from recon.datasets.coil_simulation import birdcage_coil_maps
    from recon.datasets.simulate import add_gaussian_noise, relative_noise_sigmas
    from recon.operators.fourier import centred_fft
    from recon.operators.mri_acquisition import CartesianAcquisition
    from recon.operators.mri_zero_filled import zero_filled

    maps = birdcage_coil_maps(coils, tuple(image.shape), dtype=torch.complex128)
    clean = centred_fft(maps * image.double(), 2)[None]
    measured, mask = _undersampled(add_gaussian_noise(clean, noise, seed=seed)[0], seed, acceleration)
    return Measurement("mri", measured[None].to(torch.complex64), CartesianAcquisition(mask), "recon", None,
                       reference=zero_filled(clean).float(), reference_name="RSS of the noiseless k-space",
                       metadata={"description": f"{name} through {coils} simulated coils, {acceleration:g}x random "
                                                f"columns, {noise:.0%} noise",
                                 "noise_sigma": relative_noise_sigmas(clean, noise)})


def mri_validation() -> list[Measurement]:
    """The MRI validation scans PnP and TV are tuned on: :func:`simulated_mri` at 4× and at 6×."""
    return [simulated_mri(), simulated_mri(acceleration=6)]


def brain_mri(path, *, seed: int = 0, equispaced: bool = False) -> Measurement:
    """Test MRI: the real 8-coil brain (``testdata/mri/brain_alias_8ch.mat``), 4× random (or ``equispaced``, as
    fastMRI's) columns, 8 % centre."""
    from recon.datasets.formats import read_measurement
    from recon.operators.mri_acquisition import CartesianAcquisition
    from recon.operators.mri_masks import equispaced_mask
    from recon.operators.mri_zero_filled import zero_filled

    kspace = read_measurement(path).data[0, :, :, BRAIN_COLUMNS].contiguous()    # (coils, 320, 168)
    reference = zero_filled(kspace[None])
    if equispaced:
        mask = equispaced_mask(tuple(kspace.shape[-2:]), 4, 0.08, offset=0)
        measured = kspace * mask
    else:
        measured, mask = _undersampled(kspace, seed)
    return Measurement("mri", measured[None], CartesianAcquisition(mask), "recon", str(path),
                       reference=reference, reference_name="RSS of the fully sampled columns",
                       metadata={"description": f"brain_alias_8ch, 4x {'equispaced' if equispaced else 'random'} "
                                                "columns"})
