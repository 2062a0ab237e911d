"""The PNG of a run: the reconstruction, the reference and the error when there is one, and the convergence curve."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from recon.figures import pyplot


def write_run_figure(path, modality: str, image, reference, reference_name: str, history, measured, title: str,
                     std=None):
    """The run's PNG: projections of a radar volume, a row per band of a multi-band image, else one image
    (with ``std``, a posterior sampler's per-pixel standard deviation, beside the mean)."""
    if modality == "mimo":
        return run_projections(path, reconstruction=image, reference=reference, title=title)
    if modality == "deblur":          # stacks (images, 1, channels, H, W)
        if image.shape[2] > 1:
            return run_band_figure(path, reconstruction=image[:, 0], title=title,
                                   reference=None if reference is None else reference[:, 0])
        image, reference = image[:, :, 0], None if reference is None else reference[:, :, 0]
        measured = None if measured is None else measured[:, :, 0]
        std = None if std is None else std[:, :, 0]
    return run_figure(path, reconstruction=image, reference=reference, reference_name=reference_name,
                      history=history, measured=measured, title=title, std=std)


def _save(figure, path, dpi: int) -> Path:
    plt = pyplot()
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=dpi, format="png")
    plt.close(figure)
    return path


def _limits(data: np.ndarray, cmap: str, limits) -> tuple[float, float]:
    """The colour scale of a panel: ``limits``, but an error map (``RdBu_r``) is centred on 0."""
    if cmap == "RdBu_r":
        bound = float(np.abs(data).max()) or 1.0
        return -bound, bound
    return limits


def _panel(figure, axis, name: str, data: np.ndarray, cmap: str, limits) -> None:
    """One image panel with its title and colour bar; an error map (``RdBu_r``) is centred on 0 instead."""
    limits = _limits(data, cmap, limits)
    shown = axis.imshow(data, cmap=cmap, vmin=limits[0], vmax=limits[1])
    axis.set_title(name, fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])
    figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.02)


def _image(tensor, index: int = 0) -> np.ndarray:
    return tensor.detach().cpu().numpy()[index, 0].astype(np.float64)


def run_figure(path, *, reconstruction, title: str, reference=None, reference_name: str = "reference",
               history=None, measured=None, std=None, dpi: int = 110) -> Path:
    """Save the figure of slice 0 to ``path`` (``measured``: the blurred input of a deblurring run, shown first;
    ``std``: the posterior standard deviation of a sampler's mean, shown after it).

    A one-pass reconstruction (FBP, zero-filled, Wiener: no convergence curve, no standard deviation) is
    drawn by :func:`recon.image_panels.panels_png`, the same panels without matplotlib, whose start-up
    would take longer than the reconstruction.

    >>> import tempfile, pathlib, torch
    >>> out = run_figure(pathlib.Path(tempfile.mkdtemp()) / "f.png", reconstruction=torch.rand(1, 1, 8, 8),
    ...                  title="demo", reference=torch.rand(1, 1, 8, 8))
    >>> out.stat().st_size > 0
    True
    """
    image = _image(reconstruction)
    panels = [("reconstruction" if std is None else "posterior mean", image, "gray")]
    if std is not None:
        panels.append(("posterior standard deviation", _image(std), "magma"))
    shared = None
    if reference is not None:
        truth = _image(reference)
        shared = (min(image.min(), truth.min()), max(image.max(), truth.max()))
        panels += [(reference_name, truth, "gray"), ("error (reconstruction - reference)", image - truth, "RdBu_r")]
    if measured is not None:
        panels.insert(0, ("measured (blurred)", _image(measured), "gray"))
    curve = history is not None and len(history) > 1 and any(math.isfinite(v) for v in history.objective)
    limits = [(data.min(), data.max()) if cmap == "magma" or shared is None else shared for _, data, cmap in panels]
    if not curve and std is None:
        from recon.image_panels import panels_png

        return panels_png(path, [(name, data, cmap, _limits(data, cmap, scale))
                                 for (name, data, cmap), scale in zip(panels, limits)], title=title)
    plt = pyplot()
    columns = len(panels) + int(curve)
    figure, axes = plt.subplots(1, columns, figsize=(3.6 * columns, 3.6), squeeze=False)
    for axis, (name, data, cmap), scale in zip(axes[0], panels, limits):
        _panel(figure, axis, name, data, cmap, scale)
    if curve:
        axis = axes[0][-1]
        objective = np.asarray(history.objective, dtype=np.float64)
        finite = np.isfinite(objective)
        iterations = np.arange(1, objective.size + 1)
        gap = objective[finite] - objective[finite].min()
        if gap.max() > 0 and (gap > 0).sum() > 1:
            axis.semilogy(iterations[finite][gap > 0], gap[gap > 0])
            axis.set_ylabel("objective − its minimum", fontsize=8)
        else:
            axis.plot(iterations[finite], objective[finite])
            axis.set_ylabel("objective", fontsize=8)
        axis.set_xlabel("iteration", fontsize=8)
        axis.set_title("convergence", fontsize=9)
        axis.grid(True, alpha=0.3)
    figure.suptitle(title, fontsize=10)
    return _save(figure, path, dpi)


def run_projections(path, *, reconstruction, title: str, reference=None) -> Path:
    """Save the maximum-intensity projections of scan 0 of a radar volume ``(scans, 1, nx, ny, nz)``, and the truth's.

    >>> import tempfile, pathlib, torch
    >>> volume = torch.randn(1, 1, 6, 6, 8, dtype=torch.complex64)
    >>> out = run_projections(pathlib.Path(tempfile.mkdtemp()) / "mip.png", reconstruction=volume, title="demo")
    >>> out.stat().st_size > 0
    True
    """
    from recon.figures import projection_grid

    volumes = {"reconstruction": reconstruction[0, 0].detach().cpu().abs()}
    if reference is not None:
        volumes["ground truth"] = reference[0, 0].detach().cpu().abs()
    return projection_grid(volumes, path, title=title)


def run_band_figure(path, *, reconstruction, title: str, reference=None, max_bands: int = 6, dpi: int = 110) -> Path:
    """Save image 0 of a multi-band (or multi-channel) result ``(images, bands, H, W)``: a row per band.

    Each row shows the band's reconstruction and, with a ``reference`` of the same shape, the
    reference and the error, on the band's own grey scale.

    >>> import tempfile, pathlib, torch
    >>> out = run_band_figure(pathlib.Path(tempfile.mkdtemp()) / "b.png", reconstruction=torch.rand(1, 3, 8, 8),
    ...                       title="demo", reference=torch.rand(1, 3, 8, 8))
    >>> out.stat().st_size > 0
    True
    """
    plt = pyplot()
    images = reconstruction.detach().cpu().numpy()[0].astype(np.float64)
    truths = None if reference is None else reference.detach().cpu().numpy()[0].astype(np.float64)
    bands = min(images.shape[0], max_bands)
    columns = 1 if truths is None else 3
    figure, axes = plt.subplots(bands, columns, figsize=(3.2 * columns, 3.0 * bands), squeeze=False)
    for band in range(bands):
        image = images[band]
        panels = [(f"band {band}: reconstruction", image, "gray")]
        if truths is not None:
            panels += [(f"band {band}: reference", truths[band], "gray"),
                       ("error", image - truths[band], "RdBu_r")]
        low = min(p[1].min() for p in panels[:2])
        high = max(p[1].max() for p in panels[:2])
        for axis, (name, data, cmap) in zip(axes[band], panels):
            _panel(figure, axis, name, data, cmap, (low, high))
    figure.suptitle(title + (f" (first {bands} of {images.shape[0]} bands)" if bands < images.shape[0] else ""),
                    fontsize=10)
    return _save(figure, path, dpi)
