r"""Point-spread functions: generators of the usual optical blurs, and a reader for measured ones.

Every generator returns a ``(size, size)`` tensor (``float64`` unless ``dtype`` says
otherwise) with an odd ``size``, centred on pixel ``(size // 2, size // 2)`` and
normalised to sum 1, so that a blur by it keeps the mean of an image. With
:math:`r` the distance of a pixel centre from the centre pixel (in pixels):

=====================  ==========================================================================
``gaussian_psf``       :math:`h(r) \propto \exp(-r^2 / 2\sigma^2)`, FWHM :math:`2\sqrt{2\ln 2}\,\sigma`
``moffat_psf``         :math:`h(r) \propto (1 + r^2/\alpha^2)^{-\beta}`,
                       :math:`\alpha = \text{FWHM} / (2\sqrt{2^{1/\beta} - 1})`
``airy_psf``           :math:`h(r) \propto (2 J_1(v)/v)^2`, :math:`v = j_{1,1}\, r / \text{radius}`
                       (:math:`j_{1,1} = 3.8317\ldots`, the first zero of :math:`J_1`): the first dark
                       ring is at ``radius`` pixels
``defocus_psf``        a uniform disc of ``radius`` pixels; a pixel's value is the fraction of its
                       area inside the disc (anti-aliased edge)
``motion_psf``         a segment of ``length`` pixels through the centre at ``angle_deg``, one pixel
                       wide; a pixel's value is the fraction of its area inside (anti-aliased)
=====================  ==========================================================================

The Gaussian, Moffat and Airy profiles are sampled at pixel centres (point
sampling); the disc and the segment are integrated over each pixel.
:func:`load_psf` reads a measured PSF from ``.npy`` or HDF5.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from recon.datasets.errors import InputError

_J1_FIRST_ZERO = 3.8317059702075125
_SUPERSAMPLE = 16  # sub-pixels per axis for the disc's area fractions


def _radius_grid(size: int, owner: str) -> torch.Tensor:
    if int(size) != size or size < 1 or size % 2 == 0:
        raise ValueError(f"{owner}: size must be a positive odd integer (the PSF is centred on a pixel), got {size}")
    axis = torch.arange(size, dtype=torch.float64) - size // 2
    return torch.sqrt(axis[:, None] ** 2 + axis[None, :] ** 2)


def _positive(value: float, name: str, owner: str) -> float:
    value = float(value)
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be positive, got {value}")
    return value


def _normalised(psf: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return (psf / psf.sum()).to(dtype)


def gaussian_psf(size: int, sigma: float, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""An isotropic Gaussian :math:`h(r) \propto \exp(-r^2/2\sigma^2)`, ``size`` × ``size``, sum 1.

    >>> psf = gaussian_psf(7, 1.0)
    >>> psf.shape, round(float(psf.sum()), 12), bool(psf[3, 3] == psf.max())
    (torch.Size([7, 7]), 1.0, True)
    """
    sigma = _positive(sigma, "sigma", "gaussian_psf")
    r = _radius_grid(size, "gaussian_psf")
    return _normalised(torch.exp(-(r**2) / (2 * sigma**2)), dtype)


def moffat_psf(size: int, fwhm: float, beta: float, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""A Moffat profile :math:`h(r) \propto (1 + r^2/\alpha^2)^{-\beta}` with the given FWHM (pixels), sum 1.

    :math:`\alpha = \text{FWHM} / (2\sqrt{2^{1/\beta} - 1})`; small :math:`\beta` means
    heavy wings (atmospheric seeing is about :math:`\beta = 2.5`–4.765), and
    :math:`\beta\to\infty` tends to a Gaussian.

    >>> psf = moffat_psf(15, 4.0, 2.5)
    >>> round(float(psf.sum()), 12), bool(torch.equal(psf, psf.T))
    (1.0, True)
    """
    fwhm = _positive(fwhm, "fwhm", "moffat_psf")
    beta = _positive(beta, "beta", "moffat_psf")
    r = _radius_grid(size, "moffat_psf")
    alpha = fwhm / (2 * math.sqrt(2 ** (1 / beta) - 1))
    return _normalised((1 + (r / alpha) ** 2) ** (-beta), dtype)


def airy_psf(size: int, radius: float, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""The Airy pattern of a circular pupil, :math:`h(r) \propto (2J_1(v)/v)^2`, :math:`v = 3.8317\,r/\text{radius}`, sum 1.

    ``radius`` is the radius of the first dark ring in pixels
    (:math:`1.22\,\lambda N` in the focal plane, over the pixel pitch).

    >>> psf = airy_psf(17, 4.0)
    >>> float(psf[8, 12] / psf[8, 8]) < 1e-20    # the first zero, 4 pixels from the centre
    True
    """
    radius = _positive(radius, "radius", "airy_psf")
    v = _J1_FIRST_ZERO * _radius_grid(size, "airy_psf") / radius
    safe = torch.where(v == 0, torch.ones_like(v), v)
    amplitude = torch.where(v == 0, torch.ones_like(v), 2 * torch.special.bessel_j1(safe) / safe)
    return _normalised(amplitude**2, dtype)


def defocus_psf(size: int, radius: float, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""A uniform disc of ``radius`` pixels (out-of-focus blur), anti-aliased, sum 1.

    A pixel's weight is the fraction of its area inside the disc
    :math:`r \le \text{radius}`, measured on a 16 × 16 grid of sub-pixels, so the
    un-normalised weights add up to :math:`\pi\,\text{radius}^2` (to about 0.5 %
    at ``radius`` 3) and a radius below half a pixel tends to a single pixel.

    >>> psf = defocus_psf(9, 3.0)
    >>> round(float(psf.sum()), 12), round(float(1 / psf.max()), 1)    # 1/max is the disc's area, pi 3^2
    (1.0, 28.2)
    """
    radius = _positive(radius, "radius", "defocus_psf")
    _radius_grid(size, "defocus_psf")
    n = _SUPERSAMPLE
    axis = (torch.arange(size * n, dtype=torch.float64) + 0.5) / n - 0.5 - size // 2
    inside = ((axis[:, None] ** 2 + axis[None, :] ** 2) <= radius**2).to(torch.float64)
    fraction = inside.reshape(size, n, size, n).mean(dim=(1, 3))
    return _normalised(fraction, dtype)


def motion_psf(size: int, length: float, angle_deg: float, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Linear motion blur along a segment of ``length`` pixels centred on the centre pixel, sum 1.

    The direction is ``angle_deg`` counter-clockwise from the column axis as the
    image is displayed (row 0 at the top): a point moves by
    :math:`(\Delta\text{row}, \Delta\text{col}) = t\,(-\sin\theta, \cos\theta)`,
    :math:`t \in [-\text{length}/2, \text{length}/2]`. The footprint is the rectangle
    of that length (at least 1 pixel) and 1 pixel wide along the segment; a pixel's
    weight is the fraction of its area inside it (16 × 16 sub-pixels, anti-aliased).
    Along an axis this is the usual box: length 5 at 0° is five pixels of 1/5 in the
    centre row (as MATLAB's ``fspecial("motion", 5, 0)``), and 90° is its transpose.

    >>> psf = motion_psf(9, 5.0, 0.0)
    >>> [round(v, 12) for v in psf[4, 2:7].tolist()], round(float(psf.sum()), 12)
    ([0.2, 0.2, 0.2, 0.2, 0.2], 1.0)
    """
    length = float(length)
    if not length >= 0 or not math.isfinite(length):
        raise ValueError(f"motion_psf: length must be >= 0 pixels, got {length}")
    _radius_grid(size, "motion_psf")
    if length > size - 1:
        raise ValueError(f"motion_psf: a segment of {length:g} pixels does not fit a {size} x {size} PSF; "
                         f"use an odd size of at least {math.ceil(length) + 1}")
    n = _SUPERSAMPLE
    axis = (torch.arange(size * n, dtype=torch.float64) + 0.5) / n - 0.5 - size // 2
    theta = math.radians(float(angle_deg))
    rows, cols = axis[:, None], axis[None, :]
    along = -rows * math.sin(theta) + cols * math.cos(theta)
    across = rows * math.cos(theta) + cols * math.sin(theta)
    half = max(length, 1.0) / 2
    # A hair of slack so that sub-pixels exactly on an axis-aligned edge count the same on both sides.
    inside = ((along.abs() <= half + 1e-9) & (across.abs() <= 0.5 + 1e-9)).to(torch.float64)
    return _normalised(inside.reshape(size, n, size, n).mean(dim=(1, 3)), dtype)


def load_psf(path, dataset: str | None = None) -> torch.Tensor:
    r"""A measured PSF from a ``.npy`` file or an HDF5 dataset, as ``float64`` normalised to sum 1.

    The array is ``(kh, kw)`` (one PSF) or ``(channels, kh, kw)`` (one per channel,
    each normalised to sum 1); it must be real, finite, non-negative and of
    positive sum. In HDF5 the dataset is ``dataset``, or the only dataset in the
    file when ``dataset`` is ``None``. Bad input raises a one-line
    :class:`~recon.datasets.errors.InputError` naming the file and the field.

    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "psf.npy")
    >>> np.save(path, np.array([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]]))
    >>> load_psf(path)[1].tolist()
    [0.125, 0.5, 0.125]
    """
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "an existing .npy or HDF5 file with a PSF", "no such file")
    if path.suffix.lower() == ".npy":
        field = dataset
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise InputError(path, None, "a .npy array", f"an unreadable file ({error})") from None
    else:
        array, field = _read_hdf5(path, dataset)
    if array.dtype.kind not in "biuf":
        raise InputError(path, field, "a real numeric array", f"dtype {array.dtype}")
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise InputError(path, field, "a PSF shaped (kh, kw) or (channels, kh, kw)", f"shape {array.shape}")
    psf = torch.from_numpy(np.asarray(array, dtype=np.float64).copy())
    if not bool(torch.isfinite(psf).all()):
        raise InputError(path, field, "finite values", "NaN or infinite entries")
    if float(psf.min()) < 0:
        raise InputError(path, field, "non-negative values", f"a minimum of {float(psf.min()):g}")
    sums = psf.sum(dim=(-2, -1), keepdim=True)
    if float(sums.min()) <= 0:
        raise InputError(path, field, "a PSF of positive sum (each channel)", "a sum of 0")
    return psf / sums


def _read_hdf5(path: Path, dataset: str | None):
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise InputError(path, None, "a .npy or HDF5 file", "neither") from None
    with handle:
        if dataset is None:
            names: list[str] = []
            handle.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
            if len(names) != 1:
                raise InputError(path, None, "one dataset, or the PSF's dataset named by dataset=",
                                 f"{len(names)} datasets ({', '.join(names[:5])})")
            dataset = names[0]
        item = handle.get(dataset)
        if not isinstance(item, h5py.Dataset):
            raise InputError(path, dataset, "a dataset with the PSF", "nothing there" if item is None else "a group")
        return item[()], dataset
