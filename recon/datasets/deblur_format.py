r"""recon's own HDF5 layout for blurred images and their PSFs (read and write), version 1.

::

    /                   attrs  recon_format = "deblur", format_version = 1, modality = "deblur",
                               boundary = "reflect" | "zero" | "circular" (optional, default "reflect")
    /data               float  (H, W), (images, H, W) or (images, channels, H, W): the blurred images
    /psf                float  (kh, kw): one PSF for every channel, or (channels, kh, kw): one each
    /ground_truth       float  like /data, optional: the sharp images (PSNR, SSIM and NRMSE are reported)
    /metadata           attrs: free-form, optional; noise = "gaussian" | "poisson", noise_sigma
                               (Gaussian σ per pixel, for Richardson–Lucy's discrepancy stop), peak,
                               description

**Multiband** (Euclid/Rubin joint deconvolution): the same file with a broad band added,

::

    /data               float  (bands, h, w) or (images, bands, h, w): the low-resolution bands
    /psf                float  (bands, kh, kw): each band's PSF on the high-resolution grid
    /broad              float  (H, W) or (images, H, W): the high-resolution broad band
                        attrs  factor (integer, H = factor · h), weights (bands,): the broad band's
                               response y_b = h_b * Σ_k w_k x_k
    /broad_psf          float  (kh, kw): the broad band's PSF
    /ground_truth       float  (bands, H, W) or (images, bands, H, W), optional

The blur model is :class:`recon.operators.Blur` (a true convolution: a PSF
measured as the image of a point is stored as it is, centred at
``(kh // 2, kw // 2)``); PSFs are normalised to sum 1 on reading. The boundary says
what the image is taken to be outside its frame: ``reflect`` suits photographs
and most measured images, ``circular`` a simulation made by FFT, ``zero`` a
field that is dark around its frame. ``recon run`` can replace the PSF
(``operator.psf: file.npy``) and the boundary (``operator.boundary``).
"""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import read_dataset

if TYPE_CHECKING:
    import torch

    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "recon-deblur"
DESCRIPTION = "recon's deblurring HDF5 layout: blurred images, their PSF (shared or per channel), optional multiband"
AXES = ("data (images, [channels,] H, W) is read as (images, channels, H, W) (multiband: the bands and "
        "the broad band packed); the reconstruction is written (images, channels or bands, H, W)")
LAYOUT_ATTR = "recon_format"
LAYOUT = "deblur"
VERSION = 1


def sniff(path: Path, h5) -> bool:
    return h5 is not None and h5.attrs.get(LAYOUT_ATTR) in (LAYOUT, LAYOUT.encode())


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _checked_psf(psf: np.ndarray, path, name: str) -> np.ndarray:
    if float(psf.min()) < 0:
        raise InputError(path, name, "a non-negative PSF", f"a minimum of {float(psf.min()):g}")
    sums = psf.sum(axis=(-2, -1))
    if float(np.min(sums)) <= 0:
        raise InputError(path, name, "a PSF of positive sum (each channel)", "a sum of 0")
    return np.asarray(psf, dtype=np.float64)


def _images(array: np.ndarray, channels_axis: bool) -> np.ndarray:
    """(H, W) -> (1, 1, H, W); (N, H, W) -> (N, 1, H, W) or, for per-band stacks, (1, N, H, W)."""
    if array.ndim == 2:
        return array[None, None]
    if array.ndim == 3:
        return array[None] if channels_axis else array[:, None]
    return array


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read blurred images of recon's layout (single PSF, per-channel PSFs, or multiband).

    >>> import tempfile, pathlib, torch
    >>> from recon.operators.psf import gaussian_psf
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "blurred.h5"
    >>> _ = write_deblur(path, torch.rand(1, 1, 16, 16), gaussian_psf(5, 1.0))
    >>> m = read(path)
    >>> m.modality, tuple(m.data.shape), m.geometry.boundary
    ('deblur', (1, 1, 16, 16), 'reflect')
    """
    from recon.datasets.validation import open_hdf5
    from recon.operators.blur import BOUNDARIES

    with open_hdf5(path) as h5:
        boundary = _text(h5.attrs.get("boundary", "reflect"))
        if boundary not in BOUNDARIES:
            raise InputError(path, "@boundary", f"one of {', '.join(BOUNDARIES)}", repr(boundary))
        metadata = {k: (_text(v) if isinstance(v, bytes) else v)
                    for k, v in (dict(h5["metadata"].attrs) if "metadata" in h5 else {}).items()}
        if "broad" in h5:
            measurement = _read_multiband(h5, path, boundary, metadata)
        else:
            measurement = _read_single(h5, path, boundary, metadata)
    if options.index is None:
        return measurement
    if not 0 <= options.index < measurement.n_slices:
        raise InputError(path, "input.index", f"an image in 0..{measurement.n_slices - 1}", str(options.index))
    return measurement.select(options.index)


def describe(path: Path) -> Summary:
    """What :func:`read` would return, from the same arrays without tensors (:mod:`recon.datasets.summary`).

    The boundary is checked when the file is read (its list of names lives with the blur operator).
    """
    from recon.datasets.summary import Summary, psf_width
    from recon.datasets.validation import open_hdf5

    with open_hdf5(path) as h5:
        boundary = _text(h5.attrs.get("boundary", "reflect"))
        noise = h5["metadata"].attrs.get("noise") if "metadata" in h5 else None
        multiband = "broad" in h5
        arrays = _multiband_arrays(h5, path) if multiband else _single_arrays(h5, path)
    metadata = {} if noise is None else {"noise": _text(noise)}
    if multiband:
        low, broad, band_psfs, broad_psf, factor, weights, truth = arrays
        band_psfs, broad_psf = _normalised(band_psfs), _normalised(broad_psf)
        (h, w), (big_h, big_w) = low.shape[-2:], broad.shape[-2:]
        setup = [f"  multiband: {low.shape[1]} bands of {h} x {w} pixels, a broad band of {big_h} x {big_w} "
                 f"(factor {factor}), weights {[round(float(v), 4) for v in weights]}",
                 f"  band PSFs {band_psfs.shape}, width σ ≈ {psf_width(band_psfs)} px; broad PSF {broad_psf.shape}, "
                 f"σ ≈ {psf_width(broad_psf)} px; boundary {boundary}"]
        shape = (low.shape[0], 1, low[0].size + broad[0].size)
    else:
        images, psf, truth = arrays
        psf = _normalised(psf)
        per = f"one per channel ({psf.shape[0]})" if psf.ndim == 3 else "shared by every channel"
        setup = [f"  PSF {psf.shape[-2:]}, {per}, width σ ≈ {psf_width(psf)} px; boundary {boundary}"]
        shape = images.shape
    return Summary("deblur", tuple(shape), setup, ground_truth=truth is not None, metadata=metadata,
                   multiband=multiband, boundary=boundary)


def _normalised(psf: np.ndarray) -> np.ndarray:
    """Each PSF scaled to sum 1, as the acquisition keeps it."""
    return psf / psf.sum(axis=(-2, -1), keepdims=True)


def _single_arrays(h5, path):
    """The images ``(images, channels, H, W)``, the PSF and the ground truth (or ``None``), checked."""
    data = read_dataset(h5, "data", path, rank=(2, 3, 4), kind="real", what="blurred images (images, H, W)")
    psf = read_dataset(h5, "psf", path, rank=(2, 3), kind="real", what="a PSF (kh, kw) or (channels, kh, kw)")
    # (N, H, W) is N images, unless there is one PSF per entry: then one image of N channels.
    per_channel = psf.ndim == 3 and data.ndim == 3 and psf.shape[0] == data.shape[0]
    images = _images(data, channels_axis=per_channel)
    if psf.ndim == 3 and psf.shape[0] != images.shape[1]:
        raise InputError(path, "psf", f"one PSF, or one per channel ({images.shape[1]})",
                         f"{psf.shape[0]} PSFs")
    truth = None
    if "ground_truth" in h5:
        truth = read_dataset(h5, "ground_truth", path, rank=(2, 3, 4), kind="real", what="the sharp images")
        truth = _images(truth, channels_axis=per_channel)
        if truth.shape != images.shape:
            raise InputError(path, "ground_truth", f"the shape of data {tuple(data.shape)}", f"{truth.shape}")
    return images, _checked_psf(psf, path, "psf"), truth


def _read_single(h5, path, boundary: str, metadata: dict) -> Measurement:
    import torch

    from recon.datasets.measurement import Measurement
    from recon.operators.deblur_acquisition import BlurAcquisition

    images, psf, truth = _single_arrays(h5, path)
    setup = BlurAcquisition(psf, images.shape[-2:], boundary)
    return Measurement("deblur", torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)), setup, FORMAT,
                       Path(path), None if truth is None else torch.from_numpy(np.ascontiguousarray(truth, np.float32)),
                       metadata=metadata)


def _multiband_arrays(h5, path):
    """The bands ``(images, bands, h, w)``, the broad band ``(images, H, W)``, the band PSFs, the broad PSF, the
    factor, the weights and the ground truth (or ``None``), checked."""
    low = read_dataset(h5, "data", path, rank=(3, 4), kind="real", what="low-resolution bands (bands, h, w)")
    low = low[None] if low.ndim == 3 else low
    broad = read_dataset(h5, "broad", path, rank=(2, 3), kind="real", what="the broad band (H, W)")
    broad = broad[None] if broad.ndim == 2 else broad
    band_psfs = read_dataset(h5, "psf", path, rank=3, kind="real", what="one PSF per band (bands, kh, kw)")
    broad_psf = read_dataset(h5, "broad_psf", path, rank=2, kind="real", what="the broad band's PSF (kh, kw)")
    attrs = h5["broad"].attrs
    factor = np.asarray(attrs.get("factor", [])).reshape(-1)
    if factor.size != 1 or factor[0] < 1 or factor[0] != int(factor[0]):
        raise InputError(path, "broad@factor", "an integer >= 1 (the broad band's resolution over the bands')",
                         repr(factor.tolist()))
    factor = int(factor[0])
    weights = np.asarray(attrs.get("weights", []), dtype=np.float64).reshape(-1)
    bands = low.shape[1]
    if weights.size != bands or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise InputError(path, "broad@weights", f"{bands} non-negative weights (one per band)", repr(weights.tolist()))
    if band_psfs.shape[0] != bands:
        raise InputError(path, "psf", f"one PSF per band ({bands})", f"{band_psfs.shape[0]} PSFs")
    if broad.shape[0] != low.shape[0] or tuple(broad.shape[1:]) != (factor * low.shape[2], factor * low.shape[3]):
        raise InputError(path, "broad", f"shape ({low.shape[0]}, {factor * low.shape[2]}, {factor * low.shape[3]}) "
                         "(images, then factor times the bands' size)", f"{broad.shape}")
    truth = None
    if "ground_truth" in h5:
        truth = read_dataset(h5, "ground_truth", path, rank=(3, 4), kind="real", what="the sharp bands")
        truth = truth[None] if truth.ndim == 3 else truth
        if truth.shape != (low.shape[0], bands, *broad.shape[1:]):
            raise InputError(path, "ground_truth", f"shape {(low.shape[0], bands, *broad.shape[1:])} "
                             "(images, bands, then the broad band's size)", f"{truth.shape}")
    return (low, broad, _checked_psf(band_psfs, path, "psf"), _checked_psf(broad_psf, path, "broad_psf"), factor,
            weights, truth)


def _read_multiband(h5, path, boundary: str, metadata: dict) -> Measurement:
    import torch

    from recon.datasets.measurement import Measurement
    from recon.operators.deblur_acquisition import MultibandAcquisition

    low, broad, band_psfs, broad_psf, factor, weights, truth = _multiband_arrays(h5, path)
    setup = MultibandAcquisition(band_psfs, factor, broad.shape[1:], broad_psf, weights, boundary)
    operator = setup.operator()
    packed = operator.pack(torch.from_numpy(np.asarray(low, np.float32))[:, None],
                           torch.from_numpy(np.asarray(broad, np.float32))[:, None])
    if truth is not None:
        truth = torch.from_numpy(np.ascontiguousarray(truth, np.float32))[:, None]
    return Measurement("deblur", packed.contiguous(), setup, FORMAT, Path(path), truth, metadata=metadata)


def write_deblur(path, data: torch.Tensor, psf, *, boundary: str = "reflect", ground_truth=None,
                 metadata: dict | None = None, overwrite: bool = False) -> Path:
    """Write blurred images ``(images, channels, H, W)`` and their PSF in recon's layout, atomically."""
    return _write(path, {"data": _array(data, 4, "data")}, psf, boundary, ground_truth, metadata, overwrite, {})


def write_multiband(path, low: torch.Tensor, broad: torch.Tensor, setup, *, ground_truth=None,
                    metadata: dict | None = None, overwrite: bool = False) -> Path:
    """Write low-resolution bands ``(images, bands, h, w)``, the broad band ``(images, H, W)`` and a
    :class:`~recon.operators.deblur_acquisition.MultibandAcquisition`, atomically."""
    import torch

    if ground_truth is not None and torch.as_tensor(ground_truth).dim() == 5:    # (images, 1, bands, H, W)
        ground_truth = torch.as_tensor(ground_truth)[:, 0]
    arrays = {"data": _array(low, 4, "low"), "broad": _array(broad, 3, "broad"),
              "broad_psf": setup.broad_psf.numpy()}
    broad_attrs = {"factor": setup.factor, "weights": setup.weights.numpy()}
    return _write(path, arrays, setup.band_psfs, setup.boundary, ground_truth, metadata, overwrite, broad_attrs)


def _array(tensor, rank: int, name: str) -> np.ndarray:
    import torch

    array = torch.as_tensor(tensor).detach().cpu().numpy()
    if array.ndim != rank:
        raise ValueError(f"write: {name} must have {rank} axes, got shape {array.shape}")
    return array.astype(np.float32)


def _write(path, arrays: dict, psf, boundary: str, ground_truth, metadata, overwrite: bool, broad_attrs: dict):
    import h5py
    import torch

    from recon.datasets.atomic import atomic_output
    from recon.operators.blur import BOUNDARIES

    if boundary not in BOUNDARIES:
        raise ValueError(f"write: boundary must be one of {', '.join(BOUNDARIES)}, got {boundary!r}")
    with atomic_output(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update({LAYOUT_ATTR: LAYOUT, "format_version": VERSION, "modality": "deblur",
                            "boundary": boundary})
            for name, array in arrays.items():
                f.create_dataset(name, data=array)
            f.create_dataset("psf", data=torch.as_tensor(psf, dtype=torch.float64).numpy())
            if broad_attrs:
                f["broad"].attrs.update(broad_attrs)
            if ground_truth is not None:
                f.create_dataset("ground_truth", data=torch.as_tensor(ground_truth).detach().cpu().numpy()
                                 .astype(np.float32))
            meta = f.create_group("metadata")
            for key, value in (metadata or {}).items():
                if isinstance(value, (str, int, float, bool, np.number)):
                    meta.attrs[key] = value
    return Path(path)
