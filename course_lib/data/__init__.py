"""Data sets of the course: Fashion-MNIST, procedural sprites, 2-D toy densities."""
from typing import Any

from ..errors import check_choice
from .fashion_mnist import (
    CLASS_NAMES,
    ImageData,
    download_fashion_mnist,
    dynamic_binarize,
    load_fashion_mnist,
    read_idx,
)
from .sprites import (
    FACTOR_NAMES,
    SHAPES,
    DSpritesGrid,
    SpritesData,
    dsprites_factor_values,
    factor_values,
    make_sprites,
    render_sprites,
)
from .toy2d import (
    ENERGIES,
    SAMPLERS,
    checkerboard,
    eight_gaussians,
    energy_u1,
    energy_u2,
    energy_u3,
    energy_u4,
    pinwheel,
    rings,
    sample_toy,
    spirals,
    two_moons,
    unnormalized_log_density,
)


def load_dataset(name: str, **kwargs: Any) -> Any:
    """Load a data set by name: "fashion_mnist", "sprites", or a 2-D toy
    ("two_moons", "eight_gaussians", "checkerboard", "rings", "pinwheel", "spirals";
    pass ``n=``)."""
    check_choice("name", name, ("fashion_mnist", "sprites", *SAMPLERS))
    if name == "fashion_mnist":
        return load_fashion_mnist(**kwargs)
    if name == "sprites":
        return make_sprites(**kwargs)
    return sample_toy(name, **kwargs)

__all__ = [
    "CLASS_NAMES",
    "ENERGIES",
    "FACTOR_NAMES",
    "SAMPLERS",
    "SHAPES",
    "DSpritesGrid",
    "ImageData",
    "SpritesData",
    "check_choice",
    "checkerboard",
    "download_fashion_mnist",
    "dsprites_factor_values",
    "dynamic_binarize",
    "eight_gaussians",
    "energy_u1",
    "energy_u2",
    "energy_u3",
    "energy_u4",
    "factor_values",

    "load_fashion_mnist",
    "make_sprites",
    "pinwheel",
    "read_idx",
    "render_sprites",
    "rings",
    "sample_toy",
    "spirals",
    "two_moons",
    "unnormalized_log_density",
]
