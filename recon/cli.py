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
        "demo", help="simulate a few-view CT scan of a phantom, reconstruct it, write HDF5 and a PNG",
        description="Simulate a parallel-beam CT scan of the Shepp-Logan phantom with Gaussian noise, "
                    "reconstruct it by filtered back-projection, and write the reconstruction (HDF5), "
                    "a comparison figure (PNG) and a table of PSNR, SSIM and time.",
    )
    demo.add_argument("--output-dir", default="recon-demo", help="folder for the outputs (default: %(default)s)")
    demo.add_argument("--size", type=_positive_int, default=256, help="image side in pixels (default: %(default)s)")
    demo.add_argument("--views", type=_positive_int, default=120,
                      help="number of projection angles over 180 degrees (default: %(default)s)")
    demo.add_argument("--noise", type=_fraction, default=0.01,
                      help="relative Gaussian noise level ||n||/||Ax|| (default: %(default)s)")
    demo.add_argument("--overwrite", action="store_true", help="replace existing outputs")

    bench = commands.add_parser(
        "bench", help="time recon against deepinv (and ODL when installed) on the same problems, one torch thread",
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
    bench.add_argument("--max-iter", type=_positive_int, help="iterations per method (default: 300)")
    bench.add_argument("--budget", type=_positive_float, metavar="SECONDS",
                       help="time budget per method in seconds (default: 60)")
    bench.add_argument("--overwrite", action="store_true", help="replace existing JSON or figure files")
    return parser


def _bench_problems() -> dict:
    from recon.bench.runner import PROBLEMS

    return PROBLEMS


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _run_demo(args) -> int:
    from recon.experiments.ct_demo import run_ct_demo

    run_ct_demo(args.output_dir, size=args.size, n_views=args.views, noise=args.noise,
                overwrite=args.overwrite, echo=print)
    return 0


def _run_bench(args) -> int:
    from recon.bench.runner import run_benchmarks

    options = {key: value for key, value in (("size", args.size), ("n_views", args.views),
                                              ("max_iter", args.max_iter), ("budget_s", args.budget))
               if value is not None}
    run_benchmarks(args.problems or list(_bench_problems()), json_path=args.json, figure_path=args.figure,
                   overwrite=args.overwrite, options=options, echo=print)
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
        return {"demo": _run_demo, "bench": _run_bench}[args.command](args)
    except (CommandError, FileExistsError, ValueError) as error:
        print(f"recon {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
