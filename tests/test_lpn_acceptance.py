"""The shipped learned proximal networks: the paper's Laplacian experiment, the CT prior's convexity, ct-lpn.

Bounds are the measured values (docs/learned_regularisers.md has the commands), rounded outwards.
"""

from __future__ import annotations

import pytest
import torch

from conftest import docs_report, load_script
from recon.weights.registry import shipped_models

pytestmark = pytest.mark.skipif("lpn-laplace-pm" not in shipped_models(), reason="no shipped LPN")


@pytest.fixture(scope="module")
def laplace():
    return load_script("lpn_laplace")


def test_proximal_matching_learns_soft_thresholding_and_the_absolute_value(laplace):
    measured = laplace.measure("lpn-laplace-pm")      # measured: 0.158, 0.038, 0.099, 0.066
    assert measured["max_distance_to_soft_threshold"] < 0.2
    assert measured["mean_distance_to_soft_threshold"] < 0.05
    assert measured["max_distance_of_prior_to_abs"] < 0.12
    assert measured["mean_distance_of_prior_to_abs"] < 0.08
    assert measured["max_distance_to_mmse"] > 0.3                 # and it is not the MMSE denoiser (0.379)
    shipped = docs_report("lpn_laplace")["models"]["lpn-laplace-pm"]
    assert shipped["max_distance_to_soft_threshold"] == pytest.approx(measured["max_distance_to_soft_threshold"],
                                                                      abs=1e-4)


def test_l2_training_learns_the_smooth_mmse_shrinkage_instead(laplace):
    measured = laplace.measure("lpn-laplace-l2")      # measured: 0.021 to the MMSE, 0.506 to soft-thresholding
    assert measured["max_distance_to_mmse"] < 0.03
    assert measured["max_distance_to_soft_threshold"] > 0.4
    assert measured["max_distance_of_prior_to_abs"] > 0.5        # its prior is rounded at 0 (0.671)


def test_the_mmse_reference_is_right():
    """E[x | y] by quadrature: odd, shrinking, and tending to y - 1/σ² far out (for b = σ = 1)."""
    import numpy as np

    mmse = load_script("lpn_laplace").mmse_denoiser(np.array([-8.0, -1.0, 0.0, 1.0, 8.0]))
    assert mmse[2] == pytest.approx(0.0, abs=1e-9) and mmse[3] == pytest.approx(-mmse[1])
    assert 0 < mmse[3] < 1 and mmse[4] == pytest.approx(7.0, abs=1e-3)
