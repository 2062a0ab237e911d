"""ADMM: known answers (lstsq, NNLS, TV-CT and Poisson optima from PDHG, the complex TV prox) in each split, errors."""

import math

import pytest
import torch
from deepinv.optim import L1Prior

from recon.datasets.phantoms import shepp_logan
from recon.operators import ParallelBeamCT
from recon.priors import TV, NonNegativity, Identity
from recon.solvers.admm import admm
from recon.solvers.common import Stopping
from recon.solvers.data_terms import PoissonLikelihood
from recon.solvers.pdhg import pdhg
import problems
from problems import least_squares_solution, nonnegative_least_squares_solution, overdetermined_ct, relative_error

N, STRENGTH = 16, 0.5


@pytest.fixture(scope="module")
def overdetermined():
    return overdetermined_ct(N)


@pytest.fixture(scope="module")
def tv_optimum(overdetermined):
    operator, y, _ = overdetermined
    return problems.tv_optimum(operator, y, STRENGTH)


def test_least_squares_without_prior_reaches_the_lstsq_solution(overdetermined):
    operator, y, matrix = overdetermined
    solution = least_squares_solution(matrix, y)
    # No prior: the proximal-point method x⁺ = (AᵀA + ρI)⁻¹(Aᵀy + ρx), contracting by ρ/(σ_min² + ρ) = 0.54.
    result = admm(y, operator, penalty=0.01, cg_max_iter=50, cg_tol=1e-12, stopping=Stopping(max_iter=50))
    assert relative_error(result.x, solution) < 1e-6  # measured 1.1e-8


def test_non_negative_least_squares_matches_scipy_nnls(overdetermined):
    operator, y, matrix = overdetermined
    solution = nonnegative_least_squares_solution(matrix, y)
    assert (solution == 0).sum() > 10  # the constraint is active
    result = admm(y, operator, NonNegativity(), penalty=1.0, cg_tol=1e-10, stopping=Stopping(max_iter=300))
    assert float(result.x.min()) >= 0.0  # the estimate is the projection z
    assert relative_error(result.x, solution) < 1e-3  # measured 3.6e-4: ADMM's linear rate is slow on NNLS


@pytest.mark.parametrize("options", [dict(penalty=10.0), dict(penalty=1.0, balance_penalty=True)],
                         ids=["rho=10", "balanced-from-rho=1"])
def test_linear_split_tv_ct_reaches_the_pdhg_optimum(overdetermined, tv_optimum, options):
    operator, y, _ = overdetermined
    result = admm(y, operator, TV(STRENGTH), split="linear", stopping=Stopping(max_iter=300), **options)
    assert result.history.objective[-1] == pytest.approx(tv_optimum, rel=1e-4)  # measured 1.4e-6, 1.1e-5


def test_prox_split_tv_ct_reaches_the_pdhg_optimum(overdetermined, tv_optimum):
    operator, y, _ = overdetermined
    result = admm(y, operator, TV(STRENGTH, prox_tol=1e-7), split="prox", penalty=10.0,
                  stopping=Stopping(max_iter=15))
    assert result.history.objective[-1] == pytest.approx(tv_optimum, rel=1e-4)  # measured 7e-6


def test_residual_tol_stops_on_boyds_relative_residuals(overdetermined, tv_optimum):
    operator, y, _ = overdetermined
    result = admm(y, operator, TV(STRENGTH), penalty=10.0, stopping=Stopping(max_iter=1000, residual_tol=1e-5))
    assert result.stop_reason == "residual_tol" and result.iterations < 1000
    assert result.history.residual[-1] < 1e-5
    assert result.history.objective[-1] == pytest.approx(tv_optimum, rel=1e-4)  # 292 iterations, 2.5e-6


def test_poisson_with_non_negativity_reaches_the_pdhg_optimum():
    """The Poisson term has no quadratic form, so it gets its own split v = Ax (SALSA)."""
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 21)[:-1], 24, image_shape=(N, N))
    phantom = shepp_logan(N, dtype=torch.float64)
    truth = phantom * (5.0 / float(operator.A(phantom).mean()))
    counts = torch.poisson(operator.A(truth) + 0.1, generator=torch.Generator().manual_seed(0))
    data = PoissonLikelihood(0.1)
    reference = pdhg(counts, operator, None, data=data, constraint=NonNegativity(), stopping=Stopping(max_iter=1000))
    result = admm(counts, operator, NonNegativity(), data=data, penalty=1.0, cg_max_iter=10, cg_tol=1e-10,
                  stopping=Stopping(max_iter=200))
    assert float(result.x.min()) >= 0.0
    # The likelihood carries a large constant, so compare the objectives' gap to their distance from x0 = 0.
    start = float(data.fn(operator.A(torch.zeros_like(truth)), counts).sum())
    optimum = reference.history.objective[-1]
    gap = (result.history.objective[-1] - optimum) / (start - optimum)
    assert abs(gap) < 1e-4, gap  # measured 9.7e-6


def test_complex_tv_denoising_equals_the_tv_prox():
    truth = torch.zeros(1, 1, N, N, dtype=torch.complex128)
    truth[..., 4:12, 4:12] = 1 + 0.5j
    noisy = truth + 0.2 * torch.randn(truth.shape, generator=torch.Generator().manual_seed(1), dtype=torch.complex128)
    prior = TV(0.2, prox_max_iter=2000, prox_tol=1e-10)
    reference = prior.prox(noisy, gamma=1.0)
    result = admm(noisy, Identity(), TV(0.2), penalty=10.0, cg_tol=1e-10, stopping=Stopping(max_iter=300))
    assert result.x.dtype == torch.complex128
    assert float((result.x - reference).abs().max()) < 2e-4  # measured 2.6e-5; noise 0.2, jump 1.1

    def objective(p):
        return float(0.5 * ((p - noisy).abs() ** 2).sum() + prior(p).sum())

    assert objective(result.x) == pytest.approx(objective(reference), rel=1e-6)


def test_bad_arguments_are_one_line_errors(overdetermined):
    operator, y, _ = overdetermined
    with pytest.raises(ValueError, match="admm: split must be one of auto, prox, linear, got 'fancy'"):
        admm(y, operator, TV(0.1), split="fancy")
    with pytest.raises(ValueError, match="admm: split='linear' needs a prior with split"):
        admm(y, operator, L1Prior(), split="linear")
    with pytest.raises(ValueError, match="admm: penalty must be positive"):
        admm(y, operator, TV(0.1), penalty=0.0)
    with pytest.raises(ValueError, match="admm: prior_weight must be >= 0"):
        admm(y, operator, TV(0.1), prior_weight=-0.5)
