"""The DCT-II through one FFT: against SciPy for every length parity, axis, real and complex input."""

import numpy as np
import pytest
import scipy.fft
import torch

from recon.priors.cosine_transform import dct, idct


@pytest.mark.parametrize("n", [1, 2, 5, 8, 13])
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_dct_and_its_inverse_match_scipy(n, dim):
    shape = [3, 4, 2]
    shape[dim] = n
    generator = torch.Generator().manual_seed(n + 10 * dim)
    x = torch.randn(*shape, generator=generator, dtype=torch.float64)
    expected = scipy.fft.dct(x.numpy(), norm="ortho", axis=dim)
    assert np.abs(dct(x, dim).numpy() - expected).max() < 1e-13
    assert np.abs(idct(x, dim).numpy() - scipy.fft.idct(x.numpy(), norm="ortho", axis=dim)).max() < 1e-13
    assert dct(x, dim).dtype == torch.float64


def test_complex_input_is_transformed_as_real_and_imaginary_parts():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 7, 6, generator=generator, dtype=torch.complex128)
    expected = scipy.fft.dct(x.real.numpy(), norm="ortho", axis=1) + 1j * scipy.fft.dct(x.imag.numpy(), norm="ortho",
                                                                                           axis=1)
    assert np.abs(dct(x, 1).numpy() - expected).max() < 1e-13
    assert float((idct(dct(x, -1), -1) - x).abs().max()) < 1e-13


def test_single_precision_stays_single():
    x = torch.randn(4, 16, dtype=torch.float32)
    assert dct(x).dtype == torch.float32 and idct(dct(x)).dtype == torch.float32
    assert float((idct(dct(x)) - x).abs().max()) < 1e-5
    z = torch.randn(4, 16, dtype=torch.complex64)
    assert dct(z).dtype == torch.complex64
