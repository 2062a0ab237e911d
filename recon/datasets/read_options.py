"""What a reader may be told beyond the file itself: the ``input`` section of an experiment config."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadOptions:
    """Options every reader accepts (a reader ignores those that do not apply to its format).

    :param index: read one sample (LoDoPaB) or one detector row / slice only; ``None`` reads all.
    :param angles_deg: ``(first, last)`` projection angle in degrees, for formats that store no angles (TIFF).
    :param angles_endpoint: whether ``last`` is itself a view (``True``) or one step past the last view.
    :param centre_offset: rotation-axis offset in detector pixels for raw projections, or ``"auto"`` to estimate it.
    :param intensities: for TIFF: ``"auto"`` (integers are intensities, floats line integrals),
        ``"intensity"`` (take the negative log against the open beam) or ``"line-integral"``.
    :param allow_links: let an HDF5 input reach other files in its own folder through external links or
        virtual datasets (:mod:`recon.datasets.hdf5_preflight`); links outside its folder are refused anyway.

    >>> ReadOptions(index=3).index
    3
    """

    index: int | None = None
    angles_deg: tuple[float, float] | None = None
    angles_endpoint: bool = False
    centre_offset: float | str = "auto"
    intensities: str = "auto"
    allow_links: bool = False
