"""Which reader a file needs, found from its content (not its name), and the one entry point to read it.

Each reader module defines ``FORMAT`` (its name), ``DESCRIPTION`` (one line),
``sniff(path, h5) -> bool`` (``h5`` is the open HDF5 file, or ``None`` for a
file that is not HDF5), ``read(path, options) -> Measurement``, ``describe(path)
-> Summary`` (:mod:`recon.datasets.summary`: what ``read`` would return, for
``recon info``) and ``AXES`` (how the file's axes become the measurement's and the
reconstruction's, for ``docs/formats.md``). A reader module imports no torch
until ``read`` runs, so that detecting and describing a file stay fast. A new
format joins by adding its module to ``READER_MODULES``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions

READER_MODULES = (
    "recon.datasets.recon_format",
    "recon.datasets.data_exchange",
    "recon.datasets.nxtomo",
    "recon.datasets.lodopab",
    "recon.datasets.htc2022",
    "recon.datasets.matlab_kspace",
    "recon.datasets.tiff_sinogram",
    "recon.datasets.fastmri",
    "recon.datasets.ismrmrd",
    "recon.datasets.bart_cfl",
    "recon.datasets.radar_format",
    "recon.datasets.deblur_format",
)

#: The layouts whose slices are independent problems, each read alone with ``input.index``: ``recon run``
#: streams them slice by slice (``input.stream``) and ``recon batch`` makes one task of each slice.
SLICED_FORMATS = ("recon", "data-exchange", "nxtomo", "fastmri")


def reader_modules() -> list:
    """The reader modules that exist in this installation, in detection order."""
    modules = []
    for name in READER_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
    return modules


def detect_format(path):
    """The reader module for ``path``; :class:`InputError` if no reader recognises it."""
    import h5py

    from recon.datasets.validation import check_input_path, open_hdf5

    path = check_input_path(path)
    modules = reader_modules()
    if h5py.is_hdf5(path):
        with open_hdf5(path) as h5:
            for module in modules:
                if module.sniff(path, h5):
                    return module
            top = ", ".join(sorted(h5.keys())[:8]) or "nothing"
        known = ", ".join(m.FORMAT for m in modules)
        raise InputError(path, None, f"an HDF5 layout recon knows ({known})", f"top-level entries {top}")
    for module in modules:
        if module.sniff(path, None):
            return module
    raise InputError(path, None, "a supported file (HDF5, MATLAB .mat of HTC2022 or k-space, TIFF sinogram, BART .cfl)",
                     "none of these")


def read_measurement(path, options: ReadOptions | None = None, *, format: str = "auto"):
    """Read ``path`` with the reader its content calls for (or the one named by ``format``).

    Before any reader runs, an HDF5 file's structure is checked (:mod:`recon.datasets.hdf5_preflight`), and a
    parsing library's failure while reading becomes one :class:`InputError` (:mod:`recon.datasets.reader_boundary`).

    >>> read_measurement("no/such/file.h5")
    Traceback (most recent call last):
    recon.datasets.errors.InputError: no/such/file.h5: expected an existing input file, got no such file
    """
    import h5py

    from recon.datasets.hdf5_preflight import preflight
    from recon.datasets.reader_boundary import reading

    options = ReadOptions() if options is None else options
    path = Path(path)
    if path.is_file() and h5py.is_hdf5(path):
        preflight(path, allow_links=options.allow_links)
    if format == "auto":
        with reading(path, "its layout"):
            module = detect_format(path)
    else:
        by_name = {m.FORMAT: m for m in reader_modules()}
        if format not in by_name:
            raise InputError(path, "input.format", f"one of auto, {', '.join(by_name)}", repr(format))
        module = by_name[format]
    with reading(path, f"{module.FORMAT} data"):
        return module.read(Path(path), options)


def describe_measurement(path, *, format: str = "auto", allow_links: bool = False):
    """What :func:`read_measurement` would return, from metadata only: the reader's ``describe`` summary
    (:mod:`recon.datasets.summary`), behind the same preflight and boundary as reading."""
    import h5py

    from recon.datasets.hdf5_preflight import preflight
    from recon.datasets.reader_boundary import reading

    path = Path(path)
    if path.is_file() and h5py.is_hdf5(path):
        preflight(path, allow_links=allow_links)
    with reading(path, "its layout and metadata"):
        module = detect_format(path) if format == "auto" else {m.FORMAT: m for m in reader_modules()}.get(format)
        if module is None:
            raise InputError(path, "input.format", f"one of auto, {', '.join(m.FORMAT for m in reader_modules())}",
                             repr(format))
        return module.describe(path)
