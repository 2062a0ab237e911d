"""The network architectures: shapes, any image size, the noise-level map, and their manifest arguments."""

from __future__ import annotations

import pytest
import torch

from recon.networks import ARCHITECTURES, DnCNN, SmallDRUNet, build_network
from recon.networks.drunet_small import noise_level_map


@pytest.mark.parametrize("shape", [(1, 1, 32, 32), (2, 1, 21, 30), (1, 1, 5, 9), (3, 1, 1, 1)])
def test_small_drunet_keeps_any_image_size(shape):
    net = SmallDRUNet(channels=(4, 8, 16), blocks=1)
    out = net(torch.rand(shape), 0.1)
    assert out.shape == shape and bool(torch.isfinite(out).all())


def test_small_drunet_output_depends_on_sigma_and_each_batch_element_gets_its_own():
    torch.manual_seed(0)
    net = SmallDRUNet(channels=(4, 8), blocks=1).eval()
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        together = net(x, torch.tensor([0.05, 0.3]))
        first, second = net(x[:1], 0.05), net(x[1:], 0.3)
        other = net(x[:1], 0.3)
    torch.testing.assert_close(together, torch.cat([first, second]))
    assert float((first - other).abs().max()) > 1e-4


def test_small_drunet_is_bias_free_so_it_is_positively_homogeneous():
    torch.manual_seed(0)
    net = SmallDRUNet(channels=(4, 8), blocks=2).eval()
    assert all(module.bias is None for module in net.modules() if isinstance(module, torch.nn.Conv2d))
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(net(3.0 * x, 3.0 * 0.1), 3.0 * net(x, 0.1), rtol=1e-5, atol=1e-6)


def test_dncnn_is_residual_and_the_blind_one_ignores_sigma():
    torch.manual_seed(0)
    blind = DnCNN(depth=4, features=8, noise_map=False).eval()
    x = torch.rand(1, 1, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(blind(x, 0.1), blind(x, 0.5))
        for layer in blind.layers:
            if isinstance(layer, torch.nn.Conv2d):
                torch.nn.init.zeros_(layer.weight)
                torch.nn.init.zeros_(layer.bias)
        torch.testing.assert_close(blind(x, 0.1), x)        # zero noise estimate: the input comes back
    assert DnCNN(depth=4, features=8).layers[0].in_channels == 2   # image + noise map


@pytest.mark.parametrize("kind, net", [("small-drunet", SmallDRUNet(channels=(4, 8), blocks=2)),
                                       ("dncnn", DnCNN(depth=3, features=4, noise_map=False))])
def test_architecture_arguments_rebuild_the_same_network(kind, net):
    rebuilt = build_network(kind, net.architecture())
    assert type(rebuilt) is ARCHITECTURES[kind]
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}


def test_bad_sizes_and_inputs_are_errors():
    with pytest.raises(ValueError, match="SmallDRUNet: bad sizes"):
        SmallDRUNet(channels=())
    with pytest.raises(ValueError, match="DnCNN: bad sizes"):
        DnCNN(depth=1)
    with pytest.raises(ValueError, match=r"expects \(batch, 1, H, W\)"):
        SmallDRUNet(channels=(4,))(torch.rand(1, 2, 8, 8), 0.1)
    with pytest.raises(ValueError, match="sigma must be a float or a"):
        noise_level_map(torch.rand(2, 1, 4, 4), torch.ones(3))
    with pytest.raises(ValueError, match="unknown architecture"):
        build_network("unet", {})


@pytest.mark.parametrize("shape", [(1, 1, 25, 25, 49), (2, 1, 7, 9, 5)])
def test_small_drunet_in_3d_keeps_any_volume_size(shape):
    net = SmallDRUNet(channels=(4, 8, 16), spatial_dims=3)
    assert net.architecture()["spatial_dims"] == 3
    assert all(isinstance(m, torch.nn.Conv3d) for m in net.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Conv3d))
    out = net(torch.rand(shape), 0.1)
    assert out.shape == shape and bool(torch.isfinite(out).all())
    with pytest.raises(ValueError, match=r"expects \(batch, 1, D, H, W\)"):
        net(torch.rand(1, 1, 8, 8), 0.1)
    rebuilt = build_network("small-drunet", net.architecture())
    assert rebuilt.spatial_dims == 3 and "spatial_dims" not in SmallDRUNet().architecture()
