"""Where recon's readers meet the libraries that parse files: their failures become one line, recon's do not.

A damaged file makes h5py, scipy.io, tifffile or numpy raise whatever they
raise (``KeyError: Unable to synchronously open object (message not aligned)``,
``RuntimeError: ... wrong B-tree signature``, ``ValueError: failed to read ...
bytes``). For the user that is one fact: the file is corrupt or unreadable. So
the reader boundary turns an exception whose last frame lies in one of those
libraries into an :class:`~recon.datasets.errors.InputError` naming the file,
what was being read and the library's own words. An exception raised in
recon's own code passes through unchanged: it is a bug to fix, not bad input
to hide. A ``MemoryError`` (numpy's "Unable to allocate 1.82 TiB") is the
input's size wherever it is raised, and becomes one line too. While
reading, the libraries' own log messages (tifffile's "ImageJ series metadata
invalid or corrupted file") are held back: the one line is the whole story.
"""

from __future__ import annotations

import contextlib
import logging

from recon.datasets.errors import InputError

#: Loggers of parsing libraries that would print to stderr beside recon's one line.
LIBRARY_LOGGERS = ("tifffile", "h5py")

#: Packages that parse files: an exception raised inside them while reading is the file's fault.
PARSING_LIBRARIES = frozenset({"h5py", "scipy", "tifffile", "numpy", "PIL", "zlib", "gzip", "struct", "xml"})


def raised_in_library(error: BaseException) -> bool:
    """Whether ``error``'s innermost frame belongs to one of :data:`PARSING_LIBRARIES`.

    >>> import numpy as np
    >>> try:
    ...     np.load(__file__)
    ... except Exception as error:
    ...     raised_in_library(error)
    True
    >>> try:
    ...     {}["missing"]
    ... except KeyError as error:
    ...     raised_in_library(error)
    False
    """
    trace = error.__traceback__
    if trace is None:
        return False
    while trace.tb_next is not None:
        trace = trace.tb_next
    module = trace.tb_frame.f_globals.get("__name__", "") or ""
    return module.split(".")[0] in PARSING_LIBRARIES


@contextlib.contextmanager
def reading(path, what: str):
    """Turn a parsing library's failure inside the block into one :class:`InputError` about ``path``.

    :param what: what is being read, in the user's words (``"the recon measurement"``, ``"the file's layout"``).

    >>> import numpy as np, tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "bad.npy"
    >>> _ = bad.write_bytes(b"\\x93NUMPY garbage")
    >>> with reading(bad, "the array"):
    ...     np.load(bad)
    Traceback (most recent call last):
    recon.datasets.errors.InputError: ...bad.npy: expected a readable file (the array), got corrupt or unreadable (ValueError: ...)

    A failed allocation is one line too, wherever it happened (a reader's own copy of a slice included):

    >>> with reading("big.cfl", "mri data"):
    ...     raise MemoryError("Unable to allocate 1.82 TiB for an array with shape (1000000000000,)")
    Traceback (most recent call last):
    recon.datasets.errors.InputError: big.cfl: expected data that fits in memory (mri data), got more than memory ...
    """
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    except InputError:
        raise
    except Exception as error:
        detail = " ".join(str(error).split())[:240]
        if isinstance(error, MemoryError):      # the input's size, not a bug: numpy's _ArrayMemoryError included
            raise InputError(path, None, f"data that fits in memory ({what})", f"more than memory holds "
                             f"(MemoryError: {detail or 'no detail'})") from None
        if not raised_in_library(error):
            raise
        raise InputError(path, None, f"a readable file ({what})",
                         f"corrupt or unreadable ({type(error).__name__}: {detail or 'no detail'})") from None
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
