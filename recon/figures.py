"""Figures people look at: images side by side, with a shared grey scale where it matters."""

from __future__ import annotations

from pathlib import Path

import numpy as np


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
