r"""Pairs of clean and noisy images for bilevel learning: scikit-image photographs, or a file of pairs.

:func:`photograph_pairs` takes scikit-image images by name (``skimage.data.NAME()``), makes each
grayscale with scikit-image's weights, min–max scales it to [0, 1], crops the central square
and resizes it to ``size``² (anti-aliased), and adds Gaussian noise of standard deviation
``sigma``, seeded per image (``seed + position``), so a set is the same on every run.
:func:`file_pairs` reads ``clean`` and ``noisy`` arrays ``(images, H, W)`` from an ``.npz`` file.
Both return float64 tensors ``(images, 1, H, W)`` and refuse an empty set or mismatched shapes
with a message naming the cause.

>>> clean, noisy = photograph_pairs(["camera", "coins"], size=32, sigma=0.1, seed=0)
>>> tuple(clean.shape), clean.dtype, round(float((noisy - clean).std()), 1)
((2, 1, 32, 32), torch.float64, 0.1)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def image_names(text: str) -> list[str]:
    """A comma-separated list of names as a list, blanks dropped.

    >>> image_names("camera, coins,")
    ['camera', 'coins']
    """
    return [name.strip() for name in text.split(",") if name.strip()]


def photograph(name: str, size: int, key: str = "problem.train_images") -> np.ndarray:
    """``skimage.data.NAME()`` as a grayscale [0, 1] ``size``² image (module text); ``key`` names the list
    in errors."""
    import skimage.data
    import skimage.transform

    from recon.datasets.image_sources import _unit

    loader = getattr(skimage.data, name, None)
    if loader is None or name.startswith("_") or not callable(loader):
        raise ValueError(f"{key}: {name!r} is not a scikit-image image (skimage.data.{name})")
    image = _unit(loader())
    side = min(image.shape[:2])
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    square = image[top:top + side, left:left + side]
    return skimage.transform.resize(square, (size, size), anti_aliasing=True).astype(np.float64)


def photograph_pairs(names: list[str], *, size: int, sigma: float, seed: int,
                     key: str = "problem.train_images") -> tuple[torch.Tensor, torch.Tensor]:
    """``(clean, noisy)`` of the named photographs (module text); ``key`` names the list in errors."""
    if not names:
        raise ValueError(f"{key}: no image pairs (the image list is empty)")
    clean = torch.from_numpy(np.stack([photograph(name, size, key) for name in names]))[:, None]
    noise = torch.stack([torch.randn(1, size, size, generator=torch.Generator().manual_seed(seed + k),
                                     dtype=torch.float64) for k in range(len(names))])
    return clean, clean + sigma * noise


def file_pairs(path) -> tuple[torch.Tensor, torch.Tensor]:
    """``(clean, noisy)`` from an ``.npz`` file with arrays ``clean`` and ``noisy`` of one shape ``(images, H, W)``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file of training pairs")
    with np.load(path) as arrays:
        missing = [key for key in ("clean", "noisy") if key not in arrays]
        if missing:
            raise ValueError(f"{path}: no array {missing[0]!r} (expected arrays 'clean' and 'noisy')")
        clean, noisy = np.asarray(arrays["clean"], np.float64), np.asarray(arrays["noisy"], np.float64)
    if clean.ndim != 3 or clean.shape[0] == 0:
        raise ValueError(f"{path}: clean must be a non-empty stack (images, H, W), got shape {clean.shape}")
    if noisy.shape != clean.shape:
        raise ValueError(f"{path}: clean and noisy images differ in size: {clean.shape} and {noisy.shape}")
    if not (np.isfinite(clean).all() and np.isfinite(noisy).all()):
        raise ValueError(f"{path}: the pairs hold NaN or inf values")
    return torch.from_numpy(clean)[:, None], torch.from_numpy(noisy)[:, None]
