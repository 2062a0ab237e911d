"""Every forward operator of recon, small enough to test exhaustively.

Each entry builds one operator. ``tests/test_operator_registry.py`` runs the
same checks on all of them: the dot-product adjoint test, the norm against the
largest singular value of the dense matrix, batches, float32 and float64
(complex64 and complex128 for a complex operator), and CPU/GPU agreement when a
GPU is present. A new operator joins by adding a case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from recon.operators import (
    FanBeamCT,
    MultiCoilMRI,
    NearFieldMIMO,
    ParallelBeamCT,
    SingleCoilMRI,
)
from recon.operators.mimo_geometry import VoxelGrid
from recon.operators.mri_masks import random_mask
from recon.operators.scaled import ScaledOperator


@dataclass(frozen=True)
class OperatorCase:
    name: str
    build: Callable[[], object]
    computes_in_float32: bool = False  # astra's on-the-fly kernels work in float32 whatever the input
    complex_valued: bool = False  # images and measurements are complex (tested in complex64 and complex128)
    coils: int | None = None  # one image channel maps to this many measurement channels (multi-coil MRI)

    def __str__(self):
        return self.name


def _arc(degrees: float, n: int) -> torch.Tensor:
    return torch.linspace(0, math.radians(degrees), n + 1)[:-1]


_SIZE = (16, 16)


def smooth_coil_maps(coils: int, shape: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """Smooth complex sensitivities ``(coils, rows, cols)``: Gaussians centred around the image, random phase ramps."""
    generator = torch.Generator().manual_seed(seed)
    rows, cols = shape
    r = torch.arange(rows, dtype=torch.float64)[:, None] / rows - 0.5
    c = torch.arange(cols, dtype=torch.float64)[None, :] / cols - 0.5
    maps = []
    for k in range(coils):
        angle = 2 * math.pi * k / coils
        centre_r, centre_c = 0.6 * math.sin(angle), 0.6 * math.cos(angle)
        ramp_r, ramp_c, phase = (2 * math.pi * torch.rand(3, generator=generator, dtype=torch.float64)).tolist()
        magnitude = torch.exp(-((r - centre_r) ** 2 + (c - centre_c) ** 2) / 0.5)
        maps.append(magnitude * torch.exp(1j * (phase + ramp_r * r + ramp_c * c)))
    return torch.stack(maps).to(torch.complex64)


def _mask_3d(shape: tuple[int, int, int], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=generator) < 0.5).float()

REGISTRY = [
    OperatorCase("parallel-linear", lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE)),
    OperatorCase("parallel-line", lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, projector="line")),
    OperatorCase("parallel-strip", lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, projector="strip")),
    OperatorCase("parallel-linear-astra", lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, backend="astra"), computes_in_float32=True),
    OperatorCase("parallel-strip-astra",
                 lambda: ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, projector="strip", backend="astra"), computes_in_float32=True),
    OperatorCase("parallel-offset-pixelsize", lambda: ParallelBeamCT(
        _arc(180, 10), 30, image_shape=(16, 20), pixel_size=0.5, detector_spacing=0.4, centre_offset=2.5)),
    OperatorCase("parallel-limited-arc", lambda: ParallelBeamCT(_arc(60, 9), 24, image_shape=_SIZE)),
    OperatorCase("fan-line", lambda: FanBeamCT(_arc(360, 16), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE)),
    OperatorCase("fan-strip", lambda: FanBeamCT(
        _arc(360, 16), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE, projector="strip")),
    OperatorCase("fan-line-astra", lambda: FanBeamCT(
        _arc(360, 16), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE, backend="astra"), computes_in_float32=True),
    OperatorCase("fan-strip-astra", lambda: FanBeamCT(
        _arc(360, 16), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE, projector="strip", backend="astra"), computes_in_float32=True),
    OperatorCase("fan-offset-pixelsize", lambda: FanBeamCT(
        _arc(360, 16), 40, 8.0, 6.0, detector_spacing=0.3, image_shape=(16, 12), pixel_size=0.25, centre_offset=-1.5)),
    OperatorCase("scaled-parallel-mm", lambda: ScaledOperator(
        ParallelBeamCT(_arc(180, 12), 24, image_shape=_SIZE, pixel_size=0.25, detector_spacing=0.3), 4.0)),
    OperatorCase("fan-limited-arc", lambda: FanBeamCT(_arc(90, 10), 32, 40.0, 20.0, detector_spacing=1.2, image_shape=_SIZE)),
    OperatorCase("mri-single-random", lambda: SingleCoilMRI(random_mask((12, 11), 3, 0.2, seed=1)),
                 complex_valued=True),
    OperatorCase("mri-single-full", lambda: SingleCoilMRI(torch.ones(8, 9)), complex_valued=True),
    OperatorCase("mri-multi-coil", lambda: MultiCoilMRI(random_mask((12, 10), 2, 0.2, seed=2),
                                                        smooth_coil_maps(4, (12, 10), seed=3)),
                 complex_valued=True, coils=4),
    OperatorCase("mri-single-3d", lambda: SingleCoilMRI(_mask_3d((4, 6, 5), seed=4), ndim=3), complex_valued=True),
    OperatorCase("mimo-uniform-frequencies", lambda: NearFieldMIMO(
        [[-0.1, 0.1, 0.0], [0.0, 0.0, 0.0], [0.1, -0.1, 0.0]],
        [[-0.1, -0.1, 0.0], [-0.03, -0.03, 0.0], [0.03, 0.03, 0.01], [0.1, 0.1, 0.0]],
        torch.linspace(4e9, 16e9, 5, dtype=torch.float64),
        VoxelGrid(x=(-0.1, 0.1), y=(-0.05, 0.05), z=(0.3, 0.5), counts=(4, 3, 5))), complex_valued=True),
    OperatorCase("mimo-uneven-frequencies", lambda: NearFieldMIMO(
        [[-0.1, 0.1, 0.0], [0.1, -0.1, 0.0]], [[-0.1, -0.1, 0.0], [0.0, 0.0, 0.0], [0.1, 0.1, 0.0]],
        [4e9, 5.5e9, 9e9, 16e9], VoxelGrid(x=(-0.1, 0.1), y=(-0.1, 0.1), z=(0.35, 0.45), counts=(3, 3, 2)),
        memory_budget=4096), complex_valued=True),
]


# -- deblurring: Blur in every boundary mode (asymmetric kernels, so a missing flip shows) and Downsample -----

_BLUR_SHAPE = (12, 10)


def _asymmetric_psf(*shape: int, seed: int) -> torch.Tensor:
    """A positive kernel of sum 1 with no symmetry (seeded)."""
    psf = torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + 0.1
    return psf / psf.sum(dim=(-2, -1), keepdim=True)


def _blur(boundary: str, psf: torch.Tensor):
    from recon.operators import Blur

    return Blur(psf, _BLUR_SHAPE, boundary)


def _per_channel_blur(boundary: str):
    """A Blur with one PSF per channel (2), its channels seen as a leading spatial axis.

    The registry's checks feed one-channel images; this view feeds the two
    channels the per-channel PSF needs, as (batch, 1, 2, H, W).
    """
    from recon.operators import Blur
    from recon.operators.base import Operator

    class ChannelsAsAxis(Operator):
        def __init__(self, op):
            super().__init__((op.channels, *op.domain_shape), (op.channels, *op.range_shape))
            self.op = op

        def _through(self, fn, t):
            batch, channels = t.shape[:2]
            out = fn(t.reshape(batch * channels, *t.shape[2:]))
            return out.reshape(batch, channels, *out.shape[1:])

        def A(self, x, **kwargs):
            self.check_domain(x)
            return self._through(self.op.A, x)

        def A_adjoint(self, y, **kwargs):
            self.check_range(y)
            return self._through(self.op.A_adjoint, y)

        def norm(self, **kwargs):
            return self.op.norm(**kwargs)

    return ChannelsAsAxis(Blur(_asymmetric_psf(2, 5, 3, seed=12), _BLUR_SHAPE, boundary))


def _downsample(factor: int, boundary: str, offset: int = 0, psf=None):
    from recon.operators import Downsample

    return Downsample(factor, _BLUR_SHAPE, psf=psf, boundary=boundary, offset=offset)


REGISTRY += [
    OperatorCase("blur-circular", lambda: _blur("circular", _asymmetric_psf(5, 3, seed=10))),
    OperatorCase("blur-zero", lambda: _blur("zero", _asymmetric_psf(5, 3, seed=10))),
    OperatorCase("blur-reflect", lambda: _blur("reflect", _asymmetric_psf(5, 3, seed=10))),
    OperatorCase("blur-reflect-even-kernel", lambda: _blur("reflect", _asymmetric_psf(4, 6, seed=11))),
    OperatorCase("blur-zero-kernel-larger-than-image", lambda: _blur("zero", _asymmetric_psf(15, 13, seed=13))),
    OperatorCase("blur-circular-per-channel", lambda: _per_channel_blur("circular")),
    OperatorCase("blur-zero-per-channel", lambda: _per_channel_blur("zero")),
    OperatorCase("blur-reflect-per-channel", lambda: _per_channel_blur("reflect")),
    OperatorCase("downsample-2-reflect", lambda: _downsample(2, "reflect", psf=_asymmetric_psf(5, 3, seed=14))),
    OperatorCase("downsample-3-zero-offset-1", lambda: _downsample(3, "zero", 1, _asymmetric_psf(5, 3, seed=15))),
    OperatorCase("downsample-3-circular", lambda: _downsample(3, "circular", psf=_asymmetric_psf(3, 3, seed=16))),
    OperatorCase("downsample-2-no-psf", lambda: _downsample(2, "circular", 1)),
]


# -- multiband: low-resolution bands with their own PSFs + a sharp broad band (Euclid/Rubin) -------------------

def _multiband(boundary: str, offset: int = 0):
    from recon.operators.multiband import MultibandImaging

    return MultibandImaging(_asymmetric_psf(2, 5, 3, seed=17), 2, (8, 6), _asymmetric_psf(3, 3, seed=18),
                            weights=[0.3, 0.7], boundary=boundary, offset=offset)


REGISTRY += [
    OperatorCase("multiband-circular", lambda: _multiband("circular")),
    OperatorCase("multiband-reflect-offset-1", lambda: _multiband("reflect", 1)),
]
