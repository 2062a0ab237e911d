"""Image panels side by side in a PNG, drawn with Pillow: a title over each, a colour bar with its range beside it.

For the figure of a one-pass reconstruction (FBP, zero-filled MRI, Wiener), whose
whole run takes less time than matplotlib takes to start: this needs numpy and
Pillow (which matplotlib itself writes PNGs with) and some 50 ms. Runs with a
convergence curve keep matplotlib's figure (:mod:`recon.experiments.run_figure`).

Colour maps: ``gray``, and ``RdBu_r`` for signed errors (ColorBrewer's RdBu,
as matplotlib's, blue for negative).

>>> import numpy as np, tempfile, pathlib
>>> out = panels_png(pathlib.Path(tempfile.mkdtemp()) / "p.png",
...                  [("image", np.eye(8), "gray", (0.0, 1.0)), ("error", np.eye(8) - 0.5, "RdBu_r", (-1.0, 1.0))],
...                  title="demo")
>>> out.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PANEL = 320       # pixels along an image's longer side
BAR = 14          # colour bar width in pixels
GAP = 8

# ColorBrewer RdBu (11 classes), red to blue; RdBu_r runs it backwards.
_RDBU = np.array([(103, 0, 31), (178, 24, 43), (214, 96, 77), (244, 165, 130), (253, 219, 199), (247, 247, 247),
                  (209, 229, 240), (146, 197, 222), (67, 147, 195), (33, 102, 172), (5, 48, 97)], dtype=np.float64)


def coloured(values: np.ndarray, cmap: str) -> np.ndarray:
    """``values`` in [0, 1] as ``uint8`` RGB through colour map ``cmap`` (``gray`` or ``RdBu_r``).

    >>> coloured(np.array([0.0, 0.5, 1.0]), "RdBu_r").tolist()
    [[5, 48, 97], [247, 247, 247], [103, 0, 31]]
    """
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    if cmap == "gray":
        grey = np.rint(values * 255).astype(np.uint8)
        return np.stack([grey] * 3, axis=-1)
    if cmap != "RdBu_r":
        raise ValueError(f"coloured: expected the colour map gray or RdBu_r, got {cmap!r}")
    anchors = _RDBU[::-1]
    position = values * (len(anchors) - 1)
    low = np.minimum(position.astype(np.int64), len(anchors) - 2)
    weight = (position - low)[..., None]
    return np.rint(anchors[low] * (1 - weight) + anchors[low + 1] * weight).astype(np.uint8)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)      # Pillow >= 10.1: a scalable font
    except TypeError:
        return ImageFont.load_default()


def _label(value: float) -> str:
    return f"{value:.3g}"


def _write(draw, x: float, y: float, text: str, font, *, centre: bool = False, bottom: bool = False) -> None:
    """``text`` with its top left (or top centre, or bottom left) at ``(x, y)``, whatever kind of font."""
    left, top, right, lower = draw.textbbox((0, 0), text, font=font)
    draw.text((x - (right - left) / 2 if centre else x, y - lower if bottom else y - top), text, fill="black",
              font=font)


def panels_png(path, panels, *, title: str | None = None) -> Path:
    """Write ``panels`` in one row to ``path`` (PNG) and return the path.

    :param panels: ``(title, image, cmap, (low, high))`` each: a 2D array shown on the colour scale from
        ``low`` to ``high`` (values outside are clipped), its longer side drawn :data:`PANEL` pixels long.
    :param title: a line over the whole row.
    """
    from PIL import Image, ImageDraw

    heading, small = _font(14), _font(11)
    line = heading.getbbox("Ag")[3] + 8
    tiles = []
    for name, data, cmap, (low, high) in panels:
        data = np.asarray(data, dtype=np.float64)
        span = (high - low) or 1.0
        image = Image.fromarray(coloured((data - low) / span, cmap))
        scale = PANEL / max(data.shape)
        size = (max(1, round(data.shape[1] * scale)), max(1, round(data.shape[0] * scale)))
        image = image.resize(size, Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX)
        bar = Image.fromarray(coloured(np.linspace(1.0, 0.0, size[1])[:, None].repeat(BAR, axis=1), cmap))
        labels = (_label(high), _label(low))
        width = size[0] + GAP // 2 + BAR + 4 + max(small.getbbox(text)[2] for text in labels)
        tiles.append((name, image, bar, labels, width))
    top = GAP + (line if title else 0)
    height = top + line + max(image.size[1] for _, image, _, _, _ in tiles) + GAP
    canvas = Image.new("RGB", (GAP + sum(width + GAP for *_, width in tiles), height), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        _write(draw, canvas.size[0] / 2, GAP, title, heading, centre=True)
    x = GAP
    for name, image, bar, (high, low), width in tiles:
        _write(draw, x + image.size[0] / 2, top, name, heading, centre=True)
        y = top + line
        canvas.paste(image, (x, y))
        bar_x = x + image.size[0] + GAP // 2
        canvas.paste(bar, (bar_x, y))
        _write(draw, bar_x + BAR + 4, y, high, small)
        _write(draw, bar_x + BAR + 4, y + image.size[1], low, small, bottom=True)
        x += width + GAP
    path = Path(path)
    canvas.save(path, format="PNG")
    return path
