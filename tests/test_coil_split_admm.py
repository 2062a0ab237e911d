"""Coil-split ADMM: TV optima of MRI problems (from PDHG run to convergence), L1-wavelet in closed form, every x-update path, errors."""

import pytest
import torch

from recon.datasets.coil_simulation import birdcage_coil_maps
from recon.operators import MultiCoilMRI, SingleCoilMRI
from recon.operators.mri_masks import poisson_disc_mask, random_mask
from recon.priors import TV, L1Wavelet, NonNegativity
from recon.solvers.coil_split_admm import coil_split_admm
from recon.solvers.common import Stopping
from recon.solvers.pdhg import pdhg

N = 24
FAST = {"rho_u": 3.0, "rho_z": 3.0}   # at this small scale the tail converges fastest with large penalties


def _problem(maps, mask, seed=0):
    generator = torch.Generator().manual_seed(seed)
    truth = torch.zeros(1, 1, N, N, dtype=torch.complex128)
    truth[..., 4:20, 6:15] = 1.0
    truth[..., 9:14, 11:21] = 0.5j
    operator = MultiCoilMRI(mask, maps) if maps is not None else SingleCoilMRI(mask)
    clean = operator.A(truth)
    noise = torch.complex(torch.randn(clean.shape, generator=generator, dtype=torch.float64),
                          torch.randn(clean.shape, generator=generator, dtype=torch.float64))
    return operator, clean + 0.02 * noise * mask, truth


def _optimum(operator, y, prior):
    """PDHG with diagonal steps, run until the iterate stops moving (relative change 1e-10)."""
    return pdhg(y, operator, prior, preconditioning="diagonal",
                stopping=Stopping(max_iter=10000, tol=1e-9)).x


def _relative_error(x, reference) -> float:
    return float((x - reference).norm() / reference.norm())


@pytest.fixture(scope="module")
def multicoil():
    maps = birdcage_coil_maps(4, (N, N), dtype=torch.complex128)
    return _problem(maps, random_mask((N, N), 3, 0.15, seed=1))


def test_multicoil_tv_reaches_the_pdhg_optimum(multicoil):
    operator, y, _ = multicoil
    prior = TV(0.02)
    reference = _optimum(operator, y, prior)
    result = coil_split_admm(y, operator, prior, **FAST, stopping=Stopping(max_iter=1500, tol=1e-10))
    assert _relative_error(result.x, reference) < 1e-5   # measured


def test_objective_and_change_are_recorded_and_decrease(multicoil):
    operator, y, _ = multicoil
    result = coil_split_admm(y, operator, TV(0.02), stopping=Stopping(max_iter=200))
    objective = result.history.objective
    direct = 0.5 * float((operator.A(result.x) - y).norm()) ** 2 + float(TV(0.02)(result.x).sum())
    assert objective[-1] == pytest.approx(direct, rel=1e-9)
    assert objective[-1] < 0.05 * objective[0]          # measured 0.027
    assert result.history.relative_change[-1] < 1e-4


def test_single_coil_and_a_2d_poisson_disc_mask():
    mask = poisson_disc_mask((N, N), 2.5, seed=0, calibration=(8, 8))
    operator, y, _ = _problem(None, mask)
    prior = TV(0.02)
    reference = _optimum(operator, y, prior)
    result = coil_split_admm(y, operator, prior, **FAST, stopping=Stopping(max_iter=1500, tol=1e-10))
    assert _relative_error(result.x, reference) < 1e-5   # measured


def test_unnormalised_maps_take_the_cg_x_update_and_reach_the_same_optimum():
    maps = 1.7 * birdcage_coil_maps(4, (N, N), dtype=torch.complex128)
    maps[:, :, : N // 2] *= 0.6                      # Σ|S_c|² no longer constant
    operator, y, _ = _problem(maps, random_mask((N, N), 3, 0.15, seed=1))
    prior = TV(0.02)
    reference = _optimum(operator, y, prior)
    result = coil_split_admm(y, operator, prior, **FAST, cg_max_iter=20,
                             stopping=Stopping(max_iter=1500, tol=1e-10))
    assert _relative_error(result.x, reference) < 1e-4   # measured


def test_l1_wavelet_with_a_full_mask_reaches_the_closed_form():
    # Normalised maps and a full mask make A an isometry: the optimum is the prior's prox of Aᴴy.
    maps = birdcage_coil_maps(4, (N, N), dtype=torch.complex128)
    operator, y, _ = _problem(maps, torch.ones(N, N))
    prior = L1Wavelet(0.05, wavelet="db2", levels=2)
    reference = prior.prox(operator.A_adjoint(y), gamma=1.0)
    result = coil_split_admm(y, operator, prior, stopping=Stopping(max_iter=300, tol=1e-12))
    assert _relative_error(result.x, reference) < 1e-7   # measured 9.6e-9


def test_refuses_other_operators_and_priors_without_split(multicoil):
    operator, y, _ = multicoil
    with pytest.raises(ValueError, match="needs a Cartesian MRI operator"):
        coil_split_admm(y, torch.nn.Identity(), TV(0.1))
    with pytest.raises(ValueError, match="must have split"):
        coil_split_admm(y, operator, NonNegativity())
    with pytest.raises(ValueError, match="rho_u and rho_z must be positive"):
        coil_split_admm(y, operator, TV(0.1), rho_u=0.0)
