"""course_lib: the small PyTorch library behind the VAE course.

Typical use in a notebook::

    from course_lib import VAE, fit, load_fashion_mnist, get_device
    data = load_fashion_mnist()
    model = VAE.mlp(latent_dim=16)
    history = fit(model, data.x_train, epochs=5)
"""
__version__ = "0.1.0"

from .cache import cached_fit, cached_sweep, cache_dir, clear_memory
from .data import (ImageData, SpritesData, dynamic_binarize, load_dataset, load_fashion_mnist,
                   make_sprites, sample_toy, unnormalized_log_density)
from .device import get_device, seed_everything
from .distributions import (Bernoulli, DiagonalGaussian, Gaussian, kl_diagonal_gaussians,
                            kl_standard_normal)
from . import flows
from .errors import (CourseError, CourseInputError, DataNotFoundError, TrainingDiverged,
                     install_friendly_errors)
from .flow_vae import FlowVAE
from .hierarchical import HierarchicalVAE, hierarchical_objective
from .linear_gaussian import LinearGaussianModel
from .nets import MLP, ConvDecoder, ConvEncoder, ResidualBlock
from .objectives import bits_per_dim, elbo, importance_weighted_bound
from .plots import plain_log_ticks, plot_history, show_images
from .schedules import cyclical, linear_warmup
from .settings import budget, fast_mode
from .sweep import fit_sweep
from .train import History, fit, load_checkpoint, save_checkpoint
from .vae import (VAE, BernoulliDecoder, GaussianDecoder, GaussianEncoder, vae_objective,
                  vae_sweep_objective)
from .wae import WAE, mmd2, wae_objective
