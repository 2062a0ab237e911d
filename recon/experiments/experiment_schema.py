"""``EXPERIMENT_SCHEMA``: every key an experiment config may hold, with its default and meaning.

The ``doc`` strings are the config reference: the documentation prints them
with :func:`recon.experiments.schema.iter_fields`. A key missing from a YAML
file takes the default given here.

>>> from recon.experiments.schema import validate
>>> config = validate({"solver": {"kind": "fbp"}}, EXPERIMENT_SCHEMA, "my.yaml")
>>> config["solver"]["kind"], config["solver"]["filter"], config["prior"]["kind"]
('fbp', 'ramp', 'none')
"""

from __future__ import annotations

from recon.experiments.schema import Field, Section

INPUT_FORMATS = ("auto", "recon", "data-exchange", "nxtomo", "lodopab", "htc2022", "tiff-sinogram")
PRIOR_KINDS = ("none", "tv", "weighted-tv", "l1-wavelet", "tikhonov", "l1", "l2", "joint-tv", "pnp", "diffusion",
               "unrolled", "lpn")
SOLVER_KINDS = ("fbp", "sirt", "pdhg", "fista", "admm", "cgls", "zero-filled", "cg", "coil-split-admm",
                "back-projection", "kirchhoff", "csalsa", "wiener", "richardson-lucy", "deconvolution-admm",
                "pnp-admm", "pnp-fista", "hqs", "red", "dps", "diffpir", "red-diff", "ula", "unrolled")
MODALITIES = ("ct", "mri", "mimo", "deblur")
FBP_FILTERS = ("ramp", "shepp-logan", "cosine", "hann")
WAVELETS = ("haar", "db1", "db2", "db3", "db4")

INPUT = Section({
    "path": Field(str, None, nullable=True,
                  doc="The measurement file; the command's --input overrides it."),
    "format": Field(str, "auto", choices=INPUT_FORMATS,
                    doc="The file's format; 'auto' tells it from the file's content and name."),
    "index": Field(int, None, minimum=0, nullable=True,
                   doc="Which sample (LoDoPaB) or detector row to reconstruct; null: the file's only one, or all."),
    "stream": Field(str, "auto", choices=("auto", "slices", "off"),
                    doc="How a multi-slice input without index runs: 'auto' reads and solves it whole when it fits "
                        "--max-memory and slice by slice, into a growing output, when it does not; 'slices' always "
                        "slice by slice; 'off' whole, or refused when it does not fit. Applies to the layouts "
                        "whose slices are independent (recon, data-exchange, nxtomo, fastmri)."),
    "chunk": Field(int, None, minimum=1, nullable=True,
                   doc="Streamed: how many slices are read and solved together (one batch, one operator "
                       "application for all); null: as many as fit --max-memory, at most 32."),
    "angles_deg": Field("float-pair", None, nullable=True,
                        doc="[first, last] projection angle in degrees, for files that store no angles (TIFF)."),
    "angles_endpoint": Field(bool, False,
                             doc="Whether the last angle of angles_deg is itself a view (false: [first, last))."),
    "centre_offset": Field("str-or-float", "auto", choices=("auto",),
                           doc="Rotation centre's offset from the detector middle, in detector pixels; "
                               "'auto' estimates it from opposing views."),
    "intensities": Field(str, "auto", choices=("auto", "intensity", "line-integral"),
                         doc="Whether the data are raw intensities (log-converted) or line integrals; "
                             "'auto' decides from the values."),
    "allow_links": Field(bool, False,
                         doc="Whether an HDF5 input may reach other files (external links, virtual datasets) in "
                             "its own folder; links outside that folder are refused either way."),
    "view_step": Field(int, 1, minimum=1,
                       doc="Keep every view_step-th view (sparse-view experiments, or a quick look)."),
    "arc_deg": Field("float-pair", None, nullable=True,
                     doc="[start, length] in degrees: keep only the views in that arc (limited-angle "
                         "experiments, e.g. [0, 90]); null keeps all."),
}, doc="Where the measurement comes from and how to read it.")

OPERATOR = Section({
    "geometry": Field(str, "from-input", choices=("from-input",),
                      doc="Where the scan geometry comes from; 'from-input' uses what the file stores."),
    "projector": Field(str, "linear", choices=("linear", "line", "strip"),
                       doc="ASTRA projector model: linear interpolation, line or strip integrals."),
    "image_shape": Field("int-pair", None, minimum=1, nullable=True,
                         doc="[rows, columns] of the reconstructed image; null: chosen from the geometry."),
    "pixel_size": Field(float, None, minimum=0, exclusive_minimum=True, nullable=True,
                        doc="Image pixel size in the geometry's length unit; null: chosen from the geometry."),
    "ndim": Field(int, 2, minimum=2, maximum=3,
                  doc="MRI: 2 reconstructs slice by slice, 3D k-space (BART's PHS2 axis) split exactly into 2D "
                      "problems first: along depth if the mask is the same on every kz plane, else along the "
                      "read-out; 3 reconstructs the volume as one problem (3D FFT, 3D coil maps and prior), "
                      "reading the slice axis as kz (a fastMRI file's too)."),
    "coil_maps": Field(str, "espirit", choices=("espirit", "lowres", "from-input"),
                       doc="MRI: coil sensitivities by ESPIRiT, by the low-resolution estimate, or as the file "
                           "stores them."),
    "espirit_crop": Field(float, 0.0, minimum=0, maximum=1,
                          doc="MRI, ESPIRiT: maps are set to 0 where their eigenvalue is below this (outside "
                              "the object); 0 keeps every pixel, like the background of an RSS reference."),
    "calibration": Field("int-pair", None, minimum=1, nullable=True,
                         doc="MRI: [rows, cols] of the central k-space block the coil maps are calibrated on "
                             "([depth, cols] for operator.ndim 3 or a volume split along its read-out, "
                             "sampled on every read-out row); null: the fully sampled centre found in the data."),
    "psf": Field(str, None, nullable=True,
                 doc="Deblurring: a PSF file replacing the input's (.npy, HDF5 with one dataset, or "
                     "FILE.h5:DATASET), (kh, kw) or one per channel (channels, kh, kw); null: the input's /psf."),
    "boundary": Field(str, "from-input", choices=("from-input", "circular", "zero", "reflect"),
                      doc="Deblurring: what the image is outside its frame (periodic, zero, mirrored); "
                          "'from-input': the file's @boundary (default reflect)."),
}, doc="The forward model A.")

PRIOR = Section({
    "kind": Field(str, "none", choices=PRIOR_KINDS,
                  doc="The regulariser: none, total variation, weighted TV, l1 of wavelet coefficients, "
                      "Tikhonov (squared l2 of the gradient), l1 of the pixels (radar), squared l2 of the "
                      "pixels (Wiener) or joint TV across bands (multiband deblurring); pnp and diffusion (a "
                      "trained denoiser or score network); unrolled (a trained unrolled solver, with solver.kind "
                      "unrolled); lpn (a learned proximal network, CT with admm or pdhg)."),
    "strength": Field("str-or-float", 0.0, choices=("auto",), minimum=0,
                      doc="Regularisation weight λ, read as strength_scale says; for pnp with hqs or red, λ / ‖A‖² "
                          "(hqs: the data step's α at the end of the schedule); for lpn, λ / ‖A‖². 'auto' (CT, MRI and "
                          "single-band deblurring with tv, l1-wavelet or tikhonov; CT also weighted-tv, deblurring "
                          "l2): chosen from the data's own noise level (recon.experiments.auto_strength)."),
    "fixed_strength": Field(float, 0.002, minimum=0,
                            doc="strength auto: the relative strength used when the data shows no noise or the "
                                "trials cannot resolve the discrepancy; the discrepancy's path starts here."),
    "auto_rule": Field(str, None, choices=("discrepancy", "noise-proportional"), nullable=True,
                       doc="strength auto: the discrepancy principle ‖Ax - y‖ = τ σ √m (trial solves), or the "
                           "noise-proportional rule λ = κ ν^p, ν = σ × gain of Aᴴ / max|Aᴴy| (no trial solve); null: "
                           "noise-proportional for tv (κ known, "
                           "and better on the validation data), discrepancy for the other priors."),
    "discrepancy_tau": Field(float, None, minimum=0, exclusive_minimum=True, nullable=True,
                             doc="strength auto: τ in ‖Ax - y‖ = τ σ √m; null: each modality's τ chosen on its "
                                 "validation data (scripts/auto_strength_tau.py)."),
    "noise_kappa": Field(float, None, minimum=0, exclusive_minimum=True, nullable=True,
                         doc="strength auto: κ in λ = κ ν^p; null: each modality's κ for tv, chosen on its validation "
                             "data (scripts/auto_strength_tau.py); other priors need one given."),
    "noise_power": Field(float, None, minimum=0, exclusive_minimum=True, nullable=True,
                         doc="strength auto, noise-proportional: p in λ = κ ν^p, ν the noise relative to the "
                             "back-projected data; null: each modality's p for tv, chosen with κ."),
    "aliasing_weight": Field(float, None, minimum=0, nullable=True,
                             doc="strength auto, noise-proportional, MRI: c in λ = κ ν + c α, α the aliasing level "
                                 "of the undersampled k-space; null: the c chosen with κ on the validation data."),
    "auto_trials": Field(int, 7, minimum=1,
                         doc="strength auto (discrepancy): trial solves at most, on a warm-started path from "
                             "fixed_strength half a decade at a time, then inside the bracket."),
    "auto_iterations": Field(int, None, minimum=1, nullable=True,
                             doc="strength auto (discrepancy): solver iterations of each trial; null: "
                                 "solver.max_iter / 4, so auto costs at most 1 + auto_trials / 4 solves."),
    "strength_scale": Field(str, "relative", choices=("relative", "absolute"),
                            doc="'relative': λ = strength · max|Aᵀy|, so one strength suits data of any scale; "
                                "'absolute': λ = strength. Radar (C-SALSA) ignores it: its prior acts on the "
                                "image normalised to peak ≈ 1, so λ = strength is relative already; so do "
                                "Wiener's quadratic priors (scale-free). With the Poisson likelihood relative "
                                "means λ = strength / mean(y)."),
    "isotropic": Field(bool, True,
                       doc="TV of the gradient's 2-norm per pixel (true) or of its 1-norm (anisotropic)."),
    "pilot": Field(str, "tv", choices=("fbp", "tv", "network"),
                   doc="Weighted TV: where the edge weights come from: the gradient of an FBP or of a TV "
                       "reconstruction, or network: |∇x| predicted from the FBP by prior.pilot_network (CT)."),
    "pilot_network": Field(str, "tv-weights-ct",
                           doc="Weighted TV, pilot network: a shipped edge-map network's name or a .safetensors "
                               "path (recon train weights)."),
    "pilot_strength": Field(float, None, minimum=0, nullable=True,
                            doc="Weighted TV: the TV pilot's strength, read like prior.strength; "
                                "null: prior.strength."),
    "eta": Field(float, 0.01, minimum=0, exclusive_minimum=True,
                 doc="Weighted TV: gradient scale η below which a pixel counts as flat, "
                     "relative to the pilot's range (pilot network: the 99th percentile of |FBP|)."),
    "p": Field(float, 0.0, minimum=0, maximum=1,
               doc="Weighted TV: exponent in w = (η / √(η² + |∇pilot|²))^(1-p); "
                   "1: plain TV, 0: the strongest edge preservation."),
    "wavelet": Field(str, "db4", choices=WAVELETS,
                     doc="l1-wavelet: the wavelet family."),
    "levels": Field(int, 3, minimum=1,
                    doc="l1-wavelet: number of decomposition levels."),
    "undecimated": Field(bool, False,
                         doc="l1-wavelet, deblurring only: the undecimated (shift-invariant) wavelet frame, 3 "
                             "levels + 1 bands at full size, instead of the orthogonal transform; +2.3 dB on the "
                             "96² camera test (tests/test_wavelet_frame.py)."),
    "acts_on": Field(str, "magnitude", choices=("magnitude", "complex"),
                doc="Radar: apply the prior to |x| (phase kept, Oral & Öktem 2024) or to the complex x itself."),
    "l1_strength": Field(float, 0.0, minimum=0,
                         doc="Radar, prior.kind tv: add this multiple of ‖x‖₁ to the TV, i.e. "
                             "R = λ (TV + l1_strength · ‖·‖₁); 0: plain TV."),
    "prox_max_iter": Field(int, 200, minimum=1,
                           doc="Radar, prior.kind tv: inner iterations of the TV prox in each C-SALSA step."),
    "denoiser": Field(str, "drunet-small-general",
                      doc="pnp: the denoiser: a shipped model's name (`recon weights` lists them), 'bm3d', or the "
                          "path of a .safetensors file (recon train) or of deepinv's drunet_gray.pth / dncnn_*.pth. "
                          "unrolled: the trained unrolled solver (e.g. unrolled-galaxy-admm). lpn: the learned "
                          "proximal network (e.g. lpn-phantom)."),
    "weights": Field(str, None, nullable=True,
                     doc="pnp, lpn: a weights file of your own; overrides prior.denoiser when set."),
    "sigma": Field(float, 0.02, minimum=0, exclusive_minimum=True,
                   doc="pnp: the denoiser's noise level, as a fraction of the image range (pnp-admm, pnp-fista and "
                       "red use it throughout; hqs ends its schedule there)."),
    "sigma_start": Field(float, 0.2, minimum=0, exclusive_minimum=True,
                         doc="pnp with hqs: the first noise level of the geometric schedule (fraction of the range)."),
    "image_range": Field("float-pair", None, nullable=True,
                         doc="pnp, lpn: [low, high] of the image in its own units, mapped to the network's [0, 1]; null: "
                             "[0, 99.5th percentile of |x0|], x0 from 10 CGLS iterations."),
    "complex_mode": Field(str, "magnitude", choices=("magnitude", "real-imag", "signed-parts"),
                          doc="pnp, complex images (MRI, radar): denoise |x| and keep the phase, or the real and "
                              "imaginary parts as two images (range [-m, m] shifted to the denoiser's [0, 1]), or "
                              "each part's positive and negative halves as non-negative images (for a denoiser "
                              "trained on magnitudes; radar's prior.acts_on: complex)."),
}, doc="The regulariser and its weight.")

SOLVER = Section({
    "kind": Field(str, "pdhg", choices=SOLVER_KINDS,
                  doc="The algorithm: filtered back-projection, SIRT, PDHG, FISTA, ADMM or CGLS (CT); "
                      "zero-filled (root-sum-of-squares), cg (CG-SENSE) or coil-split-admm (ADMM with a "
                      "split per coil, every step in closed form: the fastest for TV and wavelets) for MRI, "
                      "which also takes PDHG, FISTA and ADMM; back-projection, kirchhoff (migration) or csalsa "
                      "(C-SALSA, min R(x) s.t. ‖Ax - y‖ ≤ ε) for radar; wiener (closed form), "
                      "richardson-lucy, deconvolution-admm (every split in closed form) or pdhg for deblurring; "
                      "pnp-admm, pnp-fista, hqs, red (plug-and-play), dps, diffpir, red-diff, ula (diffusion "
                      "samplers) and unrolled (a trained unrolled solver, prior.kind unrolled)."),
    "filter": Field(str, "ramp", choices=FBP_FILTERS,
                    doc="FBP's filter (also for the fbp pilot of weighted TV)."),
    "max_iter": Field(int, 200, minimum=0,
                      doc="Iteration limit of an iterative solver."),
    "tol": Field(float, 0.0, minimum=0,
                 doc="Stop when the relative change ‖x_k+1 - x_k‖/‖x_k+1‖ falls below this; 0: never."),
    "residual_tol": Field(float, 0.0, minimum=0,
                          doc="Stop when the solver's own residual falls below this (where it defines one); 0: never."),
    "time_limit": Field(float, None, minimum=0, exclusive_minimum=True, nullable=True,
                        doc="Stop after this many seconds; null: no limit."),
    "preconditioning": Field(str, "auto", choices=("auto", "ramp", "diagonal", "scalar"),
                             doc="Step sizes: 'auto' picks for the solver and operator; ramp-filter, "
                                 "diagonal (per pixel and ray) or one scalar step."),
    "constraint": Field(str, "none", choices=("none", "nonnegative"),
                        doc="A constraint on the image: none or x >= 0."),
    "damping": Field(float, 0.0, minimum=0,
                     doc="CG-SENSE: δ in (AᴴA + δI)x = Aᴴy (Tikhonov damping); 0: none."),
    "penalty": Field(float, None, minimum=0, exclusive_minimum=True, nullable=True,
                     doc="The ADMM penalty: C-SALSA's μ, its prox step is prox of R/μ (threshold λ/μ; null: 1); "
                         "deconvolution-admm's ρ on the prior's split (null: 10λ, 2λ with the Poisson term); "
                         "pnp-admm's α / ‖A‖² (null: 0.1)."),
    "kappa": Field(float, 1.0, minimum=0, exclusive_minimum=True,
                   doc="C-SALSA: κ in the x-update (κI + AᴴA)x = ...; comparable to ‖A‖² balances the splits."),
    "cg_max_iter": Field(int, 5, minimum=1,
                         doc="C-SALSA, and the pnp solvers where the data step has no closed form (CT, multi-coil MRI): "
                             "CG steps of each x-update."),
    "epsilon": Field(float, None, minimum=0, nullable=True,
                     doc="C-SALSA: the radius ε of ‖Ax - y‖ ≤ ε; null: σ√M from solver.noise_sigma or the "
                         "file's metadata@noise_sigma."),
    "noise_sigma": Field(float, None, minimum=0, nullable=True,
                         doc="C-SALSA: the noise level σ (E|n|² = σ²) for ε = σ√M; Richardson–Lucy: the "
                             "Gaussian σ per pixel of the discrepancy stop; null: the file's metadata@noise_sigma."),
    "data_term": Field(str, "least-squares", choices=("least-squares", "poisson"),
                       doc="deconvolution-admm: ½‖Hx - y‖² (Gaussian noise) or the Poisson likelihood "
                           "Σ Hx - y log Hx (photon counts, SPIRAL-TAP)."),
    "discrepancy": Field(str, "auto", choices=("auto", "none", "poisson", "gaussian"),
                         doc="Richardson–Lucy: stop when the misfit reaches the noise's level: Poisson deviance "
                             "≤ τN, or ‖Hx - y‖² ≤ τNσ² (σ: solver.noise_sigma or metadata@noise_sigma); auto: "
                             "gaussian when σ is known, else poisson; none: max_iter and tol only."),
    "tau": Field(float, 1.0, minimum=0, exclusive_minimum=True,
                 doc="Richardson–Lucy: the discrepancy threshold τ (below 1 stops later)."),
    "step": Field(float, 1.0, minimum=0, exclusive_minimum=True,
                  doc="pnp-fista and red: the gradient step in units of 1/‖A‖² (1/(‖A‖² + λ) for red); dps: ζ, the "
                      "residual-normalised step; ula: δ in units of the paper's default."),
    "samples": Field(int, 1, minimum=1,
                     doc="dps, diffpir, red-diff, ula: posterior samples to draw; the result is their mean, with the "
                         "per-pixel standard deviation beside it (/std)."),
    "keep_samples": Field(bool, False, doc="Samplers: also store every sample (/samples)."),
    "seed": Field(int, 0, minimum=0, doc="Samplers: sample k is drawn from seed + k; the same seed, the same samples."),
    "sigma_max": Field(float, 10.0, minimum=0, exclusive_minimum=True,
                       doc="dps, diffpir, red-diff: the first noise level of the schedule (fraction of the image range)."),
    "sigma_min": Field(float, 0.002, minimum=0, exclusive_minimum=True,
                       doc="dps, diffpir, red-diff: the last noise level (fraction of the image range)."),
    "zeta": Field(float, 0.3, minimum=0, maximum=1, doc="diffpir: the share of fresh noise when re-noising."),
    "learning_rate": Field(float, 0.1, minimum=0, exclusive_minimum=True, doc="red-diff: Adam's learning rate."),
    "burn_in": Field(int, 200, minimum=0, doc="ula: steps discarded before the chain's state is kept."),
    "relaxation": Field(float, 1.7, minimum=0, maximum=1.99, exclusive_minimum=True,
                        doc="deconvolution-admm and csalsa: over-relaxation α in (0, 2): each split sees "
                            "α Kx + (1 - α) z; 1 is plain ADMM (the paper's C-SALSA), 1.7 reached the deblurring "
                            "benchmark's best in 9 iterations instead of 16."),
}, doc="The algorithm and its stopping rules.")

OUTPUT = Section({
    "path": Field(str, None, nullable=True,
                  doc="The result file; the command's --output overrides it."),
    "figure": Field(bool, True,
                    doc="Also write a PNG figure beside the result."),
    "history": Field(bool, True,
                     doc="Store the solver's per-iteration history in the result."),
    "segment": Field(str, "none", choices=("none", "otsu"),
                     doc="otsu: also write a binary segmentation (/segmentation, each slice above its Otsu "
                         "threshold) and, where the input has a reference segmentation (HTC2022), its Matthews "
                         "correlation (metrics mcc, the challenge's score)."),
}, doc="What is written.")

EXPERIMENT_SCHEMA = Section({
    "name": Field(str, "", doc="A short name for the experiment."),
    "description": Field(str, "", doc="One line saying what the experiment does."),
    "modality": Field(str, "ct", choices=MODALITIES, doc="The imaging modality (mimo: near-field MIMO radar; deblur: deconvolution)."),
    "input": INPUT,
    "operator": OPERATOR,
    "prior": PRIOR,
    "solver": SOLVER,
    "output": OUTPUT,
}, doc="One experiment: measurement, operator, prior, solver and outputs.")
