"""C-SALSA for min R(x) s.t. ‖Ax − y‖ ≤ ε: known answers, CVXPY, the constraint, the stopping rule, bad input."""

import math

import numpy as np
import pytest
import torch
from deepinv.physics import LinearPhysics

from recon.priors import L1, TV, OnMagnitude
from recon.solvers.common import Stopping
from recon.solvers.csalsa import csalsa, noise_ball_radius, project_onto_ball

cp = pytest.importorskip("cvxpy", reason="cvxpy is a test dependency: pip install -e '.[test]'")


def _matrix_operator(matrix: torch.Tensor) -> LinearPhysics:
    """A dense matrix as an operator on (batch, 1, n) tensors."""
    return LinearPhysics(A=lambda x: x @ matrix.T, A_adjoint=lambda v: v @ matrix.conj())


@pytest.fixture(scope="module")
def sparse_problem():
    """30 noisy complex measurements of a 6-sparse complex vector of 50, ε = σ√M, and CVXPY's ℓ1 solution."""
    rng = np.random.default_rng(0)
    m, n = 30, 50
    matrix = (rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))) / np.sqrt(2 * m)
    truth = np.zeros(n, complex)
    truth[rng.choice(n, 6, replace=False)] = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    sigma = 0.05
    y = matrix @ truth + sigma * (rng.standard_normal(m) + 1j * rng.standard_normal(m)) / np.sqrt(2)
    epsilon = noise_ball_radius(sigma, m)
    x = cp.Variable(n, complex=True)
    problem = cp.Problem(cp.Minimize(cp.norm1(x)), [cp.norm(matrix @ x - y, 2) <= epsilon])
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    return _matrix_operator(torch.tensor(matrix)), torch.tensor(y).reshape(1, 1, m), epsilon, x.value


def _relative_error(estimate: torch.Tensor, reference: np.ndarray) -> float:
    return float(np.linalg.norm(estimate.reshape(-1).numpy() - reference) / np.linalg.norm(reference))


@pytest.mark.parametrize("prior", [OnMagnitude(L1(1.0)), L1(1.0)], ids=["l1-on-magnitude", "complex-l1"])
def test_l1_matches_cvxpy(sparse_problem, prior):
    operator, y, epsilon, reference = sparse_problem
    tight = csalsa(y, operator, prior, epsilon=epsilon, penalty=10.0, cg_tol=1e-12,
                   stopping=Stopping(max_iter=2000, tol=1e-9))
    assert tight.stop_reason == "tol"
    assert _relative_error(tight.x, reference) < 1e-6     # measured 1.4e-7
    assert tight.history.objective[-1] == pytest.approx(np.abs(reference).sum(), rel=1e-8)   # measured 5.9e-10
    assert float((operator.A(tight.x) - y).norm()) <= epsilon * (1 + 1e-8)                   # measured 1.5e-9 over
    # The paper's rule (|x| changing by less than 5e-4) stops early, already close.
    paper = csalsa(y, operator, prior, epsilon=epsilon, penalty=10.0)
    assert paper.stop_reason == "tol" and paper.iterations < 50                              # measured 37
    assert _relative_error(paper.x, reference) < 5e-3                                        # measured 1.4e-3
    assert float((operator.A(paper.x) - y).norm()) <= epsilon * (1 + 1e-3)


def test_over_relaxation_reaches_the_same_solution_sooner(sparse_problem):
    operator, y, epsilon, reference = sparse_problem
    stop = Stopping(max_iter=2000, tol=1e-9)
    runs = {alpha: csalsa(y, operator, OnMagnitude(L1(1.0)), epsilon=epsilon, penalty=10.0, cg_tol=1e-12,
                          relaxation=alpha, stopping=stop) for alpha in (1.0, 1.7)}
    for run in runs.values():
        assert run.stop_reason == "tol" and _relative_error(run.x, reference) < 1e-6
    assert runs[1.7].iterations < 0.8 * runs[1.0].iterations        # measured 57 against 96 (tol 1e-9)


def test_stopping_rule_fires_on_the_change_of_the_magnitude(sparse_problem):
    operator, y, epsilon, _ = sparse_problem
    result = csalsa(y, operator, OnMagnitude(L1(1.0)), epsilon=epsilon, penalty=10.0)
    change = result.history.relative_change
    assert result.stop_reason == "tol" and change[-1] < 5e-4 and min(change[1:-1]) >= 5e-4
    assert len(result.history.residual) == result.iterations and all(r >= 0 for r in result.history.residual)


@pytest.mark.parametrize("prior, penalty", [(OnMagnitude(TV(0.5, ndim=1)), 100.0), (OnMagnitude(L1(0.5)), 1.0),
                                             (TV(0.5, ndim=1), 1.0)], ids=["tv-on-magnitude", "l1-on-magnitude", "tv"])
def test_zero_epsilon_with_an_invertible_operator_gives_the_inverse(prior, penalty):
    # TV on |x| is not convex: with penalty 10 (threshold 0.05) it was still 5 % off after 3000 iterations.
    g = torch.Generator().manual_seed(1)
    n = 20
    matrix = torch.eye(n, dtype=torch.complex128) + 0.3 * torch.randn(n, n, generator=g, dtype=torch.complex128) / n ** 0.5
    truth = torch.randn(1, 1, n, generator=g, dtype=torch.complex128)
    y = truth @ matrix.T
    result = csalsa(y, _matrix_operator(matrix), prior, epsilon=0.0, penalty=penalty, cg_tol=1e-12,
                    stopping=Stopping(max_iter=1000, tol=1e-10))
    expected = torch.linalg.solve(matrix, y.reshape(-1))
    assert result.stop_reason == "tol"
    assert float((result.x.reshape(-1) - expected).norm() / expected.norm()) < 1e-8   # measured 3e-9 at most


@pytest.mark.parametrize("factor", [1e-6, 1e7])
def test_normalised_runs_are_scale_equivariant(sparse_problem, factor):
    operator, y, epsilon, _ = sparse_problem
    prior = OnMagnitude(L1(1.0))
    base = csalsa(y, operator, prior, epsilon=epsilon, penalty=10.0)
    scaled = csalsa(factor * y, operator, prior, epsilon=factor * epsilon, penalty=10.0)
    assert scaled.iterations == base.iterations
    assert float((scaled.x / factor - base.x).norm() / base.x.norm()) < 1e-12     # measured 7e-16
    # Without normalising, the same penalty means a different threshold and the paper's rule stops far off.
    raw = csalsa(1e3 * y, operator, prior, epsilon=1e3 * epsilon, penalty=10.0, normalise=False)
    assert float((raw.x / 1e3 - base.x).norm() / base.x.norm()) > 0.3               # measured 0.63


def test_batch_elements_with_their_own_epsilon_are_solved_independently(sparse_problem):
    operator, y, epsilon, _ = sparse_problem
    # CG runs on the batch as one system, so the paths differ; the solutions do not.
    prior, stop = OnMagnitude(L1(1.0)), Stopping(max_iter=2000, tol=1e-9)
    both = csalsa(torch.cat([y, 2 * y]), operator, prior, epsilon=torch.tensor([epsilon, 0.5 * epsilon]),
                  penalty=10.0, cg_tol=1e-12, stopping=stop)
    second = csalsa(2 * y, operator, prior, epsilon=0.5 * epsilon, penalty=10.0, cg_tol=1e-12, stopping=stop)
    first = csalsa(y, operator, prior, epsilon=epsilon, penalty=10.0, cg_tol=1e-12, stopping=stop)
    assert float((both.x[1:] - second.x).norm() / second.x.norm()) < 1e-7   # measured 5e-9
    assert float((both.x[:1] - first.x).norm() / first.x.norm()) < 1e-7     # measured 8e-9


def test_noise_ball_radius_is_the_norm_of_complex_noise():
    sigma, m = 0.3, 20000
    g = torch.Generator().manual_seed(2)
    noise = sigma * torch.complex(torch.randn(m, generator=g), torch.randn(m, generator=g)) / math.sqrt(2)
    assert float(noise.norm()) == pytest.approx(noise_ball_radius(sigma, m), rel=0.01)   # measured 0.014 %
    with pytest.raises(ValueError, match="sigma"):
        noise_ball_radius(-1.0, 10)
    with pytest.raises(ValueError, match="n_measurements"):
        noise_ball_radius(0.1, 0)


def test_projection_onto_the_ball():
    y = torch.zeros(2, 1, 2)
    s = torch.tensor([[[3.0, 4.0]], [[0.3, 0.4]]])
    out = project_onto_ball(s, y, torch.tensor([1.0, 1.0]))
    assert torch.allclose(out, torch.tensor([[[0.6, 0.8]], [[0.3, 0.4]]]))


def test_bad_parameters(sparse_problem):
    operator, y, epsilon, _ = sparse_problem
    prior = L1(1.0)
    for bad in (-1.0, math.nan, [1.0, 2.0]):
        with pytest.raises(ValueError, match="epsilon"):
            csalsa(y, operator, prior, epsilon=bad)
    with pytest.raises(ValueError, match="kappa"):
        csalsa(y, operator, prior, epsilon=epsilon, kappa=0.0)
    with pytest.raises(ValueError, match="penalty"):
        csalsa(y, operator, prior, epsilon=epsilon, penalty=-1.0)
    for bad in (0.0, 2.0):
        with pytest.raises(ValueError, match="relaxation"):
            csalsa(y, operator, prior, epsilon=epsilon, relaxation=bad)
    with pytest.raises(TypeError, match="prox"):
        csalsa(y, operator, object(), epsilon=epsilon)
