"""The MIMO paper's ordering, scaled down: TV on |x| > l1 on |x| > Kirchhoff migration and back-projection.

Oral & Öktem (IEEE TCI 2024) image extended targets of random phase with a 12 + 13 antenna X array
over 4-16 GHz. Here: their array and extents, N_f = 10, 30 dB SNR, 5 seeded scenes
(:func:`recon.datasets.mimo_scenes.extended_targets`, seeds 0-4), on a 13 x 13 x 25 grid instead of
25 x 25 x 49 (scripts/mimo_ordering.py runs the full size). Each method is the shipped config
(recon/configs/mimo-*.yaml) run through :func:`recon.experiments.build_mimo.reconstruct_mimo`, the
code ``recon run`` calls; TV on the complex x is mimo-tv with ``prior.acts_on: complex``.

What is asserted: the mean PSNR3D over the 5 scenes for each comparison, and per scene for
l1 against the migrations and TV against l1 (margins measured, given with slack beside each).

At the paper's size (25 x 25 x 49, ``python scripts/mimo_ordering.py``, docs/mimo_ordering.json) the
means are BP 19.58, Kirchhoff 20.04, l1 22.23, tv+l1 |x| 23.04, tv+l1 x 23.10: the same ordering on
every scene (tv - l1 from +0.23 to +1.31 dB), smaller margins, complex level with magnitude. (Plain
C-SALSA there: l1 22.37, tv+l1 |x| 22.99, tv+l1 x 23.07; over-relaxed, TV stops after 330-447
iterations instead of 420-500.)

Measured (PSNR3D dB, seeds 0-4, mean), with the regularised methods cut at 150 C-SALSA iterations
to keep the test near a minute (the shipped configs allow 500; there the means are l1 23.72, tv+l1
|x| 25.54, tv+l1 x 24.90, every scene ordered tv+l1 |x| > tv+l1 x). C-SALSA is over-relaxed
(``solver.relaxation: 1.7``); plain C-SALSA (``--set solver.relaxation=1``) measured l1 21.91,
tv+l1 |x| 24.41, tv+l1 x 24.27 at 150 iterations, and 23.45, 25.39, 24.86 at 500:

==========  =====  =====  =====  =====  =====  =====
method      0      1      2      3      4      mean
==========  =====  =====  =====  =====  =====  =====
bp          16.70  17.73  18.38  18.04  17.34  17.64
kirchhoff   16.98  18.08  18.90  18.27  17.03  17.85
l1 |x|      23.22  21.50  23.39  22.69  22.21  22.60
tv+l1 |x|   24.70  23.73  25.24  25.13  24.63  24.69
tv+l1 x     24.62  23.13  24.57  25.12  24.67  24.42
==========  =====  =====  =====  =====  =====  =====

TV on the magnitude needs the ℓ1 part (mimo-tv's ``prior.l1_strength: 3``): TV(|x|) alone is 0
on a background of constant magnitude and random phase, which fits the data when there are
fewer samples (1560) than voxels (4225); it ends below back-projection
(:func:`test_tv_on_the_magnitude_alone_drifts_to_a_flat_background`). The TV step of the authors'
code (five cold-started Chambolle–Pock iterations, τ = 0.01, zero boundaries) does not escape this
either: 18.0–18.7 dB for λ from 0.01 to 1, below ℓ1 (``scripts/mimo_tv_variants.py`` measures every
variant). Runs in about 1.5 minutes on 2 cores.

The paper's second claim, "TV on the complex x is clearly worse", does not hold on these scenes:
the same TV + 3 ℓ1 on the complex x is below it on the mean only just (0.27 dB here, 0.64 dB at 500
iterations; level or above it on two scenes here), with β = 1 the complex one is ahead (23.92 against 22.28), and
plain complex TV (23.21) is far ahead of plain TV(|x|) (14.06); the authors' TV step on the complex x
(20.8-23.4 dB) is ahead of the same step on |x| (18.0-18.7). On a random-phase image the
complex differences are about as large as the magnitudes, so complex TV acts like a sparsity prior
and pays for a flat background, which TV(|x|) gets for free.
"""

from __future__ import annotations

import pytest
import torch

from recon.datasets.measurement import Measurement
from recon.datasets.mimo_scenes import simulated_scene
from recon.experiments.build_mimo import reconstruct_mimo
from recon.experiments.config import load_experiment
from recon.metrics import psnr3d

COUNTS, N_FREQUENCIES, SNR_DB, SEEDS = (13, 13, 25), 10, 30.0, range(5)
CAP = "solver.max_iter=150"
METHODS = {"bp": ("mimo-bp", ()), "kirchhoff": ("mimo-kirchhoff", ()), "l1": ("mimo-l1", (CAP,)),
           "tv": ("mimo-tv", (CAP,)), "tv-complex": ("mimo-tv", ("prior.acts_on=complex", CAP))}


def scene(seed: int) -> Measurement:
    return simulated_scene(seed, COUNTS, N_FREQUENCIES, SNR_DB)


@pytest.fixture(scope="module")
def table() -> dict[str, list[float]]:
    """PSNR3D (dB) per method, one entry per scene."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # small tensors: two threads on two busy cores ran 4x slower
    try:
        configs = {method: load_experiment(name, list(overrides)) for method, (name, overrides) in METHODS.items()}
        scores: dict[str, list[float]] = {method: [] for method in METHODS}
        for seed in SEEDS:
            measurement = scene(seed)
            for method, config in configs.items():
                image = reconstruct_mimo(config, measurement).image
                scores[method].append(psnr3d(image[0, 0], measurement.ground_truth[0, 0]))
    finally:
        torch.set_num_threads(threads)
    return scores


MARGIN_TV_L1 = 1.6               # measured 2.09 dB (mean)
MARGIN_TV_L1_SCENE = 1.1         # measured 1.48 dB at least (scene 0)
MARGIN_L1_DIRECT = 3.5           # measured 4.75 dB (mean, against Kirchhoff)
MARGIN_L1_DIRECT_SCENE = 2.5     # measured 3.42 dB at least (scene 1)
MARGIN_TV_COMPLEX = 0.1          # measured 0.27 dB (mean); not "clearly worse" (see the module text)


def mean(values) -> float:
    return sum(values) / len(values)


@pytest.mark.slow
def test_tv_on_the_magnitude_beats_l1_on_the_magnitude(table):
    print({method: [round(v, 2) for v in values] for method, values in table.items()})
    assert mean(table["tv"]) > mean(table["l1"]) + MARGIN_TV_L1
    for tv, l1 in zip(table["tv"], table["l1"]):
        assert tv > l1 + MARGIN_TV_L1_SCENE


def test_l1_on_the_magnitude_beats_both_migrations_on_every_scene(table):
    for l1, bp, kirchhoff in zip(table["l1"], table["bp"], table["kirchhoff"]):
        assert l1 > max(bp, kirchhoff) + MARGIN_L1_DIRECT_SCENE
    assert mean(table["l1"]) > max(mean(table["bp"]), mean(table["kirchhoff"])) + MARGIN_L1_DIRECT


def test_tv_on_the_complex_image_is_below_tv_on_the_magnitude(table):
    assert mean(table["tv-complex"]) < mean(table["tv"]) - MARGIN_TV_COMPLEX


def test_tv_on_the_magnitude_alone_drifts_to_a_flat_background():
    # mimo-tv without its l1 part, scene 0: measured 12.1 dB after 200 iterations, still falling (8.3 dB at
    # convergence with 200 inner TV iterations; back-projection 16.7 dB).
    measurement = scene(0)
    config = load_experiment("mimo-tv", ["prior.l1_strength=0", "solver.max_iter=200"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        image = reconstruct_mimo(config, measurement).image
    finally:
        torch.set_num_threads(threads)
    assert psnr3d(image[0, 0], measurement.ground_truth[0, 0]) < 14.0
