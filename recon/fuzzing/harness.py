"""Run ``recon`` commands on damaged files in a guarded worker process, and sort what happens.

A case is one command line (``recon info FILE``, ``recon run EXPERIMENT --input FILE ...``). A
long-lived worker process runs the cases one after another through :func:`recon.cli.main`, exactly
as the command runs them, so that 5,000 cases do not pay 5,000 interpreter starts. The parent gives
each case ``timeout`` seconds; a case that takes longer is a hang, and the worker is killed and
replaced. Outcomes:

* ``ok``: exit status 0;
* ``refused``: exit status 2 and exactly one line on stderr (what recon promises for bad input);
* ``noisy-refusal``: exit status 2 with more than one line on stderr (a traceback, or warnings);
* ``unhandled``: an exception escaped ``main`` (a traceback), or another exit status;
* ``hang``: no answer within ``timeout`` seconds.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass

OUTCOMES = ("ok", "refused", "noisy-refusal", "unhandled", "hang")


@dataclass
class CaseResult:
    """One case's outcome, its exit status, its stderr (for a report), and its time."""

    outcome: str
    status: int | None
    stderr: str
    seconds: float


class CaseRunner:
    """A worker process that runs ``recon`` command lines on request; replaced after a hang.

    >>> with CaseRunner(timeout=60) as runner:
    ...     runner.run(["info", "no/such/file.h5"]).outcome
    'refused'
    """

    def __init__(self, timeout: float = 10.0):
        self.timeout = timeout
        self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self):
        environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        self.process = subprocess.Popen([sys.executable, "-m", "recon.fuzzing.harness"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=environment, text=True, bufsize=1)
        self._read_line(120.0)           # "ready": the imports are done before the first case's clock starts

    def _read_line(self, timeout: float) -> str | None:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        return self.process.stdout.readline() if ready else None

    def run(self, args: list[str]) -> CaseResult:
        """Run ``recon ARGS`` in the worker and classify the outcome."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        started = time.perf_counter()
        self.process.stdin.write(json.dumps(args) + "\n")
        self.process.stdin.flush()
        line = self._read_line(self.timeout)
        seconds = time.perf_counter() - started
        if not line:
            died = self.process.poll() is not None
            self.close()
            return CaseResult("unhandled" if died else "hang", None, "worker died" if died else "", seconds)
        reply = json.loads(line)
        return CaseResult(classify(reply["status"], reply["stderr"], reply["raised"]), reply["status"],
                          reply["stderr"], seconds)

    def close(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def classify(status: int | None, stderr: str, raised: bool) -> str:
    """The outcome of a finished case (see the module text).

    >>> classify(2, "recon run: error: scan.h5: expected ...\\n", False), classify(0, "", False)
    ('refused', 'ok')
    >>> classify(None, "Traceback ...", True), classify(2, "a\\nb\\n", False)
    ('unhandled', 'noisy-refusal')
    """
    if raised:
        return "unhandled"
    if status == 0:
        return "ok"
    if status == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        return "refused" if len(lines) == 1 else "noisy-refusal"
    return "unhandled"


def _serve() -> None:
    """The worker's loop: one JSON command line in, one JSON reply out."""
    import contextlib
    import io
    import traceback

    import torch

    from recon.cli import main

    torch.set_num_threads(1)
    print("ready", flush=True)
    for line in sys.stdin:
        args = json.loads(line)
        stderr, raised, status = io.StringIO(), False, None
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            try:
                status = main(args)
            except SystemExit as error:       # argparse
                status = error.code if isinstance(error.code, int) else 1
            except BaseException:  # noqa: BLE001 - the point: anything that escapes main is a finding
                raised = True
                traceback.print_exc()
        print(json.dumps({"status": status, "stderr": stderr.getvalue()[-4000:], "raised": raised}), flush=True)


if __name__ == "__main__":
    _serve()
