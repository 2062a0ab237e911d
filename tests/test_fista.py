"""FISTA: known answers (lstsq, NNLS, PDHG's TV-CT and Poisson-TV optima, the complex TV prox), backtracking, errors."""

import math

import pytest
import torch
from deepinv.optim import L1Prior

from recon.datasets.phantoms import shepp_logan
from recon.operators import ParallelBeamCT
from recon.priors import TV, NonNegativity, Identity
from recon.solvers.common import DivergenceError, Stopping
from recon.solvers.data_terms import PoissonLikelihood
from recon.solvers.fista import fista
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

    def error(result):
        return relative_error(result.x, solution)

    result = fista(y, operator, stopping=Stopping(max_iter=1500))
    assert error(result) < 1e-4, error(result)  # measured 4.4e-6; cond(A) = 267
    assert result.x.dtype == torch.float64
    # The function-value restart is what gets it there: plain FISTA is still at 3.6e-4.
    plain = fista(y, operator, restart=False, stopping=Stopping(max_iter=1500))
    assert error(plain) > 10 * error(result)


def test_non_negative_least_squares_matches_scipy_nnls(overdetermined):
    operator, y, matrix = overdetermined
    solution = nonnegative_least_squares_solution(matrix, y)
    assert (solution == 0).sum() > 10  # the constraint is active
    result = fista(y, operator, constraint=NonNegativity(), stopping=Stopping(max_iter=1000))
    assert float(result.x.min()) >= 0.0
    error = relative_error(result.x, solution)
    assert error < 1e-4, error  # measured 6.3e-6


def test_tv_ct_reaches_the_pdhg_optimum(overdetermined, tv_optimum):
    operator, y, _ = overdetermined
    prior = TV(STRENGTH, prox_tol=1e-6, prox_max_iter=100)
    result = fista(y, operator, prior, stopping=Stopping(max_iter=80))
    assert result.history.objective[-1] == pytest.approx(tv_optimum, rel=1e-4)  # measured 4.2e-6
    assert result.history.residual[-1] < 1e-4  # ‖x - z‖/‖x‖, measured 3.5e-5


def test_backtracking_recovers_from_a_far_too_long_first_step(overdetermined, tv_optimum):
    operator, y, _ = overdetermined
    lipschitz = float(operator.norm(dtype=torch.float64)) ** 2
    prior = TV(STRENGTH, prox_tol=1e-6, prox_max_iter=100)
    result = fista(y, operator, prior, step=1e4 / lipschitz, stopping=Stopping(max_iter=80))
    assert result.history.objective[-1] == pytest.approx(tv_optimum, rel=1e-4)  # measured 4.6e-6


def test_a_fixed_step_ten_times_too_long_raises_a_divergence_error(overdetermined):
    operator, y, _ = overdetermined
    lipschitz = float(operator.norm(dtype=torch.float64)) ** 2
    with pytest.raises(DivergenceError, match=r"fista: .* by iteration \d+; the step .* pass a smaller step"):
        fista(y, operator, step=10 / lipschitz, backtracking=False, stopping=Stopping(max_iter=200))


def test_poisson_tv_with_non_negativity_reaches_the_pdhg_optimum():
    """Photon counts (~5 per bin) with a background: the data term has no Lipschitz constant."""
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 21)[:-1], 24, image_shape=(N, N))
    phantom = shepp_logan(N, dtype=torch.float64)
    truth = phantom * (5.0 / float(operator.A(phantom).mean()))
    counts = torch.poisson(operator.A(truth) + 0.1, generator=torch.Generator().manual_seed(0))
    data = PoissonLikelihood(0.1)
    reference = pdhg(counts, operator, TV(1.0), data=data, constraint=NonNegativity(),
                     stopping=Stopping(max_iter=2000))
    result = fista(counts, operator, TV(1.0), data=data, constraint=NonNegativity(),
                   stopping=Stopping(max_iter=150))
    assert float(result.x.min()) >= 0.0
    # The likelihood carries a large constant, so compare the objectives' gap to their distance from x0 = 0.
    start = float(data.fn(operator.A(torch.zeros_like(truth)), counts).sum())
    optimum = reference.history.objective[-1]
    gap = (result.history.objective[-1] - optimum) / (start - optimum)
    assert abs(gap) < 1e-6, gap  # measured 2.4e-8
    # TV's optimum is flat, so the image agrees less closely than the objective (measured 1.1e-3).
    assert float((result.x - reference.x).norm() / reference.x.norm()) < 1e-2


def test_complex_tv_denoising_equals_the_tv_prox():
    truth = torch.zeros(1, 1, N, N, dtype=torch.complex128)
    truth[..., 4:12, 4:12] = 1 + 0.5j
    noisy = truth + 0.2 * torch.randn(truth.shape, generator=torch.Generator().manual_seed(1), dtype=torch.complex128)
    prior = TV(0.2, prox_max_iter=2000, prox_tol=1e-10)
    reference = prior.prox(noisy, gamma=1.0)
    # A first step of 1/2 (L = 2 > 1) makes FISTA iterate rather than land on the prox at once.
    result = fista(noisy, Identity(), TV(0.2, prox_max_iter=500, prox_tol=1e-8), step=0.5,
                   stopping=Stopping(max_iter=8))
    assert result.x.dtype == torch.complex128
    assert float((result.x - reference).abs().max()) < 2e-4  # measured 3e-5; noise 0.2, jump 1.1

    def objective(p):
        return float(0.5 * ((p - noisy).abs() ** 2).sum() + prior(p).sum())

    assert objective(result.x) == pytest.approx(objective(reference), rel=1e-5)


def test_bad_arguments_are_one_line_errors(overdetermined):
    operator, y, _ = overdetermined
    with pytest.raises(ValueError, match="fista: a constraint together with the prior L1Prior"):
        fista(y, operator, L1Prior(), constraint=NonNegativity())
    with pytest.raises(ValueError, match="fista: prior_weight must be >= 0"):
        fista(y, operator, TV(0.1), prior_weight=-1.0)
    with pytest.raises(ValueError, match="fista: step must be positive"):
        fista(y, operator, step=0.0)
    counts = torch.poisson(operator.A(shepp_logan(N, dtype=torch.float64)), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="has no Lipschitz constant; pass step="):
        fista(counts, operator, data=PoissonLikelihood(0.1), backtracking=False)
    with pytest.raises(ValueError, match="fista: the data term is infinite at x0"):
        fista(counts, operator, data=PoissonLikelihood(0.0))
