"""The one error a reader raises for bad input: it names the file, the field and what was expected.

The command prints it as one line and exits with status 2; no traceback.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input data: ``"{file}: {field}: expected {expected}, got {got}"``.

    >>> str(InputError("scan.h5", "exchange/theta", "one angle per projection (181)", "180 angles"))
    'scan.h5: exchange/theta: expected one angle per projection (181), got 180 angles'
    >>> str(InputError("scan.h5", None, "an HDF5 file"))
    'scan.h5: expected an HDF5 file'
    """

    def __init__(self, path, field: str | None, expected: str, got: str | None = None):
        self.path = Path(path) if path is not None else None
        self.field = field
        self.expected = expected
        self.got = got
        where = f"{path}: " if path is not None else ""
        what = f"{field}: " if field else ""
        tail = f", got {got}" if got is not None else ""
        super().__init__(f"{where}{what}expected {expected}{tail}")
