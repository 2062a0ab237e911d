"""Fuzz every reader: damaged copies of recon's own files and of the real test files through the real commands.

Each damaged file goes through ``recon info FILE`` and ``recon run EXPERIMENT --input FILE``; every case must
end ``ok`` (read fine) or ``refused`` (exit status 2, one line on stderr) within the time limit. Prints the
counts by reader and damage kind, writes them as JSON, and lists the findings (with the case numbers that
replay them: same ``--seed``, same ``--files``).

    python scripts/fuzz_readers.py --files 2600 --seed 0 --json docs/fuzz_readers.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2600, help="damaged files (about 2 cases each; default 2600)")
    parser.add_argument("--seed", type=int, default=0, help="the campaign's seed (default 0)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a case may take (default 10)")
    parser.add_argument("--json", help="write the counts and findings here")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from recon.fuzzing.campaign import run_campaign
    from recon.fuzzing.seeds import write_seeds

    folder = Path(tempfile.mkdtemp(prefix="fuzz-readers-"))
    seeds = write_seeds(folder / "seeds")
    started = time.perf_counter()
    with tqdm(total=args.files, unit=" file") as bar:
        def progress(report):
            bar.update()
            bar.set_postfix(report.totals())

        report = run_campaign(seeds, args.files, base_seed=args.seed, folder=folder / "cases",
                              timeout=args.timeout, progress=progress)
    seconds = time.perf_counter() - started
    print(f"{report.cases} cases from {args.files} damaged files of {len(seeds)} seeds in {seconds:.0f} s; "
          f"slowest case {report.slowest_seconds:.2f} s")
    print(f"{'reader':<34} {'damage':<14} " + " ".join(f"{o:>13}" for o in report.totals()))
    for reader, kinds in report.table().items():
        for kind, outcomes in kinds.items():
            print(f"{reader:<34} {kind:<14} " + " ".join(f"{outcomes.get(o, 0):>13}" for o in report.totals()))
    print(f"{'all':<49} " + " ".join(f"{n:>13}" for n in report.totals().values()))
    for finding in report.findings[:50]:
        last = finding.stderr.strip().splitlines()[-1][:160] if finding.stderr.strip() else ""
        print(f"case {finding.number} ({finding.reader}, {finding.kind}) recon {finding.command[0]}: "
              f"{finding.outcome}: {last}")
    record = {"files": args.files, "seed": args.seed, "cases": report.cases, "seconds": seconds,
              "slowest_case_seconds": report.slowest_seconds, "seeds": [str(s.path.name) for s in seeds],
              "totals": report.totals(), "by_reader": report.table(),
              "findings": [vars(f) for f in report.findings]}
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    return record


if __name__ == "__main__":
    main()
