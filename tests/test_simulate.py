"""Noise models: exact relative Gaussian level, CT photon statistics, photon-limited counts."""

import math

import pytest
import torch

from recon.datasets.simulate import ZERO_COUNT_FLOOR, add_gaussian_noise, add_poisson_noise, poisson_transmission

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def relative_noise(noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    return (noisy - clean).flatten(1).norm(dim=1) / clean.flatten(1).norm(dim=1)


# ---------------------------------------------------------------- Gaussian


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64, torch.complex128])
@pytest.mark.parametrize("level", [0.01, 0.05, 0.3])
def test_gaussian_relative_level_is_exact_per_item(dtype, level):
    generator = torch.Generator().manual_seed(0)
    # Items of very different norms: each one gets its own level.
    scales = torch.tensor([1e-3, 1.0, 250.0], dtype=torch.float64).reshape(3, 1, 1, 1)
    clean = (torch.randn(3, 2, 17, 9, generator=generator, dtype=torch.float64) * scales).to(dtype)
    noisy = add_gaussian_noise(clean, level, seed=1)
    assert noisy.dtype == dtype and noisy.shape == clean.shape
    ratio = relative_noise(noisy.to(torch.complex128 if dtype.is_complex else torch.float64), clean)
    assert torch.allclose(ratio, torch.full_like(ratio, level), rtol=1e-6, atol=0)


def test_gaussian_noise_is_white_and_complex_noise_is_circular():
    clean = torch.ones(1, 1, 256, 256, dtype=torch.complex128)
    noise = (add_gaussian_noise(clean, 0.1, seed=2) - clean).flatten()
    real, imag = noise.real, noise.imag
    # Equal power in both parts, uncorrelated, zero mean (σ of each estimate ≈ 1/256).
    assert float(real.pow(2).mean() / imag.pow(2).mean()) == pytest.approx(1.0, abs=0.02)
    assert abs(float(torch.corrcoef(torch.stack([real, imag]))[0, 1])) < 0.02
    assert abs(float(real.mean() / real.std())) < 0.02
    # No correlation between neighbours.
    field = real.reshape(256, 256)
    assert abs(float(torch.corrcoef(torch.stack([field[:, 1:].flatten(), field[:, :-1].flatten()]))[0, 1])) < 0.02


def test_gaussian_seeding():
    clean = torch.rand(2, 1, 8, 8)
    assert torch.equal(add_gaussian_noise(clean, 0.1, seed=5), add_gaussian_noise(clean, 0.1, seed=5))
    assert not torch.equal(add_gaussian_noise(clean, 0.1, seed=5), add_gaussian_noise(clean, 0.1, seed=6))
    generator = torch.Generator().manual_seed(5)
    first, second = add_gaussian_noise(clean, 0.1, seed=generator), add_gaussian_noise(clean, 0.1, seed=generator)
    assert not torch.equal(first, second)  # the generator advanced
    assert torch.equal(first, add_gaussian_noise(clean, 0.1, seed=5))
    assert add_gaussian_noise(clean, 0.1).shape == clean.shape


def test_gaussian_zero_level_and_zero_item():
    clean = torch.zeros(2, 1, 4, 4)
    clean[1] = 1.0
    assert torch.equal(add_gaussian_noise(clean, 0.0, seed=0), clean)
    noisy = add_gaussian_noise(clean, 0.2, seed=0)
    assert torch.equal(noisy[0], clean[0])  # an all-zero item gets no noise, not NaN
    assert float(relative_noise(noisy[1:], clean[1:])) == pytest.approx(0.2, rel=1e-6)


def test_gaussian_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"relative_level must be a finite number >= 0, got -0.1"):
        add_gaussian_noise(torch.ones(1, 1, 4), -0.1)
    with pytest.raises(ValueError, match="relative_level must be"):
        add_gaussian_noise(torch.ones(1, 1, 4), float("nan"))
    with pytest.raises(ValueError, match="y must be a real or complex floating tensor, got torch.int64"):
        add_gaussian_noise(torch.ones(1, 1, 4, dtype=torch.int64), 0.1)
    with pytest.raises(ValueError, match=r"y must be shaped \(batch, channel, \*spatial\), got shape \(4,\)"):
        add_gaussian_noise(torch.ones(4), 0.1)
    with pytest.raises(ValueError, match="seed must be None, an int or a torch.Generator, got str"):
        add_gaussian_noise(torch.ones(1, 1, 4), 0.1, seed="1")


# ---------------------------------------------------------------- CT transmission


def test_transmission_counts_have_poisson_mean_and_variance():
    photons, line_integral = 1000.0, 1.0
    expected = photons * math.exp(-line_integral)  # 367.9
    y = torch.full((1, 1, 100_000), line_integral, dtype=torch.float64)
    counts, noisy = poisson_transmission(y, photons, seed=0)
    assert counts.dtype == y.dtype and counts.shape == y.shape
    assert torch.equal(counts, counts.round()) and float(counts.min()) >= 0
    # Standard errors on 1e5 samples: 0.016 % of the mean, 0.45 % of the variance.
    assert float(counts.mean()) == pytest.approx(expected, rel=1e-3)
    assert float(counts.var()) == pytest.approx(expected, rel=0.03)
    # −log(N / I0) is nearly unbiased at these counts (bias ≈ 1/(2·368)), with variance ≈ 1 / (I0 e^{−y}).
    assert float(noisy.mean()) == pytest.approx(line_integral, abs=3e-3)
    assert float(noisy.var()) == pytest.approx(1.0 / expected, rel=0.05)


def test_transmission_per_pixel_rates():
    # A ramp of line integrals: each pixel's mean count follows I0 e^{−y}, across 4,000 repeats.
    y = torch.linspace(0.0, 4.0, 9, dtype=torch.float64).repeat(4000, 1, 1)
    counts, _ = poisson_transmission(y, 500.0, seed=3)
    expected = 500.0 * torch.exp(-y[0, 0])
    assert torch.allclose(counts.mean(dim=0)[0], expected, rtol=0.03)


def test_transmission_zero_counts_give_finite_floor():
    y = torch.tensor([[[0.0, 30.0, 60.0]]])
    photons = 100.0
    counts, noisy = poisson_transmission(y, photons, seed=0)
    assert torch.isfinite(noisy).all()
    assert counts[0, 0, 1:].tolist() == [0.0, 0.0]  # 100 e^{−30} ≈ 1e-11 expected photons
    floor_value = math.log(photons / ZERO_COUNT_FLOOR)  # −log(0.5 / 100) = 5.30
    assert noisy[0, 0, 1:].tolist() == pytest.approx([floor_value, floor_value], rel=1e-6)
    # The floor is still above the line integral of any pixel that counted one photon.
    assert floor_value > math.log(photons / 1.0)
    _, custom = poisson_transmission(y, photons, seed=0, zero_count_floor=0.25)
    assert float(custom[0, 0, 1]) == pytest.approx(math.log(photons / 0.25), rel=1e-6)


def test_transmission_is_seeded_and_validates():
    y = torch.rand(2, 1, 10, 12)
    assert torch.equal(poisson_transmission(y, 1e3, seed=4)[0], poisson_transmission(y, 1e3, seed=4)[0])
    assert not torch.equal(poisson_transmission(y, 1e3, seed=4)[0], poisson_transmission(y, 1e3, seed=5)[0])
    with pytest.raises(ValueError, match="photons must be a finite number > 0, got 0"):
        poisson_transmission(y, 0)
    with pytest.raises(ValueError, match="line_integrals must be finite"):
        poisson_transmission(torch.full((1, 1, 3), float("nan")), 1e3)
    with pytest.raises(ValueError, match=r"zero_count_floor must be in \(0, 1\]"):
        poisson_transmission(y, 1e3, zero_count_floor=2.0)
    with pytest.raises(ValueError, match="line_integrals must be a real floating tensor"):
        poisson_transmission(torch.ones(1, 1, 3, dtype=torch.complex64), 1e3)


# ---------------------------------------------------------------- photon-limited intensity


def test_poisson_noise_scales_each_item_to_its_peak():
    peak = 50.0
    base = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    # The same image at three brightnesses, 20,000 times each: the scale is per item, so
    # every item's counts have rates peak · x / max x, whatever the brightness.
    x = torch.cat([s * base.repeat(20_000, 1, 1) for s in (0.01, 1.0, 300.0)])
    counts = add_poisson_noise(x, peak, seed=0)
    assert counts.dtype == x.dtype and torch.equal(counts, counts.round())
    rates = peak * base
    for part in counts.split(20_000):
        assert torch.allclose(part.mean(dim=0)[0], rates, rtol=0.01, atol=0.0)
        assert torch.allclose(part.var(dim=0)[0], rates, rtol=0.05, atol=0.0)
    assert float(counts[:, 0, 0].abs().max()) == 0.0  # zero intensity, zero photons


def test_poisson_noise_edge_cases_and_validation():
    x = torch.zeros(2, 1, 5)
    x[1] = 2.0
    counts = add_poisson_noise(x, 10.0, seed=1)
    assert torch.equal(counts[0], x[0])  # an all-zero item stays zero, not NaN
    assert torch.isfinite(counts).all()
    assert torch.equal(add_poisson_noise(x, 10.0, seed=1), counts)
    with pytest.raises(ValueError, match="x must be non-negative"):
        add_poisson_noise(-torch.ones(1, 1, 3), 10.0)
    with pytest.raises(ValueError, match="peak must be a finite number > 0, got -1"):
        add_poisson_noise(torch.ones(1, 1, 3), -1)


@needs_cuda
def test_noise_stays_on_cuda_and_accepts_a_cpu_generator():
    y = torch.rand(2, 1, 16, 16, device="cuda")
    noisy = add_gaussian_noise(y, 0.1, seed=0)
    assert noisy.device == y.device
    assert torch.allclose(relative_noise(noisy, y), torch.full((2,), 0.1, device="cuda"), rtol=1e-5)
    from_cpu_generator = add_gaussian_noise(y, 0.1, seed=torch.Generator().manual_seed(0))
    assert from_cpu_generator.device == y.device
    counts, noisy_integrals = poisson_transmission(y, 1e3, seed=0)
    assert counts.device == y.device and torch.isfinite(noisy_integrals).all()
    assert add_poisson_noise(y, 20.0, seed=torch.Generator(device="cuda").manual_seed(1)).device == y.device
