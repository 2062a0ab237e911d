r"""``prior.kind: unrolled`` with ``solver.kind: unrolled``: a trained unrolled solver run on a measurement.

An unrolled solver is prior and solver in one trained model (:mod:`recon.solvers.unrolled`), so the
two keys come together. The model is ``prior.weights`` (a user's ``.safetensors`` from
``recon train unrolled``) or ``prior.denoiser`` (a shipped name, e.g. ``unrolled-galaxy-admm``).

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


@dataclass
class UnrolledModel:
    """What the ``unrolled`` prior builder returns: the loaded model and its manifest entry (or file description)."""

    model: torch.nn.Module
    description: dict


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

    from recon.experiments.build_diffusion import noise_sigmas_of
    from recon.operators.blur import Blur

    if not isinstance(built, UnrolledModel):
        raise ValueError(f"solver.kind: unrolled needs prior.kind unrolled, got {config['prior']['kind']}")
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
    history = History()
    history.seconds.append(time.perf_counter() - started)
    return Result(x, history, f"{built.model.iterations} unrolled iterations", built.model.iterations)
