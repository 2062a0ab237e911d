"""Which prior goes with which solver, by their names alone: the checks a builder makes before it builds anything.

They import no torch, so ``recon info`` makes the same checks to list the experiments
that fit a file (:mod:`recon.experiments.inspect_file`). The builders' registries
(:data:`recon.experiments.learned_registry.LEARNED_PRIORS` and ``LEARNED_SOLVERS``) are keyed
by the kinds named here; ``tests/test_fast_start.py`` checks that they agree.

>>> from recon.experiments.config import load_experiment
>>> deblur_fits(load_experiment("deblur-tv"), multiband=False, boundary="reflect")
True
>>> deblur_fits(load_experiment("deblur-multiband"), multiband=False, boundary="reflect")
False
"""

from __future__ import annotations

#: solver.kind of the diffusion posterior samplers (recon.experiments.build_diffusion)
SAMPLER_KINDS = ("dps", "diffpir", "red-diff", "ula")
#: prior.kind of a denoiser or score network, or of a trained unrolled solver (prior and solver in one)
LEARNED_PRIOR_KINDS = ("pnp", "diffusion", "unrolled")
#: solver.kind that takes a learned prior
LEARNED_SOLVER_KINDS = ("pnp-admm", "pnp-fista", "hqs", "red", *SAMPLER_KINDS, "unrolled")
#: solver.kind for deblurring with a classical prior
DEBLUR_SOLVERS = ("wiener", "richardson-lucy", "deconvolution-admm", "pdhg")


def check_learned_combination(config: dict) -> None:
    """A learned prior needs a learned solver and the other way round: one line naming the key."""
    prior, solver = config["prior"]["kind"], config["solver"]["kind"]
    if (prior == "unrolled") != (solver == "unrolled"):
        key = "solver.kind" if prior == "unrolled" else "prior.kind"
        raise ValueError(f"{key}: a trained unrolled solver is prior and solver in one; set prior.kind=unrolled "
                         f"and solver.kind=unrolled together (got prior.kind {prior}, solver.kind {solver})")
    denoiser_solvers = [kind for kind in LEARNED_SOLVER_KINDS if kind != "unrolled"]
    if prior in LEARNED_PRIOR_KINDS and solver not in LEARNED_SOLVER_KINDS:
        raise ValueError(f"solver.kind: prior.kind {prior} is solved by {', '.join(denoiser_solvers)}, not {solver}")
    if solver in LEARNED_SOLVER_KINDS and prior not in LEARNED_PRIOR_KINDS:
        denoiser_priors = [kind for kind in LEARNED_PRIOR_KINDS if kind != "unrolled"]
        raise ValueError(f"prior.kind: solver.kind {solver} takes prior.kind {' or '.join(denoiser_priors)} "
                         f"(a denoiser), not {prior}")


def check_deblur_combination(config: dict, multiband: bool) -> None:
    """One line naming the key when the config's solver and prior cannot deblur this kind of file."""
    kind, prior = config["solver"]["kind"], config["prior"]["kind"]
    check_learned_combination(config)
    if kind in LEARNED_SOLVER_KINDS:
        return
    if kind not in DEBLUR_SOLVERS:
        raise ValueError(f"solver.kind: {kind} does not apply to deblurring; use {', '.join(DEBLUR_SOLVERS)}")
    if multiband and kind != "pdhg":
        raise ValueError(f"solver.kind: {kind} images one band at a time; a multiband file needs pdhg "
                         "(prior.kind joint-tv couples the bands)")
    if kind == "wiener" and prior not in ("l2", "tikhonov"):
        raise ValueError(f"prior.kind: wiener takes l2 (R = I) or tikhonov (R = gradient), got {prior}")
    if kind == "richardson-lucy" and prior != "none":
        raise ValueError("solver.kind: richardson-lucy takes no prior; set prior.kind=none or use deconvolution-admm")
    if kind == "pdhg" and prior in ("l2", "l1", "weighted-tv"):
        raise ValueError(f"prior.kind: {prior} is not offered with pdhg for deblurring; use tv, l1-wavelet, "
                         "tikhonov or joint-tv")
    if prior == "joint-tv" and not multiband:
        raise ValueError("prior.kind: joint-tv couples the bands of a multiband file; this file has one image per "
                         "PSF, use tv")
    if config["solver"]["data_term"] == "poisson" and kind != "deconvolution-admm":
        raise ValueError(f"solver.data_term: poisson is solved by deconvolution-admm, not {kind}")
    if kind == "deconvolution-admm" and prior not in ("tv", "l1-wavelet"):
        raise ValueError(f"prior.kind: deconvolution-admm takes tv or l1-wavelet, got {prior}")
    if multiband and prior not in ("joint-tv", "none"):
        raise ValueError(f"prior.kind: a multiband image (bands, H, W) takes joint-tv (or none), got {prior}")


def deblur_fits(config: dict, *, multiband: bool, boundary: str | None) -> bool:
    """Whether ``config`` can deblur a file of this kind (multiband or not, with this boundary condition)."""
    try:
        check_deblur_combination(config, multiband)
    except ValueError:
        return False
    if config["solver"]["kind"] == "unrolled":     # the trained model knows single images of circular blurs
        if multiband:
            return False
        chosen = config["operator"]["boundary"]
        return (boundary if chosen == "from-input" else chosen) == "circular"
    return True
