"""Where scale-out tasks run: a local cluster of one-thread worker processes, or an existing Dask scheduler.

``recon batch`` and ``recon reproduce`` hand every file, slice or table cell to
Dask distributed as one task. By default the tasks go to a ``LocalCluster`` of
``N`` worker processes with one thread each (and one torch thread each: on a
small shared machine two torch threads per process are often slower than one).
``--scheduler tcp://host:8786`` sends the same tasks to a cluster somebody
started elsewhere, e.g. with dask-jobqueue on SLURM or PBS, or dask-kubernetes;
the code path is the same, only the client differs.

A lost worker's tasks are rescheduled by Dask itself (up to
``distributed.scheduler.allowed-failures`` times); a task that keeps killing
its workers comes back as :class:`distributed.KilledWorker`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass

#: How long to try to reach a ``--scheduler`` before saying it is not there.
CONNECT_TIMEOUT = "10s"


@dataclass
class TaskOutcome:
    """What one task gave back: its value, or the one-line reason it failed, and where and how long it ran.

    :param key: the task's name (an input, a slice, a table cell).
    :param value: the task function's return value, ``None`` if it failed.
    :param error: one line saying why it failed, ``""`` if it succeeded.
    :param worker: the address of the worker that ran it.
    :param seconds: the task's wall time on the worker.
    :param error_type: the failure's exception type name (``BadInput``, ``KilledWorker``, ...).
    """

    key: str
    value: object = None
    error: str = ""
    error_type: str = ""
    worker: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:          # not Linux
        return max(os.cpu_count() or 1, 1)


#: The environment of local worker processes: one thread for every numeric library, and nothing else (see
#: :func:`dask_client` on ``MALLOC_TRIM_THRESHOLD_``).
WORKER_ENVIRONMENT = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@contextlib.contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None, processes: bool = True):
    """Yield a ``distributed.Client``: connected to ``scheduler`` if given, else to a new ``LocalCluster``.

    :param workers: local worker processes (default: one per CPU); ignored with ``scheduler``.
    :param scheduler: the address of a running scheduler, e.g. ``tcp://host:8786``.
    :param processes: ``False`` runs the local workers as threads of this process (tests, debugging).
    :raises ValueError: if the scheduler cannot be reached, naming the address.

    >>> with dask_client(workers=1, processes=False) as client:
    ...     client.submit(sum, [1, 2, 3]).result()
    6
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            raise ValueError(f"--scheduler {scheduler}: expected a running Dask scheduler, got "
                             f"{' '.join(str(error).split()) or type(error).__name__}") from None
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    options = {"env": dict(WORKER_ENVIRONMENT)} if processes else {}
    # distributed's default pre-spawn environment also sets MALLOC_TRIM_THRESHOLD_, and setting it makes glibc
    # serve every allocation above 128 KiB by a fresh mmap: a 256² ct-tv task took 4.4 s in a worker, 2.8 s in
    # a plain process. The workers get the thread limits alone.
    with dask.config.set({"distributed.nanny.pre-spawn-environ": dict(WORKER_ENVIRONMENT)}):
        # No dashboard; the scheduler's HTTP server (health, metrics) still starts, on a free port, so that two
        # batches on one machine do not warn that port 8787 is taken.
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=processes,
                               dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                               silence_logs=logging.ERROR, **options)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def warm_workers(client, function, *args) -> None:
    """Run ``function(*args)`` on every worker now, in parallel (imports, caches), so that no task pays for it."""
    client.run(function, *args)


def pinned_call(function, *args, torch_threads: int = 1, **kwargs) -> tuple:
    """Run ``function(*args, **kwargs)`` on a worker with ``torch_threads`` torch threads.

    :returns: ``(value, worker address, seconds)``.
    """
    import torch

    if torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, _worker_address(), time.perf_counter() - started


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:          # not on a worker (a synchronous call)
        return "local"


def run_tasks(client, calls: dict, *, label: str = "tasks", quiet: bool = False, torch_threads: int = 1):
    """Submit ``calls`` (``{key: (function, args, kwargs)}``) and yield a :class:`TaskOutcome` as each finishes.

    A task that raises comes back as a failed outcome with the exception's one-line text, so one bad
    input never stops the others; a tqdm bar on stderr counts the finished tasks.

    >>> with dask_client(workers=1, processes=False) as client:
    ...     outcomes = list(run_tasks(client, {"a": (pow, (2, 3), {}), "b": (pow, (2, "x"), {})}, quiet=True))
    >>> sorted((o.key, o.value, o.ok) for o in outcomes)
    [('a', 8, True), ('b', None, False)]
    """
    from distributed import as_completed
    from tqdm import tqdm

    futures = {}
    for key, (function, args, kwargs) in calls.items():
        future = client.submit(pinned_call, function, *args, torch_threads=torch_threads, pure=False,
                               key=f"recon-{label}-{key}-{time.monotonic_ns()}", **kwargs)
        futures[future] = key
    with tqdm(total=len(futures), desc=label, unit=" task", disable=quiet, leave=False) as bar:
        for future in as_completed(futures):
            key = futures[future]
            bar.update()
            try:
                value, worker, seconds = future.result()
            except Exception as error:  # noqa: BLE001 - a task's failure is its outcome, the others go on
                yield TaskOutcome(key, error=one_line(error), error_type=type(error).__name__)
            else:
                yield TaskOutcome(key, value=value, worker=worker, seconds=seconds)
            future.release()


def one_line(error: BaseException) -> str:
    """An exception as one line: its text with whitespace collapsed, or its type's name."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if type(error).__name__ == "KilledWorker" else (
        text or type(error).__name__)
