"""Reference models: the models that carry a lesson's headline result, trained once to a paper's
recipe and shipped with the course, with the metrics they reached (as torchvision ships weights
with their measured accuracy).

    python -m course_lib.reference list                 what the course knows and what it ships
    python -m course_lib.reference table                the recorded metrics as Markdown tables (docs/reference-models.md's)
    python -m course_lib.reference train [NAME ...]      train recipes, write weights and manifest
    python -m course_lib.reference --check               re-measure every shipped model; exit 1 on a mismatch

In a lesson, full mode opens on them::

    results = reference.or_train("flows-u1-u4", lambda: lesson.train_energy_flows(steps))

    recipe      what a recipe is, and how a model is known by it (not by a hash of the source)
    store       the manifest and the weights files
    catalog     load, or_train, check, train
    flows, sprites, images, toys, rate_distortion, wae, hierarchical, flow_vae, elbo
                the recipes of lessons 7, 4, 8b, 3, 6, 5, 7b and 1
"""
from .catalog import check, describe, get_recipe, load, or_train, recipes, shipped, train
from .recipe import Recipe
from .store import ReferenceProblem, read_manifest

__all__ = ["Recipe", "ReferenceProblem", "check", "describe", "get_recipe", "load", "or_train", "read_manifest",
           "recipes", "shipped", "train"]
