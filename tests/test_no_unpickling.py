"""No reader ever unpickles: nothing in the reading code can call a pickle loader, and a .npy holding a pickled
object whose unpickling would run code is refused in one line without running it."""

from __future__ import annotations

import ast
import pickle

import numpy as np
import pytest

from conftest import REPO_ROOT
from recon.datasets.errors import InputError
from recon.operators.psf import load_psf

#: What reads user files: every reader, the preflights, and the PSF loader.
READING_CODE = sorted((REPO_ROOT / "recon" / "datasets").glob("*.py")) + [REPO_ROOT / "recon" / "operators" / "psf.py"]
LOADERS = {("pickle", "load"), ("pickle", "loads"), ("torch", "load"), ("joblib", "load"), ("dill", "load"),
           ("pd", "read_pickle"), ("pandas", "read_pickle")}


def calls(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            yield node.func.value.id, node.func.attr, node


def test_no_reading_code_calls_a_pickle_loader_and_every_np_load_forbids_pickles():
    assert len(READING_CODE) > 30
    np_loads = 0
    for path in READING_CODE:
        for module, function, node in calls(path):
            assert (module, function) not in LOADERS, f"{path.name}:{node.lineno} calls {module}.{function}"
            if (module, function) == ("np", "load"):
                np_loads += 1
                keywords = {k.arg: k.value for k in node.keywords}
                assert isinstance(keywords.get("allow_pickle"), ast.Constant) and \
                    keywords["allow_pickle"].value is False, f"{path.name}:{node.lineno}: np.load may unpickle"
    assert np_loads >= 1          # the PSF loader's


class Payload:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_npy_holding_a_live_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "psf.npy"
    np.save(path, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    pickle.loads(pickle.dumps(Payload(tmp_path / "check")))         # the payload is live: it makes its marker
    assert (tmp_path / "check").exists()
    with pytest.raises(InputError) as refused:
        load_psf(path)
    assert "\n" not in str(refused.value) and str(path) in str(refused.value) and "a .npy array" in str(refused.value)
    assert not marker.exists()
