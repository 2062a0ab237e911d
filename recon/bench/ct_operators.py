"""Timing of the CT projectors: recon against deepinv's ``Tomography`` and scipy's CSR product.

Two cases, as in the foundation issue: 256² with 60 parallel views, and 512²
with 720 fan-beam views (the HTC2022 geometry). Everything runs in one process
with one torch thread; times are medians of repeated calls after a warm-up.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from dataclasses import dataclass

import torch


@dataclass
class Timing:
    case: str
    library: str
    forward_ms: float
    adjoint_ms: float

    @property
    def total_ms(self) -> float:
        return self.forward_ms + self.adjoint_ms


def median_ms(call, repeats: int) -> float:
    call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return 1e3 * statistics.median(samples)


def _cases(sizes):
    if "small" in sizes:
        angles = torch.linspace(0, math.pi, 61, dtype=torch.float64)[:-1]
        yield ("parallel 256² × 60 views", dict(beam="parallel", angles=angles, n_detectors=367, size=256),
               dict(fan_beam=False, img_width=256, angles=torch.rad2deg(angles).float()))
    if "large" in sizes:
        angles = torch.linspace(0, 2 * math.pi, 721, dtype=torch.float64)[:-1]
        pixel, spacing, source_origin, origin_detector = 0.14832, 0.2, 410.66, 143.08
        yield ("fan 512² × 720 views", dict(beam="fan", angles=angles, n_detectors=560, size=512, pixel=pixel,
                                             spacing=spacing, so=source_origin, od=origin_detector),
               dict(fan_beam=True, img_width=512, angles=torch.rad2deg(angles).float(),
                    fan_parameters=dict(pixel_spacing=pixel, source_radius=source_origin,
                                        detector_radius=origin_detector, n_detector_pixels=560,
                                        detector_spacing=spacing)))


def _recon_operator(spec):
    from recon.operators import FanBeamCT, ParallelBeamCT

    shape = (spec["size"], spec["size"])
    if spec["beam"] == "parallel":
        return ParallelBeamCT(spec["angles"], spec["n_detectors"], image_shape=shape, backend="matrix")
    return FanBeamCT(spec["angles"], spec["n_detectors"], spec["so"], spec["od"], detector_spacing=spec["spacing"],
                     pixel_size=spec["pixel"], image_shape=shape, backend="matrix")


def run(sizes=("small", "large"), repeats: int = 20, echo=print) -> list[Timing]:
    """Time every library on every case; return the timings and print a table."""
    import scipy.sparse
    from deepinv.physics import Tomography

    torch.set_num_threads(1)
    echo(f"torch {torch.__version__}, {torch.get_num_threads()} thread, medians of {repeats} calls")
    timings = []
    for case, spec, deepinv_kwargs in _cases(sizes):
        generator = torch.Generator().manual_seed(0)
        started = time.perf_counter()
        op = _recon_operator(spec)
        echo(f"{case}: recon matrix built in {time.perf_counter() - started:.1f} s, "
             f"{op._matrix.nnz / 1e6:.0f} M non-zeros, {op._matrix.nbytes / 1e9:.2f} GB with its transpose")
        x = torch.rand((1, 1, spec["size"], spec["size"]), generator=generator)
        y = torch.rand((1, 1, *op.range_shape), generator=generator)
        timings.append(Timing(case, "recon", median_ms(lambda: op.A(x), repeats),
                              median_ms(lambda: op.A_adjoint(y), repeats)))

        forward, transpose = op._matrix._pair(torch.device("cpu"), torch.float32)
        matrix = scipy.sparse.csr_matrix((forward.values().numpy(), forward.col_indices().numpy(),
                                          forward.crow_indices().numpy()), shape=forward.shape)
        matrix_t = scipy.sparse.csr_matrix((transpose.values().numpy(), transpose.col_indices().numpy(),
                                            transpose.crow_indices().numpy()), shape=transpose.shape)
        xv, yv = x.numpy().reshape(-1), y.numpy().reshape(-1)
        timings.append(Timing(case, "scipy CSR", median_ms(lambda: matrix @ xv, repeats),
                              median_ms(lambda: matrix_t @ yv, repeats)))
        del matrix, matrix_t

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tomography = Tomography(normalize=False, adjoint_via_backprop=True, circle=False, **deepinv_kwargs)
            y_deepinv = tomography.A(x)
            deepinv_repeats = max(3, repeats // 4)
            timings.append(Timing(case, "deepinv Tomography", median_ms(lambda: tomography.A(x), deepinv_repeats),
                                  median_ms(lambda: tomography.A_adjoint(y_deepinv), deepinv_repeats)))
        del op
    echo(format_table(timings))
    return timings


def format_table(timings: list[Timing]) -> str:
    lines = [f"{'case':<26} {'library':<20} {'A [ms]':>9} {'Aᵀ [ms]':>9} {'A+Aᵀ [ms]':>10} {'vs recon':>9}"]
    recon_total = {t.case: t.total_ms for t in timings if t.library == "recon"}
    for t in timings:
        lines.append(f"{t.case:<26} {t.library:<20} {t.forward_ms:>9.2f} {t.adjoint_ms:>9.2f} {t.total_ms:>10.2f} "
                     f"{t.total_ms / recon_total[t.case]:>8.2f}×")
    return "\n".join(lines)
