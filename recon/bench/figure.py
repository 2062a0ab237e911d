"""The benchmark figure: PSNR against solver time, one curve per method, the target as a line."""

from __future__ import annotations

from pathlib import Path

from recon.bench.records import BenchRecord


def psnr_against_time(records: list[BenchRecord], path) -> Path:
    """Plot every traced record of one problem (log time axis) into ``path`` (PNG).

    >>> import tempfile, pathlib, torch
    >>> from recon.bench.trace import Trace
    >>> trace = Trace(torch.zeros(1)); trace.start(); trace.mark(torch.full((1,), 0.1))
    >>> record = BenchRecord.from_trace("p", "m", "lib", trace, 30.0)
    >>> psnr_against_time([record], pathlib.Path(tempfile.mkdtemp()) / "f.png").suffix
    '.png'
    """
    from recon.figures import pyplot

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for record in records:
        if record.trace is None or not record.trace.iterations:
            continue
        style = "-" if record.library == "recon" else "--"
        axes.plot(record.trace.seconds, record.trace.psnr_db, style, label=f"{record.library}: {record.method}")
    targets = {r.target_psnr_db for r in records}
    for target in targets:
        axes.axhline(target, color="grey", lw=0.8, ls=":")
    axes.set_xscale("log")
    axes.set_xlabel("solver time [s] (one torch thread)")
    axes.set_ylabel("PSNR [dB]")
    axes.set_title(", ".join(dict.fromkeys(r.problem for r in records)))
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, format="png")
    plt.close(figure)
    return path
