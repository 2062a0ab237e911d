"""docs/configs.md and docs/formats.md are what scripts/write_reference_docs.py makes from the code today."""

from conftest import REPO_ROOT, load_script


def test_reference_docs_are_current():
    script = load_script("write_reference_docs")
    assert (REPO_ROOT / "docs" / "configs.md").read_text() == script.config_reference(), \
        "run: python scripts/write_reference_docs.py"
    formats = (REPO_ROOT / "docs" / "formats.md").read_text()
    assert formats == script.format_reference(), "run: python scripts/write_reference_docs.py"
    for name in ("data-exchange", "nxtomo", "htc2022", "lodopab", "tiff-sinogram", "recon output"):
        assert f"## {name}" in formats
