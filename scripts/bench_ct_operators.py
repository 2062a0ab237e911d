"""Time recon's CT projectors against deepinv's Tomography and scipy's CSR product (one torch thread).

    python scripts/bench_ct_operators.py              # both cases (the fan case builds a ~3.6 GB matrix)
    python scripts/bench_ct_operators.py --small      # 256² × 60 parallel views only
"""

import argparse
import json

from recon.bench.ct_operators import run

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--small", action="store_true", help="only the 256² parallel-beam case")
parser.add_argument("--repeats", type=int, default=20)
parser.add_argument("--json", help="also write the timings to this file")
args = parser.parse_args()
timings = run(("small",) if args.small else ("small", "large"), repeats=args.repeats)
if args.json:
    with open(args.json, "w") as f:
        json.dump([dict(vars(t), total_ms=t.total_ms) for t in timings], f, indent=1)
