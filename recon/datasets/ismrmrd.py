r"""ISMRMRD HDF5 raw data, Cartesian 2D acquisitions: read without the ``ismrmrd`` package.

Layout (Inati et al., Magn. Reson. Med. 77, 2017; ismrmrd ``dataset.h5``)::

    /dataset/xml     string   (1,) or scalar: the ISMRMRD XML header (namespace http://www.ismrm.org/ISMRMRD)
    /dataset/data    compound (acquisitions,): one readout each, with the fields
      head           compound  the AcquisitionHeader (the fields this reader uses are listed below)
      traj           vlen float32  trajectory_dimensions × number_of_samples; empty when Cartesian
      data           vlen float32  channels × samples complex samples, interleaved (re, im), samples fastest

Fields of ``head`` the reader needs: ``flags`` (uint64), ``number_of_samples``,
``active_channels``, ``center_sample`` and ``idx`` (a compound with
``kspace_encode_step_1`` and ``slice``). Used when present, 0 otherwise:
``discard_pre``, ``discard_post``, ``trajectory_dimensions`` and, in ``idx``,
``kspace_encode_step_2``, ``average``, ``contrast``, ``phase``, ``repetition``, ``set``.
From the XML: ``encoding/encodedSpace/matrixSize`` (x = read-out samples, y =
phase-encode lines, z), ``encoding/trajectory``, and
``encoding/encodingLimits/kspace_encoding_step_1/center`` (the line at the
centre of k-space; ``y // 2`` without it).

Flags are bits numbered from 1 as in ISMRMRD (flag :math:`b` is set when
``flags & (1 << (b - 1))``). Readouts that are not image data are skipped:
noise (19), parallel-calibration-only (20), navigator (23), phase correction
(24), feedback (26, 28), dummy scans (27), surface-coil correction (29), phase
stabilisation (30, 31). Calibration-and-imaging lines (21) are kept. The noise readouts give the
noise level per image sample, ``metadata@noise_scan_sigma`` (:func:`noise_scan_sigma`), which
``prior.strength: auto`` prefers to an estimate from the k-space. A reversed
read-out (22, EPI) is refused: it needs phase correction, not just a flip.

Placement, in recon's centred convention (:mod:`recon.operators.mri_acquisition`):
the k-space is ``(slices, coils, x, y)``; after dropping ``discard_pre`` and
``discard_post`` samples, sample :math:`s` of a readout lands on row
:math:`x/2 - c + s` (:math:`c` = ``center_sample`` less ``discard_pre``), and line
:math:`e` (``kspace_encode_step_1``) on column :math:`y/2 + e - e_c`
(:math:`e_c` the limits' centre). Repeated readouts of one line (``average``)
are averaged. The mask is 1 where a sample was placed. Several contrasts,
phases, repetitions or sets, 3D encodings (z > 1 or step-2 indices) and
non-Cartesian trajectories are refused with an :class:`InputError`.
``ReadOptions.index`` reads one slice (only its readouts' samples are read).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from typing import TYPE_CHECKING

import numpy as np

from recon.datasets.errors import InputError
from recon.datasets.read_options import ReadOptions
from recon.datasets.validation import check_finite, open_dataset, open_hdf5

if TYPE_CHECKING:
    from recon.datasets.measurement import Measurement
    from recon.datasets.summary import Summary

FORMAT = "ismrmrd"
DESCRIPTION = "ISMRMRD HDF5 raw data (dataset/xml, dataset/data): Cartesian 2D MRI acquisitions"
AXES = ("each readout's samples go down a column: k-space (slices, coils, x, y), x the read-out and y "
        "kspace_encode_step_1, as encodedSpace/matrixSize (x, y); the reconstruction is written (slices, x, y)")

GROUP = "dataset"
REQUIRED_HEAD = ("flags", "number_of_samples", "active_channels", "center_sample", "idx")
REQUIRED_IDX = ("kspace_encode_step_1", "slice")
# ISMRMRD flag numbers (1-based) of readouts that are not image data.
SKIPPED_FLAGS = {19: "noise", 20: "parallel calibration", 23: "navigation", 24: "phase correction",
                 26: "HP feedback", 27: "dummy scan", 28: "RT feedback", 29: "surface-coil correction",
                 30: "phase stabilisation reference", 31: "phase stabilisation"}
ACQ_IS_REVERSE = 22
_SINGLE_VALUED = ("contrast", "phase", "repetition", "set")


def flag_mask(*flags: int) -> int:
    r"""The bit mask of ISMRMRD flags numbered from 1: :math:`\sum_b 2^{b-1}`.

    >>> flag_mask(19) == 1 << 18, flag_mask(1, 2)
    (True, 3)
    """
    return sum(1 << (flag - 1) for flag in flags)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, *names):
    for name in names:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _integer(element, *names):
    node = _child(element, *names)
    try:
        return None if node is None or node.text is None else int(float(node.text.strip()))
    except ValueError:
        return None


def header_facts(xml, path=None, field: str = "xml") -> dict:
    """The facts of an ISMRMRD XML header a Cartesian reader needs (namespaces ignored; missing ones absent).

    Keys: ``encoded_matrix`` and ``recon_matrix`` ``(x, y, z)``, ``trajectory``,
    ``step1_limits`` and ``slice_limits`` ``(minimum, maximum, center)``, ``receiver_channels``.

    >>> xml = ("<ismrmrdHeader xmlns='http://www.ismrm.org/ISMRMRD'><encoding><encodedSpace><matrixSize>"
    ...        "<x>640</x><y>368</y><z>1</z></matrixSize></encodedSpace><trajectory>cartesian</trajectory>"
    ...        "<encodingLimits><kspace_encoding_step_1><minimum>0</minimum><maximum>367</maximum>"
    ...        "<center>184</center></kspace_encoding_step_1></encodingLimits></encoding></ismrmrdHeader>")
    >>> facts = header_facts(xml)
    >>> facts["encoded_matrix"], facts["step1_limits"], facts["trajectory"]
    ((640, 368, 1), (0, 367, 184), 'cartesian')
    """
    text = xml.decode("utf-8", "replace") if isinstance(xml, (bytes, np.bytes_)) else str(xml)
    try:
        root = ElementTree.fromstring(text.strip().rstrip("\x00"))
    except ElementTree.ParseError as error:
        raise InputError(path, field, "an ISMRMRD XML header", f"malformed XML ({error})")
    facts = {}
    encoding = _child(root, "encoding")
    for key, space in (("encoded_matrix", "encodedSpace"), ("recon_matrix", "reconSpace")):
        size = tuple(_integer(encoding, space, "matrixSize", axis) for axis in "xyz")
        if None not in size[:2]:
            facts[key] = (size[0], size[1], 1 if size[2] is None else size[2])
    trajectory = _child(encoding, "trajectory")
    if trajectory is not None and trajectory.text:
        facts["trajectory"] = trajectory.text.strip()
    for key, name in (("step1_limits", "kspace_encoding_step_1"), ("slice_limits", "slice")):
        limits = tuple(_integer(encoding, "encodingLimits", name, part) for part in ("minimum", "maximum", "center"))
        if any(v is not None for v in limits):
            facts[key] = limits
    channels = _integer(root, "acquisitionSystemInformation", "receiverChannels")
    if channels is not None:
        facts["receiver_channels"] = channels
    return facts


def _group(h5):
    """The group holding ``xml`` and ``data``: ``dataset`` or the only top-level group that has both."""
    import h5py

    if GROUP in h5 and isinstance(h5[GROUP], h5py.Group):
        return GROUP
    found = [k for k in h5 if isinstance(h5.get(k), h5py.Group) and {"xml", "data"} <= set(h5[k].keys())]
    return found[0] if len(found) == 1 else None


def sniff(path: Path, h5) -> bool:
    """Whether ``h5`` has an ISMRMRD group (``dataset``) with ``xml`` and a compound ``data``; never raises."""
    try:
        name = None if h5 is None else _group(h5)
        if name is None or not {"xml", "data"} <= set(h5[name].keys()):
            return False
        return h5[name]["data"].dtype.names is not None and "head" in h5[name]["data"].dtype.names
    except Exception:  # a foreign or broken file is simply not ours
        return False


def _xml(h5, group: str, path) -> str:
    node = open_dataset(h5, f"{group}/xml", path, what="the ISMRMRD XML header")
    value = node[()]
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise InputError(path, f"{group}/xml", "one XML string", f"shape {value.shape}")
        value = value.reshape(-1)[0]
    if not isinstance(value, (str, bytes, np.bytes_)):
        raise InputError(path, f"{group}/xml", "an XML string", f"dtype {node.dtype}")
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, np.bytes_)) else value


def _heads(node, path, field: str) -> dict:
    """The AcquisitionHeader fields as one integer array each (``idx.*`` flattened)."""
    names = node.dtype.names or ()
    if "head" not in names or "data" not in names:
        raise InputError(path, field, "a compound with fields head, traj, data", f"fields {names}")
    head = node.fields("head")[()]
    head_names = head.dtype.names or ()
    missing = [n for n in REQUIRED_HEAD if n not in head_names]
    idx_names = head["idx"].dtype.names or () if "idx" in head_names else ()
    missing += [f"idx.{n}" for n in REQUIRED_IDX if n not in idx_names]
    if missing:
        raise InputError(path, f"{field}.head", "an ISMRMRD AcquisitionHeader", f"no {', '.join(missing)}")
    zeros = np.zeros(len(head), dtype=np.int64)
    columns = {n: head[n].astype(np.int64) if n != "flags" else head[n].astype(np.uint64)
               for n in REQUIRED_HEAD if n != "idx"}
    for name in ("discard_pre", "discard_post", "trajectory_dimensions"):
        columns[name] = head[name].astype(np.int64) if name in head_names else zeros
    columns["sample_time_us"] = head["sample_time_us"].astype(np.float64) if "sample_time_us" in head_names \
        else np.zeros(len(head))
    for name in ("kspace_encode_step_1", "slice", "kspace_encode_step_2", "average", *_SINGLE_VALUED):
        columns[name] = head["idx"][name].astype(np.int64) if name in idx_names else zeros
    return columns


def _image_readouts(heads, path, field: str) -> np.ndarray:
    """Indices of the readouts that are image data, after checking what this reader can place."""
    flags = heads["flags"]
    image = (flags & np.uint64(flag_mask(*SKIPPED_FLAGS))) == 0
    if not image.any():
        raise InputError(path, field, "image readouts", "only noise, calibration or navigator readouts")
    if (flags[image] & np.uint64(flag_mask(ACQ_IS_REVERSE))).any():
        raise InputError(path, f"{field}.head.flags", "read-outs in one direction (not EPI)",
                         "reversed read-outs (flag 22)")
    if (heads["trajectory_dimensions"][image] > 0).any():
        raise InputError(path, f"{field}.head.trajectory_dimensions", "0 (a Cartesian acquisition)",
                         str(int(heads["trajectory_dimensions"][image].max())))
    if (heads["kspace_encode_step_2"][image] != 0).any():
        raise InputError(path, f"{field}.head.idx.kspace_encode_step_2", "0 (a 2D acquisition)",
                         f"up to {int(heads['kspace_encode_step_2'][image].max())}")
    for name in _SINGLE_VALUED:
        values = np.unique(heads[name][image])
        if values.size > 1:
            raise InputError(path, f"{field}.head.idx.{name}", "one value (one image per slice)",
                             f"{values.size} values")
    channels = np.unique(heads["active_channels"][image])
    if channels.size != 1 or channels[0] < 1:
        raise InputError(path, f"{field}.head.active_channels", "the same positive count on every readout",
                         f"{channels.tolist()[:6]}")
    return np.nonzero(image)[0]


def read(path: Path, options: ReadOptions = ReadOptions()) -> Measurement:
    """Read a Cartesian 2D ISMRMRD file into centred k-space ``(slices, coils, x, y)`` and its sampling mask.

    >>> import tempfile, pathlib, h5py, numpy as np
    >>> idx = np.dtype([("kspace_encode_step_1", "<u2"), ("slice", "<u2")])
    >>> head = np.dtype([("flags", "<u8"), ("number_of_samples", "<u2"), ("active_channels", "<u2"),
    ...                  ("center_sample", "<u2"), ("idx", idx)])
    >>> vlen = h5py.vlen_dtype(np.float32)
    >>> rows = np.zeros(2, np.dtype([("head", head), ("traj", vlen), ("data", vlen)]))
    >>> rows["head"]["number_of_samples"], rows["head"]["active_channels"], rows["head"]["center_sample"] = 4, 1, 2
    >>> rows["head"]["idx"]["kspace_encode_step_1"] = [0, 2]
    >>> xml = "<ismrmrdHeader><encoding><encodedSpace><matrixSize><x>4</x><y>4</y></matrixSize></encodedSpace></encoding></ismrmrdHeader>"
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "raw.h5"
    >>> with h5py.File(path, "w") as f:
    ...     f["dataset/xml"] = [xml.encode()]
    ...     data = f.create_dataset("dataset/data", shape=(2,), dtype=rows.dtype)
    ...     for i in range(2):
    ...         rows[i]["traj"], rows[i]["data"] = np.zeros(0, np.float32), np.ones(8, np.float32)
    ...         data[i] = rows[i]
    >>> m = read(path)
    >>> tuple(m.data.shape), m.geometry.mask[0].tolist()
    ((1, 1, 4, 4), [1.0, 0.0, 1.0, 0.0])
    """
    import torch

    from recon.datasets.measurement import Measurement
    from recon.operators.mri_acquisition import CartesianAcquisition

    kspace, mask, metadata = _arrays(Path(path), options)
    same = bool((mask == mask[:1]).all())
    geometry = CartesianAcquisition(torch.as_tensor(mask[0] if same else mask))
    return Measurement("mri", torch.as_tensor(kspace), geometry, FORMAT, Path(path), metadata=metadata)


def describe(path: Path) -> Summary:
    """What :func:`read` would return, from the same placement of the readouts, without tensors
    (:mod:`recon.datasets.summary`)."""
    from recon.datasets.summary import Summary, cartesian_lines

    kspace, mask, _ = _arrays(Path(path), ReadOptions())
    return Summary("mri", tuple(kspace.shape), cartesian_lines(mask[0] if bool((mask == mask[:1]).all()) else mask))


def _arrays(path: Path, options: ReadOptions):
    """k-space ``(slices, coils, x, y)``, the mask ``(slices, x, y)`` and the metadata of :func:`read`."""
    with open_hdf5(path) as h5:
        group = _group(h5)
        if group is None:
            raise InputError(path, GROUP, "an ISMRMRD group with xml and data", "none")
        field = f"{group}/data"
        facts = header_facts(_xml(h5, group, path), path, f"{group}/xml")
        trajectory = facts.get("trajectory", "cartesian")
        if trajectory.lower() != "cartesian":
            raise InputError(path, f"{group}/xml: encoding/trajectory", "cartesian", repr(trajectory))
        if "encoded_matrix" not in facts:
            raise InputError(path, f"{group}/xml", "encoding/encodedSpace/matrixSize with x and y", "none")
        rows, cols, depth = facts["encoded_matrix"]
        if depth != 1:
            raise InputError(path, f"{group}/xml: encodedSpace/matrixSize/z", "1 (a 2D acquisition)", str(depth))
        node = open_dataset(h5, field, path, what="the acquisitions")
        heads = _heads(node, path, field)
        keep = _image_readouts(heads, path, field)
        slices = np.unique(heads["slice"][keep])
        if options.index is not None:
            if options.index not in slices:
                raise InputError(path, "input.index", f"a slice in {slices.tolist()[:8]}", str(options.index))
            keep, slices = keep[heads["slice"][keep] == options.index], np.asarray([options.index])
        samples = node.fields("data")[keep] if len(keep) else []
        noise = _noise_readouts(node, heads, path, field)
    limits = facts.get("step1_limits", (None, None, None))
    centre_line = limits[2] if limits[2] is not None else cols // 2
    kspace, mask, count = _place(heads, keep, samples, slices, (rows, cols), centre_line, path, field)
    metadata = {"encoded_matrix": facts["encoded_matrix"], "trajectory": trajectory, "k_space_centre_line": centre_line,
                "readouts": len(keep), **{k: facts[k] for k in ("recon_matrix", "receiver_channels") if k in facts}}
    if noise is not None:
        metadata.update(noise_scan_sigma=noise_scan_sigma(noise, heads, keep, count), noise_scan_readouts=len(noise[0]))
    if options.index is None:
        metadata.update(skipped_readouts=int(len(heads["flags"]) - len(keep)), slices_in_file=slices.tolist())
    else:
        metadata["slice"] = options.index
    return kspace, mask, metadata


def _noise_readouts(node, heads, path, field):
    """``(indices, samples)`` of the noise readouts (flag 19), or None when the file has none."""
    noise = np.nonzero((heads["flags"] & np.uint64(flag_mask(19))) != 0)[0]
    if not len(noise):
        return None
    samples = node.fields("data")[noise]
    for j, i in enumerate(noise):
        expected = 2 * int(heads["number_of_samples"][i]) * int(heads["active_channels"][i])
        if np.asarray(samples[j]).size != expected:
            raise InputError(path, f"{field}[{i}].data", f"{expected} floats (a noise readout)",
                             f"{np.asarray(samples[j]).size}")
        check_finite(np.asarray(samples[j]), path, f"{field}[{i}].data")
    return noise, samples


def noise_scan_sigma(noise, heads, keep, count) -> float:
    r"""σ per image sample (:math:`E|n|^2 = \sigma^2`) from the noise readouts ``(indices, samples)``.

    The noise readouts' mean :math:`|n|^2` over every channel and sample, scaled to the image readouts'
    bandwidth: noise power grows with the bandwidth, the inverse of ``sample_time_us``, so
    :math:`\sigma^2 = \overline{|n|^2}\,t_\text{noise}/t_\text{image}` when both dwell times are given
    (otherwise they are taken equal). Lines read several times are averaged (:func:`_place`), which
    divides the variance by the mean number of readouts per sampled position.

    >>> heads = {"sample_time_us": np.array([10.0, 5.0])}
    >>> noise = (np.array([0]), [np.array([3.0, 4.0], np.float32)])     # one sample, |n|² = 25
    >>> round(noise_scan_sigma(noise, heads, np.array([1]), np.ones((1, 1, 1))), 4)   # 25 × 10 / 5 = 50
    7.0711
    """
    indices, samples = noise
    power = np.concatenate([np.asarray(v, np.float64).reshape(-1, 2) for v in samples])
    variance = float(np.mean(power[:, 0] ** 2 + power[:, 1] ** 2))
    noise_dwell, image_dwell = float(np.median(heads["sample_time_us"][indices])), \
        float(np.median(heads["sample_time_us"][keep]))
    if noise_dwell > 0 and image_dwell > 0:
        variance *= noise_dwell / image_dwell
    repeats = float(count[count > 0].mean()) if (count > 0).any() else 1.0
    return float(np.sqrt(variance / repeats))


def _place(heads, keep, samples, slices, shape, centre_line, path, field):
    """Scatter the kept readouts into ``(slices, coils, rows, cols)`` k-space (averaging repeats), the mask, and
    the number of readouts at each position ``(slices, rows, cols)``."""
    rows, cols = shape
    coils = int(heads["active_channels"][keep[0]])
    position = {int(s): i for i, s in enumerate(slices)}
    total = np.zeros((len(slices), coils, rows, cols), dtype=np.complex128)
    count = np.zeros((len(slices), rows, cols), dtype=np.int64)
    for j, i in enumerate(keep):
        n, pre, post = (int(heads[k][i]) for k in ("number_of_samples", "discard_pre", "discard_post"))
        values = np.asarray(samples[j], dtype=np.float32)
        if values.size != 2 * n * coils:
            raise InputError(path, f"{field}[{i}].data", f"2 × {n} samples × {coils} channels = {2 * n * coils} "
                             "floats", f"{values.size}")
        check_finite(values, path, f"{field}[{i}].data")
        readout = values.reshape(coils, n, 2)[:, pre:n - post]
        readout = readout[..., 0] + 1j * readout[..., 1]
        start = rows // 2 - (int(heads["center_sample"][i]) - pre)
        line = cols // 2 + int(heads["kspace_encode_step_1"][i]) - centre_line
        if start < 0 or start + readout.shape[1] > rows or not 0 <= line < cols:
            raise InputError(path, f"{field}[{i}].head", f"a readout inside the encoded matrix {rows} × {cols}",
                             f"samples {start}..{start + readout.shape[1] - 1} on line {line}")
        s = position[int(heads["slice"][i])]
        total[s, :, start:start + readout.shape[1], line] += readout
        count[s, start:start + readout.shape[1], line] += 1
    kspace = (total / np.maximum(count, 1)[:, None]).astype(np.complex64)
    return kspace, (count > 0).astype(np.float32), count
