"""A folder of simulated parallel-beam CT scans in recon's layout: inputs to try ``recon batch`` on and to time it.

Scan ``k`` is ``slices`` slices of Shepp–Logan phantoms, each scaled by a
seeded factor in [0.8, 1.2] (so no two slices are the same), seen from
``views`` angles over 180° with 1 % Gaussian noise of seed ``seed + k``.
"""

from __future__ import annotations

import math
from pathlib import Path


def write_ct_scans(folder, count: int, *, size: int = 64, views: int = 30, slices: int = 1, seed: int = 0,
                   noise: float = 0.01) -> list[Path]:
    """Write ``scan_000.h5`` ... into ``folder``; return their paths.

    >>> import tempfile, h5py
    >>> paths = write_ct_scans(tempfile.mkdtemp(), 2, size=16, views=8, slices=3)
    >>> [p.name for p in paths], h5py.File(paths[0])["data"].shape
    (['scan_000.h5', 'scan_001.h5'], (3, 8, 25))
    """
    import torch

    from recon.datasets.measurement import Measurement
    from recon.datasets.phantoms import shepp_logan
    from recon.datasets.recon_format import write_measurement
    from recon.datasets.simulate import add_gaussian_noise
    from recon.operators import ParallelBeamCT
    from recon.operators.ct_geometry import ParallelBeamGeometry

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    angles = torch.linspace(0, math.pi, views + 1, dtype=torch.float64)[:-1]
    geometry = ParallelBeamGeometry(angles.numpy(), int(math.ceil(size * math.sqrt(2))) + 2, image_shape=(size, size))
    operator = ParallelBeamCT(geometry.angles, geometry.n_detectors, image_shape=geometry.image_shape)
    phantom = shepp_logan(size)
    paths = []
    for k in range(count):
        generator = torch.Generator().manual_seed(seed + k)
        scales = 0.8 + 0.4 * torch.rand(slices, generator=generator)
        truth = (phantom * scales[:, None, None, None]).float()
        sinogram = add_gaussian_noise(operator(truth), noise, seed=seed + k).float()
        scan = Measurement("ct", sinogram, geometry, "recon", None, ground_truth=truth,
                           metadata={"description": f"simulated scan {k} for recon batch", "seed": seed + k})
        paths.append(write_measurement(folder / f"scan_{k:03d}.h5", scan, overwrite=True))
    return paths
