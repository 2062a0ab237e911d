r"""Simulated measurement noise: relative white Gaussian noise, CT photon counting, photon-limited imaging.

Each function takes a clean tensor shaped ``(batch, channel, *spatial)`` and a
``seed``, which is ``None`` (torch's global generator), an ``int`` (a fresh
generator on the data's device seeded with it, so the same seed gives the
same noise on the same kind of device) or a ``torch.Generator`` (used as
is, and advanced).
"""

from __future__ import annotations

import math

import torch

# −log of a zero count is infinite: a detector reading of 0 is taken as this many
# photons, half the smallest positive count, which keeps the line integral finite
# and still larger than that of any pixel that counted a photon.
ZERO_COUNT_FLOOR = 0.5


def _generator(seed: int | torch.Generator | None, device: torch.device) -> torch.Generator | None:
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be None, an int or a torch.Generator, got {type(seed).__name__}")
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def _check_batched(t: torch.Tensor, name: str) -> None:
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.ndim < 2:
        raise ValueError(f"{name} must be shaped (batch, channel, *spatial), got shape {tuple(t.shape)}")


def _positive_finite(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def add_gaussian_noise(
    y: torch.Tensor, relative_level: float, *, seed: int | torch.Generator | None = None
) -> torch.Tensor:
    r"""``y + n`` with white Gaussian ``n`` scaled so that :math:`\|n_b\|_2 = \text{relative\_level}\, \|y_b\|_2` exactly.

    For each batch item :math:`b`, white noise :math:`w_b` is drawn, standard
    normal for real ``y`` and circular complex normal
    (:math:`\operatorname{Re}, \operatorname{Im} \sim \mathcal N(0, 1/2)`
    independent) for complex ``y``, and rescaled:

    .. math::

        n_b = \text{relative\_level}\, \frac{\|y_b\|_2}{\|w_b\|_2}\, w_b .

    This fixes the noise energy instead of its expectation, which is how
    "5 % noise" is usually meant in inverse-problem papers; the noise is then
    Gaussian only up to its norm. An all-zero item gets no noise.

    :param y: clean data, real or complex floating, shaped ``(batch, ...)``.
    :param relative_level: :math:`\|n_b\| / \|y_b\|`, ≥ 0.
    :param seed: ``None``, an ``int`` or a ``torch.Generator`` (see the module docstring).
    :return: a new tensor like ``y``.

    >>> y = torch.ones(2, 1, 8, 8)
    >>> noisy = add_gaussian_noise(y, 0.05, seed=0)
    >>> ratio = (noisy - y).flatten(1).norm(dim=1) / y.flatten(1).norm(dim=1)
    >>> [round(r, 6) for r in ratio.tolist()]
    [0.05, 0.05]
    """
    _check_batched(y, "y")
    if not (y.is_floating_point() or y.is_complex()):
        raise ValueError(f"y must be a real or complex floating tensor, got {y.dtype}")
    if (
        isinstance(relative_level, bool)
        or not isinstance(relative_level, (int, float))
        or not math.isfinite(relative_level)
        or relative_level < 0
    ):
        raise ValueError(f"relative_level must be a finite number >= 0, got {relative_level!r}")
    generator = _generator(seed, y.device)
    draw_device = generator.device if generator is not None else y.device
    # torch.randn with a complex dtype draws circular noise of unit total variance.
    noise = torch.randn(y.shape, dtype=y.dtype, device=draw_device, generator=generator).to(y.device)
    # Norms in float64 so that the ratio holds to float32 round-off even for large tensors.
    signal_norm = torch.linalg.vector_norm(y.flatten(1).to(_wide(y.dtype)), dim=1)
    noise_norm = torch.linalg.vector_norm(noise.flatten(1).to(_wide(y.dtype)), dim=1)
    scale = (relative_level * signal_norm / noise_norm).to(y.real.dtype)
    return y + noise * scale.reshape((-1,) + (1,) * (y.ndim - 1))


def relative_noise_sigmas(y: torch.Tensor, relative_level: float) -> list[float]:
    r"""The per-sample σ of :func:`add_gaussian_noise`'s noise on each batch item: :math:`\text{relative\_level}\,\|y_b\|_2/\sqrt{M}`.

    :math:`\|n_b\| = \text{relative\_level}\,\|y_b\|` exactly, so this is the σ with
    :math:`\|n_b\|^2 = M\sigma^2` over the :math:`M` samples of an item (what ``metadata@noise_sigma`` holds).

    >>> [round(s, 6) for s in relative_noise_sigmas(torch.full((2, 1, 4, 4), 3.0), 0.1)]   # 0.1 * 12 / 4
    [0.3, 0.3]
    """
    _check_batched(y, "y")
    return (relative_level * y.flatten(1).norm(dim=1) / y[0].numel() ** 0.5).tolist()


def _wide(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype.is_complex else torch.float64


def poisson_transmission(
    line_integrals: torch.Tensor,
    photons: float,
    *,
    seed: int | torch.Generator | None = None,
    zero_count_floor: float = ZERO_COUNT_FLOOR,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Photon counts behind a CT sample, and the line integrals measured from them.

    With ``photons`` :math:`I_0` reaching each detector pixel in a blank scan,
    Beer–Lambert and photon counting give

    .. math::

        N \sim \operatorname{Poisson}\big(I_0\, e^{-y}\big), \qquad
        \tilde y = -\log \frac{\max(N, \nu)}{I_0},

    where :math:`\nu` = ``zero_count_floor`` (0.5 photon) replaces a count of
    0, whose logarithm is infinite, so :math:`\tilde y` is always finite. For
    large counts :math:`\tilde y \approx y + \epsilon` with
    :math:`\operatorname{Var}\epsilon \approx e^{y} / I_0`.

    :param line_integrals: clean sinogram :math:`y` (real floating, finite), shaped ``(batch, ...)``.
    :param photons: blank-scan photons per detector pixel :math:`I_0`, > 0.
    :param seed: ``None``, an ``int`` or a ``torch.Generator`` (see the module docstring).
    :param zero_count_floor: the count that stands in for 0 in the logarithm, in (0, 1].
    :return: ``(counts, noisy_line_integrals)``, both shaped and typed like ``line_integrals``;
        ``counts`` holds whole numbers.

    >>> y = torch.full((1, 1, 4, 100), 2.0)
    >>> counts, noisy = poisson_transmission(y, photons=1e4, seed=0)
    >>> bool(torch.isfinite(noisy).all()), round(float(noisy.mean()), 1)
    (True, 2.0)
    """
    _check_batched(line_integrals, "line_integrals")
    if not line_integrals.is_floating_point():
        raise ValueError(f"line_integrals must be a real floating tensor, got {line_integrals.dtype}")
    if not bool(torch.isfinite(line_integrals).all()):
        raise ValueError("line_integrals must be finite, got inf or NaN")
    photons = _positive_finite(photons, "photons")
    floor = _positive_finite(zero_count_floor, "zero_count_floor")
    if floor > 1:
        raise ValueError(f"zero_count_floor must be in (0, 1], got {zero_count_floor!r}")
    generator = _generator(seed, line_integrals.device)
    rates = photons * torch.exp(-line_integrals)
    counts = _poisson(rates, generator)
    noisy = -torch.log(counts.clamp(min=floor) / photons)
    return counts, noisy


def add_poisson_noise(
    x: torch.Tensor, peak: float, *, seed: int | torch.Generator | None = None
) -> torch.Tensor:
    r"""Photon counts of a photon-limited intensity image whose brightest pixel expects ``peak`` photons.

    For each batch item :math:`b`,

    .. math::

        N_b \sim \operatorname{Poisson}\Big(\frac{\text{peak}}{\max x_b}\, x_b\Big),

    so the signal-to-noise ratio of a pixel is :math:`\sqrt{\text{peak}\, x / \max x_b}`:
    a lower ``peak`` is a noisier image. The counts are in photons, not in the
    units of ``x``; ``N_b \max x_b / \text{peak}`` is an unbiased estimate of
    :math:`x_b`. An all-zero item gives zero counts.

    :param x: non-negative real floating intensities, shaped ``(batch, ...)``.
    :param peak: expected photons at each item's maximum, > 0.
    :param seed: ``None``, an ``int`` or a ``torch.Generator`` (see the module docstring).
    :return: float counts shaped and typed like ``x``.

    >>> x = torch.tensor([[[0.0, 0.5, 1.0]]])
    >>> counts = add_poisson_noise(x, peak=1e6, seed=0)
    >>> counts[0, 0, 0].item(), round(counts[0, 0, 2].item() / 1e6, 2)
    (0.0, 1.0)
    """
    _check_batched(x, "x")
    if not x.is_floating_point():
        raise ValueError(f"x must be a real floating tensor, got {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite, got inf or NaN")
    smallest = float(x.min()) if x.numel() else 0.0
    if smallest < 0:
        raise ValueError(f"x must be non-negative (it is a Poisson rate up to scale), got min {smallest}")
    peak = _positive_finite(peak, "peak")
    generator = _generator(seed, x.device)
    maxima = x.flatten(1).amax(dim=1).reshape((-1,) + (1,) * (x.ndim - 1))
    # An all-zero item would give 0/0; its rates are 0 whatever the scale.
    scale = torch.where(maxima > 0, peak / maxima.clamp(min=torch.finfo(x.dtype).tiny), torch.zeros_like(maxima))
    return _poisson(x * scale, generator)


def _poisson(rates: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Poisson samples of ``rates``, drawn on the generator's device and returned on the rates'."""
    draw_device = generator.device if generator is not None else rates.device
    return torch.poisson(rates.to(draw_device), generator=generator).to(rates.device)
