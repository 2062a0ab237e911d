r"""The images denoisers are trained, tuned and tested on, all installed from package registries.

The image families, each split once and for all into ``train``, ``validation`` and
``test`` (a test image is never trained on; the weights manifest names the
split):

* **natural**: scikit-image's photographs, scikit-learn's two sample photographs,
  matplotlib's portrait of Grace Hopper and, for training only, the photographs among
  Debian's desktop wallpapers (:data:`DEBIAN_PHOTOGRAPHS`, ``apt-get install
  plasma-workspace-wallpapers mate-backgrounds libjxl-testdata``), box-averaged so the
  longer side is at most :data:`PHOTOGRAPH_SIDE` pixels;
* **medical**: the CT, MR and radiograph slices of ``pydicom``'s and
  ``pydicom-data``'s test files;
* **phantom**: :func:`recon.datasets.phantoms.random_phantoms` (COULE-like,
  piecewise constant), one seed per split, so the sets share no image;
* **radar**: magnitudes of :func:`recon.datasets.mimo_scenes.extended_targets` volumes
  (for 3D denoisers), seeds far from the radar tests' 0–99.

Every image is grayscale ``float32`` in [0, 1] (min–max scaled), as a numpy
array. Sources whose package is missing (scikit-learn, pydicom-data: the
``train`` extra; the Debian packages) are left out with a warning rather than
failing, so the test images (scikit-image and matplotlib only) are always there.

>>> sorted(SPLITS["natural"]["test"])
['astronaut', 'camera', 'coffee', 'grace_hopper']
>>> natural_images("test")["camera"].shape
(512, 512)
>>> volume = radar_volumes("validation", 1)["radar-90000"]
>>> volume.shape, sorted(set(np.round(volume, 5).flatten().tolist()))
((25, 25, 49), [0.0, 1.0])
"""

from __future__ import annotations

import warnings

import numpy as np

#: Photographs (not drawings or renders) among Debian's wallpaper and test-image packages, by name: the
#: installed file, or the folder holding one wallpaper's sizes (the largest is read). Training split only.
DEBIAN_PHOTOGRAPHS = {
    **{f"plasma-{name}": f"/usr/share/wallpapers/{name}/contents/images"
       for name in ("BytheWater", "ColdRipple", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
                    "OneStandsOut", "Path", "Volna", "summer_1am")},
    **{f"mate-{name}": f"/usr/share/backgrounds/mate/nature/{name}.jpg"
       for name in ("Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops",
                    "Storm", "TwoWings", "Wood", "YellowFlower")},
    "jxl-flower": "/usr/share/libjxl-testdata/jxl/flower/flower.png",
    **{f"jxl-{name}": f"/usr/share/libjxl-testdata/external/wesaturate/500px/{name}_srgb8.png"
       for name in ("cvo9xd_keong_macan", "tmshre_riaphotographs", "u76c0g_bliznaca")},
}
#: Longest side of a Debian photograph after box averaging by a whole factor (near the test images' 512).
PHOTOGRAPH_SIDE = 1024

SPLITS = {
    "natural": {
        "train": ["brick", "grass", "gravel", "coins", "moon", "page", "text", "clock", "rocket",
                  "motorcycle_left", "motorcycle_right", "hubble_deep_field", "immunohistochemistry",
                  "retina", "cell", "flower", *DEBIAN_PHOTOGRAPHS],
        "validation": ["chelsea", "china"],
        "test": ["camera", "astronaut", "coffee", "grace_hopper"],
    },
    "medical": {
        "train": ["693_UNCR.dcm", "MR2_UNCR.dcm", "RG1_UNCR.dcm", "RG3_UNCR.dcm", "MR-SIEMENS-DICOM-WithOverlays.dcm"],
        "validation": ["explicit_VR-UN.dcm", "CT_small.dcm"],
        "test": [],
    },
}
#: ``random_phantoms(size, n, seed=PHANTOM_SEEDS[split])``: disjoint streams per split.
PHANTOM_SEEDS = {"train": 1, "validation": 2, "test": 3}
#: Radar scenes ``extended_targets(RADAR_GRID, RADAR_SEEDS[split] + k)``: the radar tests and scripts use
#: seeds 0-99 (the test split); training and validation start far above them.
RADAR_SEEDS = {"train": 100_000, "validation": 90_000, "test": 0}
RADAR_GRID = (25, 25, 49)


def _unit(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = image[..., :3] @ np.array([0.2125, 0.7154, 0.0721])   # scikit-image's rgb2gray weights
    low, high = float(image.min()), float(image.max())
    return ((image - low) / max(high - low, 1e-12)).astype(np.float32)


def _debian_photograph(name: str) -> np.ndarray:
    """A Debian photograph as RGB, averaged over ``k × k`` boxes (the least ``k`` within :data:`PHOTOGRAPH_SIDE`)."""
    from pathlib import Path

    from PIL import Image

    path = Path(DEBIAN_PHOTOGRAPHS[name])
    if path.is_dir():
        sizes = sorted(path.iterdir(), key=lambda file: file.stat().st_size)
        if not sizes:
            raise FileNotFoundError(f"no image in {path}")
        path = sizes[-1]
    with Image.open(path) as image:
        image = image.convert("RGB")
        factor = -(-max(image.size) // PHOTOGRAPH_SIDE)
        return np.asarray(image.reduce(factor) if factor > 1 else image)


def _natural(name: str) -> np.ndarray:
    if name in DEBIAN_PHOTOGRAPHS:
        return _debian_photograph(name)
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    if name == "grace_hopper":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
            return matplotlib.image.imread(handle, format="jpg")
    import skimage.data

    if name.startswith("motorcycle_"):
        left, right, _ = skimage.data.stereo_motorcycle()
        return left if name.endswith("left") else right
    return getattr(skimage.data, name)()


def _medical(name: str) -> np.ndarray:
    import pydicom
    from pydicom.data import get_testdata_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = get_testdata_file(name)
        if path is None:
            raise FileNotFoundError(name)
        return pydicom.dcmread(path).pixel_array


def _collect(family: str, split: str, load) -> dict[str, np.ndarray]:
    if split not in ("train", "validation", "test"):
        raise ValueError(f"split must be 'train', 'validation' or 'test', got {split!r}")
    images = {}
    for name in SPLITS[family][split]:
        try:
            images[name] = _unit(load(name))
        except (ImportError, FileNotFoundError, OSError) as error:
            warnings.warn(f"{family} image {name!r} left out: {error}", stacklevel=3)
    return images


def natural_images(split: str) -> dict[str, np.ndarray]:
    """The natural photographs of one split, by name."""
    return _collect("natural", split, _natural)


def medical_images(split: str) -> dict[str, np.ndarray]:
    """The DICOM slices of one split, by file name (needs ``pydicom`` and, for most, ``pydicom-data``)."""
    return _collect("medical", split, _medical)


def phantom_images(split: str, count: int, size: int = 128) -> dict[str, np.ndarray]:
    """``count`` COULE-like phantoms of one split, named ``phantom-SEED-K``."""
    seed = PHANTOM_SEEDS[split]
    stack = phantom_batch(split, count, size).numpy()[:, 0]
    return {f"phantom-{seed}-{k}": image for k, image in enumerate(stack)}


def phantom_batch(split: str, count: int, size: int = 128):
    """The phantoms of :func:`phantom_images` as one float32 tensor ``(count, 1, size, size)``."""
    from recon.datasets.phantoms import random_phantoms

    return random_phantoms(size, count, seed=PHANTOM_SEEDS[split]).float()


def radar_volumes(split: str, count: int) -> dict[str, np.ndarray]:
    """``count`` magnitude volumes ``(25, 25, 49)`` of simulated extended-target scenes of ``split``, 0 or 1."""
    from recon.datasets.mimo_scenes import extended_targets

    first = RADAR_SEEDS[split]
    return {f"radar-{first + k}": extended_targets(RADAR_GRID, first + k)[0, 0].abs().numpy().astype(np.float32)
            for k in range(count)}


def images(family: str, split: str, *, count: int = 0, size: int = 128) -> dict[str, np.ndarray]:
    """One family's images (volumes for radar) of one split (``count``: phantoms and radar; ``size``: phantoms)."""
    if family == "natural":
        return natural_images(split)
    if family == "medical":
        return medical_images(split)
    if family == "phantom":
        return phantom_images(split, count, size)
    if family == "radar":
        return radar_volumes(split, count)
    raise ValueError(f"unknown image family {family!r}: expected natural, medical, phantom or radar")
