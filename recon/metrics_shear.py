r"""Galaxy shapes by adaptive moments, and the shear error :math:`|\Delta g|` of a reconstruction.

**Adaptive moments** (Bernstein & Jarvis 2002; GalSim's HSM ``FindAdaptiveMom``): the
elliptical Gaussian weight :math:`W(x) = \exp(-\tfrac12 (x-\mu)^\top M^{-1}(x-\mu))` matched to the
image. From a round start (:math:`\mu` the image's flux-weighted centroid, :math:`M = 9\,I` pixels²)
iterate

.. math:: \mu \leftarrow \frac{\sum W I\,x}{\sum W I}, \qquad
          Q = \frac{\sum W I\,(x-\mu)(x-\mu)^\top}{\sum W I}, \qquad M \leftarrow 2Q,

until :math:`M` changes by less than ``tol`` (relative). For an elliptical Gaussian image of
covariance :math:`C`, :math:`Q = (C^{-1} + M^{-1})^{-1}`, whose fixed point is :math:`M = C`: the
weight becomes the galaxy's own shape. The map is covariant under linear coordinate changes,
so a sheared round profile of any radial shape gives the shear back.

**Ellipticity** (shear-type, GalSim's ``observed_shape``), with axis 1 = columns (x), 2 = rows (y):

.. math:: g = g_1 + i g_2 = \frac{M_{11} - M_{22} + 2i M_{12}}{M_{11} + M_{22} + 2\sqrt{\det M}},
          \qquad |g| = \frac{1-q}{1+q}

for axis ratio :math:`q`; :math:`g_1 > 0` is elongation along the columns, :math:`g_2 > 0` along
the row = column diagonal (the convention of :mod:`recon.datasets.galaxies`).

**Shear error** (Li & Alexander's metric): :math:`|\Delta g| = |g(\hat x) - g(x_\text{true})|`,
the ellipticity measured on the reconstruction (or on the observation, for "no
deconvolution") minus that measured on the noiseless, PSF-free true image, both by the same
adaptive moments. No PSF correction is applied: deconvolution is what removes the PSF.
A failed measurement (weight sum :math:`\le 0`, :math:`M` not positive definite, no convergence)
gives NaN.

>>> import torch
>>> y, x = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
>>> gaussian = torch.exp(-((x - 24) ** 2 / 16 + (y - 24) ** 2 / 4) / 2)   # sigma 4 along x, 2 along y
>>> g1, g2 = adaptive_ellipticity(gaussian)
>>> round(g1, 4), abs(g2) < 1e-9                                            # (4 - 2) / (4 + 2)
(0.3333, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AdaptiveMoments:
    """The converged weight: centroid (row, column), covariance M (xx, yy, xy in pixels²), iterations, ok."""

    centroid: tuple[float, float]
    mxx: float
    myy: float
    mxy: float
    iterations: int
    converged: bool

    @property
    def ellipticity(self) -> tuple[float, float]:
        """The shear-type ellipticity (g1, g2) of the module text; NaN if the moments failed."""
        if not self.converged:
            return (math.nan, math.nan)
        det = self.mxx * self.myy - self.mxy**2
        denominator = self.mxx + self.myy + 2 * math.sqrt(det)
        return ((self.mxx - self.myy) / denominator, 2 * self.mxy / denominator)

    @property
    def sigma(self) -> float:
        r"""The size :math:`\det(M)^{1/4}` in pixels."""
        return (self.mxx * self.myy - self.mxy**2) ** 0.25 if self.converged else math.nan


def adaptive_moments(image: torch.Tensor, *, max_iter: int = 200, tol: float = 1e-8,
                     initial_sigma: float = 3.0) -> AdaptiveMoments:
    """Adaptive second moments of a 2D image (module text); ``image`` is (H, W), or with leading size-1 axes."""
    image = torch.as_tensor(image).detach().to(torch.float64)
    while image.dim() > 2 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 2:
        raise ValueError(f"adaptive_moments: expected an image shaped (H, W), got {tuple(image.shape)}")
    H, W = image.shape
    rows = torch.arange(H, dtype=torch.float64)[:, None]
    cols = torch.arange(W, dtype=torch.float64)[None, :]
    total = float(image.sum())
    if not total > 0:
        return AdaptiveMoments((math.nan, math.nan), math.nan, math.nan, math.nan, 0, False)
    # Start at the flux centroid of the positive part, clipped to the stamp.
    positive = image.clamp_min(0)
    mass = float(positive.sum())
    row = min(max(float((positive * rows).sum()) / mass, 0.0), H - 1.0)
    col = min(max(float((positive * cols).sum()) / mass, 0.0), W - 1.0)
    mxx = myy = initial_sigma**2
    mxy = 0.0
    for iteration in range(1, max_iter + 1):
        det = mxx * myy - mxy**2
        dx, dy = cols - col, rows - row
        weight = torch.exp(-0.5 * (myy * dx * dx - 2 * mxy * dx * dy + mxx * dy * dy) / det)
        wi = weight * image
        s = float(wi.sum())
        if not s > 0:
            break
        new_col = col + float((wi * dx).sum()) / s
        new_row = row + float((wi * dy).sum()) / s
        dx, dy = cols - new_col, rows - new_row
        qxx = float((wi * dx * dx).sum()) / s
        qyy = float((wi * dy * dy).sum()) / s
        qxy = float((wi * dx * dy).sum()) / s
        new = (2 * qxx, 2 * qyy, 2 * qxy)
        if not (new[0] > 0 and new[1] > 0 and new[0] * new[1] - new[2] ** 2 > 0) or max(new[:2]) > 4 * (H * W):
            break
        change = (abs(new[0] - mxx) + abs(new[1] - myy) + abs(new[2] - mxy)) / (new[0] + new[1])
        change += (abs(new_row - row) + abs(new_col - col)) / math.sqrt(new[0] + new[1])
        mxx, myy, mxy = new
        row, col = new_row, new_col
        if change < tol:
            return AdaptiveMoments((row, col), mxx, myy, mxy, iteration, True)
    return AdaptiveMoments((row, col), mxx, myy, mxy, max_iter, False)


def adaptive_ellipticity(image: torch.Tensor, **kwargs) -> tuple[float, float]:
    """The shear-type ellipticity (g1, g2) of ``image`` by adaptive moments; (NaN, NaN) on failure."""
    return adaptive_moments(image, **kwargs).ellipticity


def shear_error(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    r""":math:`|\Delta g| = |g(\hat x) - g(x)|` by adaptive moments (module text); NaN if either fails.

    >>> import torch
    >>> from recon.datasets.galaxies import sersic_image
    >>> truth = sersic_image((48, 48), half_light_radius=4.0, n=1.0, q=0.6)
    >>> round(shear_error(truth, truth), 12)
    0.0
    """
    a, b = adaptive_ellipticity(estimate), adaptive_ellipticity(truth)
    return math.hypot(a[0] - b[0], a[1] - b[1])
