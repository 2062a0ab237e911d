"""docs/configs.md and docs/formats.md are what scripts/write_reference_docs.py makes from the code today."""

import importlib.util

from conftest import REPO_ROOT


def _script():
    spec = importlib.util.spec_from_file_location("write_reference_docs", REPO_ROOT / "scripts" /
                                                  "write_reference_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_docs_are_current():
    script = _script()
    assert (REPO_ROOT / "docs" / "configs.md").read_text() == script.config_reference(), \
        "run: python scripts/write_reference_docs.py"
    formats = (REPO_ROOT / "docs" / "formats.md").read_text()
    assert formats == script.format_reference(), "run: python scripts/write_reference_docs.py"
    for name in ("data-exchange", "nxtomo", "htc2022", "lodopab", "tiff-sinogram", "recon output"):
        assert f"## {name}" in formats
