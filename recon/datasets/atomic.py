"""Write output files atomically: a reader never sees half a file, a failure leaves none."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path, *, overwrite: bool = False):
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds. The file gets the
    permissions a plain ``open`` would give it (0666 less the umask), not the temporary file's 0600.

    :raises FileExistsError: if ``path`` exists and ``overwrite`` is false.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = _writable_target(path, overwrite)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        if temporary.exists():
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _writable_target(path, overwrite: bool) -> Path:
    """``path`` as a Path whose folder exists; :class:`FileExistsError` if it exists and ``overwrite`` is false."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists (pass --overwrite to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def unnamed_output(path, *, overwrite: bool = False):
    """Yield a binary file object that becomes ``path`` only if the block succeeds, and that has no name before.

    For outputs written over a long time (a streamed volume): on Linux the file is created with ``O_TMPFILE``,
    an inode with no directory entry, so a process killed mid-write (even by SIGKILL or the OOM killer)
    leaves nothing behind; at the end it is linked in beside ``path`` and renamed onto it. Where the
    filesystem has no ``O_TMPFILE`` it falls back to a ``.partial`` file as :func:`atomic_output` does.

    :raises FileExistsError: if ``path`` exists and ``overwrite`` is false.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "volume.bin"
    >>> with unnamed_output(target) as handle:
    ...     _ = handle.write(b"slices")
    ...     sorted(p.name for p in target.parent.iterdir())       # nothing named yet
    []
    >>> target.read_bytes()
    b'slices'
    """
    path = _writable_target(path, overwrite)
    try:
        descriptor = os.open(path.parent, os.O_TMPFILE | os.O_RDWR, 0o666 & ~_umask())
    except (AttributeError, OSError):        # no O_TMPFILE here (not Linux, or the filesystem lacks it)
        with atomic_output(path, overwrite=overwrite) as temporary, open(temporary, "w+b") as handle:
            yield handle
        return
    with os.fdopen(descriptor, "w+b") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        _link_into_place(handle.fileno(), path)


def _link_into_place(descriptor: int, path: Path) -> None:
    """Give the unnamed file ``descriptor`` a temporary name beside ``path``, then rename it onto ``path``."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd, at_symlink_follow = -100, 0x400
    for attempt in range(100):
        temporary = path.parent / f".{path.name}.{os.getpid()}.{attempt}.partial"
        # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N: Python's os.link does not follow that link here.
        if libc.linkat(at_fdcwd, f"/proc/self/fd/{descriptor}".encode(), at_fdcwd, os.fsencode(temporary),
                       at_symlink_follow) == 0:
            break
        error = ctypes.get_errno()
        if error != errno.EEXIST:
            raise OSError(error, f"cannot link the finished output into {path.parent}: {os.strerror(error)}")
    else:
        raise OSError(errno.EEXIST, f"cannot find a free temporary name beside {path}")
    try:
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def path_of(handle) -> str:
    """A path that opens the file behind ``handle`` again, for writers that take a path (matplotlib, Pillow):
    ``/proc/self/fd/N`` on Linux (an unnamed file has no other), else its name.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "figure.png"
    >>> with unnamed_output(target) as handle:
    ...     _ = pathlib.Path(path_of(handle)).write_bytes(b"png")
    >>> target.read_bytes()
    b'png'
    """
    proc = Path(f"/proc/self/fd/{handle.fileno()}")
    return str(proc) if proc.exists() else handle.name
