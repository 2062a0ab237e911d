r"""``pnp-denoiser``: seconds per call of each denoiser on one ``size``² image, one torch thread.

A plug-and-play iteration is one denoiser call plus a data step, so the denoiser's
cost bounds every PnP solver's speed. Timed here, on ``camera`` with Gaussian noise
σ = 25/255 (seeded), each under ``torch.no_grad``:

* recon's shipped general model (the one ``pnp-deblur`` uses);
* deepinv's ``DRUNet`` (its default sizes, grayscale) and ``DnCNN`` (grayscale), with
  random weights (``pretrained=None``: nothing can be downloaded here, and the weights do
  not change the time) — their records carry no PSNR;
* BM3D (:class:`recon.priors.denoisers.BM3D`, the ``bm3d`` package), the classical reference.

One untimed call first (allocations, lazy set-up), then the fastest of ``max(repeats, 2)``
timed calls. The record's ``ms_per_iter`` is milliseconds per call, its PSNR that of the
denoised image; the target, as for the other problems, is the lowest PSNR among the
denoisers that improve on the noisy image, less 0.1 dB.

>>> from recon.bench.pnp_problems import PnPSetup
>>> [name for name, _, _ in reference_denoisers()]
['DRUNet (random weights)', 'DnCNN (random weights)', 'BM3D']
"""

from __future__ import annotations

import math

import torch

from recon.bench.pnp_measure import common_target, with_common_target
from recon.bench.pnp_problems import DENOISER, PnPSetup
from recon.bench.records import BenchRecord, fastest
from recon.bench.trace import Trace, psnr_db

NOISE = 25 / 255


def reference_denoisers() -> list[tuple[str, str, object]]:
    """``(method, library, build())``: the peers' denoisers, built on demand."""
    def drunet():
        from deepinv.models import DRUNet

        return DRUNet(in_channels=1, out_channels=1, pretrained=None).eval()

    def dncnn():
        from deepinv.models import DnCNN

        return DnCNN(in_channels=1, out_channels=1, pretrained=None).eval()

    def bm3d():
        from recon.priors.denoisers import BM3D

        return BM3D()

    return [("DRUNet (random weights)", "deepinv", drunet), ("DnCNN (random weights)", "deepinv", dncnn),
            ("BM3D", "bm3d", bm3d)]


def _timed(method: str, library: str, denoiser, truth, noisy, setup: PnPSetup, note: str) -> BenchRecord:
    with torch.no_grad():
        denoiser(noisy, NOISE)                        # untimed: first-call allocations
        tries = []
        for _ in range(max(setup.repeats, 2)):
            trace = Trace(truth)
            trace.start()
            trace.mark(denoiser(noisy, NOISE))
            tries.append(BenchRecord.from_trace(DENOISER, method, library, trace, math.nan, note=note))
    return fastest(tries)


def denoiser_records(setup: PnPSetup, shipped, echo=print) -> list[BenchRecord]:
    """One record per denoiser: ``shipped`` (recon's, the object ``pnp-deblur`` used), then the references."""
    from recon.datasets.phantoms import camera

    truth = camera(setup.size)
    generator = torch.Generator().manual_seed(setup.seed)
    noisy = (truth + NOISE * torch.randn(truth.shape, generator=generator)).to(torch.float32)
    parameters = lambda net: sum(p.numel() for p in net.parameters())   # noqa: E731
    echo(f"{DENOISER}: one {setup.size}² call, sigma 25/255, noisy {psnr_db(noisy, truth):.2f} dB")
    records = [_timed(setup.general_denoiser, "recon", shipped, truth, noisy, setup,
                      f"{parameters(shipped) / 1e6:.2f} M parameters")]
    for method, library, build in reference_denoisers():
        denoiser = build()
        count = parameters(denoiser)
        records.append(_timed(method, library, denoiser, truth, noisy, setup,
                              f"{count / 1e6:.2f} M parameters" if count else "no weights"))
    trained = [r for r in records if not _untrained(r)]
    records = with_common_target(records, common_target(trained, psnr_db(noisy, truth)))
    for r in records:
        if _untrained(r):                         # a time, not a denoiser: no PSNR to compare
            r.best_psnr_db = r.time_to_target_s = r.time_to_best_s = None
    for r in records:
        psnr = "" if r.best_psnr_db is None else f", {r.best_psnr_db:.2f} dB"
        echo(f"  {r.library} {r.method}: {r.ms_per_iter / 1e3:.3f} s per call{psnr}")
    return records


def _untrained(record: BenchRecord) -> bool:
    return "random weights" in record.method
