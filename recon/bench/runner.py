"""``recon bench``: run the named problems, recon and its peers in one process on one torch thread.

Prints the table; writes the records as JSON (``--json``) and the PSNR-against-time
figure (``--figure``) atomically, so an interrupted run leaves no half-written file.
"""

from __future__ import annotations

import time
from pathlib import Path


def _setup(cls, options: dict):
    """The problem's set-up from the options it has fields for (``n_views`` is CT's alone, for example)."""
    from dataclasses import fields

    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in options.items() if k in known})


def _problem_runner(methods: str, problem: str, setup: str):
    """``runner(options, echo)``: module ``methods``'s ``run`` on the set-up class ``setup`` of module ``problem``,
    both imported when the problem runs (``recon --help`` loads no benchmark)."""

    def runner(options: dict, echo):
        import importlib

        setup_class = getattr(importlib.import_module(problem), setup)
        return importlib.import_module(methods).run(_setup(setup_class, options), echo=echo)

    return runner


# name -> (one-line description, runner(options, echo) -> list[BenchRecord])
PROBLEMS = {
    "ct-tv": ("few-view CT, 256² Shepp-Logan, 60 views, 1% noise, 0.5||Ax-y||² + 0.1 TV, target 33 dB",
              _problem_runner("recon.bench.ct_tv", "recon.bench.ct_tv_problem", "CTTVSetup")),
    "mri-tv": ("8-coil MRI, 256² camera, 4x random columns, 8% centre, noise 0.01, TV, target 28 dB",
               _problem_runner("recon.bench.mri_tv", "recon.bench.mri_tv_problem", "MRITVSetup")),
    "deblur-tv": ("deblurring, 256² camera, circular Gaussian blur sigma 2 (25x25), noise 0.01, TV, target 28.1 dB",
                  _problem_runner("recon.bench.deblur_tv", "recon.bench.deblur_tv_problem", "DeblurTVSetup")),
    "pnp": ("plug-and-play, one trained denoiser for recon and deepinv: HQS (DPIR schedule) and PnP-ADMM on 256² "
            "camera deblurring and 30-view CT of a test phantom; seconds per 256² denoiser call",
            _problem_runner("recon.bench.pnp", "recon.bench.pnp_problems", "PnPSetup")),
    "diffusion": ("posterior samplers, one trained score network for recon and deepinv: DPS and DiffPIR (and recon's "
                  "RED-diff) on 128² 30-view CT of a test phantom and 128² camera deblurring, 100 steps; seconds "
                  "per sample", _problem_runner("recon.bench.diffusion", "recon.bench.diffusion_problems",
                                                "DiffusionSetup")),
}


def run_benchmarks(names, *, json_path=None, figure_path=None, overwrite: bool = False, options: dict | None = None,
                   echo=print):
    """Run each problem in ``names``; return the records.

    ``options`` go to every problem's set-up (``size``, ``n_views``, ``max_iter``, ``budget_s``, ...).
    """
    import torch

    from recon.bench.records import best_speedups, format_table, speedups, to_json
    from recon.datasets.atomic import atomic_output

    unknown = [n for n in names if n not in PROBLEMS]
    if unknown:
        raise ValueError(f"unknown benchmark problem {unknown[0]!r}; known: {', '.join(PROBLEMS)}")
    for path in (json_path, figure_path):
        if path is not None and Path(path).exists() and not overwrite:
            raise FileExistsError(f"{path} exists (pass --overwrite to replace it)")
        if path is not None and not Path(path).parent.is_dir():
            raise ValueError(f"{path}: the folder {Path(path).parent} does not exist")
    torch.set_num_threads(1)
    echo(f"recon bench: torch {torch.__version__}, {torch.get_num_threads()} thread (pinned), "
         f"all methods in this one process")
    started = time.perf_counter()
    records = []
    for name in names:
        records.extend(PROBLEMS[name][1](dict(options or {}), echo))
    echo(format_table(records))
    for problem, factor in speedups(records).items():
        if factor is None:
            echo(f"{problem}: no speed-up to report (recon or every peer missed the target)")
        else:
            echo(f"{problem}: recon reaches the target {factor:.1f}× faster than the fastest peer")
    for problem, found in best_speedups(records).items():
        if found is not None:
            echo(f"{problem}: recon reaches {found[1]}'s best PSNR {found[0]:.1f}× sooner than it does "
                 "(the hardest peer to beat)")
    echo(f"total {time.perf_counter() - started:.0f} s")
    if json_path is not None:
        with atomic_output(json_path, overwrite=overwrite) as tmp:
            tmp.write_text(to_json(records))
        echo(f"wrote {json_path}")
    if figure_path is not None:
        from recon.bench.figure import psnr_against_time

        with atomic_output(figure_path, overwrite=overwrite) as tmp:
            psnr_against_time(records, tmp)
        echo(f"wrote {figure_path}")
    return records
