"""The files fuzzing starts from: one per reader, written by recon's own writers, plus the real test files.

Each seed names the experiment that reads it cheaply (a one-pass method), so a
case is ``recon info FILE`` and ``recon run EXPERIMENT --input FILE``: the
reader runs in full, the reconstruction costs little.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Seed:
    """A file to mutate, the reader it is meant for, and the cheap experiment that reads it.

    :param experiment: ``None`` for a file no experiment reads (only ``recon info`` runs on it).
    :param companion: a second file that goes with it (BART's ``.hdr`` beside its ``.cfl``).
    """

    path: Path
    reader: str
    experiment: str | None
    settings: tuple = ()
    companion: Path | None = None


#: Real files (relative to the test-data folder), their reader and the experiment that reads them.
REAL_FILES = (
    ("ct/tooth.h5", "data-exchange", "ct-fbp", ("input.index=0",)),
    ("ct/nxtomo_skeleton_24888.nxs", "nxtomo", "ct-fbp", ()),
    ("ct/sino360_neutron.tif", "tiff-sinogram", "ct-fbp", ("input.angles_deg=[0,360]",)),
    ("ct/htc2022/htc2022_ta_full.mat", "htc2022", "ct-fbp", ()),
    ("ct/htc2022/htc2022_solid_disc_full_recon_fbp_seg.mat", "htc2022", None, ()),
    ("mri/brain_alias_8ch.mat", "matlab-kspace", "mri-zf", ()),
)


def write_seeds(folder) -> list[Seed]:
    """Write one small file per writer recon has into ``folder``, and list them with the real files.

    The real files come from ``$RECON_TESTDATA`` or ``../shared/testdata`` when that folder exists.
    """
    import numpy as np
    import scipy.io

    from recon.datasets.bart_cfl import write_cfl
    from recon.experiments.config import load_experiment
    from recon.experiments.examples import write_example
    from recon.experiments.run import run_experiment
    from recon.scaleout.example_scans import write_ct_scans

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scan = write_ct_scans(folder, 1, size=24, views=12, slices=2)[0]
    seeds = [Seed(scan, "recon", "ct-fbp")]
    output = run_experiment(load_experiment("ct-fbp"), input_path=scan, output_path=folder / "output.h5",
                            overwrite=True, quiet=True).output
    seeds.append(Seed(output, "recon output (rerun)", "ct-fbp"))
    for kind, experiment in (("deblur", "deblur-wiener"), ("multiband", "deblur-multiband"), ("radar", "mimo-bp")):
        settings = ("solver.max_iter=2",) if kind == "multiband" else ()
        seeds.append(Seed(write_example(kind, folder / f"{kind}.h5", overwrite=True), f"example {kind}", experiment,
                          settings))
    rng = np.random.default_rng(0)
    kspace = (rng.standard_normal((16, 12, 1, 2)) + 1j * rng.standard_normal((16, 12, 1, 2))).astype(np.complex64)
    kspace[:, 1::2] = 0        # every other phase-encode line missing: an undersampled scan
    cfl = write_cfl(folder / "kspace", kspace, overwrite=True)
    seeds.append(Seed(cfl.with_suffix(".cfl"), "bart-cfl", "mri-zf", companion=cfl.with_suffix(".hdr")))
    scipy.io.savemat(folder / "kspace.mat", {"kspace": kspace[:, :, 0]})
    seeds.append(Seed(folder / "kspace.mat", "matlab-kspace", "mri-zf"))
    data = real_data_folder()
    if data is not None:
        for relative, reader, experiment, settings in REAL_FILES:
            if (data / relative).is_file():
                seeds.append(Seed(data / relative, reader, experiment, settings))
    return seeds


def real_data_folder() -> Path | None:
    """``$RECON_TESTDATA``, or ``../shared/testdata`` beside the repository, if it exists."""
    given = os.environ.get("RECON_TESTDATA")
    candidate = Path(given) if given else Path(__file__).resolve().parents[3] / "shared" / "testdata"
    return candidate if candidate.is_dir() else None
