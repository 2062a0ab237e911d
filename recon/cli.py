"""The ``recon`` command. It only parses arguments; the work lives in the library.

Heavy modules (torch, deepinv, astra) are imported inside the subcommands, so
``recon --help`` and ``recon --version`` answer at once.
"""

from __future__ import annotations

import argparse
import sys

from recon._version import __version__


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recon",
        description="Reconstruction for imaging inverse problems: CT, MRI, deblurring, near-field radar.",
    )
    parser.add_argument("--version", action="version", version=f"recon {__version__}")
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help="torch CPU threads (default: torch's choice; 1 is best on a busy small machine)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="simulate a few-view CT scan of a phantom, reconstruct it by FBP, TV and weighted TV",
        description="Simulate a few-view parallel-beam CT scan of the Shepp-Logan phantom with Gaussian noise, "
                    "write it as an input file in recon's layout (scan.h5), reconstruct that file with the "
                    "shipped experiments ct-fbp, ct-tv and ct-wtv, and write their outputs (HDF5 and PNG), "
                    "a comparison figure and a table of PSNR, SSIM and time.",
    )
    demo.add_argument("--output-dir", default="recon-demo", help="folder for the outputs (default: %(default)s)")
    demo.add_argument("--size", type=_positive_int, default=256, help="image side in pixels (default: %(default)s)")
    demo.add_argument("--views", type=_positive_int, default=60,
                      help="number of projection angles over 180 degrees (default: %(default)s)")
    demo.add_argument("--noise", type=_fraction, default=0.01,
                      help="relative Gaussian noise level ||n||/||Ax|| (default: %(default)s)")
    demo.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")

    run = commands.add_parser(
        "run", help="reconstruct an input file as an experiment config says; write HDF5 and a PNG",
        description="Run EXPERIMENT (a shipped config name, see `recon configs`, a YAML file, or a recon "
                    "output file to rerun) on an input file; write the reconstruction, its metrics, the "
                    "resolved config and provenance to HDF5, and a PNG figure beside it.")
    run.add_argument("experiment", metavar="EXPERIMENT", help="shipped config name, YAML path, or output .h5 to rerun")
    run.add_argument("input_file", metavar="INPUT", nargs="?", help="input file, as --input PATH")
    run.add_argument("--input", metavar="PATH", help="input file (default: the config's input.path)")
    run.add_argument("--output", metavar="PATH", help="output HDF5 (default: INPUT-STEM_EXPERIMENT.h5 here)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value by its dotted key, e.g. --set solver.max_iter=300 (repeatable)")
    run.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where to compute (default: cpu)")
    run.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors; no progress bar")
    run.add_argument("--max-memory", metavar="SIZE", help="refuse a run planned to need more, e.g. 8G "
                                                          "(default: half the memory available)")

    batch = commands.add_parser(
        "batch", help="run one experiment over many files or slices on Dask workers; a summary table at the end",
        description="Run EXPERIMENT on every INPUT (a file, a glob or a folder) as Dask tasks: a local cluster of "
                    "one-thread worker processes by default, or an existing cluster with --scheduler (start one on "
                    "SLURM/PBS with dask-jobqueue or on Kubernetes with dask-kubernetes). A multi-slice input (Data "
                    "Exchange, NXtomo, fastMRI, recon's own layout) runs one task per slice and is assembled into "
                    "one volume output. Each task writes as `recon run` does (OUTPUT-DIR/STEM_EXPERIMENT.h5 and .png, "
                    "atomically); a rerun skips complete outputs; a lost worker's tasks are retried; a bad input is "
                    "one line in the summary (batch-summary.md and .csv) and the others go on. Exit status 0 when "
                    "all succeeded, 2 when an input was bad.")
    batch.add_argument("experiment", metavar="EXPERIMENT", help="shipped config name or YAML path")
    batch.add_argument("inputs", nargs="+", metavar="INPUT", help="input files, globs (quoted) or folders")
    batch.add_argument("--output-dir", required=True, metavar="DIR", help="folder for the outputs and the summary")
    _add_cluster_options(batch)
    batch.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value by its dotted key (repeatable)")
    batch.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where tasks compute (default: cpu)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar and no table on stdout")

    info = commands.add_parser("info", help="say what a file is: format, arrays, geometry, fitting experiments",
                               description="Describe an input (or recon output) file: the detected format, its "
                                           "arrays with shapes and dtypes, the geometry, and the shipped "
                                           "experiments that fit it.")
    info.add_argument("path", metavar="PATH")

    example = commands.add_parser(
        "example", help="write a seeded example input (deblur, deblur-poisson, multiband, radar) to try recon run on",
        description="Write a simulated input file with its ground truth: " + "; ".join(
            f"{name}: {text}" for name, text in _examples().items()))
    example.add_argument("kind", choices=list(_examples()), metavar="KIND", help=", ".join(_examples()))
    example.add_argument("--output", metavar="PATH", help="file to write (default: KIND.h5 here)")
    example.add_argument("--seed", type=int, default=0, help="the scene's and the noise's seed (default: 0)")
    example.add_argument("--overwrite", action="store_true", help="replace an existing file")

    commands.add_parser("configs", help="list the shipped experiments, one line each",
                        description="List the shipped experiment configs (use the name with `recon run`).")

    bench = commands.add_parser(
        "bench", help="time recon against deepinv (and ODL, SigPy, BART when installed) on the same problems, one torch thread",
        description="Solve each benchmark problem with recon and its peers in this one process, on one torch "
                    "thread, and print a table of time per iteration, time to the target PSNR, best PSNR and "
                    "the ratios to recon. Problems: " + "; ".join(
                        f"{name}: {text}" for name, (text, _) in _bench_problems().items()),
    )
    bench.add_argument("problems", nargs="*", metavar="PROBLEM", help="problems to run (default: all)")
    bench.add_argument("--json", metavar="FILE", help="also write the records as JSON")
    bench.add_argument("--figure", metavar="FILE", help="also write PSNR against time as a PNG")
    bench.add_argument("--size", type=_positive_int, help="image side (default: the problem's)")
    bench.add_argument("--views", type=_positive_int, help="number of views (CT problems)")
    bench.add_argument("--max-iter", type=_positive_int, help="iterations per method, steps per sample for diffusion (default: the problem's)")
    bench.add_argument("--budget", type=_positive_float, metavar="SECONDS",
                       help="time budget per method in seconds (default: 60)")
    bench.add_argument("--repeats", type=_positive_int,
                       help="run every method this many times and report its fastest run (default: 1); "
                            "on a shared machine 3 tames the load of other jobs")
    bench.add_argument("--samples", type=_positive_int,
                       help="posterior samples per sampler (diffusion; default: 3)")
    bench.add_argument("--overwrite", action="store_true", help="replace existing JSON or figure files")

    train = commands.add_parser(
        "train", help="train a network (denoiser, diffusion, unrolled, weights, lpn) or learn a variational "
                      "model's hyperparameters (bilevel) from a training config",
        description="Train KIND (denoiser; diffusion: a score network over every noise level; unrolled: a solver "
                    "trained end to end through its operator; weights: the network that gives weighted TV its "
                    "weights; lpn: a learned proximal network) as CONFIG says "
                    "(a shipped training config name, e.g. denoiser-general or diffusion-phantom, "
                    "or a YAML file): seeded, with a progress bar of the loss and validation PSNR, a checkpoint "
                    "in OUTPUT-DIR that a rerun resumes from, and at the end NAME.safetensors, its manifest "
                    "entry NAME.json and the training curve NAME-training.png. Runs on CUDA when there is one. "
                    "hyperparameters: bilevel learning (MAID or HOAG) of a variational model's θ from clean and "
                    "noisy pairs, e.g. bilevel-tv; writes NAME.yaml (a recon run config using the learned θ), "
                    "NAME.json (θ, PSNRs, loss history) and NAME.png (loss against lower-level iterations).")
    train.add_argument("kind", choices=("denoiser", "diffusion", "unrolled", "weights", "lpn", "hyperparameters"),
                       metavar="KIND",
                       help="denoiser, diffusion, unrolled (a solver trained end to end; torchrun for several "
                            "processes: torchrun --nproc_per_node 2 -m recon train unrolled CONFIG), weights "
                            "(e.g. tv-weights-ct), lpn (e.g. lpn-phantom) or hyperparameters (e.g. bilevel-tv)")
    train.add_argument("config", metavar="CONFIG", help="training config name or YAML path")
    train.add_argument("--output-dir", metavar="DIR", help="where checkpoints and weights go (default: runs/NAME)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set training.steps=2000 (repeatable)")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="where to train (default: cuda if available, else cpu)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    weights = commands.add_parser(
        "weights", help="list the shipped trained models: what they were trained on, sigma range, sha256",
        description="List the networks shipped in recon/weights with their architecture, training data, "
                    "noise range, validation PSNR and sha256 (checked on loading). Use a name with "
                    "--set prior.denoiser=NAME, or your own file with --set prior.weights=PATH.")
    weights.add_argument("--verify", action="store_true", help="also recompute each file's sha256")

    reproduce = commands.add_parser(
        "reproduce", help="reproduce a paper's table (radar, weighted TV, galaxy shear, ...): Markdown, CSV, figure",
        description="Compute TABLE, one of the papers' tables recon reproduces (`recon reproduce --list` names "
                    "them), its cells as Dask tasks: a local cluster of one-thread worker processes by default, "
                    "or an existing cluster with --scheduler. Writes TABLE.md, TABLE.csv and TABLE.png "
                    "(TABLE-quick.* with --quick) into OUTPUT-DIR: our numbers, the paper's beside them where "
                    "it publishes them, whether each claim holds, and the wall time.")
    reproduce.add_argument("table", nargs="?", metavar="TABLE", help="the table's name (see --list)")
    reproduce.add_argument("--list", action="store_true", help="name the tables, one line each, and exit")
    reproduce.add_argument("--quick", action="store_true",
                           help="the scaled-down version (under a minute on one core)")
    _add_cluster_options(reproduce)
    reproduce.add_argument("--output-dir", default="reproduce-output", metavar="DIR",
                           help="folder for the tables and the figure (default: %(default)s)")
    reproduce.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bar; print only the files written")
    return parser


def _bench_problems() -> dict:
    from recon.bench.runner import PROBLEMS

    return PROBLEMS


def _examples() -> dict:
    from recon.experiments.examples import EXAMPLES

    return EXAMPLES


def _run_example(args) -> int:
    from recon.experiments.examples import write_example

    path = write_example(args.kind, args.output or f"{args.kind}.h5", seed=args.seed, overwrite=args.overwrite)
    print(f"wrote {path}; try: recon info {path}")
    return 0


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _run_demo(args) -> int:
    from recon.experiments.ct_demo import run_ct_demo

    run_ct_demo(args.output_dir, size=args.size, n_views=args.views, noise=args.noise,
                overwrite=args.overwrite, quiet=args.quiet, echo=print)
    return 0


def _load_run_config(args) -> dict:
    from pathlib import Path

    from recon.datasets.output_format import is_output_file, stored_config
    from recon.experiments.config import load_experiment, load_experiment_text

    if args.experiment.endswith((".h5", ".hdf5")) and is_output_file(Path(args.experiment)):
        return load_experiment_text(stored_config(args.experiment), args.experiment, args.overrides)
    return load_experiment(args.experiment, args.overrides)


def _run_run(args) -> int:
    from recon.experiments.run import run_experiment

    if args.input_file and args.input and args.input_file != args.input:
        raise CommandError(f"two input files: {args.input_file} and --input {args.input}; give one")
    config = _load_run_config(args)
    run_experiment(config, input_path=args.input_file or args.input, output_path=args.output, device=args.device,
                   overwrite=args.overwrite, quiet=args.quiet, echo=print, max_memory=_max_memory(args))
    return 0


def _add_cluster_options(command) -> None:
    """``--workers N`` or ``--scheduler ADDRESS``: where ``recon batch`` and ``recon reproduce`` run their tasks."""
    where = command.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="local worker processes, one torch thread each (default: one per CPU)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786")


def _run_batch(args) -> int:
    from recon.experiments.config import load_experiment
    from recon.experiments.run import check_device
    from recon.scaleout.batch import run_batch

    config = load_experiment(args.experiment, args.overrides)
    check_device(args.device)
    report = run_batch(config, args.inputs, args.output_dir, workers=args.workers, scheduler=args.scheduler,
                       device=args.device, quiet=args.quiet, echo=print)
    for row in report.rows:
        if row.status in ("failed", "error"):
            print(f"recon batch: {row.status}: {row.message}", file=sys.stderr)
    return report.exit_status


def _max_memory(args) -> int | None:
    from recon.experiments.memory_guard import parse_bytes

    return None if args.max_memory is None else parse_bytes(args.max_memory)


def _run_info(args) -> int:
    from recon.experiments.inspect_file import describe_file

    print("\n".join(describe_file(args.path)))
    return 0


def _run_configs(args) -> int:
    from recon.experiments.config import describe_configs

    entries = describe_configs()
    width = max((len(name) for name, _ in entries), default=0)
    for name, description in entries:
        print(f"{name:<{width}}  {description}")
    return 0


def _run_bench(args) -> int:
    from recon.bench.runner import run_benchmarks

    options = {key: value for key, value in (("size", args.size), ("n_views", args.views),
                                              ("max_iter", args.max_iter), ("budget_s", args.budget),
                                              ("repeats", args.repeats), ("samples", args.samples))
               if value is not None}
    run_benchmarks(args.problems or list(_bench_problems()), json_path=args.json, figure_path=args.figure,
                   overwrite=args.overwrite, options=options, echo=print)
    return 0


def _run_train(args) -> int:
    import shlex

    if args.kind in ("unrolled", "weights", "lpn"):
        return _run_train_unrolled(args)
    if args.kind == "hyperparameters":
        return _run_train_hyperparameters(args)
    from recon.training.denoiser_config import load_training_config
    from recon.training.denoiser_training import check_training_kind, train_denoiser

    config = load_training_config(args.config, args.overrides)
    check_training_kind(args.kind, config, args.config)
    output_dir = args.output_dir or f"runs/{config['name']}"
    command = "recon " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    entry = train_denoiser(config, output_dir, device=None if args.device == "auto" else args.device,
                           progress=not args.quiet, command=command)
    print(f"wrote {output_dir}/{entry['file']} (sha256 {entry['sha256'][:12]}..., validation PSNR "
          f"{entry['validation']['psnr_db']:.2f} dB at sigma {entry['validation']['sigma_255']:g}/255)")
    return 0


def _run_train_unrolled(args) -> int:
    import shlex

    from recon.training.unrolled_training import train_unrolled

    if args.kind == "unrolled":
        from recon.training.unrolled_config import load_unrolled_config

        config, tasks = load_unrolled_config(args.config, args.overrides), None
    else:
        from recon.training.prior_config import load_prior_config
        from recon.training.prior_tasks import TASKS as tasks

        config = load_prior_config(args.config, args.overrides, kind=args.kind)
    output_dir = args.output_dir or f"runs/{config['name']}"
    command = "recon " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    entry = train_unrolled(config, output_dir, device=None if args.device == "auto" else args.device,
                           progress=not args.quiet, command=command, tasks=tasks)
    if entry is not None:            # rank 0 of a torchrun job, or the only process
        print(f"wrote {output_dir}/{entry['file']} (sha256 {entry['sha256'][:12]}..., validation loss "
              f"{entry['validation']['loss']:.4f})")
    return 0


def _run_train_hyperparameters(args) -> int:
    import shlex

    from tqdm import tqdm

    from recon.training.hyperparameter_config import load_hyperparameter_config
    from recon.training.hyperparameter_training import train_hyperparameters

    config = load_hyperparameter_config(args.config, args.overrides)
    output_dir = args.output_dir or f"runs/{config['name']}"
    command = "recon " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    method = config["method"]
    bar = tqdm(total=method["budget"] or method["max_iterations"], desc=method["kind"], disable=args.quiet,
               unit=" lower-level its" if method["budget"] else " outer its")

    def progress(row):
        bar.update((row["total_iterations"] if method["budget"] else row["iteration"]) - bar.n)
        bar.set_postfix_str(f"loss {row['loss']:.5g}, theta ({row['theta'][0]:.3f}, {row['theta'][1]:.3f})")

    try:
        record = train_hyperparameters(config, output_dir, progress=progress, command=command,
                                       device=None if args.device == "auto" else args.device)
    finally:
        bar.close()
    learned = ", ".join(f"{key} {value:.4g}" for key, value in record["learned"].items())
    print(f"wrote {', '.join(record['files'])} (theta ({record['theta'][0]:.4f}, {record['theta'][1]:.4f}): "
          f"{learned}; test PSNR {record['test_psnr_db']:.2f} dB)")
    return 0


def _run_weights(args) -> int:
    from recon.weights.registry import describe_shipped

    print("\n".join(describe_shipped(verify=args.verify)))
    return 0


def _run_reproduce(args) -> int:
    from recon.reproduce.tables import describe_tables, load_table

    if args.list:
        print("\n".join(describe_tables()))
        return 0
    if args.table is None:
        raise CommandError("name a table (recon reproduce --list names them)")
    load_table(args.table)          # an unknown name fails here, before a cluster starts
    from recon.reproduce.runner import duration_text, reproduce

    done = reproduce(args.table, quick=args.quick, output_dir=args.output_dir, workers=args.workers,
                     scheduler=args.scheduler, overwrite=args.overwrite, quiet=args.quiet)
    if not args.quiet:
        print(done.report.markdown_table())
        for claim in done.report.claims:
            print(f"- {claim.claim}: {claim.measured} ({claim.verdict.strip('*')})")
    print(f"wrote {', '.join(str(path) for path in done.paths)} ({done.cells} cells, "
          f"{duration_text(done.wall_seconds)} on {done.workers} worker{'s' if done.workers != 1 else ''})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    try:
        commands = {"demo": _run_demo, "run": _run_run, "info": _run_info, "configs": _run_configs,
                    "bench": _run_bench, "example": _run_example, "train": _run_train,
                    "weights": _run_weights, "batch": _run_batch, "reproduce": _run_reproduce}
        return commands[args.command](args)
    except (CommandError, FileExistsError, ValueError) as error:
        print(f"recon {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"recon {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        if type(error).__name__ != "DivergenceError":       # recon.solvers.common, not imported here (torch)
            raise
        print(f"recon {args.command}: error: {_one_line(error)}", file=sys.stderr)   # names the iteration, the cause
        return 2
    except KeyboardInterrupt:
        print(f"recon {args.command}: interrupted; no output was written", file=sys.stderr)
        return 130


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
