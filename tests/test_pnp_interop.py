"""Plug-and-play interop, both ways: recon's DenoiserPrior inside deepinv's optimisers, deepinv's denoisers
inside recon's four PnP solvers (HQS, PnP-ADMM, PnP-FISTA, RED).

The denoisers are ones whose effect is known without training: deepinv's ``TVDenoiser`` (the prox of
``ths·TV``, so σ matters) and its 3×3 ``MedianFilter``. Problems are small (32²) and seeded; the PSNR
margins asserted below are the measured ones less a safety margin, the measured values in comments.
"""

import math

import deepinv
import pytest
import torch
from deepinv.optim import optim_builder
from deepinv.optim.data_fidelity import L2
from deepinv.optim.prior import PnP

from recon.datasets.phantoms import random_phantom
from recon.metrics import psnr
from recon.operators import ParallelBeamCT
from recon.operators.blur import Blur
from recon.operators.psf import gaussian_psf
from recon.priors.pnp import DenoiserPrior
from recon.solvers.common import Stopping
from recon.solvers.hqs import hqs
from recon.solvers.pnp_admm import pnp_admm
from recon.solvers.pnp_fista import pnp_fista
from recon.solvers.red import red
from recon.weights.registry import shipped_models

N = 32


def _truth():
    return random_phantom(N, seed=3)


def _deblurring(noise: float):
    """A 9×9 Gaussian blur (σ 1.5 px, circular) of a 32² phantom with seeded white noise."""
    truth = _truth()
    operator = Blur(gaussian_psf(9, 1.5, dtype=torch.float32), (N, N), "circular")
    y = operator.A(truth) + noise * torch.randn(truth.shape, generator=torch.Generator().manual_seed(0))
    return operator, truth, y


@pytest.fixture(scope="module")
def deblurring():
    return _deblurring(0.02)


@pytest.fixture(scope="module")
def ct():
    """20 parallel-beam views of a 32² phantom, noise 3% of the sinogram's peak; start A^T y / ||A||^2."""
    truth = _truth()
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 21)[:-1], 48, image_shape=(N, N))
    clean = operator.A(truth)
    y = clean + 0.03 * clean.abs().max() * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    start = operator.A_adjoint(y) / float(operator.norm()) ** 2
    return operator, truth, y, start


def _psnr(x, truth):
    return psnr(x, truth, data_range=1.0)


# --------------------------------------------------------------------------------------------------------
# recon -> deepinv: DenoiserPrior as deepinv's `prior=`
# --------------------------------------------------------------------------------------------------------

def _deepinv_solve(iteration: str, prior, y, operator, *, g_param: float, stepsize: float = 1.0):
    model = optim_builder(iteration=iteration, prior=prior, data_fidelity=L2(),
                          params_algo={"stepsize": stepsize, "g_param": g_param, "lambda": 1.0},
                          max_iter=30, early_stop=False, verbose=False)
    with torch.no_grad():
        return model(y, operator)


@pytest.mark.parametrize("iteration", ["HQS", "PGD", "ADMM"])
def test_recon_prior_in_deepinv_optimiser_is_deepinvs_pnp(iteration):
    operator, truth, y = _deblurring(0.01)
    # A fresh TVDenoiser for each run: it warm-starts its dual variables from its previous call.
    x_recon = _deepinv_solve(iteration, DenoiserPrior(deepinv.models.TVDenoiser(n_it_max=50)), y, operator,
                             g_param=0.005)
    x_deepinv = _deepinv_solve(iteration, PnP(deepinv.models.TVDenoiser(n_it_max=50)), y, operator,
                               g_param=0.005)
    assert x_recon.shape == truth.shape and bool(torch.isfinite(x_recon).all())
    # deepinv calls prior.prox(x, g_param, gamma=lambda*stepsize): g_param must reach the denoiser as sigma.
    assert torch.allclose(x_recon, x_deepinv, rtol=0, atol=1e-6)
    blurred = _psnr(y, truth)                                 # measured 18.62 dB
    assert _psnr(x_recon, truth) > blurred + 1.5              # measured +2.15 (HQS), +2.23 (PGD), +2.20 (ADMM)


def test_recon_prior_sigma_changes_deepinvs_result():
    """g_param is the TV weight here: a 10x larger one gives a measurably different (smoother) estimate."""
    operator, truth, y = _deblurring(0.01)
    small = _deepinv_solve("PGD", DenoiserPrior(deepinv.models.TVDenoiser(n_it_max=50)), y, operator, g_param=0.005)
    large = _deepinv_solve("PGD", DenoiserPrior(deepinv.models.TVDenoiser(n_it_max=50)), y, operator, g_param=0.05)
    assert float((small - large).abs().max()) > 0.05           # measured 0.23
    assert _psnr(small, truth) > _psnr(large, truth) + 0.5    # measured 20.85 vs 19.27 dB


_IMAGE_MODELS = sorted(name for name, entry in shipped_models().items()        # 2D denoisers (not unrolled solvers)
                       if entry["arguments"].get("spatial_dims", 2) == 2 and "kind" not in entry.get("data", {}))


@pytest.mark.parametrize("name", _IMAGE_MODELS or [None])
def test_shipped_network_prior_in_deepinv_hqs(name):
    if name is None:
        pytest.skip("no shipped models yet (recon/weights/manifest.json is missing or empty)")
    from recon.priors.denoisers import load_denoiser

    operator, truth, y = _deblurring(0.01)
    denoiser = load_denoiser(name)
    # A strong data step (stepsize 100) and a moderate sigma: with mid-training checkpoints of both
    # models this measured +3.4 dB over the blurred input (18.62 dB); weaker data steps drift.
    x_recon = _deepinv_solve("HQS", DenoiserPrior(denoiser), y, operator, g_param=0.05, stepsize=100.0)
    x_deepinv = _deepinv_solve("HQS", PnP(denoiser), y, operator, g_param=0.05, stepsize=100.0)
    assert torch.allclose(x_recon, x_deepinv, rtol=0, atol=1e-6)
    assert _psnr(x_recon, truth) > _psnr(y, truth) + 1.0


# --------------------------------------------------------------------------------------------------------
# deepinv -> recon: deepinv denoisers in recon's four PnP solvers
# --------------------------------------------------------------------------------------------------------

SOLVERS = {
    "hqs": lambda y, op, den, x0: hqs(y, op, den, sigma_start=0.1, sigma_end=0.01, strength=0.25, x0=x0,
                                      stopping=Stopping(max_iter=8)),
    "pnp_admm": lambda y, op, den, x0: pnp_admm(y, op, den, sigma=0.02, penalty=0.1, x0=x0,
                                                stopping=Stopping(max_iter=30)),
    "pnp_fista": lambda y, op, den, x0: pnp_fista(y, op, den, sigma=0.02, x0=x0, stopping=Stopping(max_iter=30)),
    "red": lambda y, op, den, x0: red(y, op, den, sigma=0.02, strength=0.1, x0=x0, stopping=Stopping(max_iter=30)),
}


def _identity(x, sigma):
    return x


# Measured PSNRs (dB) with MedianFilter(3) / with the identity "denoiser" (no prior at all):
#   deblurring (blurred input 18.55): hqs 20.89/16.33, pnp_admm 21.22/18.54, pnp_fista 20.49/19.62, red 21.30/19.74
#   CT (start A^T y/||A||^2 13.04):    hqs 21.61/17.82, pnp_admm 22.07/18.55, pnp_fista 20.89/18.96, red 22.46/19.06
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_deepinv_median_filter_in_recon_solver_deblurring(deblurring, solver):
    operator, truth, y = deblurring
    median = deepinv.models.MedianFilter(kernel_size=3)
    result = SOLVERS[solver](y, operator, median, y)
    assert result.x.shape == truth.shape and bool(torch.isfinite(result.x).all())
    assert _psnr(result.x, truth) > _psnr(y, truth) + 1.5
    # The denoiser is what helps: the same solver without it is measurably worse.
    assert _psnr(result.x, truth) > _psnr(SOLVERS[solver](y, operator, _identity, y).x, truth) + 0.5
    # A deepinv denoiser given bare and the same one wrapped in recon's prior are one and the same to the solver.
    assert torch.equal(result.x, SOLVERS[solver](y, operator, DenoiserPrior(median), y).x)


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_deepinv_median_filter_in_recon_solver_ct(ct, solver):
    operator, truth, y, start = ct
    result = SOLVERS[solver](y, operator, deepinv.models.MedianFilter(kernel_size=3), start)
    assert result.x.shape == truth.shape and bool(torch.isfinite(result.x).all())
    assert _psnr(result.x, truth) > _psnr(start, truth) + 6.0
    assert _psnr(result.x, truth) > _psnr(SOLVERS[solver](y, operator, _identity, start).x, truth) + 1.5


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_deepinv_drunet_runs_in_recon_solver(deblurring, solver):
    """An (untrained, tiny) deepinv DRUNet: the network path (sigma as a noise map) runs and stays finite."""
    operator, truth, y = deblurring
    torch.manual_seed(0)
    network = deepinv.models.DRUNet(in_channels=1, out_channels=1, nc=(8, 16, 32, 64), nb=1, pretrained=None).eval()
    result = SOLVERS[solver](y, operator, network, y)
    assert result.x.shape == truth.shape and bool(torch.isfinite(result.x).all())
    assert result.iterations == (8 if solver == "hqs" else 30)


# --------------------------------------------------------------------------------------------------------
# DenoiserPrior.prox: which sigma reaches the denoiser
# --------------------------------------------------------------------------------------------------------

def _sigma_reporter(x, sigma):
    return torch.full_like(x, float(sigma))


def _prox_value(prior, *args, **kwargs) -> float:
    out = prior.prox(torch.zeros(1, 1, 2, 3, dtype=torch.float64), *args, **kwargs)
    assert out.shape == (1, 1, 2, 3)
    assert torch.equal(out, torch.full_like(out, out.flatten()[0]))
    return float(out.flatten()[0])


def test_prox_sigma_positional_keyword_gamma_and_default():
    prior = DenoiserPrior(_sigma_reporter, sigma=0.2, strength=0.25)
    assert _prox_value(prior, 0.3) == 0.3                        # deepinv's convention: prox(x, sigma)
    assert _prox_value(prior, sigma=0.07) == 0.07
    assert _prox_value(prior, gamma=0.04) == pytest.approx(0.1, abs=1e-15)      # sqrt(0.04 * 0.25)
    assert _prox_value(prior) == 0.2                             # neither: the prior's own sigma
    # deepinv's optimisers pass both (prox(x, g_param, gamma=lambda*stepsize)): sigma wins.
    assert _prox_value(prior, 0.3, gamma=0.04) == 0.3
    assert _prox_value(DenoiserPrior(_sigma_reporter, strength=2.0), gamma=0.005) == pytest.approx(0.1, abs=1e-15)


def test_prox_without_any_sigma_is_a_clear_error():
    with pytest.raises(ValueError, match="give sigma"):
        DenoiserPrior(_sigma_reporter).prox(torch.zeros(1, 1, 2, 2))


def test_red_gradient_is_strength_times_residual():
    prior = DenoiserPrior(_sigma_reporter, sigma=0.2, strength=0.5)
    x = torch.full((1, 1, 2, 2), 1.0, dtype=torch.float64)
    assert torch.equal(prior.grad(x), torch.full_like(x, 0.5 * (1.0 - 0.2)))
    assert torch.equal(prior.grad(x, 0.6), torch.full_like(x, 0.5 * (1.0 - 0.6)))
