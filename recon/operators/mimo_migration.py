r"""Direct (non-iterative) images for near-field MIMO radar: back-projection and Kirchhoff migration.

Both are sums over every (frequency, transmitter, receiver) of the data times
a focusing kernel, computed by the chunked machinery of
:class:`recon.operators.mimo.NearFieldMIMO` (no dense matrix), and returned
normalised to :math:`\max_p |\hat x(p)| = 1` (an all-zero input stays zero).

**Back-projection** is the matched filter :math:`\hat x = A^{\mathsf H} y`:

.. math:: \hat x(p) = \sum_{f,t,r} \frac{e^{+jk(R_t + R_r)}}{4\pi R_t R_r}\, y(f, t, r).

**Kirchhoff migration** back-propagates the field with the Kirchhoff
(Rayleigh-Sommerfeld) integral over the receiver aperture and, by
reciprocity, over the transmitter aperture (X. Zhuge and A. Yarovoy, "Study on
two-dimensional sparse MIMO UWB arrays for high resolution near-field
imaging", IEEE Trans. Antennas Propag. 60(9), 2012; in the time domain,
:math:`\hat x(p) = \sum_{t,r} \frac{\cos\theta_t \cos\theta_r}{4\pi^2 c^2 R_t R_r}\,
\partial_t^2 s\big(t, r, (R_t + R_r)/c\big)`). Back-propagating a field
:math:`u` measured on the plane of the array to :math:`p` is, for
:math:`kR \gg 1`, :math:`\int u\, \overline{2\partial_n G}\, dA` with
:math:`G = e^{-jkR}/(4\pi R)` and :math:`2\partial_n G \approx -jk \cos\theta\,
e^{-jkR}/(2\pi R)`, where :math:`\cos\theta = |z_p - z_a| / R` is the obliquity
of the ray from the antenna to the voxel (the array plane is taken normal to z,
as in the paper). Doing it over both apertures and summing the frequencies
(the time derivatives are :math:`(jkc)^2`, the imaging time :math:`t = 0`):

.. math::

    \hat x(p) = \sum_{f,t,r} (jk)^2\, \frac{\cos\theta_t(p)\cos\theta_r(p)}{4\pi^2 R_t(p) R_r(p)}\,
                e^{+jk(R_t(p) + R_r(p))}\, y(f, t, r),

that is back-projection with each frequency weighted by :math:`-k^2` and each
(antenna, voxel) pair by :math:`\cos\theta_t\cos\theta_r / \pi` relative to the Born
kernel's :math:`1/(4\pi R_t R_r)`: the high frequencies and the rays close to the
array normal count more, which sharpens the range response.

>>> import torch
>>> from recon.operators.mimo import NearFieldMIMO
>>> from recon.operators.mimo_geometry import VoxelGrid, paper_array, paper_frequencies
>>> tx, rx = paper_array()
>>> grid = VoxelGrid(x=(-0.1, 0.1), y=(-0.1, 0.1), z=(0.4, 0.6), counts=(5, 5, 9))
>>> op = NearFieldMIMO(tx, rx, paper_frequencies(10), grid)
>>> x = torch.zeros(1, 1, 5, 5, 9, dtype=torch.complex64); x[0, 0, 1, 3, 6] = 1
>>> image = kirchhoff_migration(op.A(x), op)
>>> tuple(int(i) for i in torch.unravel_index(image.abs().argmax(), image.shape)), float(image.abs().max())
((0, 0, 1, 3, 6), 1.0)
"""

from __future__ import annotations

import torch

from recon.operators.mimo import NearFieldMIMO


def _normalised(image: torch.Tensor) -> torch.Tensor:
    """``image / max |image|`` over each batch entry and channel (zero stays zero)."""
    peak = image.abs().amax(dim=tuple(range(2, image.dim())), keepdim=True)
    return image / torch.where(peak > 0, peak, torch.ones_like(peak))


def back_projection(y: torch.Tensor, operator: NearFieldMIMO) -> torch.Tensor:
    r""":math:`A^{\mathsf H} y / \max |A^{\mathsf H} y|` (per batch entry and channel): the matched-filter image."""
    _check_operator(operator, "back_projection")
    return _normalised(operator.A_adjoint(y))


def kirchhoff_migration(y: torch.Tensor, operator: NearFieldMIMO) -> torch.Tensor:
    r"""The near-field MIMO Kirchhoff migration of the module text, normalised to max 1 (per batch entry and channel)."""
    _check_operator(operator, "kirchhoff_migration")
    operator.check_range(y)
    y = operator._promote(y)
    k = operator.wavenumbers.to(device=y.device, dtype=y.real.dtype)
    weighted = y * (-(k**2)).view(-1, 1, 1)
    points = operator.grid.points()
    z = points[:, 2]
    cos_tx = (z[None, :] - operator.transmitters[:, 2:3].cpu()).abs() / operator.tx_distances.cpu()
    cos_rx = (z[None, :] - operator.receivers[:, 2:3].cpu()).abs() / operator.rx_distances.cpu()
    return _normalised(operator.weighted_adjoint(weighted, (cos_tx / torch.pi, cos_rx)))


def _check_operator(operator, owner: str) -> None:
    if not isinstance(operator, NearFieldMIMO):
        raise TypeError(f"{owner}: operator must be a NearFieldMIMO, got {type(operator).__name__}")
