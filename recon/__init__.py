"""recon: reconstruction for imaging inverse problems.

Forward operators (``recon.operators``), priors (``recon.priors``), solvers
(``recon.solvers``) and data readers (``recon.datasets``) live in subpackages.
This top-level module imports nothing heavy, so that ``recon --help`` stays fast.
"""

from recon._version import __version__

__all__ = ["__version__"]
