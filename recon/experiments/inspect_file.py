"""``recon info``: what a file is — its format, its arrays, its geometry, and which experiments fit it."""

from __future__ import annotations

from pathlib import Path

from recon.datasets.errors import InputError


def _hdf5_arrays(path: Path) -> list[str]:
    import h5py

    lines = []
    with h5py.File(path, "r") as f:
        def walk(group, prefix=""):
            for key in group:
                name = f"{prefix}{key}"
                link = group.get(key, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    lines.append(f"  {name}  -> external link to {link.filename}:{link.path}")
                    continue
                node = group.get(key)
                if isinstance(node, h5py.Group):
                    walk(node, name + "/")
                elif node is not None:
                    # A compound (ISMRMRD's acquisitions) by its field names: its full dtype runs to a page.
                    kind = f"compound ({', '.join(node.dtype.names)})" if node.dtype.names else node.dtype
                    lines.append(f"  {name}  {node.shape} {kind}")
                if len(lines) > 60:
                    return

        walk(f)
    return lines[:60] + (["  ..."] if len(lines) > 60 else [])


def _other_arrays(path: Path, module=None) -> list[str]:
    if getattr(module, "FORMAT", None) == "bart-cfl":
        from recon.datasets.bart_cfl import DIM_NAMES, read_header

        dims = read_header(path)
        named = ", ".join(f"{DIM_NAMES[i]} {n}" for i, n in enumerate(dims) if n > 1) or "all 1"
        return [f"  .hdr dims  {list(dims)}", f"  .cfl  complex64, column-major ({named})"]
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:2] in (b"II", b"MM"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            return [f"  page {i}  {page.shape} {page.dtype}" for i, page in enumerate(tif.pages[:8])]
    try:
        import scipy.io

        return [f"  {name}  {shape} {kind}" for name, shape, kind in scipy.io.whosmat(str(path))]
    except Exception:  # noqa: BLE001 - any parse failure means "not a MATLAB file": nothing to list
        return []


def _geometry_lines(geometry) -> list[str]:
    from recon.operators.deblur_acquisition import BlurAcquisition, MultibandAcquisition
    from recon.operators.mimo_acquisition import MIMOAcquisition
    from recon.operators.mri_acquisition import CartesianAcquisition

    if isinstance(geometry, CartesianAcquisition):
        return _cartesian_lines(geometry)
    if isinstance(geometry, MIMOAcquisition):
        return _radar_lines(geometry)
    if isinstance(geometry, (BlurAcquisition, MultibandAcquisition)):
        return _blur_lines(geometry)
    return _tomography_lines(geometry)


def _psf_width(psf) -> str:
    """The PSF's second-moment width: σ in pixels of the Gaussian with the same spread."""
    import torch

    kh, kw = psf.shape[-2:]
    rows = torch.arange(kh, dtype=psf.dtype)[:, None] - kh // 2
    cols = torch.arange(kw, dtype=psf.dtype)[None, :] - kw // 2
    spread = (psf * (rows.square() + cols.square())).sum(dim=(-2, -1)) / 2
    return ", ".join(f"{float(s) ** 0.5:.3g}" for s in spread.reshape(-1)[:6])


def _blur_lines(setup) -> list[str]:
    from recon.operators.deblur_acquisition import MultibandAcquisition

    if isinstance(setup, MultibandAcquisition):
        h, w = setup.image_shape
        return [f"  multiband: {setup.bands} bands of {setup.low_shape[0]} x {setup.low_shape[1]} pixels, "
                f"a broad band of {h} x {w} (factor {setup.factor}), weights "
                f"{[round(float(v), 4) for v in setup.weights]}",
                f"  band PSFs {tuple(setup.band_psfs.shape)}, width σ ≈ {_psf_width(setup.band_psfs)} px; "
                f"broad PSF {tuple(setup.broad_psf.shape)}, σ ≈ {_psf_width(setup.broad_psf)} px; "
                f"boundary {setup.boundary}"]
    per = f"one per channel ({setup.channels})" if setup.channels else "shared by every channel"
    return [f"  PSF {tuple(setup.psf.shape[-2:])}, {per}, width σ ≈ {_psf_width(setup.psf)} px; "
            f"boundary {setup.boundary}"]


def _radar_lines(acquisition) -> list[str]:
    f = acquisition.frequencies
    grid = acquisition.grid
    n_f, n_t, n_r = acquisition.measurement_shape
    aperture = float((acquisition.transmitters.amax(0) - acquisition.transmitters.amin(0)).max())
    return [f"  MIMO array: {n_t} transmitters, {n_r} receivers (transmitter span {aperture:.3g} m)",
            f"  {n_f} frequencies from {float(f.min()) / 1e9:.4g} to {float(f.max()) / 1e9:.4g} GHz",
            f"  grid: {grid.counts[0]} x {grid.counts[1]} x {grid.counts[2]} voxels over x {list(grid.x)}, "
            f"y {list(grid.y)}, z {list(grid.z)} m"]


def _cartesian_lines(acquisition) -> list[str]:
    mask = acquisition.mask
    per_slice = " per slice" if mask.dim() == 3 else ""
    lines = [(f"  Cartesian mask {tuple(mask.shape)}{per_slice}: acceleration {acquisition.acceleration:.3g}x "
              f"({int(mask.count_nonzero())} of {mask.numel()} samples measured)")]
    if acquisition.coil_maps is not None:
        lines.append(f"  coil sensitivities: {tuple(acquisition.coil_maps.shape)}")
    return lines


def _tomography_lines(geometry) -> list[str]:
    import numpy as np

    angles = np.rad2deg(np.asarray(geometry.angles))
    beam = "fan beam" if hasattr(geometry, "source_origin") else "parallel beam"
    lines = [f"  {beam}: {geometry.n_angles} views from {angles[0]:.4g}° to {angles[-1]:.4g}°, "
             f"{geometry.n_detectors} detectors of {geometry.detector_spacing:.5g}, "
             f"rotation-axis offset {geometry.centre_offset:.3g} px",
             f"  suggested grid: {geometry.image_shape[0]} x {geometry.image_shape[1]} pixels of {geometry.pixel_size:.5g}"]
    if hasattr(geometry, "source_origin"):
        lines.append(f"  source-origin {geometry.source_origin:.5g}, origin-detector {geometry.origin_detector:.5g}")
    return lines


def describe_file(path) -> list[str]:
    """Lines describing ``path``; :class:`InputError` if it is missing, a folder, or of no known format."""
    import h5py

    from recon.datasets.formats import detect_format
    from recon.datasets.output_format import is_output_file
    from recon.datasets.validation import check_input_path

    path = check_input_path(path)
    if is_output_file(path):
        return _describe_output(path)
    module = detect_format(path)
    lines = [f"{path}: {module.FORMAT} — {module.DESCRIPTION}", "arrays:"]
    lines += _hdf5_arrays(path) if h5py.is_hdf5(path) else _other_arrays(path, module)
    try:
        measurement = module.read(path)
    except InputError as error:
        lines.append(f"cannot reconstruct it as it is: {error}")
        return lines
    if measurement.modality == "mri":
        lines.append(f"measurement: mri, k-space (slices, coils, rows, cols) {tuple(measurement.data.shape)}")
    elif measurement.modality == "mimo":
        lines.append(f"measurement: mimo radar, {measurement.n_slices} scan(s) of (N_f, N_t, N_r) "
                     f"{tuple(measurement.data.shape[2:])}")
    elif measurement.modality == "deblur":
        noise = measurement.metadata.get("noise")
        lines.append(f"measurement: deblur, {measurement.n_slices} image(s)"
                     + ("" if measurement.data.dim() == 3 else f" of (channels, H, W) {tuple(measurement.data.shape[1:])}")
                     + (f", {noise} noise" if noise else ""))
    else:
        lines.append(f"measurement: {measurement.modality}, {measurement.n_slices} slice(s) of "
                     f"{tuple(measurement.data.shape[2:])} (views, detectors)")
    lines += _geometry_lines(measurement.geometry)
    if measurement.ground_truth is not None:
        lines.append("  ground truth: yes (PSNR, SSIM and NRMSE will be reported)")
    if measurement.modality == "mri":
        lines.append(f"  reference: {measurement.reference_name or 'none'}")
        if "reference_note" in measurement.metadata:
            lines.append(f"  note: {measurement.metadata['reference_note']}")
    elif measurement.reference is not None:
        lines.append(f"  reference: {measurement.reference_name} (its correlation will be reported)")
    fitting = fitting_experiments(measurement.modality)
    if measurement.modality == "deblur":          # joint TV needs bands; one image per PSF needs the rest
        from recon.experiments.build_deblur import fits
        from recon.experiments.config import load_experiment

        fitting = [name for name in fitting if fits(load_experiment(name), measurement.geometry)]
    if measurement.modality == "ct":              # the limited-angle model knows one geometry, the challenge's
        from recon.experiments.build_unrolled import is_htc_geometry
        from recon.experiments.config import load_experiment

        fitting = [name for name in fitting
                   if load_experiment(name)["prior"]["kind"] != "unrolled" or is_htc_geometry(measurement.geometry)]
    lines.append("experiments that fit: " + (", ".join(fitting) or f"none shipped yet for {measurement.modality}"))
    return lines


def fitting_experiments(modality: str) -> list[str]:
    from recon.experiments.config import load_experiment, shipped_configs

    return [name for name in shipped_configs() if load_experiment(name)["modality"] == modality]


def _describe_output(path: Path) -> list[str]:
    import h5py

    lines = [f"{path}: recon output"]
    with h5py.File(path, "r") as f:
        lines.append(f"  experiment {f.attrs.get('experiment', '')}, reconstruction {f['reconstruction'].shape}")
        for key, value in f["metrics"].attrs.items():
            lines.append(f"  {key} = {value:.4g}")
        for key, value in f["provenance"].attrs.items():
            lines.append(f"  {key}: {value}")
    lines.append(f"rerun it with: recon run {path} --output NEW.h5")
    return lines
