r"""BART's ``pics`` with total variation, run as a subprocess on recon's MRI conventions: a peer to compare with.

:func:`run_bart_pics` writes recon's multi-coil k-space ``(coils, rows, cols)`` and
coil maps as BART ``.cfl`` files shaped ``(rows, cols, 1, coils)`` (BART's
``READ, PHS1, PHS2, COIL``: recon's rows are BART's x), runs

.. code-block:: text

    bart pics -w 1 -i <iterations> -R T:3:0:<λ> [-p pattern] kspace sensitivities image

and reads back the image ``(rows, cols)``. What that command minimises, checked
on the 64² Shepp–Logan problem of ``tests/test_bart_crosscheck.py`` (8 birdcage
coils, 4× random columns with 8 % centre, complex noise) with Debian's BART 0.8.00:

.. math::

    \tfrac12 \|M\mathcal F S x - y\|_2^2 + \lambda \sum_i
        \big(|x_i - x_{i - e_1}|^2 + |x_i - x_{i - e_2}|^2\big)^{1/2},
    \qquad \text{indices modulo } (\text{rows}, \text{cols}).

* **Forward model.** The same as :class:`recon.operators.MultiCoilMRI`: BART's
  centred FFT (``fftmod``, FFT, ``fftmod``) is unitary and equals
  :func:`recon.operators.fourier.centred_fft`, the maps multiply the image
  (:math:`S_c x`, no conjugate) and the mask is the non-zero pattern of
  k-space (or ``-p``). ``bart pics -l2 -r 0.1 -w 1 -i 300`` equals recon's CG
  solution of :math:`(A^{\mathsf H}A + 0.1 I)x = A^{\mathsf H}y` to 7e-7 (relative).
* **Scaling.** Without ``-w`` BART divides k-space by a scale :math:`s` it
  estimates from the k-space centre (0.685 here), so it solves the problem
  with :math:`\lambda s` in recon's units and returns the image divided by
  :math:`s` (``-S`` multiplies it back: ``-S`` without ``-w`` equals ``-w 1`` with
  :math:`\lambda s`, to 1e-6). ``-w 1`` ("inverse scaling of the data") makes
  :math:`s = 1`: then BART's :math:`\lambda` is recon's.
* **TV.** ``T:3:0:λ`` is isotropic (the gradient's two components are
  thresholded jointly, by the modulus of the complex differences) over flags
  ``3`` = axes 0 and 1; the weight is :math:`\lambda` itself, as in
  :class:`recon.priors.TV`. But BART's differences are *backward* and
  *periodic*, :math:`x_i - x_{i-1 \bmod n}` (``md_zfdiff``: a circular shift and a
  subtraction), where recon's are forward with a Neumann boundary,
  :math:`x_{i+1} - x_i` and 0 on the last row/column. recon's ADMM on the
  objective above (a periodic backward gradient in place of ∇) reproduces
  BART's image to 2e-5. Against recon's own ``TV(0.01)`` at λ = 0.01:

  ====================================  =================  ================
  image                                 recon's objective  BART's objective
  ====================================  =================  ================
  recon ``TV(0.01)``, its optimum       14.3073            14.4425
  BART ``T:3:0:0.01``, its optimum      14.4125            14.3267
  ====================================  =================  ================

  so the two images differ by 7.3 % (relative ℓ2) while their PSNRs against
  the phantom are 23.10 and 23.14 dB (zero-filled: 17.61). On recon's image
  BART's TV is 315.6 against recon's 302.0: 1.8 % from the wrap-around
  differences (periodic forward TV: 307.6) and 2.6 % from pairing the two
  components at a pixel backward instead of forward. Reflecting the data
  (:math:`j \mapsto -j \bmod n`, which commutes with the centred FFT) turns
  BART's pairing into recon's and leaves 3.6 %, the periodic boundary. Anisotropic TV has no pairing:
  ``-R T:1:0:λ -R T:2:0:λ`` against ``TV(λ, isotropic=False)`` differs by the
  boundary alone (3.9 %).
* **Iterations.** TV makes ``pics`` choose ADMM (ρ = 0.5 fixed, ``-u``;
  over-relaxation 1.6; at most 10 CG steps per x-update, ``-C``, to a relative
  residual of 1e-3), and ``-i`` caps the *total number of CG steps*, not ADMM
  iterations (``-i 1000`` ran 834 ADMM iterations); there is no tolerance
  stop. Here ``-u 0.1`` converges faster: ``-i 400`` gets within 4e-5 of the
  limit, against 6e-3 with the default ρ.
* **Threads.** BART uses OpenMP. One thread is the default here, as recon's
  benchmarks pin one torch thread: with another process busy on this 2-core
  machine, ``-i 300`` took 6.1 s with two threads and 1.25 s with one.

Example: a 32² square through 8 simulated coils, fully sampled (BART runs only where it is installed).

>>> import torch
>>> from recon.datasets.coil_simulation import birdcage_coil_maps
>>> from recon.operators import MultiCoilMRI
>>> maps = birdcage_coil_maps(8, (32, 32))
>>> x = torch.zeros(1, 1, 32, 32, dtype=torch.complex64); x[..., 8:24, 8:24] = 1
>>> y = MultiCoilMRI(torch.ones(32, 32), maps).A(x)[0]                  # (coils, rows, cols)
>>> result = run_bart_pics(y, maps, strength=0.01, iterations=50) if bart_available() else None
>>> result is None or (result.image.shape == (32, 32) and bool((result.image - x[0, 0]).abs().max() < 0.05))
True
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class BartResult:
    """BART's image ``(rows, cols)`` (complex64), the wall seconds of the whole ``bart`` process,
    the command line, and what BART printed."""

    image: torch.Tensor
    seconds: float
    command: tuple[str, ...]
    log: str = ""


def bart_available() -> bool:
    """Whether a ``bart`` executable is on the ``PATH``."""
    return shutil.which("bart") is not None


def pics_tv_arguments(strength: float, iterations: int, extra_args=()) -> list[str]:
    """``bart``'s arguments (before the files) for :math:`\\tfrac12\\|Ax-y\\|^2 + \\lambda\\,\\mathrm{TV}(x)` in recon's units.

    >>> " ".join(pics_tv_arguments(0.01, 400, ("-u", "0.1")))
    'pics -w 1 -i 400 -R T:3:0:0.01 -u 0.1'
    """
    if not strength >= 0:
        raise ValueError(f"run_bart_pics: strength must be >= 0, got {strength}")
    if isinstance(iterations, bool) or int(iterations) != iterations or iterations < 1:
        raise ValueError(f"run_bart_pics: iterations must be a positive integer, got {iterations!r}")
    return ["pics", "-w", "1", "-i", str(int(iterations)), "-R", f"T:3:0:{float(strength)!r}", *map(str, extra_args)]


def _checked(kspace, coil_maps, mask) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    kspace = torch.as_tensor(kspace).detach().cpu()
    coil_maps = torch.as_tensor(coil_maps).detach().cpu()
    if kspace.dim() != 3 or not kspace.is_complex():
        raise ValueError(f"run_bart_pics: kspace must be complex (coils, rows, cols), got {kspace.dtype} "
                         f"{tuple(kspace.shape)}")
    if tuple(coil_maps.shape) != tuple(kspace.shape):
        raise ValueError(f"run_bart_pics: coil_maps must be shaped like kspace {tuple(kspace.shape)}, "
                         f"got {tuple(coil_maps.shape)}")
    if mask is not None:
        mask = torch.as_tensor(mask).detach().cpu()
        if tuple(mask.shape) != tuple(kspace.shape[-2:]):
            raise ValueError(f"run_bart_pics: mask must be (rows, cols) = {tuple(kspace.shape[-2:])}, "
                             f"got {tuple(mask.shape)}")
    return kspace, coil_maps, mask


def _as_bart_coils(t: torch.Tensor) -> torch.Tensor:
    """recon's ``(coils, rows, cols)`` as BART's ``(READ, PHS1, PHS2, COIL)`` = ``(rows, cols, 1, coils)``."""
    return t.to(torch.complex64).permute(1, 2, 0)[:, :, None, :]


def run_bart_pics(kspace, coil_maps, strength: float, iterations: int, *, mask=None, threads: int | None = 1,
                  workdir=None, extra_args=(), executable: str = "bart") -> BartResult:
    r"""Reconstruct with ``bart pics -w 1 -i iterations -R T:3:0:strength`` (module text: what it minimises).

    :param kspace: complex ``(coils, rows, cols)``, centred, zero where not measured (recon's convention).
    :param coil_maps: complex ``(coils, rows, cols)``, :math:`y_c = M\mathcal F(S_c x)`.
    :param strength: :math:`\lambda \ge 0`, in recon's units (``-w 1`` turns BART's data scaling off).
    :param iterations: BART's ``-i``; with TV, the budget of CG steps over all ADMM iterations.
    :param mask: optional 0/1 ``(rows, cols)`` passed as ``-p``; by default BART takes the non-zero
        pattern of ``kspace``, which differs only where a measured sample is exactly zero.
    :param threads: ``OMP_NUM_THREADS`` for BART (``None``: the environment's).
    :param workdir: where the ``.cfl`` files go (default: a temporary folder, removed afterwards).
    :param extra_args: more ``pics`` options (``("-u", "0.1")``: ADMM's ρ...), after ``-R``.
    :param executable: the ``bart`` program.
    :returns: the image ``(rows, cols)``, the wall seconds of the ``bart`` process (what a user
        pays: start-up, reading, the iterations, writing), the command line and BART's output.
    :raises RuntimeError: ``bart`` is missing or fails (the message holds its output).
    """
    from recon.datasets.bart_cfl import read_cfl, write_cfl

    kspace, coil_maps, mask = _checked(kspace, coil_maps, mask)
    options = pics_tv_arguments(strength, iterations, extra_args)
    program = shutil.which(executable)
    if program is None:
        raise RuntimeError(f"run_bart_pics: '{executable}' is not on the PATH (Debian: apt-get install bart)")
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(int(threads))
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="recon-bart-") if workdir is None else nullcontext(workdir) as folder:
        folder = Path(folder)
        ksp = write_cfl(folder / "kspace", _as_bart_coils(kspace), overwrite=True)
        sens = write_cfl(folder / "sensitivities", _as_bart_coils(coil_maps), overwrite=True)
        output = folder / "image"
        pattern = []
        if mask is not None:
            pattern = ["-p", str(write_cfl(folder / "pattern", mask.to(torch.float32), overwrite=True))]
        command = (program, *options, *pattern, str(ksp), str(sens), str(output))
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        seconds = time.perf_counter() - start
        log = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            raise RuntimeError(f"bart pics failed (exit status {done.returncode}): {' '.join(command)}\n{log}")
        image = torch.from_numpy(read_cfl(output).copy())
    if tuple(image.shape) != tuple(kspace.shape[-2:]):
        raise RuntimeError(f"bart pics returned an image shaped {tuple(image.shape)}, expected "
                           f"{tuple(kspace.shape[-2:])}: {' '.join(command)}\n{log}")
    return BartResult(image, seconds, command, log)

