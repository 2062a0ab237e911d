"""The examples in the docstrings of the learned-prior modules run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["recon.networks", "recon.networks.drunet_small", "recon.networks.dncnn", "recon.priors.pnp",
           "recon.priors.denoisers", "recon.priors.denoiser_scaling", "recon.solvers.data_consistency",
           "recon.solvers.pnp_common", "recon.solvers.pnp_admm", "recon.solvers.pnp_fista", "recon.solvers.hqs",
           "recon.solvers.red", "recon.training.patches", "recon.training.denoiser_config",
           "recon.datasets.image_sources", "recon.datasets.heldout_problems", "recon.experiments.stopping_rules",
           "recon.weights.registry", "recon.networks.edm", "recon.priors.gaussian_mixture", "recon.samplers.schedule",
           "recon.samplers.dps", "recon.samplers.diffpir", "recon.samplers.red_diff", "recon.samplers.ula",
           "recon.samplers.common", "recon.bench.diffusion", "recon.bench.diffusion_problems",
           "recon.operators.differentiable", "recon.networks.resunet", "recon.networks.conv_stack",
           "recon.networks.penalty_net", "recon.solvers.unrolled", "recon.solvers.unrolled_data_steps",
           "recon.solvers.unrolled_deconvolution", "recon.training.galaxy_stamps", "recon.training.unrolled_config",
           "recon.experiments.segmentation", "recon.datasets.disc_phantoms",
           "recon.solvers.limited_angle", "recon.training.unrolled_tasks", "recon.networks.lpn",
           "recon.networks.edge_map_net", "recon.priors.learned_proximal", "recon.priors.weighted_tv",
           "recon.training.prior_tasks", "recon.training.prior_config", "recon.experiments.tuning",
           "recon.datasets.noise_estimation", "recon.experiments.auto_strength",
           "recon.training.bilevel_problems", "recon.training.bilevel_pairs", "recon.training.lower_level",
           "recon.training.hypergradient", "recon.training.upper_level", "recon.training.maid", "recon.training.hoag",
           "recon.training.hyperparameter_config", "recon.training.hyperparameter_training",
           "recon.training.training_section", "recon.experiments.learned_registry", "recon.experiments.noise_level"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    failures, tried = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0 and tried > 0
