"""course_lib: the small PyTorch library behind the VAE course.

Typical use in a notebook::

    import course_lib as cl
    data = cl.load_fashion_mnist()
    model = cl.VAE.mlp(latent_dim=16)
    history = cl.fit(model, data.x_train, epochs=5)

The package, bottom to top (a module imports only from its own level or below):

    errors, settings, io, device, claims,  leaves: course errors, fast mode, atomic writes, the device,
    capture                                a lesson's readings of its results with their checks, and
                                           the mark of a function that a CUDA graph may record
    distributions, nets, objectives,       the maths every model uses: Gaussian and Bernoulli
    schedules, data                        densities, networks, ELBO / IWAE, beta schedules, data sets
    flows/, metrics/, estimators/          normalizing flows; metrics and information estimates;
                                           gradient estimators, divergences and AIS
    models/                                VAE, hierarchical, flow-posterior VAE, WAE, GANs, hybrids ...
    training/                              fit, the CUDA-graph step, sweeps, adversarial training, cache
    figures/                               plots and live figures (sliders)
    lessons/, exercises/, bench/,          what the notebooks show, the exercises' checks, the
    class_models, prune_cache              benchmarks and the command-line tools for the model cache
    reference/                             the reference models shipped with the course: recipes,
                                           manifest, weights, and the command that re-checks them

Everything a notebook types as ``cl.<name>`` is re-exported here.
"""
__version__ = "0.1.0"

from . import claims, data, estimators, figures, flows, metrics, models, schedules, training
from .capture import capturable
from .claims import claim
from .data import (
    ImageData,
    SpritesData,
    dynamic_binarize,
    load_dataset,
    load_fashion_mnist,
    make_sprites,
    sample_toy,
    unnormalized_log_density,
)
from .device import get_device, seed_everything
from .distributions import Bernoulli, DiagonalGaussian, Gaussian, kl_diagonal_gaussians, kl_standard_normal
from .errors import (
    CourseError,
    CourseInputError,
    DataNotFoundError,
    TrainingDiverged,
    install_friendly_errors,
)
from .figures.plots import plain_log_ticks, plot_history, show_images
from .models.flow_vae import FlowVAE
from .models.hierarchical import HierarchicalVAE, hierarchical_objective
from .models.linear_gaussian import LinearGaussianModel
from .models.vae import (
    VAE,
    BernoulliDecoder,
    GaussianDecoder,
    GaussianEncoder,
    vae_objective,
    vae_sweep_objective,
)
from .models.wae import WAE, mmd2, wae_objective
from .nets import MLP, ConvDecoder, ConvEncoder, ResidualBlock
from .objectives import bits_per_dim, elbo, importance_weighted_bound
from .schedules import cyclical, linear_warmup
from .settings import budget, fast_mode
from .training import cache
from .training.cache import cache_dir, cached_fit, cached_sweep, clear_memory
from .training.sweep import fit_sweep
from .training.train import History, fit, load_checkpoint, save_checkpoint

__all__ = [
                   "MLP",
                   "VAE",
                   "WAE",
                   "Bernoulli",
                   "BernoulliDecoder",
                   "ConvDecoder",
                   "ConvEncoder",
                   "CourseError",
                   "CourseInputError",
                   "DataNotFoundError",
                   "DiagonalGaussian",
                   "FlowVAE",
                   "Gaussian",
                   "GaussianDecoder",
                   "GaussianEncoder",
                   "HierarchicalVAE",
                   "History",
                   "ImageData",
                   "LinearGaussianModel",
                   "ResidualBlock",
                   "SpritesData",
                   "TrainingDiverged",
                   "bits_per_dim",
                   "budget",
                   "cache",
                   "cache_dir",
                   "cached_fit",
                   "cached_sweep",
                   "capturable",
                   "claim",
                   "claims",
                   "clear_memory",
                   "cyclical",
                   "data",
                   "dynamic_binarize",
                   "elbo",
                   "estimators",
                   "fast_mode",
                   "figures",
                   "fit",
                   "fit_sweep",
                   "flows",
                   "get_device",
                   "hierarchical_objective",
                   "importance_weighted_bound",
                   "install_friendly_errors",
                   "kl_diagonal_gaussians",
                   "kl_standard_normal",
                   "linear_warmup",
                   "load_checkpoint",
                   "load_dataset",
                   "load_fashion_mnist",
                   "make_sprites",
                   "metrics",
                   "mmd2",
                   "models",
                   "plain_log_ticks",
                   "plot_history",
                   "sample_toy",
                   "save_checkpoint",
                   "schedules",
                   "seed_everything",
                   "show_images",
                   "training",
                   "unnormalized_log_density",
                   "vae_objective",
                   "vae_sweep_objective",
                   "wae_objective",
]
