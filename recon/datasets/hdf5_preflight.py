r"""Look over an HDF5 file's structure before anything reads it: refuse what is hostile, corrupt or a trap.

A damaged HDF5 file can do worse than raise: the HDF5 library may loop for
ever on a corrupt object header, or crash the process. And a well-formed file
can still be hostile: an external link or a virtual dataset that reads files
outside the input's folder, a contiguous dataset that declares more bytes than
the file holds, a dimension of :math:`10^{12}`. So before a reader opens the
file, a forked child walks every group, link, dataset and attribute (metadata
only, no array data) and reports what it finds; the parent waits at most
``timeout`` seconds (5). A hang or a crash in the child is a corrupt file, not a
hung ``recon``. The walk costs about 50 ms.

Refused, each with one line naming the file and the object:

* an external link, an external raw-data file, or a virtual dataset whose source lies outside the
  input's folder (or anywhere, unless ``allow_links``);
* a contiguous, uncompressed dataset whose declared size does not fit in the file;
* a dimension above :data:`MAX_DIMENSION` or a dataset of more than :data:`MAX_ELEMENTS` elements;
* a structure HDF5 cannot read (an error, a crash, or no answer within ``timeout``).

Chunked, compressed datasets may declare far more than the file's size (a
100,000-slice gzip stack of 8.8 GB in 360 KB is fine): their chunks are read
on demand, and a damaged chunk fails when it is read.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from recon.datasets.errors import InputError

#: The largest single dimension recon accepts (2^31: more than any detector, angle count or slice count).
MAX_DIMENSION = 2**31
#: The most elements one dataset may declare (2^42, 4.4 trillion: 17 TB of float32).
MAX_ELEMENTS = 2**42

_checked: dict = {}


def size_problem(shape, shown: str | None = None) -> tuple[str, str] | None:
    """``(expected, got)`` when a declared ``shape`` breaks :data:`MAX_DIMENSION` (or is negative) or
    :data:`MAX_ELEMENTS`, else ``None``: the one size check of every reader's preflight (HDF5, BART headers,
    TIFF pages, MAT v5 elements). ``shown`` is how the message names the shape (default ``shape (...)``).

    >>> size_problem((10**12, 8))
    ('dimensions of at most 2147483648', 'shape (1000000000000, 8)')
    >>> size_problem([2**21] * 3, shown="dims [...]")
    ('at most 4398046511104 elements', 'dims [...] (9.22e+18 elements)')
    >>> size_problem((60, 365)) is None
    True
    """
    shape = tuple(int(n) for n in shape)
    shown = f"shape {shape}" if shown is None else shown
    if any(n < 0 or n > MAX_DIMENSION for n in shape):
        return f"dimensions of at most {MAX_DIMENSION}", shown
    elements = math.prod(shape)
    if elements > MAX_ELEMENTS:
        return f"at most {MAX_ELEMENTS} elements", f"{shown} ({elements:.3g} elements)"
    return None


def preflight(path, *, timeout: float = 5.0, allow_links: bool = False, check_links: bool = True) -> None:
    """Refuse ``path`` (an HDF5 file) with :class:`InputError` if its structure is hostile or corrupt.

    Each file is walked once per process (until it changes on disk).

    :param allow_links: accept links and virtual sources that stay in the input's folder.
    :param check_links: ``False`` accepts every link (``recon info`` lists links; it never follows them).

    >>> import tempfile, pathlib, h5py, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with h5py.File(folder / "ok.h5", "w") as f:
    ...     f["data"] = np.zeros((3, 4))
    >>> preflight(folder / "ok.h5")
    >>> with h5py.File(folder / "huge.h5", "w") as f:
    ...     _ = f.create_dataset("data", shape=(10**12, 8), dtype="f4", chunks=(1, 8))
    >>> preflight(folder / "huge.h5")
    Traceback (most recent call last):
    recon.datasets.errors.InputError: ...huge.h5: data: expected dimensions of at most 2147483648, got shape (1000000000000, 8)
    """
    import h5py  # noqa: F401 - imported here, once, not in every forked child

    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, allow_links, check_links)
    if key in _checked:
        if _checked[key] is not None:
            raise _checked[key]         # a refusal is remembered too: a hang is waited for once
        return
    try:
        _walk(path, timeout, allow_links, check_links)
    except InputError as refusal:
        _checked[key] = refusal
        raise
    _checked[key] = None


def _walk(path: Path, timeout: float, allow_links: bool, check_links: bool) -> None:
    """Fork (plain ``os.fork``: Dask's daemonic workers may not start multiprocessing children), walk in the
    child, and read its one JSON answer through a pipe within ``timeout`` seconds."""
    import json
    import select
    import signal

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                    # the child: walk, answer, and leave at once
        os.close(read_end)
        try:
            _die_with_parent()
            try:
                answer = find_problem(path, allow_links=allow_links, check_links=check_links)
            except BaseException as error:  # noqa: BLE001 - whatever HDF5 raises on this file is the finding
                answer = (None, "an HDF5 file whose structure reads", f"corrupt or unreadable "
                          f"({type(error).__name__}: {' '.join(str(error).split())[:200]})")
            os.write(write_end, json.dumps(answer).encode())
        finally:
            os._exit(0)     # no atexit handlers, no torch or h5py teardown in a forked child
    os.close(write_end)
    received, deadline = b"", time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([read_end], [], [], left)[0] if left > 0 else []
            if not ready:
                raise InputError(path, None, "an HDF5 file whose structure reads", f"corrupt or unreadable (its "
                                 f"structure did not read within {timeout:g} s)")
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            received += chunk
    finally:
        os.close(read_end)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    if not received:
        raise InputError(path, None, "an HDF5 file whose structure reads",
                         "corrupt or unreadable (the HDF5 library crashed reading it)")
    problem = json.loads(received)
    if problem is not None:
        field, expected, got = problem
        raise InputError(path, field, expected, got)


def _die_with_parent() -> None:
    """Ask Linux to kill this child when its parent dies: a child stuck in HDF5 must not outlive ``recon``."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):       # not Linux: the parent's kill on timeout still applies
        pass


def find_problem(path: Path, *, allow_links: bool = False, check_links: bool = True):
    """The first problem in ``path``'s structure as ``(field, expected, got)``, or ``None`` (in this process)."""
    import h5py

    folder = path.resolve().parent
    size = path.stat().st_size
    problems = []
    with h5py.File(path, "r") as f:
        _attributes(f, "/", problems)

        def visit(name, link):
            if problems:
                return problems[0]
            if isinstance(link, h5py.ExternalLink):
                if not check_links:
                    return None
                target = _outside(folder, path.parent, link.filename)
                if target is not None or not allow_links:
                    problems.append((name, "no link to another file (allow them with input.allow_links)" if
                                     target is None else "links only to files in the input's folder",
                                     f"an external link to {link.filename}:{link.path}"))
                return problems[0] if problems else None
            if isinstance(link, h5py.SoftLink):
                return None
            node = f.get(name)
            if node is None:
                return None
            _attributes(node, name, problems)
            if isinstance(node, h5py.Dataset):
                _dataset(node, name, folder, path.parent, size, allow_links, check_links, problems)
            return problems[0] if problems else None

        f.visititems_links(visit)
    return problems[0] if problems else None


def _attributes(node, name: str, problems: list) -> None:
    for key in node.attrs:
        node.attrs[key]         # read every value: a corrupt header fails (or hangs) here, in the child


def _outside(folder: Path, base: Path, filename: str) -> Path | None:
    """The linked file if it lies outside ``folder``, else ``None``."""
    target = (base / filename).resolve()
    return None if target.is_relative_to(folder) else target


def _dataset(node, name, folder, base, size, allow_links, check_links, problems) -> None:
    shape = node.shape or ()
    too_large = size_problem(shape)
    if too_large is not None:
        problems.append((name, *too_large))
        return
    elements = math.prod(int(n) for n in shape)
    if node.is_virtual:
        if not check_links:
            return
        for source in node.virtual_sources():
            target = _outside(folder, base, source.file_name) if source.file_name != "." else None
            if target is not None or (not allow_links and source.file_name != "."):
                problems.append((name, "data stored in the input file (allow virtual datasets with "
                                 "input.allow_links)" if target is None else "virtual sources in the input's folder",
                                 f"a virtual dataset reading {source.file_name}:{source.dset_name}"))
                return
        return
    external = node.external
    if external and check_links:
        problems.append((name, "data stored in the input file", f"raw data in external file(s) "
                         f"{', '.join(str(e[0]) for e in external)}"))
        return
    if node.chunks is None and node.compression is None and elements:
        offset = node.id.get_offset()
        declared = elements * node.dtype.itemsize
        if offset is not None and offset + declared > size:
            problems.append((name, f"{declared} bytes of data from byte {offset} within the file",
                             f"a file of {size} bytes (truncated, or a declared size that does not match)"))
