"""Images in physical units and complex images reach a [0, 1] denoiser through one scaling, and back."""

from __future__ import annotations

import pytest
import torch

from recon.priors.denoiser_scaling import ScaledDenoiser, image_range


class Recorder:
    """A denoiser that records what it was given and returns a known function of it."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, sigma):
        self.calls.append((x.clone(), sigma))
        return x.clamp(0, 1)


def test_physical_units_are_mapped_to_the_unit_range_with_sigma():
    recorder = Recorder()
    denoiser = ScaledDenoiser(recorder, (2.0, 6.0))
    x = torch.tensor([[[[2.0, 4.0, 7.0]]]])
    out = denoiser(x, 0.4)
    seen, sigma = recorder.calls[0]
    assert seen.flatten().tolist() == [0.0, 0.5, 1.25] and sigma == pytest.approx(0.1)
    assert out.flatten().tolist() == [2.0, 4.0, 6.0]          # clamped to [0, 1] in the unit range: [2, 6] here


def test_tensor_sigma_per_batch_element_is_scaled_too():
    recorder = Recorder()
    ScaledDenoiser(recorder, (0.0, 10.0))(torch.zeros(2, 1, 2, 2), torch.tensor([1.0, 5.0]))
    assert recorder.calls[0][1].tolist() == pytest.approx([0.1, 0.5])


def test_magnitude_mode_denoises_the_modulus_and_keeps_the_phase():
    recorder = Recorder()
    x = torch.tensor([[[[3.0 + 4.0j, -2.0j, 0.0j]]]])
    out = ScaledDenoiser(recorder, (0.0, 4.0), complex_mode="magnitude")(x, 0.2)
    seen, sigma = recorder.calls[0]
    assert seen.flatten().tolist() == [1.25, 0.5, 0.0] and sigma == pytest.approx(0.05)
    torch.testing.assert_close(out, torch.tensor([[[[2.4 + 3.2j, -2.0j, 0.0j]]]]))   # |x| clamped to 4


def test_real_imaginary_mode_denoises_both_parts_as_images_in_a_symmetric_range():
    recorder = Recorder()
    x = torch.tensor([[[[1.0 - 2.0j]]]])
    out = ScaledDenoiser(recorder, (0.0, 2.0), complex_mode="real-imag")(x, 0.4)
    seen, sigma = recorder.calls[0]
    assert seen.shape[0] == 2 and seen.flatten().tolist() == [0.75, 0.0] and sigma == pytest.approx(0.1)
    torch.testing.assert_close(out, x)


def test_signed_parts_mode_is_the_odd_extension_of_a_non_negative_denoiser():
    recorder = Recorder()
    x = torch.tensor([[[[1.0 - 2.0j, -0.5 + 3.0j]]]])
    out = ScaledDenoiser(recorder, (0.0, 2.0), complex_mode="signed-parts")(x, 0.4)
    seen, sigma = recorder.calls[0]
    # one batch of four non-negative images: re+, im+, re-, im-, each in [0, 1] for the range [0, 2]
    assert seen.shape[0] == 4 and sigma == pytest.approx(0.2)
    assert seen.flatten().tolist() == [0.5, 0.0, 0.0, 1.5, 0.0, 0.25, 1.0, 0.0]
    # D(u+) - D(u-) with D clamping to [0, 1]: |parts| above the range's top (2) are clamped to it
    torch.testing.assert_close(out, torch.tensor([[[[1.0 - 2.0j, -0.5 + 2.0j]]]]))
    recorder.calls.clear()
    ScaledDenoiser(recorder, (0.0, 2.0), complex_mode="signed-parts")(torch.zeros(3, 1, 2, 2, dtype=torch.complex64),
                                                                       torch.tensor([0.2, 0.4, 0.6]))
    assert recorder.calls[0][1].tolist() == pytest.approx([0.1, 0.2, 0.3] * 4)


def test_image_range_is_robust_to_a_few_outliers():
    x = torch.ones(1, 1, 100, 100)
    x[0, 0, 0, :5] = 1000.0
    assert image_range(x) == (0.0, 1.0)
    assert image_range(torch.zeros(1, 1, 4, 4)) == (0.0, 1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="image_range must be"):
        ScaledDenoiser(Recorder(), (1.0, 1.0))
    with pytest.raises(ValueError, match="complex_mode must be"):
        ScaledDenoiser(Recorder(), complex_mode="phase")
