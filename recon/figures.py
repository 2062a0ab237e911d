"""Figures people look at: images side by side, with a shared grey scale where it matters."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _image(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    return np.abs(a) if np.iscomplexobj(a) else a


def image_row(panels: dict, path, *, shared_range=None, title: str | None = None, dpi: int = 110) -> Path:
    """Save one row of images, a title over each, to ``path`` (PNG).

    :param panels: title → 2D array or tensor, in display order.
    :param shared_range: titles whose panels share one grey scale (e.g. truth and reconstructions);
        the others are scaled on their own.

    >>> import numpy as np, tempfile, pathlib
    >>> out = image_row({"a": np.eye(8), "b": np.ones((8, 8))}, pathlib.Path(tempfile.mkdtemp()) / "row.png")
    >>> out.stat().st_size > 0
    True
    """
    plt = pyplot()

    images = {name: _image(a) for name, a in panels.items()}
    shared = [images[name] for name in (shared_range or ()) if name in images]
    vmin, vmax = (min(float(a.min()) for a in shared), max(float(a.max()) for a in shared)) if shared else (None, None)
    figure, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.4), squeeze=False)
    for axis, (name, image) in zip(axes[0], images.items()):
        in_shared = shared_range is not None and name in shared_range
        shown = axis.imshow(image, cmap="gray", vmin=vmin if in_shared else None, vmax=vmax if in_shared else None,
                            aspect="auto" if image.shape[0] != image.shape[1] else "equal")
        axis.set_title(name, fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
        figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.02)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=dpi, format="png")
    plt.close(figure)
    return path


def maximum_intensity_projections(volume) -> dict:
    """The maximum of :math:`|x|` along each axis of a ``(nx, ny, nz)`` volume: ``{"along x": (ny, nz), ...}``.

    >>> import numpy as np
    >>> v = np.zeros((2, 3, 4)); v[1, 2, 3] = 5.0
    >>> {k: a.shape for k, a in maximum_intensity_projections(v).items()}
    {'along x': (3, 4), 'along y': (2, 4), 'along z': (2, 3)}
    """
    volume = _image(volume)
    if volume.ndim != 3:
        raise ValueError(f"maximum_intensity_projections: expected a (nx, ny, nz) volume, got shape {volume.shape}")
    return {f"along {name}": volume.max(axis=axis) for axis, name in enumerate("xyz")}


def projection_grid(volumes: dict, path, *, title: str | None = None, dpi: int = 110) -> Path:
    """Save the three maximum-intensity projections of each volume (a row per volume, magnitudes scaled to peak 1).

    :param volumes: name → ``(nx, ny, nz)`` array or tensor (complex: its magnitude), in display order.

    >>> import numpy as np, tempfile, pathlib
    >>> v = np.random.default_rng(0).random((5, 6, 7))
    >>> out = projection_grid({"truth": v, "estimate": v ** 2}, pathlib.Path(tempfile.mkdtemp()) / "mip.png")
    >>> out.stat().st_size > 0
    True
    """
    plt = pyplot()

    figure, axes = plt.subplots(len(volumes), 3, figsize=(9.0, 2.9 * len(volumes)), squeeze=False,
                                layout="constrained")
    for row, (name, volume) in enumerate(volumes.items()):
        projections = maximum_intensity_projections(volume)
        peak = max(float(p.max()) for p in projections.values()) or 1.0
        for axis, (label, image) in zip(axes[row], projections.items()):
            # x and y across the array, z (depth) downwards: transpose so the first axis runs across.
            shown = axis.imshow((image / peak).T, cmap="magma", vmin=0.0, vmax=1.0, origin="lower", aspect="auto")
            axis.set_title(f"{name}: MIP {label}", fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
        figure.colorbar(shown, ax=axes[row].tolist(), fraction=0.02, pad=0.01)
    if title:
        figure.suptitle(title, fontsize=11)
    path = Path(path)
    figure.savefig(path, dpi=dpi, format="png", bbox_inches="tight")
    plt.close(figure)
    return path
