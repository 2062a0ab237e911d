"""F^H M F in the mask's own coordinates: equal to the centred form for column, 2D, per-batch and 3D masks, odd sizes too."""

import pytest
import torch

from recon.operators.fourier import centred_fft, centred_ifft
from recon.operators.mri_normal import NormalForm, varying_axes


def _random_columns(rows, cols, generator):
    mask = torch.zeros(rows, cols)
    mask[:, torch.rand(cols, generator=generator) < 0.4] = 1
    return mask


@pytest.mark.parametrize("shape", [(6, 8), (7, 9), (5, 6)])
@pytest.mark.parametrize("kind", ["columns", "2d", "batch"])
def test_projection_and_residual_match_the_centred_fft(shape, kind):
    generator = torch.Generator().manual_seed(sum(shape))
    if kind == "columns":
        mask = _random_columns(*shape, generator)
    elif kind == "2d":
        mask = (torch.rand(shape, generator=generator) < 0.5).float()
    else:
        mask = torch.stack([_random_columns(*shape, generator) for _ in range(2)])
    form = NormalForm(mask, ndim=2)
    assert form.axes == ((-1,) if kind != "2d" else (-2, -1))
    batch_mask = mask.unsqueeze(1) if mask.dim() == 3 else mask
    u = torch.randn(2, 3, *shape, generator=generator, dtype=torch.complex128)
    y = batch_mask * torch.randn(2, 3, *shape, generator=generator, dtype=torch.complex128)
    direct = centred_ifft(batch_mask * centred_fft(u, 2), 2)
    assert float((form.project(u) - direct).abs().max()) < 1e-14
    # ||M F u - y|| = ||M' T u - ŷ|| with ŷ = T Fᴴ y, and ŷ vanishes off M'.
    y_hat = form.forward(centred_ifft(y, 2))
    lhs = (batch_mask * centred_fft(u, 2) - y).norm()
    rhs = (form.mask_like(u) * form.forward(u) - y_hat).norm()
    assert float(abs(lhs - rhs)) < 1e-12
    assert float(((1 - form.mask_like(u)) * y_hat).abs().max()) < 1e-14


def test_three_dimensional_mask_varying_on_two_axes():
    generator = torch.Generator().manual_seed(3)
    plane = (torch.rand(5, 7, generator=generator) < 0.5).float()
    mask = plane[:, None, :].expand(5, 6, 7).contiguous()      # (depth, rows, cols), constant along rows
    form = NormalForm(mask, ndim=3)
    assert form.axes == (-3, -1)
    u = torch.randn(1, 2, 5, 6, 7, generator=generator, dtype=torch.complex128)
    assert float((form.project(u) - centred_ifft(mask * centred_fft(u, 3), 3)).abs().max()) < 1e-14


def test_constant_masks_need_no_transform():
    assert varying_axes(torch.ones(4, 4), 2) == ()
    u = torch.randn(1, 1, 4, 4, dtype=torch.complex128)
    assert torch.equal(NormalForm(torch.ones(4, 4), 2).project(u), u)
    assert float(NormalForm(torch.zeros(4, 4), 2).project(u).abs().max()) == 0.0
