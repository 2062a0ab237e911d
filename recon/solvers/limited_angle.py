r"""Limited-angle fan-beam CT by a learned primal–dual network, for any arc at any start angle (HTC2022).

:class:`LimitedAngleLPD` wraps :class:`~recon.solvers.unrolled.LearnedPrimalDual` for the challenge's
scans. Three things make one trained network serve every scan:

* **A coarse grid.** It works on a ``grid``² image of the challenge's field of view
  (:func:`coarse_operator`: 128² of 0.593 mm pixels by default, the detector binned by 4 to 140
  cells of 0.8 mm, one view per degree), so that training and a 512² answer are cheap; the
  measured sinogram is binned alike (:func:`bin_sinogram`) and the answer upsampled to 512².
* **The canonical arc.** The views of an arc :math:`[\theta_0, \theta_0 + L]` are reconstructed
  with the angles :math:`\theta - \theta_0`, which gives the object turned by :math:`-\theta_0`;
  the result is turned back by :func:`rotate` (measured on ``ta``: with the angles shifted by 90°
  the FBP is the true one turned by ``torch.rot90(·, -1)``, correlation 1.0000). The network only
  ever sees arcs that start at 0.
* **Units.** Attenuation (about 0.03 mm⁻¹ in acrylic) is multiplied by ``image_scale`` (30) inside,
  and the operator divided by it, so the network sees values of order 1.

The primal state starts at the Hann-filtered FBP of the arc.

>>> import math, torch
>>> from recon.networks import ConvStack
>>> lpd = LimitedAngleLPD(ConvStack(6, 5, width=4), ConvStack(7, 5, width=4), iterations=2, grid=32)
>>> operator = coarse_operator(torch.linspace(0, math.pi / 2, 46), grid=32)
>>> y = operator.A(torch.rand(1, 1, 32, 32) * 0.03)
>>> lpd(y, operator).shape                   # untrained: its zero updates return the FBP
torch.Size([1, 1, 32, 32])
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from recon.solvers.htc2022_geometry import (  # the challenge's geometry (docs/htc2022.md): lengths in mm
    DETECTOR_SPACING,
    DETECTORS,
    FULL_GRID,
    ORIGIN_DETECTOR,
    PIXEL,
    SOURCE_ORIGIN,
)
from recon.solvers.unrolled import LearnedPrimalDual, Unroller


def coarse_operator(angles: torch.Tensor, *, grid: int = 128, detector_binning: int = 4):
    """The fan-beam operator of ``angles`` (radians) on a ``grid``² image of the challenge's field of view."""
    from recon.operators import FanBeamCT

    return FanBeamCT(torch.as_tensor(angles, dtype=torch.float64), DETECTORS // detector_binning, SOURCE_ORIGIN,
                     ORIGIN_DETECTOR, detector_spacing=DETECTOR_SPACING * detector_binning,
                     image_shape=(grid, grid), pixel_size=PIXEL * FULL_GRID / grid)


def bin_sinogram(sinogram: torch.Tensor, detector_binning: int = 4) -> torch.Tensor:
    """The mean of each group of ``detector_binning`` detector cells: ``(..., views, D)`` → ``(..., views, D / b)``."""
    views, detectors = sinogram.shape[-2:]
    if detectors % detector_binning:
        raise ValueError(f"bin_sinogram: {detectors} detector cells do not bin by {detector_binning}")
    return sinogram.reshape(*sinogram.shape[:-1], detectors // detector_binning, detector_binning).mean(dim=-1)


def rotate(image: torch.Tensor, angle: float) -> torch.Tensor:
    """``image`` ``(batch, channel, H, W)`` turned by ``angle`` radians the way ``torch.rot90(·, 1)`` turns by 90°.

    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> bool(torch.allclose(rotate(x, math.pi / 2), torch.rot90(x, 1, dims=(2, 3)), atol=1e-4))
    True
    """
    c, s = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=image.dtype, device=image.device)
    grid = F.affine_grid(theta.expand(image.shape[0], 2, 3), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class LimitedAngleLPD(Unroller):
    """``model(y, operator) -> x``: learned primal–dual on ``operator``'s grid, in ``image_scale`` units inside.

    :param primal_blocks, dual_blocks: :class:`~recon.networks.ConvStack` s (module text of
        :mod:`recon.solvers.unrolled`), shared or one per iteration.
    :param grid: the side of the image the network was trained on (its operators' ``image_shape``).
    """

    def __init__(self, primal_blocks, dual_blocks, iterations: int = 10, *, grid: int = 128,
                 image_scale: float = 30.0, primal_channels: int = 5, dual_channels: int = 5,
                 checkpoint: bool = False):
        super().__init__(iterations, checkpoint)
        self.lpd = LearnedPrimalDual(primal_blocks, dual_blocks, iterations, primal_channels=primal_channels,
                                     dual_channels=dual_channels, checkpoint=checkpoint)
        self.grid, self.image_scale = int(grid), float(image_scale)

    @classmethod
    def from_arguments(cls, arguments: dict) -> "LimitedAngleLPD":
        from recon.networks import ConvStack

        return cls(ConvStack(**arguments["primal"]), ConvStack(**arguments["dual"]), int(arguments["iterations"]),
                   grid=int(arguments["grid"]), image_scale=float(arguments["image_scale"]),
                   primal_channels=int(arguments["primal_channels"]), dual_channels=int(arguments["dual_channels"]))

    def architecture(self) -> dict:
        primal, dual = self.lpd.primal[0], self.lpd.dual[0]
        return {"iterations": self.iterations, "grid": self.grid, "image_scale": self.image_scale,
                "primal_channels": self.lpd.primal_channels, "dual_channels": self.lpd.dual_channels,
                "primal": primal.architecture(), "dual": dual.architecture()}

    def forward(self, y: torch.Tensor, operator, callback=None) -> torch.Tensor:
        from recon.operators import fbp
        from recon.operators.scaled import ScaledOperator
        from recon.solvers.unrolled_data_steps import OperatorDataStep

        with torch.no_grad():
            start = fbp(y, operator, "hann") * self.image_scale
        data = OperatorDataStep(ScaledOperator(operator, 1.0 / self.image_scale), y, cg_steps=1)
        out = self.lpd(data, start, callback=None if callback is None else
                       (lambda k, x: callback(k, x / self.image_scale)))
        return out / self.image_scale


def reconstruct_arc(model: LimitedAngleLPD, sinogram: torch.Tensor, angles, *, output_size: int = FULL_GRID,
                    detector_binning: int = 4, view_step: int = 2) -> torch.Tensor:
    """A challenge scan's arc (``sinogram`` ``(1, 1, views, 560)``, ``angles`` in radians) to a
    ``output_size``² image in 1/mm: binned, turned to the canonical arc, reconstructed, turned back, upsampled."""
    angles = torch.as_tensor(angles, dtype=torch.float64)
    start = float(angles[0])
    kept = slice(None, None, view_step)
    operator = coarse_operator(angles[kept] - start, grid=model.grid, detector_binning=detector_binning)
    y = bin_sinogram(sinogram[..., kept, :], detector_binning).to(torch.float32)
    with torch.no_grad():
        image = rotate(model(y, operator), start)
    return F.interpolate(image, size=(output_size, output_size), mode="bilinear", align_corners=False)
