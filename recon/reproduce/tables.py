"""The tables ``recon reproduce`` knows: one name, one module, one line each.

Each table module in :mod:`recon.reproduce` provides three functions:

``cells(quick, done) -> {key: (function, args, kwargs)}``
    the cells still to compute, given the values of those already ``done``: a table whose later
    cells depend on earlier ones (the test runs of the setting chosen on validation) names them once
    the earlier ones are in. Each function is a module-level function of that module computing one
    cell (one method on one problem, seed or size) and returning plain numbers, lists and dicts.
``report(quick, values) -> Report``
    the numbers, the paper's beside them where it publishes them, and the claims' verdicts.
``figure(quick, values, report) -> matplotlib Figure``
    the figure written beside the tables.

Importing a table module imports no torch; its cells import what they need.

>>> [name for name in TABLES][:3]
['radar', 'weighted-tv', 'galaxy-shear']
>>> load_table("nope")
Traceback (most recent call last):
...
ValueError: no table 'nope'; known: radar, weighted-tv, galaxy-shear, spiral-tap, deblur-photographs, multiband, mri-tutorial, pnp-vs-tv, lpn-vs-tv, limited-angle, bilevel
"""

from __future__ import annotations

import importlib

#: name -> (module in recon.reproduce, one line for ``recon reproduce --list``)
TABLES = {
    "radar": ("radar", "near-field MIMO radar (Oral & Öktem, IEEE TCI 2024): BP, Kirchhoff, l1, TV on |x| and x, "
                       "PnP; PSNR3D over 5 scenes at 13x13x25 and 25x25x49"),
    "weighted-tv": ("weighted_tv", "adaptive weighted TV (Morotti et al.): weights from the truth, a network, a TV "
                                   "pilot, against TV; few-view CT, tuned on validation, held-out test"),
    "galaxy-shear": ("galaxy_shear", "galaxy shear (Li & Alexander): median |dg| of none, Richardson-Lucy, "
                                     "Tikhonov, unrolled ADMM at SNR 20/100/200, adaptive moments and FPFS"),
    "spiral-tap": ("spiral_tap", "SPIRAL-TAP (Harmany et al.): Poisson-likelihood TV against least-squares TV and "
                                 "Richardson-Lucy at peak counts 10 and 100"),
    "deblur-photographs": ("deblur_photographs", "TV against Wiener and Richardson-Lucy on camera and the Hubble "
                                                 "deep field, Gaussian and motion blur, resized and native views"),
    "multiband": ("multiband", "joint multiband deconvolution (Euclid/Rubin): joint TV with a broad band against "
                               "band by band and uncoupled"),
    "mri-tutorial": ("mri_tutorial", "the MRI tutorial on the 8-coil brain, 4x equispaced and random: zero-filled, "
                                     "CG-SENSE, l1-wavelet, TV"),
    "pnp-vs-tv": ("pnp_vs_tv", "plug-and-play (DPIR, Zhang et al., TPAMI 2021) against TV on few-view CT, each "
                               "tuned on validation, held-out test"),
    "lpn-vs-tv": ("lpn_vs_tv", "learned proximal networks (Fang et al., ICLR 2024): ct-lpn against TV and PnP on "
                               "few-view CT, and its time per image"),
    "limited-angle": ("limited_angle", "HTC2022 limited-angle CT: MCC after Otsu of the learned primal-dual "
                                       "against TV on the real scans, arcs 30-90 degrees"),
    "bilevel": ("bilevel", "bilevel learning of TV (MAID, Salehi et al.; HOAG, Pedregosa): upper-level loss "
                           "against lower-level iterations, learned against grid-best strength"),
}


def table_names() -> list[str]:
    return list(TABLES)


def describe_tables() -> list[str]:
    """One line per table, as ``recon reproduce --list`` prints them."""
    width = max(len(name) for name in TABLES)
    return [f"{name:<{width}}  {summary}" for name, (_, summary) in TABLES.items()]


def load_table(name: str):
    """The module of table ``name``.

    :raises ValueError: for an unknown name, listing the known ones.
    """
    if name not in TABLES:
        raise ValueError(f"no table {name!r}; known: {', '.join(TABLES)}")
    return importlib.import_module(f"recon.reproduce.{TABLES[name][0]}")
