r"""Refuse a run that would not fit in memory, before it reads anything: one line, not the kernel's OOM killer.

The estimate comes from the file's metadata (each reader's ``describe``): for
``S`` slices of ``D`` measured values and ``P`` image pixels each, in
``b``-byte numbers (4 real, 8 complex),

.. math:: \text{bytes} \approx S\,b\,(3D + 10P),

three copies of the data (as read, as converted, the operator's
:math:`A^\top y`) and ten images' worth of solver state (iterate,
extrapolation, dual variables of the gradient, the figure's stack), which
bounds what recon's solvers hold for TV-class problems. The budget is
``--max-memory`` (default: half the memory available when the run starts).
A multi-slice input of independent slices that does not fit whole is streamed
slice by slice instead (``input.stream``, :mod:`recon.experiments.streamed_run`),
and then only one slice must fit. A run over the budget either way is refused
with the size and the ways out: pick slices with ``input.index``, stream them,
let ``recon batch`` run one slice per task, or raise the budget.

What the planned run leaves of the budget is the CT projection matrix's (:func:`projection_matrix_budget`):
a sparse matrix makes each product several times faster than astra's on-the-fly CPU kernels (0.48 s
against 3.3 s for one A and Aᵀ of the 512², 721-view HTC2022 scan), so an iterative run uses it whenever
building it fits.
"""

from __future__ import annotations

import math

from recon.datasets.errors import InputError

#: The share of the available memory a run may plan to use when ``--max-memory`` is not given.
DEFAULT_FRACTION = 0.5


def available_bytes() -> int:
    """The memory available now (psutil's ``available``; ``/proc/meminfo`` without psutil)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        with open("/proc/meminfo") as handle:
            fields = dict(line.split(":", 1) for line in handle)
        return int(fields["MemAvailable"].split()[0]) * 1024


def parse_bytes(text: str) -> int:
    """``"8G"``, ``"512M"``, ``"1.5GB"`` or a plain number of bytes, as bytes.

    >>> parse_bytes("8G"), parse_bytes("512MB"), parse_bytes("1000")
    (8589934592, 536870912, 1000)
    """
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    suffix = value[-1:] if value[-1:] in units and value[-1:] else ""
    try:
        number = float(value[:-1] if suffix else value)
    except ValueError:
        number = float("nan")
    if not number > 0:
        raise ValueError(f"--max-memory: expected a positive size such as 8G or 512M, got {text!r}")
    return int(number * units[suffix])


def estimate_bytes(summary, config: dict) -> int:
    """Bytes a run of ``config`` on the file described by ``summary`` will hold at its peak (module text)."""
    slices = 1 if config["input"]["index"] is not None else summary.n_slices
    measured = math.prod(summary.data_shape[1:])
    itemsize = 8 if summary.modality in ("mri", "mimo") else 4
    pixels = _image_pixels(summary, config, measured)
    return int(slices * itemsize * (3 * measured + 10 * pixels))


def _image_pixels(summary, config: dict, measured: int) -> int:
    if summary.modality == "ct":
        shape = config.get("operator", {}).get("image_shape") or getattr(summary.geometry, "image_shape", None)
        if shape:
            return math.prod(shape)
    return measured         # MRI, radar, deblurring: the image is the size of the data (or smaller)


#: What the refusal suggests, in order.
WAYS_OUT = ("pick slices with --set input.index=N", "run them as tasks with recon batch", "raise --max-memory")


def budget_bytes(budget: int | None) -> int:
    """``budget``, or the default share of the memory available now when it is ``None``."""
    return int(DEFAULT_FRACTION * available_bytes()) if budget is None else budget


#: Peak memory while the CT projection matrix and its transpose are built, over their estimated size
#: (:func:`recon.operators.astra_projector.estimate_matrix_bytes`): the per-angle chunks and the stacked matrix
#: are held together for a moment. Measured 1.5 (200-view fan beam, 512²) and 1.6 (the 721-view HTC2022 scan).
MATRIX_BUILD_PEAK = 1.6


def projection_matrix_budget(budget: int | None, planned: int) -> int:
    """Bytes the CT projection matrix (with its transpose) may take in a run whose other needs are ``planned``
    bytes: what ``budget`` (``None``: the default share of what is available) leaves, over the build's peak.

    >>> projection_matrix_budget(10 * 2**30, 2 * 2**30) / 2**30
    5.0
    >>> projection_matrix_budget(2**20, 2**30)
    0
    """
    return int(max(budget_bytes(budget) - planned, 0) / MATRIX_BUILD_PEAK)


def slices_that_fit(summary, config: dict, budget: int | None) -> int:
    """How many of the file's slices one streamed step can hold within ``budget`` (at least 0).

    >>> from recon.datasets.summary import Summary
    >>> config = {"input": {"index": None}, "operator": {"image_shape": [256, 256]}}
    >>> slices_that_fit(Summary("ct", (100000, 1, 60, 365), []), config, 2**30)
    372
    """
    one = estimate_bytes(summary, {**config, "input": {**config["input"], "index": 0}})
    return int(budget_bytes(budget) // max(one, 1))


def check_memory(path, summary, config: dict, budget: int | None, *, ways_out=WAYS_OUT) -> int:
    """Raise :class:`InputError` if the run needs more than ``budget`` bytes (``None``: the default share of
    what is available); return the estimate. The message ends with ``ways_out``.

    >>> from recon.datasets.summary import Summary
    >>> huge = Summary("ct", (100000, 1, 60, 365), [])
    >>> config = {"input": {"index": None}, "operator": {"image_shape": [256, 256]}}
    >>> check_memory("huge.h5", huge, config, 2**30)
    Traceback (most recent call last):
    recon.datasets.errors.InputError: huge.h5: expected a run that fits --max-memory 1.0 GiB, got about 268.6 GiB for 100000 slice(s) (pick slices with --set input.index=N, run them as tasks with recon batch, or raise --max-memory)
    >>> check_memory("huge.h5", huge, {**config, "input": {"index": 0}}, 2**30) < 2**30
    True
    """
    needed = estimate_bytes(summary, config)
    limit = budget_bytes(budget)
    if needed > limit:
        slices = 1 if config["input"]["index"] is not None else summary.n_slices
        ways = ", ".join(ways_out[:-1]) + f", or {ways_out[-1]}" if len(ways_out) > 1 else ways_out[0]
        raise InputError(path, None, f"a run that fits --max-memory {human_size(limit)}",
                         f"about {human_size(needed)} for {slices} slice(s) ({ways})")
    return needed


def human_size(size: float) -> str:
    """``"8.2 GiB"``, ``"731.0 MiB"``, ``"10.0 KiB"``, ``"12 B"``.

    >>> human_size(8.8e9), human_size(10240), human_size(12)
    ('8.2 GiB', '10.0 KiB', '12 B')
    """
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} B"
