"""The orthogonal wavelet transform: filters, orthogonality, perfect reconstruction, adjointness, Haar by hand."""

import math

import pytest
import torch

from recon.priors import WaveletTransform, wavelet_filters

WAVELETS = ["haar", "db2", "db3", "db4"]


def _even_shift_products(a, b):
    """{m: sum_j a_j b_(j+2m)} for every even shift 2m with an overlap."""
    length = a.numel()
    products = {}
    for m in range(-(length // 2) + 1, length // 2):
        shift = 2 * m
        products[m] = float(a[:length - shift] @ b[shift:]) if shift >= 0 else float(a[-shift:] @ b[:length + shift])
    return products


@pytest.mark.parametrize("wavelet", WAVELETS + ["db1"])
def test_filters_are_orthonormal_daubechies(wavelet):
    low, high = wavelet_filters(wavelet)
    length = low.numel()
    vanishing_moments = length // 2
    assert length == 2 * (1 if wavelet in ("haar", "db1") else int(wavelet[2:]))
    assert abs(float(low.norm()) - 1) < 1e-15
    assert abs(float(low.sum()) - math.sqrt(2)) < 1e-15
    for m, value in _even_shift_products(low, low).items():
        assert abs(value - (m == 0)) < 1e-15
    assert max(abs(v) for v in _even_shift_products(low, high).values()) < 1e-15
    # Daubechies N: the high-pass annihilates polynomials of degree < N.
    positions = torch.arange(length, dtype=torch.float64)
    for degree in range(vanishing_moments):
        assert abs(float((positions**degree * high).sum())) < 1e-12 * length**degree


def test_haar_is_db1_and_db2_is_closed_form():
    assert torch.equal(wavelet_filters("haar")[0], wavelet_filters("db1")[0])
    s3, s2 = math.sqrt(3), math.sqrt(2)
    expected = torch.tensor([1 + s3, 3 + s3, 3 - s3, 1 - s3], dtype=torch.float64) / (4 * s2)
    assert torch.allclose(wavelet_filters("db2")[0], expected, rtol=0, atol=1e-16)


CASES = [(2, (3, 2, 16, 24)), (3, (2, 1, 8, 16, 8))]


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize("ndim, shape", CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_orthogonality_and_perfect_reconstruction(wavelet, levels, ndim, shape, dtype):
    generator = torch.Generator().manual_seed(levels)
    W = WaveletTransform(wavelet, levels, ndim)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    c = W.A(x)
    assert c.shape == x.shape and c.dtype == x.dtype
    norms = torch.linalg.vector_norm(c.reshape(shape[0], -1), dim=1)
    assert torch.allclose(norms, torch.linalg.vector_norm(x.reshape(shape[0], -1), dim=1), rtol=1e-13, atol=0)
    assert float((W.A_adjoint(c) - x).abs().max()) < 1e-12          # WᵀW = I
    assert float((W.A(W.A_adjoint(x)) - x).abs().max()) < 1e-12     # WWᵀ = I
    # Batch elements and channels are transformed independently.
    assert float((W.A(x[1:2, :1]) - c[1:2, :1]).abs().max()) < 1e-13


@pytest.mark.parametrize("wavelet", WAVELETS)
def test_dense_matrix_is_orthogonal_when_the_filter_is_longer_than_the_coarsest_block(wavelet):
    # 8×8 with 3 levels: the last level works on a 2×2 block, shorter than db4's 8 taps.
    W = WaveletTransform(wavelet, levels=3)
    matrix = W.A(torch.eye(64, dtype=torch.float64).reshape(64, 1, 8, 8)).reshape(64, 64)
    assert float((matrix @ matrix.T - torch.eye(64, dtype=torch.float64)).abs().max()) < 1e-14


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_dot_product_adjoint(dtype):
    generator = torch.Generator().manual_seed(7)
    W = WaveletTransform("db3", levels=2)
    x = torch.randn(2, 2, 16, 32, generator=generator, dtype=dtype)
    c = torch.randn(2, 2, 16, 32, generator=generator, dtype=dtype)
    lhs = torch.vdot(W.A(x).flatten(), c.flatten())
    rhs = torch.vdot(x.flatten(), W.A_adjoint(c).flatten())
    assert abs(lhs - rhs) / (x.norm() * c.norm()) < 1e-14


def test_float32_and_complex_parts():
    generator = torch.Generator().manual_seed(3)
    W = WaveletTransform("db2", levels=2)
    real = torch.randn(1, 1, 16, 16, generator=generator)
    imag = torch.randn(1, 1, 16, 16, generator=generator)
    c = W.A(torch.complex(real, imag))
    assert c.dtype == torch.complex64
    assert float((c.real - W.A(real)).abs().max()) < 1e-6
    assert float((c.imag - W.A(imag)).abs().max()) < 1e-6
    assert float((W.A_adjoint(c) - torch.complex(real, imag)).abs().max()) < 1e-5


def test_haar_coefficients_by_hand():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0],
                      [5.0, 6.0, 7.0, 8.0],
                      [0.0, 0.0, 2.0, 2.0],
                      [0.0, 0.0, 2.0, 2.0]], dtype=torch.float64).reshape(1, 1, 4, 4)
    one_level = WaveletTransform("haar", levels=1).A(x)[0, 0]
    # 2×2 block [[a, b], [c, d]]: LL = (a+b+c+d)/2, LH = (a-b+c-d)/2, HL = (a+b-c-d)/2, HH = (a-b-c+d)/2.
    expected = torch.tensor([[7.0, 11.0, -1.0, -1.0],
                             [0.0, 4.0, 0.0, 0.0],
                             [-4.0, -4.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(one_level, expected, rtol=0, atol=1e-14)
    # Level 2 transforms the LL block [[7, 11], [0, 4]] again; the details stay.
    two_levels = WaveletTransform("haar", levels=2).A(x)[0, 0]
    expected[:2, :2] = torch.tensor([[11.0, -4.0], [7.0, 0.0]])
    assert torch.allclose(two_levels, expected, rtol=0, atol=1e-14)


def test_detail_mask_marks_all_but_the_coarsest_block():
    mask = WaveletTransform("db2", levels=2, ndim=3).detail_mask((8, 16, 4))
    assert mask.shape == (8, 16, 4) and int((~mask).sum()) == 2 * 4 * 1
    assert not bool(mask[:2, :4, :1].any()) and bool(mask[2:].all())
    # A constant image has only approximation coefficients.
    W = WaveletTransform("db4", levels=3)
    c = W.A(torch.full((1, 1, 16, 16), 2.0, dtype=torch.float64))
    assert float(c[..., W.detail_mask((16, 16))].abs().max()) < 1e-13


def test_indivisible_sizes_and_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"WaveletTransform: spatial shape \(12, 16\) is not divisible by "
                                         r"2\*\*levels = 8 \(levels=3\)"):
        WaveletTransform("haar", levels=3).A(torch.zeros(1, 1, 12, 16))
    with pytest.raises(ValueError, match=r"WaveletTransform\(ndim=3\): expected a tensor shaped"):
        WaveletTransform(ndim=3).A_adjoint(torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="WaveletTransform: wavelet must be one of"):
        WaveletTransform("sym4")
    with pytest.raises(ValueError, match="WaveletTransform: levels must be an integer >= 1"):
        WaveletTransform("db2", levels=0)
