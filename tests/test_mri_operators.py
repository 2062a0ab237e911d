"""Single- and multi-coil Cartesian MRI operators and zero-filled reconstruction (recon.operators.mri)."""

import pytest
import torch
from operator_registry import smooth_coil_maps

from recon.operators import MultiCoilMRI, SingleCoilMRI
from recon.operators.fourier import centred_fft, centred_ifft
from recon.operators.mri_masks import random_mask
from recon.operators.mri_zero_filled import root_sum_of_squares, zero_filled

_TOLERANCE = {torch.complex64: 1e-6, torch.complex128: 1e-12}


def _image(shape, dtype, seed=0, batch=2):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((batch, 1, *shape), generator=generator, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("shape, ndim", [((12, 9), 2), ((4, 6, 5), 3)])
def test_single_coil_with_a_full_mask_is_unitary(dtype, shape, ndim):
    op = SingleCoilMRI(torch.ones(shape), ndim=ndim)
    x = _image(shape, dtype)
    y = op.A(x)
    # measured: norm error <= 1.8e-7 and AᴴA x - x <= 1.2e-7 (complex64), 2.2e-16 and 4e-16 (complex128)
    assert abs(float(y.norm() / x.norm()) - 1) < _TOLERANCE[dtype]
    assert float((op.A_adjoint_A(x) - x).abs().max()) < _TOLERANCE[dtype] * float(x.abs().max())
    assert float((op.A_adjoint(y) - x).abs().max()) < _TOLERANCE[dtype] * float(x.abs().max())
    assert float(op.norm()) == 1.0


def test_centred_fft_puts_the_k_space_centre_at_n_over_2():
    x = torch.ones(1, 1, 7, 6)
    y = centred_fft(x)
    # a constant image has all its energy at the centre sample, index (7 // 2, 6 // 2)
    assert abs(float(y[0, 0, 3, 3].real) - 42 ** 0.5) < 1e-5
    assert float(y.abs().sum() - y[0, 0, 3, 3].abs()) < 1e-4
    torch.testing.assert_close(centred_ifft(y).real, x, atol=1e-6, rtol=0)


def test_partial_mask_single_coil_is_a_projection():
    mask = random_mask((16, 12), 3, 0.25, seed=0)
    op = SingleCoilMRI(mask)
    x = _image((16, 12), torch.complex128)
    once = op.A_adjoint_A(x)
    torch.testing.assert_close(op.A_adjoint_A(once), once, atol=1e-12, rtol=0)
    assert float(op.norm()) == 1.0
    assert float(SingleCoilMRI(torch.zeros(4, 4)).norm()) == 0.0


def test_real_input_is_promoted_by_the_documented_rule():
    op = SingleCoilMRI(torch.ones(4, 6))
    assert op.A(torch.ones(1, 1, 4, 6)).dtype == torch.complex64
    assert op.A(torch.ones(1, 1, 4, 6, dtype=torch.float64)).dtype == torch.complex128
    maps = smooth_coil_maps(3, (4, 6))
    assert MultiCoilMRI(torch.ones(4, 6), maps).A_adjoint(torch.ones(1, 3, 4, 6, dtype=torch.float64)).dtype \
        == torch.complex128


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_multi_coil_normal_operator_matches_adjoint_of_forward(dtype):
    op = MultiCoilMRI(random_mask((16, 12), 3, 0.25, seed=1), smooth_coil_maps(5, (16, 12), seed=2))
    x = _image((16, 12), dtype)
    direct, composed = op.A_adjoint_A(x), op.A_adjoint(op.A(x))
    assert direct.shape == (2, 1, 16, 12) and direct.dtype == dtype
    assert float((direct - composed).abs().max()) < _TOLERANCE[dtype] * 10 * float(composed.abs().max())


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_multi_coil_with_normalised_maps_and_full_mask_is_an_isometry(dtype):
    maps = smooth_coil_maps(4, (10, 14), seed=5).to(torch.complex128)
    maps = maps / maps.abs().pow(2).sum(0, keepdim=True).sqrt()
    op = MultiCoilMRI(torch.ones(10, 14), maps)
    x = _image((10, 14), dtype)
    assert abs(float(op.A(x).norm() / x.norm()) - 1) < _TOLERANCE[dtype]
    assert float((op.A_adjoint_A(x) - x).abs().max()) < _TOLERANCE[dtype] * 10 * float(x.abs().max())
    assert float(op.norm()) == pytest.approx(1.0, abs=1e-9)


def test_multi_coil_norm_with_a_full_mask_is_the_largest_coil_sum():
    maps = smooth_coil_maps(4, (10, 14), seed=6)
    op = MultiCoilMRI(torch.ones(10, 14), maps)
    bound = float(maps.abs().pow(2).sum(0).max().sqrt())
    # AᴴA is the diagonal sum_c |S_c|^2 and Lanczos gets its top within 1e-5
    assert float(op.norm()) == pytest.approx(bound, rel=1e-5)
    partial = MultiCoilMRI(random_mask((10, 14), 2, 0.2, seed=0), maps)
    assert float(partial.norm()) <= bound * (1 + 1e-9)


def test_per_batch_masks_and_maps():
    masks = torch.stack([random_mask((8, 10), 2, 0.2, seed=s) for s in range(3)])
    maps = torch.stack([smooth_coil_maps(2, (8, 10), seed=s) for s in range(3)])
    x = _image((8, 10), torch.complex128, batch=3)
    together = MultiCoilMRI(masks, maps).A(x)
    for b in range(3):
        torch.testing.assert_close(together[b], MultiCoilMRI(masks[b], maps[b]).A(x[b:b + 1])[0])
    with pytest.raises(ValueError, match="MultiCoilMRI: the mask has one entry per batch element"):
        MultiCoilMRI(masks, maps[0]).A(x[:2])
    with pytest.raises(ValueError, match="SingleCoilMRI: mask must hold only 0 and 1"):
        SingleCoilMRI(torch.full((4, 4), 0.5))
    with pytest.raises(ValueError, match="MultiCoilMRI: coil_maps must be shaped"):
        MultiCoilMRI(torch.ones(4, 4), torch.ones(2, 4, 5))


def test_zero_filled_of_fully_sampled_data_returns_the_image():
    x = _image((12, 10), torch.complex64, batch=1)
    y = centred_fft(x)
    # root-sum-of-squares of one coil is |x|; with a unit coil map the complex image itself
    torch.testing.assert_close(zero_filled(y), x.abs(), atol=1e-6, rtol=0)
    torch.testing.assert_close(zero_filled(y, torch.ones(1, 12, 10)), x, atol=1e-6, rtol=0)
    maps = smooth_coil_maps(4, (12, 10), seed=7)
    coil_data = MultiCoilMRI(torch.ones(12, 10), maps).A(x)
    torch.testing.assert_close(zero_filled(coil_data, maps), x, atol=1e-5, rtol=0)
    torch.testing.assert_close(zero_filled(coil_data), root_sum_of_squares(maps.unsqueeze(0) * x), atol=1e-5, rtol=0)


def test_root_sum_of_squares_is_real_and_keeps_the_coil_axis():
    images = torch.tensor([[[[3.0 + 4j, 1j]], [[0.0, 0.0]]]])  # (1, 2, 1, 2)
    combined = root_sum_of_squares(images)
    assert combined.dtype == torch.float32 and combined.shape == (1, 1, 1, 2)
    assert combined.flatten().tolist() == [5.0, 1.0]
