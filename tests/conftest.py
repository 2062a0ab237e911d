"""Shared test fixtures: where the real measured test data lives."""

import os
from pathlib import Path

# numpy's BLAS (the dense reference solutions) is as sensitive to a busy second core as torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest
import torch

# One torch thread: on a small shared machine two threads are often slower than one
# when another process holds a core, and the suite's timings should not depend on it.
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parents[1]


def _testdata_root() -> Path:
    """``$RECON_TESTDATA`` if set, else ``../shared/testdata`` beside the repository."""
    return Path(os.environ.get("RECON_TESTDATA", REPO_ROOT.parent / "shared" / "testdata"))


@pytest.fixture(scope="session")
def testdata_dir() -> Path:
    """The real-data folder; the test is skipped with a reason when it is absent (a user's clone has none)."""
    root = _testdata_root()
    if not root.is_dir():
        pytest.skip(f"real test data not found at {root} (set RECON_TESTDATA to its folder)")
    return root


def require_file(root: Path, relative: str) -> Path:
    """``root / relative``, or skip the test naming the missing file."""
    path = root / relative
    if not path.is_file():
        pytest.skip(f"real test data file missing: {path}")
    return path


def load_script(name: str):
    """``scripts/NAME.py`` as a module (the scripts are not a package): tests measure with the same code."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def docs_report(name: str) -> dict:
    """``docs/NAME.json``: a tuning script's report (what it chose on validation, what it measured)."""
    import json

    return json.loads((REPO_ROOT / "docs" / f"{name}.json").read_text())


def as_overrides(chosen: dict) -> list[str]:
    """A report's chosen ``{key: value}`` as ``--set`` overrides."""
    import json

    return [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in chosen.items()]


def config_psnr(config_name: str, overrides: list[str], measurement):
    """``(mean PSNR, image)`` of a shipped config with ``overrides`` on ``measurement``, as ``recon run`` scores
    it, on one torch thread."""
    import torch

    from recon.experiments.config import load_experiment
    from recon.experiments.solve_measurement import reconstruct_measurement, score

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result, _ = reconstruct_measurement(load_experiment(config_name, overrides), measurement)
    finally:
        torch.set_num_threads(threads)
    image = result.image
    if measurement.modality == "deblur":
        from recon.experiments.deblur_stacks import as_stacks

        image, measurement, _ = as_stacks(image, measurement)
    return score(image, measurement)[0]["psnr_db"], result.image


def unnamed_file_open(pid: int) -> bool:
    """Whether process ``pid`` holds a file without a name (``O_TMPFILE``: ``/proc/PID/fd`` shows it deleted)."""
    import os

    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return any(link.endswith("(deleted)") and "/#" in link for link in links)


def pytest_collection_modifyitems(items):
    """Files holding a ``slow`` test run first, each file's tests in their own order.

    pytest-xdist hands out whole files (``--dist loadfile``, pyproject.toml) in collection order, so
    the few long acceptance files start at once on every worker and the many short ones fill in
    around them, instead of one long file starting last beside an idle worker.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)       # stable: the rest keep their order
