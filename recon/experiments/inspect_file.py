"""``recon info``: what a file is — its format, its arrays, its geometry, and which experiments fit it.

All of it comes from the file's metadata, h5py and numpy (each reader's ``describe``,
:mod:`recon.datasets.summary`) and the configs' names (:mod:`recon.experiments.combinations`):
torch is never imported, so the answer takes a fifth of a second where reading the
measurement took seconds.
"""

from __future__ import annotations

from pathlib import Path

from recon.datasets.errors import InputError


def _declared(node) -> str:
    """For a dataset of 1 MiB or more: its size as declared and as stored (compressed stacks differ a lot)."""
    from recon.experiments.memory_guard import human_size

    declared = node.size * node.dtype.itemsize
    if declared < 2**20:
        return ""
    return f"  ({human_size(declared)} declared, {human_size(node.id.get_storage_size())} stored)"


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
                    lines.append(f"  {name}  {node.shape} {kind}{_declared(node)}")
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


def describe_file(path) -> list[str]:
    """Lines describing ``path``; :class:`InputError` if it is missing, a folder, or of no known format.

    Everything comes from the file's metadata and numpy (each reader's ``describe``,
    :mod:`recon.datasets.summary`): no torch, so the answer takes a fraction of a second.
    """
    import h5py

    from recon.datasets.formats import detect_format
    from recon.datasets.output_format import is_output_file
    from recon.datasets.validation import check_input_path

    from recon.datasets.hdf5_preflight import preflight
    from recon.datasets.reader_boundary import reading

    path = check_input_path(path)
    hdf5 = h5py.is_hdf5(path)
    if hdf5:        # links are listed, not followed: info may describe a file that run would refuse
        preflight(path, check_links=False)
    with reading(path, "its layout and arrays"):
        if is_output_file(path):
            return _describe_output(path)
        module = detect_format(path)
        lines = [f"{path}: {module.FORMAT} — {module.DESCRIPTION}", "arrays:"]
        lines += _hdf5_arrays(path) if hdf5 else _other_arrays(path, module)
    try:
        with reading(path, f"its {module.FORMAT} metadata"):
            summary = module.describe(path)
    except InputError as error:
        lines.append(f"cannot reconstruct it as it is: {error}")
        return lines
    lines.append(f"measurement: {_measured(summary)}")
    lines += summary.setup
    if summary.ground_truth:
        lines.append("  ground truth: yes (PSNR, SSIM and NRMSE will be reported)")
    if summary.modality == "mri":
        lines.append(f"  reference: {summary.reference_name or 'none'}")
        if "reference_note" in summary.metadata:
            lines.append(f"  note: {summary.metadata['reference_note']}")
    elif summary.reference_name:
        lines.append(f"  reference: {summary.reference_name} (its correlation will be reported)")
    fitting = [name for name in fitting_experiments(summary.modality) if _fits(name, summary)]
    lines.append("experiments that fit: " + (", ".join(fitting) or f"none shipped yet for {summary.modality}"))
    return lines


def _measured(summary) -> str:
    """The measurement, in its modality's words: ``ct, 1 slice(s) of (60, 365) (views, detectors)``."""
    shape = summary.data_shape
    if summary.modality == "mri":
        return f"mri, k-space (slices, coils, rows, cols) {shape}"
    if summary.modality == "mimo":
        return f"mimo radar, {summary.n_slices} scan(s) of (N_f, N_t, N_r) {shape[2:]}"
    if summary.modality == "deblur":
        noise = summary.metadata.get("noise")
        channels = "" if len(shape) == 3 else f" of (channels, H, W) {shape[1:]}"     # 3 axes: packed multiband
        return f"deblur, {summary.n_slices} image(s){channels}" + (f", {noise} noise" if noise else "")
    return f"{summary.modality}, {summary.n_slices} slice(s) of {shape[2:]} (views, detectors)"


def _fits(name: str, summary) -> bool:
    """Whether shipped experiment ``name`` can reconstruct the file: joint TV needs bands, one image per PSF the
    rest, and the limited-angle model knows one geometry, the challenge's."""
    from recon.experiments.config import load_experiment

    if summary.modality == "deblur":
        from recon.experiments.combinations import deblur_fits

        return deblur_fits(load_experiment(name), multiband=summary.multiband, boundary=summary.boundary)
    if summary.modality == "ct" and load_experiment(name)["prior"]["kind"] == "unrolled":
        from recon.solvers.htc2022_geometry import is_htc_geometry

        return is_htc_geometry(summary.geometry)
    return True


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
