"""Debian's wallpaper photographs as training images (drunet-small-photo's extra photographs).

The loading tests run on the installed files and skip, naming the packages to install, where they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.datasets import image_sources


def test_debian_photographs_train_only_and_never_the_validation_or_test_photographs():
    natural = image_sources.SPLITS["natural"]
    assert set(image_sources.DEBIAN_PHOTOGRAPHS) <= set(natural["train"])
    assert set(natural["train"]).isdisjoint(natural["validation"] + natural["test"])


def test_the_debian_photographs_are_box_averaged_to_at_most_1024_pixels():
    found = {name for name, path in image_sources.DEBIAN_PHOTOGRAPHS.items() if Path(path).exists()}
    if not found:
        pytest.skip("no Debian photograph installed: apt-get install plasma-workspace-wallpapers mate-backgrounds "
                    "libjxl-testdata")
    photographs = {name: image for name, image in image_sources.natural_images("train").items() if name in found}
    assert set(photographs) == found
    for name, image in photographs.items():
        assert max(image.shape) <= image_sources.PHOTOGRAPH_SIDE and min(image.shape) >= 500, (name, image.shape)
        assert image.min() == 0 and image.max() == 1
        assert float(image.std()) > 0.05, name                         # a photograph, not a flat frame


def test_a_missing_photograph_is_left_out_with_a_warning(monkeypatch):
    monkeypatch.setitem(image_sources.DEBIAN_PHOTOGRAPHS, "plasma-Kite", "/nonexistent/wallpapers/Kite/contents/images")
    monkeypatch.setitem(image_sources.SPLITS["natural"], "train", ["plasma-Kite", "coins"])
    with pytest.warns(UserWarning, match="natural image 'plasma-Kite' left out"):
        images = image_sources.natural_images("train")
    assert list(images) == ["coins"]
