"""The samplers and the score network's pieces, checked where the answer is known in closed form.

No trained network is involved: a Gaussian-mixture prior on 8 x 8 images
(:class:`recon.priors.gaussian_mixture.GaussianMixture`) has an exact MMSE denoiser at every σ and an
exact posterior for a linear operator with Gaussian noise (``scripts/gmm_sampler_check.py``).
"""

from __future__ import annotations

import pytest
import torch

from conftest import load_script
from recon.networks.edm import EDMDenoiser
from recon.priors.gaussian_mixture import GaussianMixture
from recon.samplers import diffpir, dps, karras_sigmas, pnp_ula, red_diff


@pytest.fixture(scope="module")
def script():
    return load_script("gmm_sampler_check")


@pytest.fixture(scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------------------
# the exact reference
# --------------------------------------------------------------------------------------------------------

def test_the_mixture_denoiser_is_the_posterior_mean_of_denoising(script):
    prior = script.mixture()
    noisy = prior.sample(5, torch.Generator().manual_seed(0)) + 0.1 * torch.randn(5, 1, 8, 8, dtype=torch.float64,
                                                                                  generator=torch.Generator().manual_seed(1))
    mean, _ = prior.posterior(torch.eye(64, dtype=torch.float64), noisy.reshape(5, -1), 0.1)
    torch.testing.assert_close(prior.denoise(noisy, 0.1), mean, rtol=1e-9, atol=1e-9)


def test_the_mixture_denoiser_is_tweedies_formula():
    # one component N(m, c): D(x, σ) = m + c/(c + σ²)(x - m), so the score (D - x)/σ² is -(x - m)/(c + σ²)
    prior = GaussianMixture(torch.ones(1), torch.full((1, 3), 0.5), torch.full((1, 3), 0.04))
    x = torch.tensor([[0.1, 0.5, 0.9]], dtype=torch.float64)
    score = (prior.denoise(x, 0.3) - x) / 0.09
    torch.testing.assert_close(score, -(x - 0.5) / 0.13)


def test_the_karras_schedule_descends_between_its_ends():
    sigmas = karras_sigmas(50, sigma_max=10.0, sigma_min=0.002)
    assert sigmas[0] == pytest.approx(10.0) and sigmas[-1] == pytest.approx(0.002)
    assert bool((sigmas[1:] < sigmas[:-1]).all())
    with pytest.raises(ValueError, match="sigma_min"):
        karras_sigmas(5, sigma_max=0.1, sigma_min=1.0)


# --------------------------------------------------------------------------------------------------------
# PnP-ULA: exact within Monte Carlo error
# --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ula(script, one_thread):
    return script.ula_check()


@pytest.mark.slow
def test_ula_mean_matches_the_smoothed_posterior_within_monte_carlo_error(ula):
    print(ula)
    # z: (ULA mean - exact mean) / its standard error from 50 independent chains, 512 pixels (8 truths)
    assert ula["mean_z_rms"] < 1.4               # measured 0.99 (1 when the error is Monte Carlo alone)
    assert ula["mean_z_max_abs"] < 4.5           # measured 2.86; P(|N(0,1)| > 4.5) x 512 < 0.4 %


def test_ula_variance_matches_within_monte_carlo_error(ula):
    # per-pixel variance against the exact one, in units of its standard error between chains; with half
    # the burn-in and run (2000 + 4000 steps) the chains had not mixed: ratio 1.034, z rms 1.76
    assert 0.97 < ula["variance_ratio_mean"] < 1.04      # measured 1.007
    assert ula["variance_z_rms"] < 1.4                   # measured 1.03
    assert ula["variance_z_max_abs"] < 4.5               # measured 3.43


def test_ula_90_percent_intervals_cover_the_truth_at_85_to_95_percent(ula):
    assert 0.85 <= ula["coverage_90"] <= 0.95    # measured 0.891 over 512 pixels


# --------------------------------------------------------------------------------------------------------
# DPS, DiffPIR, RED-diff: how far from the exact posterior mean
# --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def diffusion(script, one_thread):
    return script.diffusion_check()


def test_distance_of_the_diffusion_samplers_from_the_exact_posterior_mean(diffusion):
    print(diffusion)
    # measured relative errors of the sample mean: DPS 0.069, DiffPIR 0.076, RED-diff 0.521
    assert diffusion["dps"]["relative_mean_error"] < 0.10
    assert diffusion["diffpir"]["relative_mean_error"] < 0.10
    # RED-diff as the paper states it (λ = 0.25, Adam at 0.1) barely moves off A†y here: Adam's per-pixel
    # scaling is set by the data gradient, 1/σ_y² = 400 times the prior's, so the prior hardly acts
    assert diffusion["red-diff"]["relative_mean_error"] > 0.4
    # spreads against the posterior variance: DPS 1.08, DiffPIR 1.17; RED-diff is a point estimate (0.005)
    assert 0.8 < diffusion["dps"]["spread_ratio"] < 1.4
    assert 0.8 < diffusion["diffpir"]["spread_ratio"] < 1.5
    assert diffusion["red-diff"]["spread_ratio"] < 0.05


# --------------------------------------------------------------------------------------------------------
# reproducibility and bad arguments
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sampler, options", [
    (dps, {"steps": 10, "sigma_max": 5.0, "step_size": 0.3}),
    (diffpir, {"steps": 10, "sigma_max": 5.0}),
    (red_diff, {"steps": 10}),
    (pnp_ula, {"epsilon": 0.0025, "step": 1e-4, "iterations": 20, "burn_in": 0}),
])
def test_the_same_seed_gives_identical_samples(script, sampler, options):
    matrix, physics = script.problem()
    _, y = script.measurements(script.mixture(), matrix, 2, seed=5)
    draws = [sampler(y, physics, script.mixture(), noise_sigma=0.05, generator=torch.Generator().manual_seed(s),
                     **options) for s in (7, 7, 8)]
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])


def test_bad_sampler_arguments_are_clear_errors(script):
    matrix, physics = script.problem()
    y = torch.zeros(1, 32, dtype=torch.float64)
    with pytest.raises(ValueError, match="dps: noise_sigma"):
        dps(y, physics, script.mixture(), noise_sigma=0.0)
    with pytest.raises(ValueError, match="diffpir: zeta"):
        diffpir(y, physics, script.mixture(), noise_sigma=0.05, zeta=1.5)
    with pytest.raises(ValueError, match="pnp_ula: epsilon"):
        pnp_ula(y, physics, script.mixture(), noise_sigma=0.05, epsilon=0.0)


# --------------------------------------------------------------------------------------------------------
# the EDM score network
# --------------------------------------------------------------------------------------------------------

def test_edm_preconditioning_coefficients_and_score():
    net = EDMDenoiser(channels=(4, 8), blocks=1, sigma_data=0.5)
    skip, out, scale = net.coefficients(torch.tensor([0.0, 0.5, 100.0]))
    torch.testing.assert_close(skip, torch.tensor([1.0, 0.5, 0.25 / 10000.25]))
    torch.testing.assert_close(out * scale, torch.tensor([0.0, 0.5, 0.5 * 100.0 / 10000.25]))
    x = torch.rand(2, 1, 12, 12)
    torch.testing.assert_close(net(x, 1e-5), x, atol=1e-3, rtol=0)          # σ → 0: the identity
    sigma = torch.tensor([0.2, 0.7])
    torch.testing.assert_close(net.score(x, sigma), (net(x, sigma) - x) / sigma.view(-1, 1, 1, 1) ** 2)
    assert net.architecture() == {"in_channels": 1, "channels": [4, 8], "blocks": 1, "sigma_data": 0.5}


# --------------------------------------------------------------------------------------------------------
# Complex images (MRI): every part carries the noise level the denoiser is told
# --------------------------------------------------------------------------------------------------------

def test_samplers_on_complex_mri_match_the_gaussian_posterior():
    """A Gaussian prior N(0, v) on the real and on the imaginary part, fully sampled single-coil MRI (unitary),
    noise σ per part: the posterior of each part is N(v/(v+σ²)·x̂, vσ²/(v+σ²)) with x̂ = Aᴴy. ULA (its smoothed
    prior, v + ε) matches mean and variance; DiffPIR's and DPS's sample means come near the posterior mean."""
    from recon.operators import SingleCoilMRI
    from recon.priors.gaussian_mixture import GaussianMixture
    from recon.samplers import diffpir, dps, pnp_ula

    v, sigma, shape, chains = 0.5, 0.7, (4, 4), 400
    prior = GaussianMixture(torch.ones(1), torch.zeros(1, 16), torch.full((1, 16), v), shape=(1, *shape))

    def part_wise(x, s):
        return torch.complex(prior.denoise(x.real, s), prior.denoise(x.imag, s))

    operator = SingleCoilMRI(torch.ones(shape))
    generator = torch.Generator().manual_seed(3)
    truth = torch.complex(*(v**0.5 * torch.randn(2, 1, 1, *shape, generator=generator, dtype=torch.float64)))
    noise = torch.complex(*(sigma * torch.randn(2, 1, 1, *shape, generator=generator, dtype=torch.float64)))
    y = (operator.A(truth) + noise).repeat(chains, 1, 1, 1)
    observed = operator.A_adjoint(y[:1])
    assert float((operator.A_adjoint(operator.A(truth)) - truth).abs().max()) < 1e-12       # unitary

    epsilon = 0.01
    smoothed = v + epsilon
    chain = pnp_ula(y, operator, part_wise, noise_sigma=sigma, epsilon=epsilon, iterations=300, burn_in=300,
                    thin=100, generator=torch.Generator().manual_seed(0))
    shrink = smoothed / (smoothed + sigma**2)
    exact_variance = smoothed * sigma**2 / (smoothed + sigma**2)
    for part, seen in ((chain.real, observed.real), (chain.imag, observed.imag)):   # (kept, chains, 1, 4, 4)
        draws = part.reshape(-1, *shape)                                              # 1200 draws per pixel
        standard_error = (exact_variance / draws.shape[0]) ** 0.5
        assert float((draws.mean(dim=0) - shrink * seen[0, 0]).abs().max()) < 4.5 * standard_error
        assert 0.85 < float(draws.var(dim=0).mean() / exact_variance) < 1.15

    posterior_mean = v / (v + sigma**2) * observed
    samples = diffpir(y, operator, part_wise, noise_sigma=sigma, steps=50, lam=1.0, zeta=0.5, sigma_max=5.0,
                      generator=torch.Generator().manual_seed(1))
    assert float((samples.mean(dim=0) - posterior_mean[0]).abs().max()) < 0.25 * float(posterior_mean.abs().max())
    # DPS differentiates through the part-wise denoiser of a complex image (its step ignores σ_y, so at this
    # noise level it follows the data, not the posterior: only that it runs is checked here)
    drawn = dps(y[:2], operator, part_wise, noise_sigma=sigma, steps=10, sigma_max=5.0,
                generator=torch.Generator().manual_seed(1))
    assert drawn.is_complex() and bool(torch.isfinite(drawn.real).all() and torch.isfinite(drawn.imag).all())
