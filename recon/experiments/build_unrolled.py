r"""``prior.kind: unrolled`` with ``solver.kind: unrolled``: a trained unrolled solver run on a measurement.

An unrolled solver is prior and solver in one trained model (:mod:`recon.solvers.unrolled`), so the
two keys come together. The model is ``prior.weights`` (a user's ``.safetensors`` from
``recon train unrolled``) or ``prior.denoiser`` (a shipped name, e.g. ``unrolled-galaxy-admm``).

Limited-angle CT (``ct-limited-angle``): a learned primal–dual
(:class:`~recon.solvers.limited_angle.LimitedAngleLPD`) trained for the HTC2022 fan-beam geometry; the
scan's arc (any length, any start; ``input.arc_deg`` picks one from a full scan) is turned to start at
0, reconstructed on the network's coarse grid and turned back and upsampled to the operator's grid.

Deblurring (``deblur-galaxy-unrolled``): Li & Alexander's unrolled ADMM
(:class:`~recon.solvers.unrolled_deconvolution.UnrolledDeconvolutionADMM`) takes each image with
its PSF's circular transfer function and the background noise level, from ``solver.noise_sigma`` or
the file's ``metadata@noise_sigma``. It was trained on circular blurs, so the operator's boundary
must be circular (``operator.boundary: circular``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from recon.solvers.common import History, Result
from recon.solvers.htc2022_geometry import is_htc_geometry


@dataclass
class UnrolledModel:
    """What the ``unrolled`` prior builder returns: the loaded model and its manifest entry (or file description)."""

    model: torch.nn.Module
    description: dict


def _result(x: torch.Tensor, iterations: int, started: float) -> Result:
    """A solver result of one pass of an unrolled model (its time since ``started``)."""
    import time

    history = History()
    history.seconds.append(time.perf_counter() - started)
    return Result(x, history, f"{iterations} unrolled iterations", iterations)


def unrolled_prior(config: dict, operator, y: torch.Tensor, echo=None) -> UnrolledModel:
    """Load ``prior.weights`` or ``prior.denoiser`` as an unrolled model (one-line error if it is something else)."""
    from recon.solvers.unrolled import Unroller
    from recon.weights.registry import load_network

    section = config["prior"]
    source = section["weights"] or section["denoiser"]
    key = "prior.weights" if section["weights"] else "prior.denoiser"
    model, description = load_network(source)
    if not isinstance(model, Unroller):
        raise ValueError(f"{key}: {source} is a {description.get('architecture', type(model).__name__)} network, "
                         "not an unrolled solver (recon train unrolled makes one)")
    if echo is not None:
        echo(f"unrolled: {description.get('name', source)}, {model.iterations} iterations")
    return UnrolledModel(model.to(y.device), description)


def solve_unrolled(config: dict, y: torch.Tensor, operator, built, callback=None, *, measurement=None,
                   **context) -> Result:
    """Run the unrolled model on every image of ``y`` (module text)."""
    import time

    from recon.experiments.noise_level import noise_sigmas_of
    from recon.operators.blur import Blur
    from recon.solvers.limited_angle import LimitedAngleLPD

    if not isinstance(built, UnrolledModel):
        raise ValueError(f"solver.kind: unrolled needs prior.kind unrolled, got {config['prior']['kind']}")
    if isinstance(built.model, LimitedAngleLPD):
        return _solve_limited_angle(built.model, operator, measurement, callback)
    if not isinstance(operator, Blur):
        raise ValueError(f"solver.kind: the unrolled models deconvolve (a Blur operator), not {type(operator).__name__}")
    if operator.boundary != "circular":
        raise ValueError(f"operator.boundary: the unrolled deconvolution was trained on circular blurs; "
                         f"set operator.boundary=circular (got {operator.boundary})")
    started = time.perf_counter()
    height, width = y.shape[-2:]
    transfer = operator.transfer_function(dtype=torch.complex64, device=y.device)[..., : width // 2 + 1]
    images, channels = y.shape[:2]
    transfer = transfer.reshape(-1, 1, height, width // 2 + 1)              # (1 or channels, 1, H, W/2+1)
    transfer = transfer.expand(channels, -1, -1, -1).repeat(images, 1, 1, 1)
    sigmas = torch.tensor(noise_sigmas_of(config, measurement, images), dtype=y.dtype, device=y.device)
    sigmas = sigmas.repeat_interleave(channels)
    folded = y.reshape(images * channels, 1, height, width)

    def step(k, x):
        if callback is not None:
            callback(k + 1, x.reshape(y.shape))

    with torch.no_grad():
        x = built.model(folded, transfer, sigmas, callback=step).reshape(y.shape)
    return _result(x, built.model.iterations, started)


def _solve_limited_angle(model, operator, measurement, callback) -> Result:
    """Each slice's arc through :func:`recon.solvers.limited_angle.reconstruct_arc`, on ``operator``'s grid."""
    import math
    import time

    import numpy as np

    from recon.solvers import limited_angle as htc

    geometry = measurement.geometry
    if not is_htc_geometry(geometry):
        found = tuple(getattr(geometry, key, None)
                      for key in ("source_origin", "origin_detector", "n_detectors", "detector_spacing"))
        raise ValueError(f"prior.denoiser: this limited-angle model was trained for the HTC2022 fan beam (source-axis "
                         f"{htc.SOURCE_ORIGIN} mm, axis-detector {htc.ORIGIN_DETECTOR:.2f} mm, {htc.DETECTORS} cells "
                         f"of {htc.DETECTOR_SPACING} mm); {measurement.source} has {type(geometry).__name__} {found}")
    field = [n * geometry.pixel_size for n in operator.domain_shape]
    if any(abs(f - htc.PIXEL * htc.FULL_GRID) > htc.PIXEL for f in field) or len(set(operator.domain_shape)) != 1:
        raise ValueError(f"operator.image_shape: the model reconstructs the challenge's square field of view "
                         f"({htc.PIXEL * htc.FULL_GRID:.1f} mm); the grid covers {field} mm")
    angles = np.asarray(geometry.angles, dtype=np.float64)
    steps = np.diff(angles)
    if angles.size < 2 or not np.all(steps > 0):
        raise ValueError(f"input.arc_deg: the model takes one increasing arc of views; {measurement.source} has "
                         f"{angles.size} views")
    view_step = max(1, int(round(math.radians(1.0) / float(np.median(steps)))))
    started = time.perf_counter()
    images = [htc.reconstruct_arc(model, measurement.data[index:index + 1].to(torch.float32), angles,
                                  output_size=operator.domain_shape[0], view_step=view_step)
              for index in range(measurement.n_slices)]
    x = torch.cat(images)
    if callback is not None:
        callback(model.iterations, x)
    return _result(x, model.iterations, started)
