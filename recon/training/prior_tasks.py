r"""What ``recon train weights`` and ``recon train lpn`` train on: one task per ``problem.kind``.

* ``tv-weights``: :class:`~recon.networks.edge_map_net.EdgeMapNet` maps the FBP of a few-view
  sinogram (``problem.views``, parallel beam over 180°, relative Gaussian noise ``problem.noise``)
  of a COULE-like phantom to :math:`|\nabla x|`; gradient-focused MSE between the map and the
  true image's gradient magnitude.
* ``lpn-phantom``: a :class:`~recon.networks.lpn.LearnedProximalNetwork` denoises
  ``problem.patch``² crops of COULE-like phantoms at one noise level ``problem.sigma``.
* ``lpn-laplace``: the authors' 1D experiment, :math:`x \sim \mathrm{Laplace}(0, 1)`,
  :math:`y = x + \sigma n`, fresh samples each step.

LPN losses (``training.loss``): ``l2``, ``l1``, or ``proximal-matching``: an ℓ1 warm-up for the
first ``training.warmup_fraction`` of the steps, then
:math:`1 - \exp(-\|f(y) - x\|^2/\gamma^2)` per sample with γ falling geometrically from
``gamma_start`` to ``gamma_end`` (both per :math:`\sqrt{\text{pixels}}`, as the authors'
:math:`0.08\sqrt{HWC}`) in ``gamma_stages`` equal stages. As :math:`\gamma \to 0` its minimiser
tends to the MAP denoiser, :math:`\operatorname{prox}_{-\sigma^2\log p}`, where ℓ2 gives the MMSE one.
The step size: cosine from ``learning_rate`` to a tenth of it in the warm-up, then from a tenth
to a thousandth (the authors' 1e-3, 1e-4, then 1e-5).

The phantoms are those of :mod:`recon.datasets.image_sources` (train split for training,
validation split for validation); the test split is never seen.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def proximal_matching_loss(estimate: torch.Tensor, truth: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Mean over the batch of :math:`1 - \exp(-\|\hat x - x\|^2/\gamma^2)` (norm over each sample).

    >>> x = torch.zeros(2, 1, 2, 2)
    >>> float(proximal_matching_loss(x, x, 1.0)), round(float(proximal_matching_loss(x + 0.5, x, 1.0)), 4)
    (0.0, 0.6321)
    """
    distance = (estimate - truth).flatten(1).pow(2).sum(dim=1)
    return (1 - torch.exp(-distance / gamma**2)).mean()


def _cosine(start: float, end: float, fraction: float) -> float:
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * min(max(fraction, 0.0), 1.0)))


class _ProximalMatching:
    """The loss and step-size schedule shared by the LPN tasks (module text)."""

    def _setup_schedule(self, training: dict, pixels: int) -> None:
        self.training, self.pixels, self.step = training, pixels, 0

    def begin_step(self, step: int) -> None:
        self.step = step

    def _warmup_steps(self) -> int:
        if self.training["loss"] != "proximal-matching":
            return 0
        return int(round(self.training["warmup_fraction"] * self.training["steps"]))

    def gamma(self, step: int) -> float:
        """γ of the proximal-matching loss at ``step`` (after the warm-up)."""
        t = self.training
        stages = t["gamma_stages"]
        span = max(t["steps"] - self._warmup_steps(), 1)
        stage = min(int((step - self._warmup_steps()) * stages / span), stages - 1)
        ratio = (t["gamma_end"] / t["gamma_start"]) ** (stage / max(stages - 1, 1))
        return t["gamma_start"] * ratio * math.sqrt(self.pixels)

    def learning_rate(self, base: float, step: int, steps: int) -> float:
        warmup = self._warmup_steps()
        if step < warmup:
            return _cosine(base, base / 10, step / warmup)
        if warmup:
            return _cosine(base / 10, base / 1000, (step - warmup) / max(steps - warmup, 1))
        return _cosine(base, base / 100, step / steps)

    def loss(self, estimate, truth, scale):
        kind = self.training["loss"]
        if kind == "l2":
            return F.mse_loss(estimate, truth)
        if kind == "l1" or self.step < self._warmup_steps():
            return F.l1_loss(estimate, truth)
        return proximal_matching_loss(estimate, truth, self.gamma(self.step))

    def validation_loss(self, estimate, truth, scale):
        return F.mse_loss(estimate, truth)


class PhantomLPNTask(_ProximalMatching):
    """``lpn-phantom`` (module text)."""

    architecture = "lpn"
    validation_label = "validation MSE"

    def __init__(self, config: dict, device):
        from recon.datasets.image_sources import phantom_batch, phantom_images
        from recon.training.patches import PatchSampler

        problem, network = config["problem"], config["network"]
        self.problem, self.device = problem, device
        self._setup_schedule(config["training"], problem["patch"] ** 2)
        self.arguments = {"in_channels": 1, "hidden": network["hidden"], "layers": network["layers"],
                          "beta": network["beta"], "alpha": network["alpha"]}
        train = list(phantom_images("train", problem["train_count"], problem["size"]).values())
        self.sampler = PatchSampler({"phantom": train}, {"phantom": 1.0}, patch=problem["patch"],
                                    generator=torch.Generator())
        noise = torch.Generator().manual_seed(config["training"]["seed"] + 1)
        truth = phantom_batch("validation", problem["validation_count"], problem["size"])
        noisy = truth + problem["sigma"] * torch.randn(truth.shape, generator=noise)
        self._validation = [((noisy.to(device),), truth.to(device), torch.ones(len(truth), device=device))]

    def model(self):
        from recon.networks.lpn import LearnedProximalNetwork

        return LearnedProximalNetwork(**self.arguments)

    def batch(self, generator: torch.Generator, size: int, rank: int, world: int):
        self.sampler.generator = generator
        sigma = self.problem["sigma"]
        clean, noisy, _ = self.sampler.batch(size, (sigma, sigma))
        part = slice(rank, None, world)
        clean, noisy = clean[part].to(self.device), noisy[part].to(self.device)
        return (noisy,), clean, torch.ones(clean.shape[0], device=self.device)

    def validation(self):
        return self._validation

    def data_manifest(self) -> dict:
        from recon.datasets.image_sources import PHANTOM_SEEDS

        p = self.problem
        return {"kind": p["kind"], "sigma": p["sigma"],
                "train": f"{p['patch']}² crops (flips, quarter turns) of random_phantoms({p['size']}, "
                         f"{p['train_count']}, seed={PHANTOM_SEEDS['train']})",
                "validation": f"random_phantoms({p['size']}, {p['validation_count']}, "
                              f"seed={PHANTOM_SEEDS['validation']}), whole images",
                "test": f"seed {PHANTOM_SEEDS['test']}: never trained on or tuned with"}


class LaplaceLPNTask(_ProximalMatching):
    """``lpn-laplace`` (module text)."""

    architecture = "lpn-1d"
    validation_label = "validation MSE"

    def __init__(self, config: dict, device):
        problem, network = config["problem"], config["network"]
        self.problem, self.device = problem, device
        self._setup_schedule(config["training"], 1)
        self.arguments = {"hidden": network["hidden"], "layers": network["layers"], "beta": network["beta"]}
        generator = torch.Generator().manual_seed(config["training"]["seed"] + 1)
        truth, noisy = self._draw(generator, problem["validation_count"])
        self._validation = [((noisy.to(device),), truth.to(device), torch.ones(len(truth), device=device))]

    def _draw(self, generator: torch.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        # inverse CDF of Laplace(0, 1); rand() can return 0 exactly, whose quantile is -inf
        uniform = (torch.rand(size, 1, generator=generator) - 0.5).clamp(min=-0.5 + 2.0**-24)
        truth = -torch.sign(uniform) * torch.log1p(-2 * uniform.abs())
        return truth, truth + self.problem["sigma"] * torch.randn(size, 1, generator=generator)

    def model(self):
        from recon.networks.lpn import LearnedProximalNetwork1d

        return LearnedProximalNetwork1d(**self.arguments)

    def batch(self, generator: torch.Generator, size: int, rank: int, world: int):
        truth, noisy = self._draw(generator, size)
        part = slice(rank, None, world)
        truth, noisy = truth[part].to(self.device), noisy[part].to(self.device)
        return (noisy,), truth, torch.ones(truth.shape[0], device=self.device)

    def validation(self):
        return self._validation

    def data_manifest(self) -> dict:
        p = self.problem
        return {"kind": p["kind"], "sigma": p["sigma"],
                "train": "fresh draws of x ~ Laplace(0, 1), y = x + sigma n, every step",
                "validation": f"{p['validation_count']} draws from seed training.seed + 1",
                "test": "the shrinkage curve on a grid of y (scripts/lpn_laplace.py)"}


class EdgeMapTask:
    """``tv-weights`` (module text)."""

    architecture = "edge-map-net"
    validation_label = "validation MSE of |∇x|"

    def __init__(self, config: dict, device):
        from recon.datasets.image_sources import phantom_batch

        problem, network, self.training = config["problem"], config["network"], config["training"]
        self.problem, self.device = problem, device
        self.arguments = {"channels": [network["width"] * 2**level for level in range(network["levels"])],
                          "blocks": network["blocks"]}
        self.train = phantom_batch("train", problem["train_count"], problem["size"])
        validation = phantom_batch("validation", problem["validation_count"], problem["size"])
        self._operators: dict[int, object] = {}
        noise = torch.Generator().manual_seed(self.training["seed"] + 1)
        self._validation = [self._example(validation, problem["views"], problem["noise"], noise)]

    def operator(self, views: int):
        """Parallel-beam CT with ``views`` angles over 180° from 0 (the held-out problems' geometry)."""
        from recon.operators import ParallelBeamCT

        if views not in self._operators:
            size = self.problem["size"]
            angles = torch.arange(views, dtype=torch.float64) * math.pi / views
            self._operators[views] = ParallelBeamCT(angles, int(math.ceil(size * math.sqrt(2))) + 2,
                                                    image_shape=(size, size))
        return self._operators[views]

    def _example(self, truth: torch.Tensor, views: int, noise: float, generator: torch.Generator):
        from recon.operators import fbp
        from recon.priors.weighted_tv import gradient_magnitude

        operator = self.operator(views)
        clean = operator.A(truth.double())
        sigma = noise * clean.flatten(1).norm(dim=1) / clean[0].numel() ** 0.5
        y = clean + sigma.view(-1, 1, 1, 1) * torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
        first = fbp(y, operator).float().to(self.device)
        target = gradient_magnitude(truth).float().to(self.device)
        return (first,), target, torch.ones(truth.shape[0], device=self.device)

    def model(self):
        from recon.networks.edge_map_net import EdgeMapNet

        return EdgeMapNet(**self.arguments)

    def batch(self, generator: torch.Generator, size: int, rank: int, world: int):
        chosen = torch.randint(len(self.train), (size,), generator=generator)
        truth = self.train[chosen]
        turns = int(torch.randint(4, (), generator=generator))          # quarter turns map the views onto themselves
        truth = torch.rot90(truth, turns, dims=(-2, -1))
        if bool(torch.rand((), generator=generator) < 0.5):
            truth = truth.flip(-1)
        low, high = (float(v) for v in self.problem["noise_range"])
        noise = low + (high - low) * float(torch.rand((), generator=generator))
        inputs, target, scale = self._example(truth[rank::world], self.problem["views"], noise, generator)
        return inputs, target, scale

    def validation(self):
        return self._validation

    def loss(self, estimate, truth, scale):
        return F.mse_loss(estimate, truth) if self.training["loss"] == "mse" else F.l1_loss(estimate, truth)

    def data_manifest(self) -> dict:
        from recon.datasets.image_sources import PHANTOM_SEEDS

        p = self.problem
        return {"kind": p["kind"], "views": p["views"], "noise_range": p["noise_range"],
                "train": f"random_phantoms({p['size']}, {p['train_count']}, seed={PHANTOM_SEEDS['train']}) "
                         f"(quarter turns, flips), fresh noise every step",
                "validation": f"random_phantoms({p['size']}, {p['validation_count']}, "
                              f"seed={PHANTOM_SEEDS['validation']}), noise {p['noise']}",
                "test": f"seed {PHANTOM_SEEDS['test']}: never trained on or tuned with "
                        f"(scripts/weighted_tv_table.py)"}


TASKS = {"tv-weights": EdgeMapTask, "lpn-phantom": PhantomLPNTask, "lpn-laplace": LaplaceLPNTask}
