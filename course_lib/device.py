"""Where tensors live, and how to make runs repeatable."""
import random

import numpy as np
import torch

from .errors import check_choice, check_int


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The best available device: CUDA, then Apple MPS, then the CPU.

    ``prefer`` ("cuda", "mps", "cpu" or a ``torch.device``) forces a choice.
    """
    if prefer is not None:
        if isinstance(prefer, torch.device):
            return prefer
        kind = str(prefer).split(":")[0]
        check_choice("prefer", kind, ("cuda", "mps", "cpu"))
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch so that CPU runs repeat exactly.

    Returns a ``torch.Generator`` seeded with the same value, for code that
    wants its own random stream.  (On a GPU some kernels are not
    deterministic; results then agree only up to rounding.)
    """
    seed = check_int("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
