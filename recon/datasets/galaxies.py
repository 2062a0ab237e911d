r"""Simulated galaxies: Sérsic profiles, lensing shear, stars, multiband scenes and the shear-study stamps.

**Sérsic profile.** A round profile of half-light radius :math:`r_e` and index :math:`n`,

.. math:: I(r) = I_e \exp\!\big(-b_n\,[(r/r_e)^{1/n} - 1]\big), \qquad
          b_n \approx 2n - \tfrac13 + \tfrac{4}{405n} + \tfrac{46}{25515n^2} + \tfrac{131}{1148175n^3}
          - \tfrac{2194697}{30690717750n^4}

(Ciotti & Bertin 1999, then refined so that exactly half the flux falls inside :math:`r_e`), with total flux
:math:`F = 2\pi n\, I_e r_e^2\, e^{b_n} b_n^{-2n}\,\Gamma(2n)`, so ``flux`` fixes :math:`I_e` (over the
whole plane: a stamp holds a little less, more so for large :math:`n`).

**Shape.** Intrinsic ellipticity is an area-preserving stretch: axis ratio :math:`q` along the
angle :math:`\varphi` (counter-clockwise from the column axis), the elliptical radius being
:math:`r^2 = q u_1^2 + u_2^2/q` in the rotated frame :math:`u = R(-\varphi)\beta` (half-light
semi-axes :math:`r_e/\sqrt q` and :math:`r_e\sqrt q`; shear-type ellipticity
:math:`|g| = (1-q)/(1+q)`). The lensing **shear** :math:`g = (g_1, g_2)` then maps image-plane
coordinates :math:`\theta = (x, y)` (column, row, from the centre) to the source plane,

.. math:: \beta = \frac{1}{\sqrt{1 - |g|^2}}\begin{pmatrix}1-g_1 & -g_2\\ -g_2 & 1+g_1\end{pmatrix}\theta,
          \qquad I_\text{obs}(\theta) = I_\text{src}(\beta),

normalised to unit determinant, i.e. area- and flux-preserving like GalSim's ``shear``
(no magnification). A round source becomes an ellipse of shear-type ellipticity exactly
:math:`g` (:math:`g_1 > 0`: elongated along the columns, :math:`g_2 > 0`: along the row = column diagonal).

**Pixels.** Each pixel is the mean of ``oversample`` × ``oversample`` point samples times the
pixel area (1), so the cusp of a large-:math:`n` profile is not aliased; the centre is at
pixel ``(H // 2, W // 2)`` plus ``offset`` (the centre of a ``Blur`` PSF).

**Shear stamps** (:func:`shear_galaxy`), after Li & Alexander's unrolled PnP-ADMM study
(LSST-like): 48 × 48 at 0.2″/pixel; :math:`n \sim U(0.5, 3)`, :math:`r_e \sim U(0.3'', 0.8'')`,
intrinsic :math:`|e| \sim U(0, 0.6)` at a uniform angle, shear :math:`|g| \sim U(0.01, 0.05)` at a
uniform angle, sub-pixel offset :math:`U(-\tfrac12, \tfrac12)^2`; Moffat PSF with
:math:`\beta = 3.5` and FWHM :math:`\sim U(0.45'', 0.95'')` (2.25–4.75 pixels), 31 × 31, sum 1; the
blur is circular (FFT), as in the authors' simulation. The **true image** is the galaxy seen at
a reference resolution, a Gaussian of FWHM 0.3″ (1.5 pixels), as the authors' truths are COSMOS
galaxies through the HST PSF: a pixelised Sérsic profile with no PSF at all is so concentrated
(most of its flux in one pixel for :math:`n \gtrsim 3`, :math:`r_e \approx 1.5` pixels) that the
adaptive-moment weight collapses onto a pixel and no shape can be measured; for the same reason
:math:`n` stops at 3, not 4. The observation is the Sérsic galaxy (not the truth) through the Moffat PSF. Noise as theirs: a sky of
1000 counts/arcsec² (40 counts per pixel), Poisson noise of galaxy + sky and Gaussian read noise
of 5 counts; the observation is returned sky-subtracted. **SNR** is the authors'
(CCD-equation, the whole stamp as the aperture):

.. math:: \text{SNR} = \frac{F}{\sqrt{F + B\,N_\text{pix}}}, \qquad
          F = \frac{\text{SNR}\,\big(\text{SNR} + \sqrt{\text{SNR}^2 + 4 B N_\text{pix}}\big)}{2},

:math:`B` the sky per pixel, :math:`N_\text{pix} = 48^2` (read noise is left out of the formula, as
theirs): SNR 20 is a flux of 6.3 × 10³ counts, SNR 200 of 8.4 × 10⁴. (GalSim's
:math:`\sqrt{\sum I^2}/\sigma` is another convention; :func:`optimal_snr` computes it.)

>>> import torch
>>> img = sersic_image((64, 64), half_light_radius=6.0, n=1.0, flux=100.0)
>>> round(float(img.sum()))
100
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from recon.operators.psf import gaussian_psf, moffat_psf

PIXEL_SCALE = 0.2          # arcsec per pixel (LSST)
STAMP = 48
SKY_PER_ARCSEC2 = 1.0e3    # counts / arcsec^2
READ_NOISE = 5.0           # counts
MOFFAT_BETA = 3.5
PSF_SIZE = 31
TRUTH_FWHM = 0.3           # arcsec, the reference resolution of the true images


def sersic_b(n: float) -> float:
    """:math:`b_n`: Ciotti & Bertin's (1999) series, refined by Newton on :math:`P(2n, b_n) = 1/2` (to 1e-12).

    The series alone is off by 1e-4 in :math:`P` at :math:`n = 0.5`; the regularised incomplete
    gamma function :math:`P` is what makes half the flux fall inside :math:`r_e`.

    >>> round(sersic_b(1.0), 4), round(sersic_b(4.0), 4), round(sersic_b(0.5), 4)
    (1.6783, 7.6692, 0.6931)
    """
    n = float(n)
    if not n > 0:
        raise ValueError(f"sersic_b: n must be positive, got {n}")
    b = (2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n**2) + 131 / (1148175 * n**3)
         - 2194697 / (30690717750 * n**4))
    b = max(b, 1e-3)
    a = torch.tensor(2 * n, dtype=torch.float64)
    for _ in range(20):
        residual = float(torch.special.gammainc(a, torch.tensor(b, dtype=torch.float64))) - 0.5
        slope = math.exp((2 * n - 1) * math.log(b) - b - math.lgamma(2 * n))
        step = residual / slope
        b = max(b - step, b / 2)
        if abs(step) < 1e-12 * b:
            break
    return b


def _check_positive(value, name):
    if not float(value) > 0:
        raise ValueError(f"sersic_image: {name} must be positive, got {value}")


def _source_coordinates(x, y, shear, q, angle):
    """(x, y) image plane -> the round profile's coordinates (module text); returns r^2 there."""
    g1, g2 = (float(s) for s in shear)
    g_sq = g1 * g1 + g2 * g2
    if g_sq >= 1:
        raise ValueError(f"sersic_image: |shear| must be < 1, got {math.sqrt(g_sq):g}")
    norm = 1 / math.sqrt(1 - g_sq)
    bx = norm * ((1 - g1) * x - g2 * y)
    by = norm * (-g2 * x + (1 + g1) * y)
    c, s = math.cos(angle), math.sin(angle)
    u1, u2 = c * bx + s * by, -s * bx + c * by
    return q * u1 * u1 + u2 * u2 / q


def sersic_image(shape, *, half_light_radius: float, n: float, flux: float = 1.0, q: float = 1.0,
                 angle: float = 0.0, shear=(0.0, 0.0), offset=(0.0, 0.0), centre=None,
                 oversample: int = 5) -> torch.Tensor:
    r"""A pixelised Sérsic galaxy, ``shape`` (H, W), float64 (module text); lengths in pixels, angle in radians.

    :param offset: (row, column) shift of the centre from ``(H // 2, W // 2)``; or give ``centre`` (row, column).

    >>> img = sersic_image((48, 48), half_light_radius=3.0, n=2.0, q=0.5, angle=0.3, shear=(0.02, -0.01))
    >>> img.shape, bool(img[24, 24] == img.max())
    (torch.Size([48, 48]), True)
    """
    for value, name in ((half_light_radius, "half_light_radius"), (n, "n"), (q, "q"), (flux, "flux")):
        _check_positive(value, name)
    if q > 1:
        raise ValueError(f"sersic_image: axis ratio q must be in (0, 1], got {q}")
    H, W = (int(s) for s in shape)
    row0, col0 = (H // 2 + offset[0], W // 2 + offset[1]) if centre is None else centre
    k = int(oversample)
    sub = (torch.arange(k, dtype=torch.float64) + 0.5) / k - 0.5
    rows = (torch.arange(H, dtype=torch.float64)[:, None] + sub[None, :]).reshape(-1) - row0
    cols = (torch.arange(W, dtype=torch.float64)[:, None] + sub[None, :]).reshape(-1) - col0
    r_sq = _source_coordinates(cols[None, :], rows[:, None], shear, q, angle)
    b = sersic_b(n)
    re = float(half_light_radius)
    intensity_e = flux / (2 * math.pi * n * re**2 * math.exp(b) * b ** (-2 * n) * math.gamma(2 * n))
    values = intensity_e * torch.exp(-b * ((r_sq.sqrt() / re) ** (1 / n) - 1))
    return values.reshape(H, k, W, k).mean(dim=(1, 3))


def star_image(shape, position, flux: float, sigma: float = 0.7) -> torch.Tensor:
    r"""A star: a point source of ``flux`` at ``position`` (row, column), drawn as a Gaussian of ``sigma`` pixels.

    At the high-resolution grid a star is unresolved; ``sigma`` is that grid's own
    (sharpest) PSF, integrated over each pixel (5 × 5 samples).

    >>> round(float(star_image((16, 16), (8.3, 7.6), 10.0).sum()), 6)
    10.0
    """
    H, W = (int(s) for s in shape)
    k = 5
    sub = (torch.arange(k, dtype=torch.float64) + 0.5) / k - 0.5
    rows = (torch.arange(H, dtype=torch.float64)[:, None] + sub).reshape(-1) - position[0]
    cols = (torch.arange(W, dtype=torch.float64)[:, None] + sub).reshape(-1) - position[1]
    values = torch.exp(-(rows[:, None] ** 2 + cols[None, :] ** 2) / (2 * sigma**2)) / (2 * math.pi * sigma**2)
    return flux * values.reshape(H, k, W, k).mean(dim=(1, 3))


def multiband_scene(shape=(64, 64), bands: int = 3, *, galaxies: int = 4, stars: int = 2,
                    seed: int = 0) -> torch.Tensor:
    r"""A seeded field of Sérsic galaxies and stars in ``bands`` bands, ``(bands, H, W)`` float64, peak about 1.

    Galaxies: :math:`n \sim U(0.5, 3)`, :math:`r_e \sim U(2, 6)` pixels, :math:`q \sim U(0.4, 1)`, random
    angle, position away from the edges, flux :math:`\sim U(40, 150)`; stars: flux
    :math:`\sim U(5, 20)`. Each object's SED is a random amplitude per band, :math:`U(0.2, 1)`, so
    the bands differ in their mix of objects (what a joint prior has to cope with).

    >>> scene = multiband_scene((32, 32), 3, galaxies=2, stars=1, seed=1)
    >>> scene.shape, bool((scene >= 0).all())
    (torch.Size([3, 32, 32]), True)
    """
    H, W = (int(s) for s in shape)
    rng = torch.Generator().manual_seed(seed)

    def uniform(lo, hi):
        return lo + (hi - lo) * float(torch.rand((), generator=rng, dtype=torch.float64))

    scene = torch.zeros(bands, H, W, dtype=torch.float64)
    margin = 0.15
    for _ in range(galaxies):
        centre = (uniform(margin, 1 - margin) * H, uniform(margin, 1 - margin) * W)
        image = sersic_image((H, W), half_light_radius=uniform(2, 6), n=uniform(0.5, 3), flux=uniform(40, 150),
                             q=uniform(0.4, 1), angle=uniform(0, math.pi), centre=centre, oversample=3)
        sed = torch.tensor([uniform(0.2, 1) for _ in range(bands)], dtype=torch.float64)
        scene += sed[:, None, None] * image
    for _ in range(stars):
        image = star_image((H, W), (uniform(0.1, 0.9) * H, uniform(0.1, 0.9) * W), uniform(5, 20))
        sed = torch.tensor([uniform(0.2, 1) for _ in range(bands)], dtype=torch.float64)
        scene += sed[:, None, None] * image
    return scene


# -- the shear study ---------------------------------------------------------------------------------------

def flux_for_snr(snr: float, sky_per_pixel: float, pixels: int) -> float:
    r"""The flux :math:`F` with :math:`F/\sqrt{F + B N_\text{pix}} = \text{SNR}` (module text).

    >>> F = flux_for_snr(20.0, 40.0, 48 * 48)
    >>> round(F), round(F / math.sqrt(F + 40.0 * 48 * 48), 6)
    (6275, 20.0)
    """
    total_sky = sky_per_pixel * pixels
    return snr * (snr + math.sqrt(snr**2 + 4 * total_sky)) / 2


def optimal_snr(image: torch.Tensor, sigma: float) -> float:
    r"""GalSim's matched-filter SNR :math:`\sqrt{\sum_i I_i^2}/\sigma` for background-dominated noise of std ``sigma``."""
    return float(image.square().sum().sqrt()) / sigma


@dataclass
class ShearGalaxy:
    """One stamp of the shear study: the truth, its PSF, the noisy observation and the parameters."""

    truth: torch.Tensor          # (H, W) noiseless galaxy at the reference resolution (FWHM 0.3"), counts
    psf: torch.Tensor            # (31, 31) Moffat, sum 1
    observation: torch.Tensor    # (H, W) blurred, noisy, sky-subtracted, counts
    sky: float                   # counts per pixel (subtracted from observation)
    read_noise: float
    shear: tuple[float, float]
    fwhm_arcsec: float
    sersic_n: float
    half_light_radius_arcsec: float
    flux: float
    snr: float


def shear_galaxy(seed: int, snr: float, *, stamp: int = STAMP, pixel_scale: float = PIXEL_SCALE) -> ShearGalaxy:
    """A seeded stamp of the shear study at ``snr`` (module text); the same seed gives the same galaxy at every SNR.

    >>> a, b = shear_galaxy(3, 20.0), shear_galaxy(3, 200.0)
    >>> a.shear == b.shear, a.observation.shape
    (True, torch.Size([48, 48]))
    """
    if not snr > 0:
        raise ValueError(f"shear_galaxy: snr must be positive, got {snr}")
    rng = torch.Generator().manual_seed(int(seed))

    def uniform(lo, hi):
        return lo + (hi - lo) * float(torch.rand((), generator=rng, dtype=torch.float64))

    n = uniform(0.5, 3.0)
    re_arcsec = uniform(0.3, 0.8)
    e_int, phi = uniform(0.0, 0.6), uniform(0.0, math.pi)
    g_mod, g_angle = uniform(0.01, 0.05), uniform(0.0, math.pi)
    shear = (g_mod * math.cos(2 * g_angle), g_mod * math.sin(2 * g_angle))
    fwhm = uniform(0.45, 0.95)
    offset = (uniform(-0.5, 0.5), uniform(-0.5, 0.5))
    sky = SKY_PER_ARCSEC2 * pixel_scale**2
    flux = flux_for_snr(snr, sky, stamp * stamp)
    truth = sersic_image((stamp, stamp), half_light_radius=re_arcsec / pixel_scale, n=n, flux=flux,
                         q=(1 - e_int) / (1 + e_int), angle=phi, shear=shear, offset=offset)
    psf = moffat_psf(PSF_SIZE, fwhm / pixel_scale, MOFFAT_BETA)
    from recon.operators.blur import Blur

    galaxy = truth[None, None]
    reference = gaussian_psf(15, TRUTH_FWHM / pixel_scale / (2 * math.sqrt(2 * math.log(2))))
    truth = Blur(reference, (stamp, stamp)).A(galaxy)[0, 0]
    blurred = Blur(psf, (stamp, stamp)).A(galaxy)[0, 0].clamp_min(0)
    noise_rng = torch.Generator().manual_seed(int(seed) * 7919 + round(snr * 1000))
    counts = torch.poisson(blurred + sky, generator=noise_rng)
    counts = counts + READ_NOISE * torch.randn(counts.shape, generator=noise_rng, dtype=torch.float64)
    return ShearGalaxy(truth, psf, counts - sky, sky, READ_NOISE, shear, fwhm, n, re_arcsec, flux, float(snr))

