"""Phantoms: the Shepp–Logan table, orientation and rasterisation; random phantoms' determinism and structure."""

import math

import numpy as np
import pytest
import torch

from recon.datasets.phantoms import (
    SUPPORT_RADIUS,
    random_phantom,
    random_phantoms,
    shepp_logan,
    shepp_logan_ellipses,
)


def pixel_of(x: float, y: float, size: int) -> tuple[int, int]:
    """(row, column) of the pixel whose centre is nearest to (x, y) on the [-1, 1]² grid, row 0 at y = +1."""
    return round((1.0 - y) * size / 2.0 - 0.5), round((x + 1.0) * size / 2.0 - 0.5)


def centre_radius(size: int) -> np.ndarray:
    """Distance of each pixel centre from the origin."""
    c = -1.0 + (2.0 * np.arange(size) + 1.0) / size
    return np.hypot(c[None, :], c[:, None])


# ---------------------------------------------------------------- Shepp–Logan


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("size", [1, 64, 129])
def test_shepp_logan_shape_dtype_and_range(size, dtype):
    x = shepp_logan(size, dtype=dtype)
    assert x.shape == (1, 1, size, size)
    assert x.dtype == dtype
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    if size > 1:
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0


@pytest.mark.parametrize(
    ("modified", "point", "expected"),
    [
        (True, (0.0, 0.0), 0.2),  # brain: 1 - 0.8
        (True, (0.0, 0.35), 0.3),  # ellipse 5 on brain
        (True, (0.0, 0.12), 0.4),  # where ellipse 6 overlaps ellipse 5 (y in [0.1, 0.146])
        (True, (0.0, 0.9), 1.0),  # skull, above the brain ellipse (top at 0.8556)
        (True, (0.22, 0.0), 0.0),  # right ventricle: 0.2 - 0.2
        (True, (-0.22, 0.0), 0.0),  # left ventricle
        (True, (0.0, -0.606), 0.3),  # the middle of the three small ellipses at the bottom
        (True, (0.9, 0.9), 0.0),  # outside the head
        (False, (0.0, 0.0), 0.51),  # original intensities halved: (2 - 0.98) / 2
        (False, (0.22, 0.0), 0.5),
        (False, (0.0, 0.9), 1.0),
    ],
)
def test_shepp_logan_values_inside_ellipses(modified, point, expected):
    size = 257
    row, col = pixel_of(*point, size)
    assert float(shepp_logan(size, modified=modified, dtype=torch.float64)[0, 0, row, col]) == pytest.approx(
        expected, abs=1e-12
    )


def test_shepp_logan_mean_equals_area_weighted_intensities():
    # Anti-aliasing preserves area: the image mean is Σ c_k π a_k b_k / 4 (the square has area 4).
    exact = sum(e.intensity * math.pi * e.semi_axis_x * e.semi_axis_y for e in shepp_logan_ellipses()) / 4.0
    assert float(shepp_logan(256, dtype=torch.float64).mean()) == pytest.approx(exact, rel=1e-3)
    # Sampling only pixel centres is coarser.
    assert float(shepp_logan(256, supersampling=1, dtype=torch.float64).mean()) == pytest.approx(exact, rel=1e-2)


def test_shepp_logan_supersampling_antialiases_edges():
    sharp = shepp_logan(128, supersampling=1, dtype=torch.float64)
    smooth = shepp_logan(128, supersampling=4, dtype=torch.float64)
    assert sorted(np.round(torch.unique(sharp).numpy(), 9)) == [0.0, 0.1, 0.2, 0.3, 0.4, 1.0]
    assert len(torch.unique(smooth)) > 20
    # Only edge pixels change.
    assert float((sharp != smooth).double().mean()) < 0.1


def test_shepp_logan_left_right_symmetry_above_the_ventricles():
    size = 200
    x = shepp_logan(size, dtype=torch.float64)[0, 0]
    y_rows = 1.0 - (2.0 * np.arange(size) + 1.0) / size
    # Only ellipses 3, 4, 8 and 10 are off the axis, and all lie below y = 0.45.
    top = torch.from_numpy(y_rows > 0.45)
    assert torch.allclose(x[top], x[top].flip(-1), atol=1e-12, rtol=0)
    assert float((x - x.flip(-1)).abs().max()) > 0.1


def test_shepp_logan_matches_skimage_orientation():
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    reference = shepp_logan_phantom()  # 400 × 400, the modified phantom
    size = 128
    ours = shepp_logan(size)[0, 0].numpy().ravel()
    resized = resize(reference, (size, size), anti_aliasing=True)
    assert np.corrcoef(ours, resized.ravel())[0, 1] > 0.98
    # The check is sensitive to orientation: upside down or mirrored correlates much less.
    assert np.corrcoef(ours, resized[::-1].ravel())[0, 1] < 0.85
    assert np.corrcoef(ours, resized[:, ::-1].ravel())[0, 1] < 0.975


def test_shepp_logan_table_reproduces_skimage_on_its_grid():
    # skimage samples the same ellipses at pixel centres linspace(-1, 1, 400); an
    # independent rasterisation of our table on that grid must give its image.
    from skimage.data import shepp_logan_phantom

    reference = shepp_logan_phantom()
    coords = np.linspace(-1.0, 1.0, reference.shape[0])
    x, y = np.meshgrid(coords, -coords)
    image = np.zeros_like(reference)
    for e in shepp_logan_ellipses():
        t = np.deg2rad(e.angle_deg)
        dx, dy = x - e.centre_x, y - e.centre_y
        u = (dx * np.cos(t) + dy * np.sin(t)) / e.semi_axis_x
        v = (-dx * np.sin(t) + dy * np.cos(t)) / e.semi_axis_y
        image += e.intensity * (u**2 + v**2 <= 1.0)
    # The reference is an 8-bit PNG: levels are within 1/255 of the exact ones.
    assert np.abs(image - reference).max() < 0.01


def test_shepp_logan_rejects_bad_arguments():
    with pytest.raises(ValueError, match="size must be a positive int, got 0"):
        shepp_logan(0)
    with pytest.raises(ValueError, match="supersampling must be a positive int"):
        shepp_logan(32, supersampling=0)
    with pytest.raises(ValueError, match="dtype must be a real floating dtype"):
        shepp_logan(32, dtype=torch.int32)


# ---------------------------------------------------------------- random phantoms


def test_random_phantom_is_deterministic_and_seeds_differ():
    first = random_phantom(96, seed=3)
    assert torch.equal(first, random_phantom(96, seed=3))
    images = [random_phantom(96, seed=s) for s in range(8)]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert not torch.equal(images[i], images[j])


@pytest.mark.parametrize("size", [64, 128])
def test_random_phantom_is_piecewise_constant_inside_the_disc(size):
    radius = centre_radius(size)
    for seed in range(20):
        x = random_phantom(size, seed)[0, 0]
        assert x.shape == (size, size) and x.dtype == torch.float32
        values = torch.unique(x)
        # Background, then at most 10 ellipses and 4 shapes, each of one intensity.
        assert len(values) <= 1 + 10 + 4
        assert float(values[0]) == 0.0 and float(values.max()) <= 1.0
        assert float(values[1]) >= 0.1  # every shape contrasts with the background
        # Nothing outside the support disc, and a sizeable painted area inside it.
        assert float(x[torch.from_numpy(radius > SUPPORT_RADIUS)].abs().max()) == 0.0
        assert float((x > 0).double().mean()) > 0.05
        # Sparse gradient: jumps lie on shape boundaries, whose pixel share falls as
        # 1/size; measured at most 10.5 / size over 200 seeds at 64, 128 and 256 px.
        jumps = (x[1:, :-1] != x[:-1, :-1]) | (x[:-1, 1:] != x[:-1, :-1])
        assert float(jumps.double().mean()) < 13.0 / size


def test_random_phantom_counts_and_dtype():
    assert float(random_phantom(64, 0, n_ellipses=(0, 0), n_shapes=(0, 0)).abs().max()) == 0.0
    for seed in range(10):
        one_ellipse = random_phantom(64, seed, n_ellipses=(1, 1), n_shapes=(0, 0))
        one_shape = random_phantom(64, seed, n_ellipses=(0, 0), n_shapes=(1, 1))
        assert len(torch.unique(one_ellipse)) == 2
        assert len(torch.unique(one_shape)) == 2
    many = random_phantom(64, 5, n_ellipses=(10, 10), n_shapes=(4, 4), dtype=torch.float64)
    assert many.dtype == torch.float64 and 2 <= len(torch.unique(many)) <= 15


def test_random_phantoms_stack_items_seeded_by_pair():
    batch = random_phantoms(48, n=4, seed=11)
    assert batch.shape == (4, 1, 48, 48)
    for k in range(4):
        assert torch.equal(batch[k : k + 1], random_phantom(48, (11, k)))
    # Sets made with different seeds share no image.
    other = random_phantoms(48, n=4, seed=12)
    assert all(not torch.equal(a, b) for a in batch for b in other)
    assert random_phantoms(48, n=0, seed=0).shape == (0, 1, 48, 48)


def test_random_phantom_rejects_bad_arguments():
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        random_phantom(32, -1)
    with pytest.raises(ValueError, match=r"n_ellipses must be a pair of ints \(low, high\)"):
        random_phantom(32, 0, n_ellipses=(5, 2))
    with pytest.raises(ValueError, match="n_shapes must be a pair"):
        random_phantom(32, 0, n_shapes=(1,))
    with pytest.raises(ValueError, match="size must be a positive int"):
        random_phantom(0, 0)
    with pytest.raises(ValueError, match="n must be a non-negative int, got -2"):
        random_phantoms(32, -2, 0)
