"""deepinv interop, both ways: recon's priors inside deepinv's optimisers, deepinv's priors inside recon's solvers."""

import math

import pytest
import torch
from deepinv.optim import optim_builder
from deepinv.optim.data_fidelity import L2

from recon.datasets.phantoms import shepp_logan
from recon.operators import ParallelBeamCT
from recon.priors import TV, WeightedTV, weights_from_pilot
from recon.solvers.common import Stopping
from recon.solvers.pdhg import pdhg

N, STRENGTH = 16, 0.5


@pytest.fixture(scope="module")
def problem():
    operator = ParallelBeamCT(torch.linspace(0, math.pi, 13)[:-1], 24, image_shape=(N, N))
    truth = shepp_logan(N, dtype=torch.float64)
    clean = operator.A(truth)
    y = clean + 0.05 * torch.randn(clean.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return operator, truth, y


def _objective(operator, y, prior, x):
    return float(0.5 * ((operator.A(x) - y) ** 2).sum() + prior(x).sum())


@pytest.mark.parametrize("kind", ["tv", "weighted_tv"])
def test_recon_priors_run_in_deepinv_optim_builder(problem, kind):
    operator, truth, y = problem
    weights = weights_from_pilot(truth, eta=0.1, p=0.5)

    def make(strength, **options):
        return TV(strength, **options) if kind == "tv" else WeightedTV(strength, weights, **options)

    reference = pdhg(y, operator, make(STRENGTH), stopping=Stopping(max_iter=6000))
    # deepinv scales the prior by its own "lambda", so the prior inside deepinv has strength 1.
    model = optim_builder(
        iteration="PGD", prior=make(1.0, prox_tol=1e-6, prox_max_iter=100), data_fidelity=L2(),
        params_algo={"stepsize": 1.0 / float(operator.norm(dtype=torch.float64)) ** 2, "lambda": STRENGTH},
        max_iter=200, early_stop=False, verbose=False,
    )
    x_deepinv = model(y, operator)
    assert x_deepinv.shape == truth.shape
    recon_value = _objective(operator, y, make(STRENGTH), reference.x)
    deepinv_value = _objective(operator, y, make(STRENGTH), x_deepinv)
    assert deepinv_value == pytest.approx(recon_value, rel=1e-4)
