"""A simulated true-3D scan shared by the 3D MRI tests: a 3D Shepp-Logan volume seen by 8 birdcage coils.

The volume is ``(depth, rows, cols) = (16, 32, 32)``; rows are the read-out, so a mask is
drawn over ``(depth, cols)`` (the two phase encodes) and repeated along the rows, as a
3D Cartesian scan measures whole read-outs.
"""

from __future__ import annotations

import math

import numpy as np
import torch

DEPTH, ROWS, COLS, COILS = 16, 32, 32, 8
NOISE = 0.002

# Modified 3D Shepp-Logan (Kak & Slaney's ellipsoids as in Schabel's phantom3d), rotated about z only:
# (value, semi-axes a, b, c, centre x, y, z, angle in degrees)
ELLIPSOIDS = ((1.0, .69, .92, .81, 0, 0, 0, 0), (-.8, .6624, .874, .78, 0, -.0184, 0, 0),
              (-.2, .11, .31, .22, .22, 0, 0, -18), (-.2, .16, .41, .28, -.22, 0, 0, 18),
              (.1, .21, .25, .41, 0, .35, -.15, 0), (.1, .046, .046, .05, 0, .1, .25, 0),
              (.1, .046, .046, .05, 0, -.1, .25, 0), (.1, .046, .023, .05, -.08, -.605, 0, 0),
              (.1, .023, .023, .02, 0, -.606, 0, 0), (.1, .023, .046, .02, .06, -.605, 0, 0))


def shepp_logan_3d(depth: int, rows: int, cols: int) -> torch.Tensor:
    """The phantom ``(depth, rows, cols)``: [-1, 1]^2 in-plane (rows top to bottom: y from 1 to -1), z in [-0.75, 0.75]
    (every depth slice cuts the head)."""
    z = np.linspace(-0.75, 0.75, depth)[:, None, None]
    y = np.linspace(1, -1, rows)[None, :, None]
    x = np.linspace(-1, 1, cols)[None, None, :]
    volume = np.zeros((depth, rows, cols))
    for value, a, b, c, x0, y0, z0, angle in ELLIPSOIDS:
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        u, v = (x - x0) * cos + (y - y0) * sin, -(x - x0) * sin + (y - y0) * cos
        volume += value * ((u / a) ** 2 + (v / b) ** 2 + ((z - z0) / c) ** 2 <= 1)
    return torch.as_tensor(volume, dtype=torch.float32)


def simulated_kspace(mask_plane: torch.Tensor, seed: int = 0):
    """Noisy 8-coil k-space ``(coils, depth, rows, cols)`` of the phantom, measured where ``mask_plane`` (depth, cols)
    is 1; also the phantom and the coil maps."""
    from recon.datasets.coil_simulation import birdcage_coil_maps
    from recon.operators.fourier import centred_fft

    truth = shepp_logan_3d(DEPTH, ROWS, COLS)
    maps = birdcage_coil_maps(COILS, (ROWS, COLS))[:, None].expand(COILS, DEPTH, ROWS, COLS)
    kspace = centred_fft(maps * truth, ndim=3)
    generator = torch.Generator().manual_seed(seed)
    noise = NOISE * torch.complex(torch.randn(kspace.shape, generator=generator),
                                  torch.randn(kspace.shape, generator=generator))
    mask = mask_plane[:, None, :].expand(DEPTH, ROWS, COLS)
    return (kspace + noise) * mask, truth, maps


def write_bart_volume(stem, kspace):
    """3D k-space ``(coils, depth, rows, cols)`` as BART's ``(x, y, z, coils)``: read-out, phase 1, phase 2 (PHS2)."""
    from recon.datasets.bart_cfl import write_cfl

    return write_cfl(stem, kspace.permute(2, 3, 1, 0).numpy())


def volume_scores(reconstruction: np.ndarray, truth: torch.Tensor) -> tuple[float, float]:
    """PSNR over the volume and the mean SSIM of its depth slices, both with the truth's maximum as the range."""
    from recon.metrics import ssim

    image = torch.as_tensor(reconstruction)
    span = float(truth.max())
    psnr = 10 * math.log10(span ** 2 / float(((image - truth) ** 2).mean()))
    return psnr, float(np.mean([ssim(image[i], truth[i], data_range=span) for i in range(truth.shape[0])]))
