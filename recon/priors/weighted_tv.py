r"""Space-variant (weighted) total variation :math:`\lambda \sum_i w_i\, |(\nabla x)_i|`.

Small weights where the image has an edge let the edge through; weight 1 in
flat regions keeps TV's full smoothing there. The weights are an input: a
tensor from anywhere (a later network will predict them), or the rule of the
weighted-TV papers applied to a pilot image :math:`\tilde x` (an FBP, a TV
reconstruction, or the truth in an oracle study):

.. math:: w_i = \left(\frac{\eta}{\sqrt{\eta^2 + |\nabla \tilde x|_i^2}}\right)^{1-p},

with :math:`\eta > 0` the gradient scale below which a pixel counts as flat
and :math:`p \in [0, 1]` (:math:`p = 1` gives plain TV, :math:`p = 0` the
strongest edge preservation).
"""

from __future__ import annotations

import torch

from recon.priors.finite_difference import FiniteDifference
from recon.priors.tv import TV, _pointwise_magnitude


def gradient_magnitude(image: torch.Tensor, ndim: int = 2) -> torch.Tensor:
    r""":math:`|\nabla x|_i`, the isotropic magnitude of the forward differences at each pixel, shaped like ``image``.

    >>> image = torch.zeros(1, 1, 3, 3); image[..., 2:] = 2.0
    >>> gradient_magnitude(image)[0, 0, 0].tolist()
    [0.0, 2.0, 0.0]
    """
    return _pointwise_magnitude(FiniteDifference(ndim).A(image), isotropic=True)[:, :, 0]


def weights_from_magnitude(magnitude: torch.Tensor, *, eta=0.01, p: float = 0.0) -> torch.Tensor:
    r"""The weight rule :math:`w_i = (\eta / \sqrt{\eta^2 + g_i^2})^{1-p}` on a gradient magnitude map :math:`g`.

    ``eta`` is a number or a tensor broadcasting against ``magnitude`` (one η per image).

    >>> [round(w, 6) for w in weights_from_magnitude(torch.tensor([0.0, 0.03]), eta=0.04, p=0.0).tolist()]
    [1.0, 0.8]
    """
    if bool((torch.as_tensor(eta) <= 0).any()):
        raise ValueError(f"weights: eta must be positive, got {eta}")
    if not 0 <= p <= 1:
        raise ValueError(f"weights: p must lie in [0, 1], got {p}")
    return (eta / torch.sqrt(eta**2 + magnitude**2)) ** (1 - p)


def weights_from_pilot(pilot: torch.Tensor, *, eta: float = 0.01, p: float = 0.0, ndim: int = 2) -> torch.Tensor:
    r"""Weights :math:`w_i = (\eta / \sqrt{\eta^2 + |\nabla\tilde x|_i^2})^{1-p}` from a pilot image.

    :param pilot: real or complex image shaped ``(batch, channel, *spatial)``.
    :returns: weights in :math:`(0, 1]`, shaped like ``pilot`` (real).

    >>> import torch
    >>> pilot = torch.zeros(1, 1, 4, 4); pilot[..., 2:] = 1.0       # an edge between columns 1 and 2
    >>> w = weights_from_pilot(pilot, eta=0.01, p=0.0)
    >>> round(w[0, 0, 0, 1].item(), 4), w[0, 0, 0, 3].item()       # at the edge, in the flat part
    (0.01, 1.0)
    """
    return weights_from_magnitude(gradient_magnitude(pilot, ndim), eta=eta, p=p)


class WeightedTV(TV):
    r"""Weighted TV :math:`\lambda \sum_i w_i |(\nabla x)_i|`, a :class:`deepinv.optim.Prior`.

    :param strength: :math:`\lambda`.
    :param weights: non-negative tensor shaped ``(batch or 1, channel or 1, *spatial)``.
    Other arguments as for :class:`recon.priors.TV`. Use :meth:`from_pilot` to
    compute the weights from a pilot image.

    >>> import torch
    >>> pilot = torch.zeros(1, 1, 8, 8); pilot[..., 4:] = 1.0
    >>> prior = WeightedTV.from_pilot(pilot, strength=0.1, eta=0.01)
    >>> round(prior(pilot).item(), 4)     # the pilot's own edge costs almost nothing
    0.008
    """

    def __init__(self, strength: float, weights: torch.Tensor, **tv_options):
        super().__init__(strength, **tv_options)
        weights = torch.as_tensor(weights)
        if weights.is_complex() or bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()):
            raise ValueError("WeightedTV: weights must be real, finite and non-negative")
        if weights.dim() != self.gradient.ndim + 2:
            raise ValueError(f"WeightedTV: weights must be shaped (batch, channel, *spatial) with "
                             f"{self.gradient.ndim} spatial axes, got {tuple(weights.shape)}")
        self.weights = weights

    @classmethod
    def from_pilot(cls, pilot: torch.Tensor, strength: float, *, eta: float = 0.01, p: float = 0.0,
                   **tv_options) -> "WeightedTV":
        """Weighted TV whose weights come from :func:`weights_from_pilot`."""
        ndim = tv_options.get("ndim", 2)
        return cls(strength, weights_from_pilot(pilot, eta=eta, p=p, ndim=ndim), **tv_options)
