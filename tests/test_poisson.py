"""Photon-limited data: TV with the Poisson likelihood beats TV with least squares (SPIRAL-TAP setting).

Counts y ~ Poisson(c·A x + b) with about five photons per detector bin; each
data term gets its own λ from a wide grid (best PSNR), both with x ≥ 0.
"""

import math

import pytest
import torch

from recon.datasets.phantoms import shepp_logan
from recon.metrics import psnr
from recon.operators import ParallelBeamCT
from recon.priors import TV, NonNegativity
from recon.solvers.common import Stopping
from recon.solvers.data_terms import LeastSquares, PoissonLikelihood
from recon.solvers.pdhg import pdhg

SIZE, BACKGROUND, MEAN_COUNT = 64, 0.1, 5.0
GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)


class _ScaledProjector:
    """c·A for a CT projector A: a photon-counting system with non-negative entries."""

    has_nonnegative_entries = True

    def __init__(self, operator, scale):
        self.operator, self.scale = operator, scale

    def A(self, x):
        return self.scale * self.operator.A(x)

    def A_adjoint(self, u):
        return self.scale * self.operator.A_adjoint(u)

    def norm(self):
        return self.scale * float(self.operator.norm(dtype=torch.float64))


@pytest.fixture(scope="module")
def photon_limited():
    truth = shepp_logan(SIZE, dtype=torch.float64)
    projector = ParallelBeamCT(torch.linspace(0, math.pi, 61)[:-1], 92, image_shape=(SIZE, SIZE))
    clean = projector.A(truth)
    system = _ScaledProjector(projector, MEAN_COUNT / float(clean.mean()))
    counts = torch.poisson(system.A(truth) + BACKGROUND, generator=torch.Generator().manual_seed(0))
    return truth, system, counts


def _best_psnr(truth, system, y, data):
    best = -math.inf
    for strength in GRID:
        result = pdhg(y, system, TV(strength), data=data, constraint=NonNegativity(),
                      stopping=Stopping(max_iter=400))
        assert torch.all(result.x >= 0)
        best = max(best, psnr(result.x, truth, data_range=1.0))
    return best


@pytest.mark.slow
def test_poisson_likelihood_beats_least_squares_on_photon_counts(photon_limited):
    truth, system, counts = photon_limited
    assert float(counts.mean()) < 2 * MEAN_COUNT  # photon-limited indeed
    poisson = _best_psnr(truth, system, counts, PoissonLikelihood(BACKGROUND))
    least_squares = _best_psnr(truth, system, counts - BACKGROUND, LeastSquares())
    assert poisson > least_squares + 0.3, f"Poisson {poisson:.2f} dB vs least squares {least_squares:.2f} dB"


def test_poisson_pdhg_decreases_the_likelihood_to_a_stationary_point(photon_limited):
    truth, system, counts = photon_limited
    data = PoissonLikelihood(BACKGROUND)
    result = pdhg(counts, system, TV(3.0), data=data, constraint=NonNegativity(), stopping=Stopping(max_iter=600))
    objective = result.history.objective
    assert objective[-1] < objective[10] < objective[0]
    # Nearly converged: the last 100 iterations change the objective by < 1e-4 relative.
    assert abs(objective[-1] - objective[-100]) < 1e-4 * abs(objective[-1])
