"""Data terms: values, gradients, proxes (optimality and Moreau's identity) for LS, weighted LS and Poisson."""

import pytest
import torch

from recon.solvers.data_terms import LeastSquares, PoissonLikelihood, WeightedLeastSquares

GENERATOR = torch.Generator().manual_seed(0)


def _cases():
    shape = (2, 1, 4, 5)
    weights = torch.rand(shape, generator=GENERATOR, dtype=torch.float64) + 0.5
    counts = torch.poisson(4 * torch.rand(shape, generator=GENERATOR, dtype=torch.float64), generator=GENERATOR)
    return [
        ("least squares", LeastSquares(), torch.randn(shape, generator=GENERATOR, dtype=torch.float64)),
        ("weighted", WeightedLeastSquares(weights), torch.randn(shape, generator=GENERATOR, dtype=torch.float64)),
        ("poisson", PoissonLikelihood(background=0.2), counts),
    ]


CASES = _cases()


@pytest.mark.parametrize("name, term, y", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_autograd(name, term, y):
    v = (torch.rand(y.shape, generator=GENERATOR, dtype=torch.float64) + 0.5).requires_grad_()
    term.fn(v, y).sum().backward()
    assert torch.allclose(term.grad(v.detach(), y), v.grad, atol=1e-12)


@pytest.mark.parametrize("name, term, y", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("gamma", [0.1, 2.0])
def test_prox_is_stationary(name, term, y, gamma):
    v = torch.randn(y.shape, generator=GENERATOR, dtype=torch.float64) + 1.0
    p = term.prox(v, y, gamma)
    # Optimality of argmin_p ½‖p - v‖² + γ f(p): (p - v) + γ ∇f(p) = 0 in the interior of the domain.
    interior = (p + term.background > 0) if isinstance(term, PoissonLikelihood) else torch.ones_like(p, dtype=bool)
    stationarity = (p - v + gamma * term.grad(p, y))[interior]
    assert torch.allclose(stationarity, torch.zeros_like(stationarity), atol=1e-10)
    if isinstance(term, PoissonLikelihood):
        # With no counts the prox lands on the boundary mean = 0: p = max(v - γ, -b).
        empty = y == 0
        assert torch.allclose(p[empty], torch.clamp(v - gamma, min=-term.background)[empty], atol=1e-12)


@pytest.mark.parametrize("name, term, y", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("sigma", [0.3, 5.0])
def test_moreau_identity(name, term, y, sigma):
    u = torch.randn(y.shape, generator=GENERATOR, dtype=torch.float64)
    # prox_{σf*}(u) + σ prox_{f/σ}(u/σ) = u
    assert torch.allclose(term.prox_conjugate(u, y, sigma) + sigma * term.prox(u / sigma, y, 1 / sigma), u,
                          atol=1e-12)


def test_diagonal_steps_act_elementwise():
    y = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    u = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    sigma = torch.rand(1, 1, 3, 3, dtype=torch.float64) + 0.1
    full = LeastSquares().prox_conjugate(u, y, sigma)
    for index in [(0, 0, 0, 0), (0, 0, 2, 1)]:
        single = LeastSquares().prox_conjugate(u[index], y[index], float(sigma[index]))
        assert float(full[index]) == pytest.approx(float(single))


def test_values():
    y = torch.tensor([[[[1.0, 2.0]]]], dtype=torch.float64)
    v = torch.tensor([[[[2.0, 2.0]]]], dtype=torch.float64)
    assert LeastSquares().fn(v, y).item() == pytest.approx(0.5)
    assert WeightedLeastSquares(torch.full_like(y, 4.0)).fn(v, y).item() == pytest.approx(2.0)
    poisson = PoissonLikelihood().fn(v, y).item()
    assert poisson == pytest.approx((2 - 1 * torch.log(torch.tensor(2.0))) + (2 - 2 * torch.log(torch.tensor(2.0))))
    assert PoissonLikelihood().fn(torch.zeros_like(v), y).item() == float("inf")


def test_weighted_least_squares_rejects_non_positive_weights():
    with pytest.raises(ValueError, match="weights must be positive"):
        WeightedLeastSquares(torch.tensor([1.0, 0.0]))
