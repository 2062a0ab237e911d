"""Network architectures (torch modules only; no training code and no file I/O).

:func:`build_network` makes one from the name and arguments a weights manifest stores.

>>> build_network("small-drunet", {"channels": [8, 16], "blocks": 1}).channels
(8, 16)
"""

from __future__ import annotations

from recon.networks.conv_stack import ConvStack
from recon.networks.dncnn import DnCNN
from recon.networks.drunet_small import SmallDRUNet
from recon.networks.edge_map_net import EdgeMapNet
from recon.networks.edm import EDMDenoiser
from recon.networks.lpn import LearnedProximalNetwork, LearnedProximalNetwork1d
from recon.networks.penalty_net import PenaltyNet
from recon.networks.resunet import ResUNet

ARCHITECTURES = {"small-drunet": SmallDRUNet, "dncnn": DnCNN, "edm-drunet": EDMDenoiser, "resunet": ResUNet,
                 "penalty-net": PenaltyNet, "conv-stack": ConvStack, "edge-map-net": EdgeMapNet,
                 "lpn": LearnedProximalNetwork, "lpn-1d": LearnedProximalNetwork1d}


def build_network(kind: str, arguments: dict):
    """An untrained network of architecture ``kind`` built with ``arguments``."""
    if kind not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {kind!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[kind](**arguments)


__all__ = ["ARCHITECTURES", "ConvStack", "DnCNN", "EDMDenoiser", "EdgeMapNet", "LearnedProximalNetwork",
           "LearnedProximalNetwork1d", "PenaltyNet", "ResUNet", "SmallDRUNet", "build_network"]
