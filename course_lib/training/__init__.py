"""Training: the loops, the CUDA-graph step they record, sweeps, and the cache of trained models.

    train        ``fit``: one model, data on the device once, the step recorded as a CUDA graph on a GPU
    graph_step   the static-buffer step that ``fit`` records (and what may be recorded)
    sweep        ``fit_sweep``: K models that differ in one hyper-parameter, trained as one program
    adversarial  ``train_adversarial``: a discriminator step, then a generator step
    cache        ``cached_fit`` / ``cached_sweep``: train a configuration once, load it afterwards

Training sits above :mod:`course_lib.models` (``fit`` defaults to the VAE's objective) and below
the lessons.
"""
from . import cache
from .adversarial import train_adversarial, train_wae_gan
from .cache import cache_dir, cached_fit, cached_sweep, clear_memory
from .sweep import fit_sweep
from .train import History, fit, load_checkpoint, save_checkpoint

__all__ = [
           "History",
           "cache",
           "cache_dir",
           "cached_fit",
           "cached_sweep",
           "clear_memory",
           "fit",
           "fit_sweep",
           "load_checkpoint",
           "save_checkpoint",
           "train_adversarial",
           "train_wae_gan",
]
