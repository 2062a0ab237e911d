"""Forward models :math:`y = A x`, each a :class:`deepinv.physics.LinearPhysics` with an exact adjoint."""

from recon.operators.base import Operator
from recon.operators.blur import Blur
from recon.operators.ct import FanBeamCT, ParallelBeamCT
from recon.operators.downsample import Downsample
from recon.operators.fbp import fbp
from recon.operators.mimo import NearFieldMIMO
from recon.operators.mri import MultiCoilMRI, SingleCoilMRI

__all__ = ["Operator", "ParallelBeamCT", "FanBeamCT", "fbp", "SingleCoilMRI", "MultiCoilMRI", "NearFieldMIMO", "Blur",
           "Downsample"]
