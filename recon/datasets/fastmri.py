r"""fastMRI HDF5 (Zbontar et al., arXiv:1811.08839): Cartesian MRI k-space, read and write.

Layout, as the fastMRI dataset ships it::

    kspace               complex64  (slices, coils, H, W) multi-coil or (slices, H, W) single-coil;
                                    H = read-out (often 640, 2× oversampled), W = phase-encode;
                                    centred (the k-space centre at index n // 2)
    mask                 bool       (W,) the measured phase-encode columns; test and challenge sets only
    ismrmrd_header       string     the ISMRMRD XML header of the scan
    reconstruction_rss   float32    (slices, h, w) the root-sum-of-squares image, usually the centre
                                    320 × 320 of the image grid; absent in the test set
    reconstruction_esc   float32    (slices, h, w) single-coil only: the emulated single-coil target
    attrs                           acquisition ("CORPD_FBK", ...), max and norm (of the target volume),
                                    patient_id; test set also acceleration, num_low_frequency

The reader returns complex64 k-space ``(slices, coils, H, W)`` (single-coil as
one coil) and a :class:`~recon.operators.mri_acquisition.CartesianAcquisition`
whose mask is ``mask`` broadcast along the read-out when the file has one and,
otherwise, the zero pattern of k-space (1 where any coil is non-zero:
fastMRI's training files store unmeasured samples, e.g. the phase-encode
padding, as exact zeros).

**Reference policy.** ``reconstruction_rss`` (single-coil:
``reconstruction_esc``, fastMRI's single-coil target, else
``reconstruction_rss``) becomes the measurement's ``reference`` only when it
lies on the image grid, ``(h, w) = (H, W)``. fastMRI's targets are usually
a centre crop (640 × 368 k-space, 320 × 320 target): they are not silently
resampled or padded; ``metadata["reconstruction_rss_shape"]`` records the
stored shape and :func:`read_fastmri_reference` returns the array, to be
compared with a reconstruction centre-cropped to ``(h, w)`` (fastMRI's
evaluation convention).

The XML header's encoded and recon matrix sizes and phase-encode limits, and
the file's attributes, go into ``metadata``. ``ReadOptions.index`` reads one
slice (only it is read from disk). :func:`write_fastmri` writes this layout;
:func:`write_fastmri_reconstruction` writes an output file as fastMRI's
evaluation scripts read it: one ``reconstruction`` dataset ``(slices, h, w)``
float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import (
    check_finite,
    open_dataset,
    open_hdf5,
    read_dataset,
)

if TYPE_CHECKING:
    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "fastmri"
DESCRIPTION = "fastMRI HDF5 (kspace (slices, [coils,] H, W), mask, ismrmrd_header, reconstruction_rss): Cartesian MRI"
AXES = ("kspace (slices, coils, H, W) (single-coil (slices, H, W): one coil) is read as is; the reconstruction "
        "is written (slices, H, W), as reconstruction_rss (with operator.ndim 3 the slices are k_z: "
        "(depth, H, W))")

KSPACE, MASK, HEADER = "kspace", "mask", "ismrmrd_header"
RSS, ESC = "reconstruction_rss", "reconstruction_esc"


def sniff(path: Path, h5) -> bool:
    """Whether ``h5`` has a ``kspace`` dataset and is not recon's own layout; never raises."""
    import h5py

    try:
        return (h5 is not None and isinstance(h5.get(KSPACE), h5py.Dataset)
                and "recon_format" not in h5.attrs)
    except Exception:  # a foreign or broken file is simply not ours
        return False


def kspace_mask(kspace: np.ndarray) -> np.ndarray:
    """The sampling mask of zero-filled k-space ``(slices, coils, rows, cols)``: 1 where any coil is non-zero
    (:func:`recon.operators.mri_masks.mask_from_kspace` of each slice), ``(rows, cols)`` if every slice agrees,
    else ``(slices, rows, cols)``; float32.

    >>> k = np.zeros((2, 3, 4, 5), np.complex64); k[:, 1, :, [1, 3]] = 1
    >>> kspace_mask(k)[0].tolist()
    [0.0, 1.0, 0.0, 1.0, 0.0]
    """
    measured = (np.asarray(kspace) != 0).any(axis=1).astype(np.float32)
    return measured[0] if bool((measured == measured[:1]).all()) else measured


def _attributes(h5) -> dict:
    facts = {}
    for key, value in h5.attrs.items():
        if isinstance(value, (bytes, np.bytes_)):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        facts[key] = value
    return facts


def _kspace(h5, path, index):
    node = open_dataset(h5, KSPACE, path, what="complex k-space")
    if np.dtype(node.dtype).kind != "c":
        raise InputError(path, KSPACE, "complex k-space (complex64)", f"dtype {node.dtype}")
    if node.ndim not in (3, 4):
        raise InputError(path, KSPACE, "(slices, coils, H, W) or (slices, H, W)", f"shape {node.shape}")
    if index is not None and not 0 <= index < node.shape[0]:
        raise InputError(path, "input.index", f"a slice in 0..{node.shape[0] - 1}", str(index))
    select = None if index is None else slice(index, index + 1)
    kspace = read_dataset(h5, KSPACE, path, kind="complex", what="complex k-space", select=select)
    kspace = kspace[:, None] if node.ndim == 3 else kspace
    return np.ascontiguousarray(kspace, dtype=np.complex64), int(node.shape[0])


def _mask(h5, path, shape) -> np.ndarray:
    rows, cols = shape
    node = open_dataset(h5, MASK, path, what="the measured phase-encode columns")
    if node.dtype.kind not in "biuf" or node.shape != (cols,):
        raise InputError(path, MASK, f"a 0/1 (W,) = ({cols},) array", f"{node.dtype} of shape {node.shape}")
    values = np.asarray(node[()]).astype(np.float64)
    if not np.isin(values, (0.0, 1.0)).all():
        raise InputError(path, MASK, "values 0 and 1", f"{int((~np.isin(values, (0.0, 1.0))).sum())} others")
    return np.broadcast_to(values.astype(np.float32), (rows, cols)).copy()


def _reference_name(h5, single_coil: bool) -> str | None:
    names = (ESC, RSS) if single_coil else (RSS,)
    return next((name for name in names if name in h5), None)


def _reference_shape(h5, path, name: str, n_slices: int) -> tuple[int, int, int]:
    node = open_dataset(h5, name, path, what="a (slices, h, w) reference image")
    if node.ndim != 3 or node.shape[0] != n_slices:
        raise InputError(path, name, f"({n_slices}, h, w): one image per k-space slice", f"shape {node.shape}")
    return tuple(int(s) for s in node.shape)


def _reference(h5, path, name: str, n_slices: int, shape, index):
    import torch

    stored = _reference_shape(h5, path, name, n_slices)
    if stored[1:] != tuple(shape):
        return None, stored
    select = None if index is None else slice(index, index + 1)
    image = read_dataset(h5, name, path, kind="real", what="a (slices, h, w) reference image", select=select)
    return torch.as_tensor(np.asarray(image, dtype=np.float32))[:, None], stored


def _reference_note(name: str, stored, shape) -> str:
    return (f"{name} is {stored[1]} x {stored[2]}, not the {shape[0]} x {shape[1]} image grid: compare a "
            "reconstruction centre-cropped to it (read_fastmri_reference)")


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read a fastMRI file: centred k-space ``(slices, coils, H, W)``, its mask, the RSS reference when on grid.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "file.h5"
    >>> k = np.zeros((2, 3, 4, 6), np.complex64); k[..., ::2] = 1
    >>> _ = write_fastmri(path, k, reconstruction_rss=np.ones((2, 4, 6)), attrs={"acquisition": "AXT2"})
    >>> m = read(path)
    >>> tuple(m.data.shape), m.geometry.acceleration, m.reference_name, m.metadata["acquisition"]
    ((2, 3, 4, 6), 2.0, 'fastMRI reconstruction_rss', 'AXT2')
    >>> tuple(read(path, ReadOptions(index=1)).data.shape)
    (1, 3, 4, 6)
    """
    import torch

    from recon.datasets.ismrmrd import header_facts
    from recon.datasets.measurement import Measurement
    from recon.operators.mri_acquisition import CartesianAcquisition

    path = Path(path)
    index = options.index
    with open_hdf5(path) as h5:
        single_coil = open_dataset(h5, KSPACE, path, what="complex k-space").ndim == 3
        kspace, n_slices = _kspace(h5, path, index)
        shape = kspace.shape[-2:]
        metadata = {"coils": "single-coil (stored as one coil)" if single_coil else kspace.shape[1], **_attributes(h5)}
        if MASK in h5:
            mask, metadata["mask_source"] = _mask(h5, path, shape), "the file's mask dataset"
        else:
            mask, metadata["mask_source"] = kspace_mask(kspace), "the zero pattern of k-space"
        if HEADER in h5:
            facts = header_facts(_text(open_dataset(h5, HEADER, path, what="the ISMRMRD XML header")), path, HEADER)
            metadata.update({k: facts[k] for k in ("encoded_matrix", "recon_matrix", "step1_limits") if k in facts})
        name = _reference_name(h5, single_coil)
        reference, stored = (None, None) if name is None else _reference(h5, path, name, n_slices, shape, index)
    if name is not None:
        metadata[f"{name}_shape"] = stored
        if reference is None:
            metadata["reference_note"] = _reference_note(name, stored, shape)
    if index is not None:
        metadata["slice"] = index
    return Measurement("mri", torch.as_tensor(kspace), CartesianAcquisition(torch.as_tensor(mask)), FORMAT, path,
                       reference=reference, reference_name=f"fastMRI {name}" if reference is not None else "",
                       metadata=metadata)


def describe(path: Path) -> Summary:
    """What :func:`read` would return, without its tensors (:mod:`recon.datasets.summary`)."""
    from recon.datasets.summary import Summary, cartesian_lines

    path = Path(path)
    with open_hdf5(path) as h5:
        single_coil = open_dataset(h5, KSPACE, path, what="complex k-space").ndim == 3
        kspace, n_slices = _kspace(h5, path, None)
        shape = kspace.shape[-2:]
        mask = _mask(h5, path, shape) if MASK in h5 else kspace_mask(kspace)
        name = _reference_name(h5, single_coil)
        stored = None if name is None else _reference_shape(h5, path, name, n_slices)
    on_grid = stored is not None and stored[1:] == tuple(shape)
    note = {"reference_note": _reference_note(name, stored, shape)} if stored is not None and not on_grid else {}
    return Summary("mri", tuple(kspace.shape), cartesian_lines(mask),
                   reference_name=f"fastMRI {name}" if on_grid else "", metadata=note)


def _text(node) -> str:
    value = node[()]
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, np.bytes_)) else str(value)


def read_fastmri_reference(path, index: int | None = None):
    """The file's ``reconstruction_rss`` (single-coil: ``reconstruction_esc``, else ``_rss``) as ``(slices, 1, h, w)``
    float32, whatever its shape, or ``None`` if it has none.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "file.h5"
    >>> _ = write_fastmri(path, np.ones((1, 2, 8, 6), np.complex64), reconstruction_rss=np.ones((1, 4, 4)))
    >>> read(path).reference is None, tuple(read_fastmri_reference(path).shape)
    (True, (1, 1, 4, 4))
    """
    import torch

    with open_hdf5(path) as h5:
        name = _reference_name(h5, open_dataset(h5, KSPACE, path, what="complex k-space").ndim == 3)
        if name is None:
            return None
        select = None if index is None else slice(index, index + 1)
        image = read_dataset(h5, name, path, rank=3, kind="real", what="a (slices, h, w) image", select=select)
    return torch.as_tensor(np.asarray(image, dtype=np.float32))[:, None]


def _numpy(array, name: str, caller: str) -> np.ndarray:
    values = array.detach().cpu().numpy() if hasattr(array, "detach") else np.asarray(array)
    if values.dtype.kind not in "biufc":
        raise ValueError(f"{caller}: {name} must be numeric, got dtype {values.dtype}")
    check_finite(values, None, f"{caller}: {name}")
    return values


def write_fastmri(path, kspace, *, mask=None, reconstruction_rss=None, ismrmrd_header: str | None = None,
                  attrs: dict | None = None, overwrite: bool = False) -> Path:
    r"""Write k-space (and its mask, RSS target, header, attributes) in fastMRI's layout, atomically.

    ``kspace`` is complex ``(slices, coils, H, W)`` or ``(slices, H, W)`` (single-coil), stored as
    complex64; ``mask`` a 0/1 ``(W,)`` vector, stored as bool; ``reconstruction_rss`` ``(slices, h, w)``,
    stored as float32. Without ``max`` and ``norm`` in ``attrs`` they are computed from
    ``reconstruction_rss`` as fastMRI's are: :math:`\max x` and :math:`\|x\|_2` over the volume.

    >>> import tempfile, pathlib
    >>> path = write_fastmri(pathlib.Path(tempfile.mkdtemp()) / "f.h5", np.ones((1, 4, 4), np.complex64),
    ...                      mask=[1, 0, 1, 1], reconstruction_rss=np.full((1, 2, 2), 2.0))
    >>> import h5py; f = h5py.File(path); sorted(f), str(f["mask"].dtype), float(f.attrs["max"]), float(f.attrs["norm"])
    (['kspace', 'mask', 'reconstruction_rss'], 'bool', 2.0, 4.0)
    """
    import h5py

    from recon.datasets.atomic import atomic_output

    kspace = _numpy(kspace, "kspace", "write_fastmri")
    if kspace.dtype.kind != "c" or kspace.ndim not in (3, 4):
        raise ValueError(f"write_fastmri: kspace must be complex (slices, coils, H, W) or (slices, H, W), "
                         f"got {kspace.dtype} of shape {kspace.shape}")
    attrs = dict(attrs or {})
    with atomic_output(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset(KSPACE, data=kspace.astype(np.complex64))
            if mask is not None:
                mask = _numpy(mask, "mask", "write_fastmri")
                if mask.shape != kspace.shape[-1:] or not np.isin(mask, (0, 1)).all():
                    raise ValueError(f"write_fastmri: mask must be 0/1 of shape ({kspace.shape[-1]},) (W,), "
                                     f"got shape {mask.shape}")
                f.create_dataset(MASK, data=mask.astype(bool))
            if reconstruction_rss is not None:
                rss = _numpy(reconstruction_rss, "reconstruction_rss", "write_fastmri")
                if rss.ndim != 3 or rss.shape[0] != kspace.shape[0] or rss.dtype.kind == "c":
                    raise ValueError(f"write_fastmri: reconstruction_rss must be real ({kspace.shape[0]}, h, w), "
                                     f"got {rss.dtype} of shape {rss.shape}")
                f.create_dataset(RSS, data=rss.astype(np.float32))
                attrs.setdefault("max", float(rss.max()))
                attrs.setdefault("norm", float(np.linalg.norm(rss.astype(np.float64))))
            if ismrmrd_header is not None:
                f.create_dataset(HEADER, data=str(ismrmrd_header))
            f.attrs.update(attrs)
    return Path(path)


def write_fastmri_reconstruction(path, reconstruction, *, overwrite: bool = False) -> Path:
    """Write ``reconstruction`` as fastMRI's evaluation reads an output: ``reconstruction`` ``(slices, h, w)``
    float32, atomically.

    ``reconstruction`` is ``(slices, h, w)`` or ``(slices, 1, h, w)``; a complex image is written as its
    magnitude :math:`|x|` (fastMRI scores magnitudes).

    >>> import tempfile, pathlib, h5py, torch
    >>> path = write_fastmri_reconstruction(pathlib.Path(tempfile.mkdtemp()) / "out.h5",
    ...                                     torch.full((2, 1, 3, 3), -1j))
    >>> f = h5py.File(path); f["reconstruction"].shape, str(f["reconstruction"].dtype), float(f["reconstruction"][0, 0, 0])
    ((2, 3, 3), 'float32', 1.0)
    """
    import h5py

    from recon.datasets.atomic import atomic_output

    image = _numpy(reconstruction, "reconstruction", "write_fastmri_reconstruction")
    if image.ndim == 4 and image.shape[1] == 1:
        image = image[:, 0]
    if image.ndim != 3:
        raise ValueError(f"write_fastmri_reconstruction: reconstruction must be (slices, h, w) or "
                         f"(slices, 1, h, w), got shape {image.shape}")
    image = np.abs(image) if image.dtype.kind == "c" else image
    with atomic_output(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("reconstruction", data=image.astype(np.float32))
    return Path(path)
