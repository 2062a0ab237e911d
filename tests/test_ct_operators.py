"""CT operators against astra-toolbox's own projections, geometry conventions and backend choice."""

import logging
import math

import astra
import numpy as np
import pytest
import torch

from recon.operators import FanBeamCT, ParallelBeamCT

ANGLES = np.linspace(0, np.pi, 45, endpoint=False)
FAN_ANGLES = np.linspace(0, 2 * np.pi, 60, endpoint=False)


def _image(shape=(48, 48), seed=0):
    rng = np.random.default_rng(seed)
    return rng.random(shape).astype(np.float32)


# astra's vector geometries compute ray positions in float32, so the same scan described
# as 'parallel' and as 'parallel_vec' differs by up to ~1e-5 of the maximum inside astra itself.
GEOMETRY_FORM_TOLERANCE = 5e-5


def _astra_sinogram(image, proj_geom, kernel):
    vol_geom = astra.create_vol_geom(*image.shape)
    projector = astra.create_projector(kernel, proj_geom, vol_geom)
    sino_id, sinogram = astra.create_sino(image, projector)
    astra.data2d.delete(sino_id)
    astra.projector.delete(projector)
    return sinogram


@pytest.mark.parametrize("projector", ["linear", "line", "strip"])
def test_parallel_forward_equals_astra(projector):
    image = _image()
    op = ParallelBeamCT(ANGLES, 70, image_shape=image.shape, projector=projector)
    ours = op(torch.from_numpy(image)[None, None])[0, 0].numpy()
    same_geometry = _astra_sinogram(image, op.geometry.astra_geometries()[1], projector)
    assert np.abs(ours - same_geometry).max() <= 2e-6 * np.abs(same_geometry).max()
    plain = _astra_sinogram(image, astra.create_proj_geom("parallel", 1.0, 70, ANGLES), projector)
    assert np.abs(ours - plain).max() <= GEOMETRY_FORM_TOLERANCE * np.abs(plain).max()


@pytest.mark.parametrize("projector,kernel", [("line", "line_fanflat"), ("strip", "strip_fanflat")])
def test_fan_forward_equals_astra(projector, kernel):
    image = _image()
    op = FanBeamCT(FAN_ANGLES, 90, 100.0, 60.0, detector_spacing=1.3, image_shape=image.shape, projector=projector)
    ours = op(torch.from_numpy(image)[None, None])[0, 0].numpy()
    theirs = _astra_sinogram(image, astra.create_proj_geom("fanflat", 1.3, 90, FAN_ANGLES, 100.0, 60.0), kernel)
    assert np.abs(ours - theirs).max() <= 2e-6 * np.abs(theirs).max()


def test_fan_vector_geometry_equals_astra_fanflat():
    """The vector form used for off-centre detectors reproduces astra's own fanflat geometry."""
    image = _image()
    proj = astra.create_proj_geom("fanflat", 1.3, 90, FAN_ANGLES, 100.0, 60.0)
    theirs = _astra_sinogram(image, astra.functions.geom_2vec(proj), "line_fanflat")
    op = FanBeamCT(FAN_ANGLES, 90, 100.0, 60.0, detector_spacing=1.3, image_shape=image.shape)
    vectors = op.geometry.vectors()
    np.testing.assert_allclose(vectors, proj_vectors := astra.functions.geom_2vec(proj)["Vectors"], atol=1e-9)
    assert proj_vectors.shape == (60, 6)
    ours = op(torch.from_numpy(image)[None, None])[0, 0].numpy()
    assert np.abs(ours - theirs).max() <= GEOMETRY_FORM_TOLERANCE * np.abs(theirs).max()


def test_pixel_size_scales_line_integrals():
    """Halving every length halves the line integrals of the same picture."""
    image = torch.from_numpy(_image())[None, None]
    unit = ParallelBeamCT(ANGLES, 70, image_shape=(48, 48))
    half = ParallelBeamCT(ANGLES, 70, image_shape=(48, 48), pixel_size=0.5, detector_spacing=0.5)
    torch.testing.assert_close(half(image), 0.5 * unit(image))


@pytest.mark.parametrize("beam", ["parallel", "fan"])
def test_centre_offset_moves_the_axis_projection(beam):
    """A point on the rotation axis lands on detector column (n-1)/2 + centre_offset at every angle."""
    image = torch.zeros(1, 1, 33, 33)
    image[0, 0, 16, 16] = 1.0
    kwargs = dict(image_shape=(33, 33), centre_offset=3.0, projector="line")
    if beam == "parallel":
        op = ParallelBeamCT(ANGLES, 51, **kwargs)
    else:
        op = FanBeamCT(FAN_ANGLES, 51, 80.0, 40.0, detector_spacing=1.5, **kwargs)
    sinogram = op(image)[0, 0]
    columns = torch.arange(51, dtype=torch.float32)
    centroid = (sinogram * columns).sum(1) / sinogram.sum(1)
    torch.testing.assert_close(centroid, torch.full_like(centroid, 25.0 + 3.0), atol=1e-3, rtol=0)


def test_over_budget_falls_back_to_astra_and_says_so(caplog):
    image = torch.from_numpy(_image())[None, None]
    matrix = ParallelBeamCT(ANGLES, 70, image_shape=(48, 48))
    with caplog.at_level(logging.WARNING, logger="recon.operators.ct"):
        on_the_fly = ParallelBeamCT(ANGLES, 70, image_shape=(48, 48), memory_budget=1e5)
    assert matrix.backend == "matrix" and on_the_fly.backend == "astra"
    assert "memory budget" in caplog.text
    torch.testing.assert_close(on_the_fly(image), matrix(image), rtol=1e-5, atol=1e-4)
    y = matrix(image)
    torch.testing.assert_close(on_the_fly.A_adjoint(y), matrix.A_adjoint(y), rtol=1e-5, atol=1e-3)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match="no CPU linear-interpolation kernel"):
        FanBeamCT(FAN_ANGLES, 32, 40.0, 20.0, projector="linear", image_shape=(8, 8))
    with pytest.raises(ValueError, match="projector: expected one of"):
        ParallelBeamCT(ANGLES, 32, projector="joseph", image_shape=(8, 8))
    with pytest.raises(ValueError, match="source_origin"):
        FanBeamCT(FAN_ANGLES, 32, 5.0, 20.0, image_shape=(64, 64))
    with pytest.raises(ValueError, match="angles"):
        ParallelBeamCT([0.0, math.nan], 32, image_shape=(8, 8))
    with pytest.raises(ValueError, match="backend"):
        ParallelBeamCT(ANGLES, 32, image_shape=(8, 8), backend="gpu")
    with pytest.raises(TypeError, match="expected a real tensor"):
        ParallelBeamCT(ANGLES, 32, image_shape=(8, 8))(torch.zeros(1, 1, 8, 8, dtype=torch.complex64))


def test_operator_works_inside_deepinv():
    """The operator is a deepinv LinearPhysics: deepinv's own adjoint test and least squares accept it."""
    import deepinv

    op = ParallelBeamCT(ANGLES, 70, image_shape=(48, 48))
    assert isinstance(op, deepinv.physics.LinearPhysics)
    assert abs(float(op.adjointness_test(torch.zeros(1, 1, 48, 48)))) < 1e-4
