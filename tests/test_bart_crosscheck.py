"""recon's MRI TV reconstruction against ``bart pics -R T`` on the same k-space and coil maps (when bart is installed).

The problem: the 64² Shepp–Logan phantom, 8 birdcage coils, 4× random columns
with an 8 % centre, complex noise of 2 % of the largest k-space sample; λ = 0.01
in both (``bart pics -w 1``: no data scaling). BART's TV has periodic backward
differences where recon's has forward ones with a Neumann boundary
(:mod:`recon.bench.bart_pics`), so the two images differ by a measured 7.3 %
while their PSNRs agree to 0.05 dB; with BART's gradient in recon's solver the
images agree to 6e-5, which pins the rest of the mapping (FFT, coil maps,
orientation, scaling, λ).
"""

from __future__ import annotations

import pytest
import torch

from recon.bench.bart_pics import bart_available, run_bart_pics
from recon.metrics import psnr

needs_bart = pytest.mark.skipif(not bart_available(), reason="bart is not installed (Debian: apt-get install bart)")

SIZE, STRENGTH = 64, 0.01
# BART's ADMM with ρ = 0.1 (its default 0.5 needs about twice the CG budget here): measured 4e-5 from its limit.
BART_ITERATIONS, BART_ARGS = 400, ("-u", "0.1")
# recon's PDHG with a primal step 3x the scalar one: 400 iterations are 7e-5 from the converged image.
RECON_ITERATIONS, RECON_STEP_RATIO = 400, 3.0

# Measured (Debian BART 0.8.00, torch 2.x on CPU): zero-filled 17.61 dB, recon 23.10, BART 23.14.
ZERO_FILLED_DB, MARGIN_DB = 17.6, 5.3   # both measured 5.48-5.53 dB above zero-filled
PSNR_AGREEMENT_DB = 0.15                 # measured 0.05
IMAGE_DIFFERENCE = (0.065, 0.085)        # measured 0.073: the TV discretisations differ, not the solvers
SAME_OBJECTIVE_DIFFERENCE = 5e-4         # measured 5.7e-5 with BART's gradient in recon's PDHG


class PeriodicBackwardDifference:
    r"""BART's TV gradient: :math:`(\nabla_d x)_i = x_i - x_{i - e_d}` with indices modulo the size."""

    ndim = 2

    def A(self, x):
        return torch.stack([x - torch.roll(x, 1, 2), x - torch.roll(x, 1, 3)], dim=2)

    def A_adjoint(self, z):
        rows, cols = z[:, :, 0], z[:, :, 1]
        return rows - torch.roll(rows, -1, 2) + cols - torch.roll(cols, -1, 3)

    def norm(self) -> float:
        return 2.0 * 2.0**0.5


class BartTV:
    """``bart pics -R T:3:0:λ`` as a recon prior for primal–dual solvers: λ‖·‖₂,₁ of the periodic backward gradient."""

    def __init__(self, strength: float):
        self.strength = strength

    def split(self):
        from recon.priors.tv import GradientNorm

        return PeriodicBackwardDifference(), GradientNorm(self.strength)


def simulated_problem() -> dict:
    """Phantom, coil maps, mask, operator and noisy k-space ``(1, coils, rows, cols)``."""
    from recon.datasets.coil_simulation import birdcage_coil_maps
    from recon.datasets.phantoms import shepp_logan
    from recon.operators import MultiCoilMRI
    from recon.operators.mri_masks import random_mask

    truth = shepp_logan(SIZE).to(torch.complex64)
    maps = birdcage_coil_maps(8, (SIZE, SIZE))
    mask = random_mask((SIZE, SIZE), 4, 0.08, seed=0)
    operator = MultiCoilMRI(mask, maps)
    clean = operator.A(truth)
    generator = torch.Generator().manual_seed(1)
    sigma = 0.02 * float(clean.abs().max()) / 2**0.5
    noise = torch.complex(torch.randn(clean.shape, generator=generator), torch.randn(clean.shape, generator=generator))
    y = (clean + sigma * noise) * mask
    return {"truth": truth[0, 0].real, "maps": maps, "mask": mask, "operator": operator, "y": y}


@pytest.fixture(scope="module")
def problem():
    return simulated_problem()


@pytest.fixture(scope="module")
def bart(problem):
    return run_bart_pics(problem["y"][0], problem["maps"], STRENGTH, BART_ITERATIONS, mask=problem["mask"],
                         extra_args=BART_ARGS)


def _recon_tv(problem, prior):
    import time

    from recon.solvers.common import Stopping
    from recon.solvers.pdhg import pdhg

    start = time.perf_counter()
    result = pdhg(problem["y"], problem["operator"], prior, step_ratio=RECON_STEP_RATIO,
                  stopping=Stopping(max_iter=RECON_ITERATIONS))
    return result.x[0, 0], time.perf_counter() - start


def _psnr(image, truth) -> float:
    return psnr(image.abs(), truth, data_range=1.0)


@needs_bart
def test_recon_and_bart_tv_beat_zero_filled_and_agree(problem, bart):
    from recon.priors import TV

    recon_image, recon_seconds = _recon_tv(problem, TV(STRENGTH))
    zero_filled = _psnr(problem["operator"].A_adjoint(problem["y"])[0, 0], problem["truth"])
    recon_db, bart_db = _psnr(recon_image, problem["truth"]), _psnr(bart.image, problem["truth"])
    difference = float((bart.image - recon_image).norm() / recon_image.norm())
    report = (f"zero-filled {zero_filled:.2f} dB, recon TV {recon_db:.2f} dB ({recon_seconds:.2f} s, PDHG "
              f"{RECON_ITERATIONS} it.), bart pics TV {bart_db:.2f} dB ({bart.seconds:.2f} s, -i {BART_ITERATIONS}); "
              f"images differ by {difference:.4f}; {' '.join(bart.command[1:-3])}")
    print(report)
    assert zero_filled == pytest.approx(ZERO_FILLED_DB, abs=0.1), report
    assert recon_db > zero_filled + MARGIN_DB, report
    assert bart_db > zero_filled + MARGIN_DB, report
    assert abs(recon_db - bart_db) < PSNR_AGREEMENT_DB, report
    assert IMAGE_DIFFERENCE[0] < difference < IMAGE_DIFFERENCE[1], report


@needs_bart
def test_bart_minimises_recon_objective_with_a_periodic_backward_gradient(problem, bart):
    # The same data term, λ and isotropic norm: only the finite differences are BART's.
    recon_image, _ = _recon_tv(problem, BartTV(STRENGTH))
    difference = float((bart.image - recon_image).norm() / recon_image.norm())
    print(f"recon with BART's gradient vs bart: {difference:.2e}")
    assert difference < SAME_OBJECTIVE_DIFFERENCE, difference


@needs_bart
def test_bart_failure_raises_with_its_message(problem):
    with pytest.raises(RuntimeError, match="bart pics failed") as error:
        run_bart_pics(problem["y"][0], problem["maps"], STRENGTH, 1, extra_args=("-R", "Z:0:0:1"))
    assert "-R Z:0:0:1" in str(error.value)


def test_shapes_and_arguments_are_checked_before_bart_runs():
    kspace = torch.zeros(2, 4, 6, dtype=torch.complex64)
    with pytest.raises(ValueError, match="coil_maps must be shaped like kspace"):
        run_bart_pics(kspace, torch.ones(2, 4, 5, dtype=torch.complex64), 0.01, 10)
    with pytest.raises(ValueError, match="kspace must be complex"):
        run_bart_pics(kspace.real, kspace.real, 0.01, 10)
    with pytest.raises(ValueError, match="iterations must be a positive integer"):
        run_bart_pics(kspace, kspace, 0.01, 0)
    with pytest.raises(ValueError, match="strength must be >= 0"):
        run_bart_pics(kspace, kspace, -1.0, 10)
