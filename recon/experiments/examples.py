r"""``recon example``: write a seeded example input file for each modality that has no public test file here.

Each example is a simulation with its ground truth stored, so ``recon run`` on it reports PSNR:

``deblur``
    scikit-image's ``camera`` at 128², a Gaussian PSF of σ = 2 pixels (13 × 13), reflected
    boundary, Gaussian noise σ = 0.01 (``metadata@noise_sigma``): for ``deblur-wiener``,
    ``deblur-rl`` and ``deblur-tv``;
``deblur-poisson``
    the same blur, Poisson counts at a peak of 10 photons: for ``deblur-poisson-tv`` and ``deblur-rl``;
``multiband``
    three Sérsic bands with stars at 24² (factor 2), Moffat PSFs of FWHM 5, 4.5, 4 high-resolution
    pixels, a 48² broad band (weights 0.3 / 0.4 / 0.3, Gaussian PSF σ = 0.8), noise 0.01:
    for ``deblur-multiband``;
``radar``
    the MIMO paper's array and extents (12 + 13 antennas, 4–16 GHz, 10 frequencies) on a
    13 × 13 × 25 grid, 2–4 random-phase planar targets, 30 dB: for ``mimo-bp``, ``mimo-kirchhoff``,
    ``mimo-l1``, ``mimo-tv`` and ``mimo-pnp``.

>>> import tempfile, pathlib
>>> path = write_example("deblur", pathlib.Path(tempfile.mkdtemp()) / "blurred.h5")
>>> from recon.datasets.formats import read_measurement
>>> read_measurement(path).modality
'deblur'
"""

from __future__ import annotations

from pathlib import Path

# torch is imported inside the functions: `recon --help` lists EXAMPLES without loading it.
EXAMPLES = {
    "deblur": "128² camera, Gaussian blur sigma 2, noise 0.01 (deblur-wiener, deblur-rl, deblur-tv)",
    "deblur-poisson": "128² camera, Gaussian blur sigma 2, Poisson counts at peak 10 (deblur-poisson-tv)",
    "multiband": "3 low-resolution Sérsic bands and a broad band at twice the resolution (deblur-multiband)",
    "radar": "near-field MIMO, the paper's array, 13x13x25 voxels, random-phase targets, 30 dB (mimo-*)",
    "galaxy": "a 48² Sérsic galaxy through a Moffat PSF, SNR 50, sky and read noise (deblur-galaxy-unrolled)",
}


def _blurred_camera(seed: int):
    import torch

    from recon.datasets.phantoms import camera
    from recon.operators.blur import Blur
    from recon.operators.psf import gaussian_psf

    truth = camera(128).double()
    psf = gaussian_psf(13, 2.0)
    return truth, psf, Blur(psf, (128, 128), "reflect").A(truth), torch.Generator().manual_seed(seed)


def write_example(kind: str, path, *, seed: int = 0, overwrite: bool = False) -> Path:
    """Write the example ``kind`` (module text) to ``path``, atomically; returns the path."""
    if kind not in EXAMPLES:
        raise ValueError(f"recon example: expected one of {', '.join(EXAMPLES)}, got {kind!r}")
    if kind in ("deblur", "deblur-poisson"):
        import torch

        from recon.datasets.deblur_format import write_deblur

        truth, psf, clean, generator = _blurred_camera(seed)
        if kind == "deblur":
            noisy = clean + 0.01 * torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
            return write_deblur(path, noisy, psf, ground_truth=truth, overwrite=overwrite,
                                metadata={"noise": "gaussian", "noise_sigma": 0.01, "seed": seed,
                                          "description": EXAMPLES[kind]})
        counts = torch.poisson((10 * clean).clamp_min(0), generator=generator)
        return write_deblur(path, counts, psf, ground_truth=10 * truth, overwrite=overwrite,
                            metadata={"noise": "poisson", "peak": 10, "seed": seed, "description": EXAMPLES[kind]})
    if kind == "multiband":
        return _multiband(path, seed, overwrite)
    if kind == "galaxy":
        return _galaxy(path, seed, overwrite)
    return _radar(path, seed, overwrite)


def _galaxy(path, seed: int, overwrite: bool) -> Path:
    """One shear-study stamp (:func:`recon.datasets.galaxies.shear_galaxy`, SNR 50), seed ``seed`` (a test seed)."""
    import math

    from recon.datasets.deblur_format import write_deblur
    from recon.datasets.galaxies import shear_galaxy

    galaxy = shear_galaxy(seed, 50.0)
    return write_deblur(path, galaxy.observation[None, None], galaxy.psf, ground_truth=galaxy.truth[None, None],
                        boundary="circular",
                        overwrite=overwrite,
                        metadata={"noise": "gaussian", "noise_sigma": math.sqrt(galaxy.sky + galaxy.read_noise**2),
                                  "sky_subtracted": galaxy.sky, "snr": 50.0, "seed": seed,
                                  "description": EXAMPLES["galaxy"]})


def _multiband(path, seed: int, overwrite: bool) -> Path:
    import torch

    from recon.datasets.deblur_format import write_multiband
    from recon.datasets.galaxies import multiband_scene
    from recon.operators.deblur_acquisition import MultibandAcquisition
    from recon.operators.psf import gaussian_psf, moffat_psf

    scene = multiband_scene((48, 48), 3, galaxies=4, stars=2, seed=seed).double()
    scene = scene / scene.max()
    setup = MultibandAcquisition(torch.stack([moffat_psf(15, fwhm, 3.5) for fwhm in (5.0, 4.5, 4.0)]), 2,
                                 (48, 48), gaussian_psf(7, 0.8), [0.3, 0.4, 0.3])
    operator = setup.operator()
    clean = operator.A(scene[None, None])
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed + 1), dtype=clean.dtype)
    low, broad = operator.unpack(clean + 0.01 * noise)
    return write_multiband(path, low[:, 0], broad[:, 0], setup, ground_truth=scene[None], overwrite=overwrite,
                           metadata={"noise": "gaussian", "noise_sigma": 0.01, "seed": seed,
                                     "description": EXAMPLES["multiband"]})


def _radar(path, seed: int, overwrite: bool) -> Path:
    from recon.datasets.mimo_scenes import simulated_scene
    from recon.datasets.radar_format import write_radar

    scene = simulated_scene(seed, counts=(13, 13, 25))
    return write_radar(path, scene.data, scene.geometry, ground_truth=scene.ground_truth, overwrite=overwrite,
                       metadata={**scene.metadata, "seed": seed, "description": EXAMPLES["radar"]})
