"""deconvolution_admm: the same optimum as PDHG on the same objective, on every x-update path, and its errors."""

from __future__ import annotations

import pytest
import torch

from recon.operators.blur import Blur
from recon.operators.psf import gaussian_psf, motion_psf
from recon.priors import TV, L1Wavelet, NonNegativity
from recon.solvers.common import Stopping
from recon.solvers.data_terms import PoissonLikelihood
from recon.solvers.deconvolution_admm import deconvolution_admm, x_update_path
from recon.solvers.deconvolution_transforms import PeriodicTV
from recon.solvers.pdhg import pdhg

N = 20


def _truth() -> torch.Tensor:
    x = torch.zeros(1, 1, N, N, dtype=torch.float64)
    x[..., 3:12, 5:16] = 1.0
    x[..., 8:18, 2:8] += 0.5
    return x


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


CASES = [  # (boundary, prior, path, measured relative distance to PDHG's optimum, the larger of x >= 0 or not)
    ("circular", PeriodicTV, "fft", 6.3e-4),
    ("reflect", TV, "dct", 2.8e-4),
    ("circular", TV, "pcg", 2.3e-4),
    ("zero", TV, "pcg", 1.9e-4),
]


@pytest.mark.parametrize("boundary, prior, path, measured", CASES)
@pytest.mark.parametrize("nonnegative", [False, True])
def test_least_squares_tv_reaches_the_pdhg_optimum(boundary, prior, path, measured, nonnegative):
    truth = _truth()
    blur = Blur(gaussian_psf(7, 1.2), (N, N), boundary)
    assert x_update_path(blur, prior(0.01).split()[0]) == path
    noise = torch.randn(truth.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = blur.A(truth) + 0.02 * noise
    reference = pdhg(y, blur, prior(0.01), constraint=NonNegativity() if nonnegative else None,
                     preconditioning="scalar", stopping=Stopping(max_iter=3000)).x
    result = deconvolution_admm(y, blur, prior(0.01), nonnegative=nonnegative, stopping=Stopping(max_iter=300))
    distance = _relative(result.x, reference)
    assert distance < 2 * measured
    if nonnegative:
        assert float(result.x.min()) > -1e-3


def test_poisson_tv_reaches_the_pdhg_optimum():
    truth = _truth()
    blur = Blur(gaussian_psf(7, 1.2), (N, N), "reflect")
    counts = torch.poisson((20 * blur.A(truth)).clamp_min(0), generator=torch.Generator().manual_seed(1))
    reference = pdhg(counts, blur, TV(0.5), data=PoissonLikelihood(), constraint=NonNegativity(),
                     preconditioning="scalar", stopping=Stopping(max_iter=6000)).x
    result = deconvolution_admm(counts, blur, TV(0.5), data=PoissonLikelihood(), nonnegative=True,
                                stopping=Stopping(max_iter=600))
    distance = _relative(result.x, reference)
    assert distance < 0.04      # measured 0.026 (PDHG's 6,000 iterations are within 0.003 of 20,000)


def test_wavelet_prior_takes_the_fft_path():
    truth = _truth()
    blur = Blur(gaussian_psf(7, 1.2), (N, N + 8))
    x = torch.nn.functional.pad(truth, (4, 4))
    y = blur.A(x)
    prior = L1Wavelet(1e-3, wavelet="haar", levels=2)
    assert x_update_path(blur, prior.split()[0]) == "fft"
    result = deconvolution_admm(y, blur, prior, stopping=Stopping(max_iter=100))
    assert _relative(result.x, x) < 0.5 * _relative(y, x)


def test_asymmetric_psf_with_reflection_falls_back_to_pcg():
    blur = Blur(motion_psf(9, 6, 30), (N, N), "reflect")
    assert x_update_path(blur, TV().split()[0]) == "pcg"


def test_errors_are_one_line():
    blur = Blur(gaussian_psf(5, 1.0), (N, N))
    y = torch.zeros(1, 1, N, N)
    with pytest.raises(ValueError, match="must be real"):
        deconvolution_admm(y.to(torch.complex64), blur, TV(0.1))
    with pytest.raises(ValueError, match="split"):
        deconvolution_admm(y, blur, NonNegativity())
    with pytest.raises(ValueError, match="penalty must be positive"):
        deconvolution_admm(y, blur, TV(0.1), penalty=0.0)
    with pytest.raises(ValueError, match="pcg_steps"):
        deconvolution_admm(y, blur, TV(0.1), pcg_steps=0)


@pytest.mark.parametrize("width", [16, 15])
def test_the_least_squares_misfit_from_coefficients_equals_the_pixels_one(width):
    # Parseval on the half spectrum (FFT path) and orthonormality (DCT path): the misfit is valued
    # without an inverse transform, so it must equal ||u - v||^2 computed on the pixels.
    from recon.operators.blur import Blur
    from recon.operators.psf import gaussian_psf
    from recon.solvers.deconvolution_transforms import CosineDiagonal, FourierDiagonal

    g = torch.Generator().manual_seed(11)
    u, v = (torch.randn(2, 3, 12, width, dtype=torch.float64, generator=g) for _ in range(2))
    for basis, boundary in ((FourierDiagonal, "circular"), (CosineDiagonal, "reflect")):
        transform = basis(Blur(gaussian_psf(5, 1.0), (12, width), boundary), u)
        got = transform.squared_distance(transform.forward(u), transform.forward(v))
        assert got == pytest.approx(float((u - v).square().sum()), rel=1e-12)
