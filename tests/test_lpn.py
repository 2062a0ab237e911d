"""Learned proximal networks: ψ convex, f = ∇ψ, and f the prox of the prior R that LearnedProximal evaluates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recon.networks.lpn import LearnedProximalNetwork, LearnedProximalNetwork1d
from recon.priors.learned_proximal import LearnedProximal


def _random_network(seed: int = 0, **options) -> LearnedProximalNetwork:
    """A small LPN whose weights are far from its start (scaled up), in float64."""
    torch.manual_seed(seed)
    net = LearnedProximalNetwork(**{"hidden": 6, "layers": 2, "beta": 10.0, "alpha": 0.1, **options}).double()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(3)
    net.project()
    return net


def _convexity_gaps(potential, a: torch.Tensor, b: torch.Tensor, steps: int = 9) -> torch.Tensor:
    """ψ(a + t(b - a)) - [(1 - t)ψ(a) + tψ(b)] on a grid of t; ≤ 0 everywhere for a convex ψ."""
    t = torch.linspace(0, 1, steps, dtype=a.dtype)[1:-1]
    with torch.no_grad():
        ends = potential(a), potential(b)
        return torch.stack([potential(a + s * (b - a)) - ((1 - s) * ends[0] + s * ends[1]) for s in t])


def test_potential_is_convex_on_random_segments_even_after_negative_weights_are_loaded():
    net = _random_network()
    state = {key: -value.abs() for key, value in net.state_dict().items()}      # every weight negative
    net.load_state_dict(state)                                                  # projected on load
    assert all(bool((w >= 0).all()) for w in net.constrained())
    g = torch.Generator().manual_seed(1)
    a, b = (3 * torch.randn(20, 1, 8, 8, generator=g, dtype=torch.float64) for _ in range(2))
    assert float(_convexity_gaps(net.potential, a, b).max()) <= 1e-10


def test_a_potential_with_negative_hidden_weights_is_caught_by_the_segment_check():
    """The check can fail: without the projection a potential is not convex on some segment."""
    net = _random_network()
    with torch.no_grad():
        for weight in net.constrained():
            weight.copy_(-weight.abs() * 5)
    g = torch.Generator().manual_seed(1)
    a, b = (3 * torch.randn(20, 1, 8, 8, generator=g, dtype=torch.float64) for _ in range(2))
    assert float(_convexity_gaps(net.potential, a, b).max()) > 1e-3


def test_network_output_is_the_gradient_of_the_potential():
    net = _random_network()
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    direction = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    eps = 1e-6
    with torch.no_grad():
        numeric = (net.potential(x + eps * direction) - net.potential(x - eps * direction)) / (2 * eps)
    analytic = (net(x) * direction).flatten(1).sum(dim=1)
    assert torch.allclose(numeric, analytic, rtol=1e-6, atol=1e-8)
    assert torch.autograd.gradcheck(lambda t: net.potential(t), (x.clone().requires_grad_(),))


def test_the_one_dimensional_network_is_monotone():
    """f = ψ' with ψ convex is non-decreasing."""
    torch.manual_seed(0)
    net = LearnedProximalNetwork1d(hidden=8, layers=2)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(3)
    net.project()
    with torch.no_grad():
        values = net(torch.linspace(-4, 4, 401)[:, None])[:, 0]
    assert float(torch.diff(values).min()) >= -1e-6


def test_inversion_recovers_the_input_and_the_prior_gradient_is_y_minus_x():
    prior = LearnedProximal(_random_network(), tolerance=1e-10)
    v = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    x = prior.prox(v)
    y = prior.invert(x)
    assert float((y - v).abs().max()) < 1e-5 and prior.last_residual < 1e-6
    # R's gradient y(x) - x against a central difference of fn
    direction = torch.randn_like(x)
    eps = 1e-5
    numeric = (prior.fn(x + eps * direction) - prior.fn(x - eps * direction)) / (2 * eps)
    assert torch.allclose(numeric, ((y - x) * direction).flatten(1).sum(dim=1), rtol=1e-4, atol=1e-6)


def _generic_prox(prior: LearnedProximal, v: torch.Tensor, weight: float) -> torch.Tensor:
    """argmin ½‖x - v‖² + weight·R(x) by scipy's L-BFGS-B on function values only (finite-difference gradients)."""
    from scipy.optimize import minimize

    shape = v.shape

    def objective(flat: np.ndarray) -> float:
        x = torch.from_numpy(flat).view(shape)
        return float(0.5 * ((x - v) ** 2).sum() + weight * prior.fn(x).sum())

    found = minimize(objective, v.flatten().numpy(), method="L-BFGS-B",
                     options={"maxiter": 300, "ftol": 1e-15, "gtol": 1e-9})
    return torch.from_numpy(found.x).view(shape)


def test_network_is_the_prox_of_the_evaluated_prior():
    """prox_R(v) = f(v): a generic solver on ½‖x - v‖² + R(x), R evaluated by inversion, lands on f(v)."""
    prior = LearnedProximal(_random_network(), inversion_steps=100, tolerance=1e-9)
    v = torch.rand(1, 1, 2, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    learned = prior.prox(v)
    assert float((learned - v).norm()) > 0.5                       # far from the identity
    generic = _generic_prox(prior, v, 1.0)
    assert float((generic - learned).abs().max()) < 1e-5


def test_prox_with_a_smaller_weight_solves_its_own_problem():
    """prox_{gR} for g in (0, 1) by the inner convex solve equals the generic minimiser of ½‖x - v‖² + gR(x)."""
    prior = LearnedProximal(_random_network(), inversion_steps=100, tolerance=1e-9)
    v = torch.rand(1, 1, 2, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    inner = prior.prox(v, gamma=0.4)
    generic = _generic_prox(prior, v, 0.4)
    assert float((generic - inner).abs().max()) < 1e-5
    assert float((inner - prior.prox(v)).abs().max()) > 1e-2       # and differs from the weight-1 prox


def test_prox_refuses_weights_above_one_and_complex_images():
    prior = LearnedProximal(_random_network(), strength=2.0)
    v = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="gamma \\* strength in \\(0, 1\\]"):
        prior.prox(v, gamma=1.0)
    with pytest.raises(ValueError, match="real images"):
        prior.prox(v.to(torch.complex128), gamma=0.5)
    with pytest.raises(ValueError, match="image_range"):
        LearnedProximal(_random_network(), image_range=(1.0, 1.0))


def test_image_range_maps_the_users_units_onto_the_networks():
    """prox in units (l, l + s) is l + s f((x - l)/s) and R_s = s² R((x - l)/s)."""
    net = _random_network()
    unit, scaled = LearnedProximal(net), LearnedProximal(net, image_range=(-2.0, 3.0))
    u = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    x = -2.0 + 5.0 * u
    assert torch.allclose(scaled.prox(x), -2.0 + 5.0 * unit.prox(u))
    assert torch.allclose(scaled.fn(x), 25.0 * unit.fn(u), rtol=1e-6)


# --- ct-lpn: the learned prior inside recon's ADMM and PDHG ------------------------------------------------


@pytest.fixture(scope="module")
def tiny_lpn_file(tmp_path_factory):
    """A small random LPN in a .safetensors file, as `recon train lpn` writes one."""
    import json

    from safetensors.torch import save_file

    torch.manual_seed(0)
    arguments = {"in_channels": 1, "hidden": 8, "layers": 2, "beta": 10.0, "alpha": 0.2}
    network = LearnedProximalNetwork(**arguments)
    path = tmp_path_factory.mktemp("lpn") / "tiny-lpn.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(path),
              metadata={"architecture": "lpn", "arguments": json.dumps(arguments)})
    return str(path)


def _run(overrides, measurement):
    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement

    return reconstruct_measurement(load_experiment("ct-lpn", overrides), measurement)[0]


def test_admm_and_pdhg_reach_the_same_minimiser_of_the_learned_objective(tiny_lpn_file):
    from recon.datasets.heldout_problems import few_view_ct

    scan = few_view_ct("validation", count=1, size=32, views=12)
    common = [f"prior.weights={tiny_lpn_file}", "prior.strength=0.05"]
    admm = _run(common + ["solver.max_iter=300", "solver.cg_max_iter=20"], scan)
    pdhg = _run(common + ["solver.kind=pdhg", "solver.max_iter=3000"], scan)
    assert admm.iterations == 300 and torch.isfinite(admm.image).all()
    gap = float((admm.image - pdhg.image).norm() / admm.image.norm())
    assert gap < 1e-3, gap


def test_learned_prior_kind_errors_name_the_key(tiny_lpn_file):
    from recon.datasets.heldout_problems import few_view_ct

    scan = few_view_ct("validation", count=1, size=32, views=12)
    with pytest.raises(ValueError, match="prior.denoiser: drunet-small-phantom is a small-drunet network, not a "
                                         "learned proximal network"):
        _run(["prior.denoiser=drunet-small-phantom"], scan)
    with pytest.raises(ValueError, match="solved by admm or pdhg, not fista"):
        _run([f"prior.weights={tiny_lpn_file}", "solver.kind=fista"], scan)
    with pytest.raises(ValueError, match="solver.constraint"):
        _run([f"prior.weights={tiny_lpn_file}", "solver.constraint=nonnegative"], scan)
