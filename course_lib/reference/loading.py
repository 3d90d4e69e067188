"""Loading a recipe's shipped models: from the manifest and weights files to nn.Modules.

This module knows one :class:`~course_lib.reference.recipe.Recipe` at a time, never the list of
all recipes (that is :mod:`course_lib.reference.catalog`, above it), so a recipe module may load
another recipe's models (lesson 8b's measure loads the classifier) without a circle of imports:

    recipe, store  <  loading  <  the recipe modules (flows, sprites, images, ...)  <  catalog  <  views  <  __main__
"""
from ..errors import CourseInputError
from ..training.train import History
from .recipe import differences
from .store import ReferenceProblem, load_weights, read_manifest


def retrain_hint(recipe):
    where = "on a GPU (hours on a CPU)" if recipe.needs_gpu else "(a CPU will do)"
    return f"python -m course_lib.reference train {recipe.name}   {where}"


def load_recipe(recipe, folder=None, members=None):
    """The models of ``recipe`` on the CPU in float32, in eval mode.  -> {model name: nn.Module}

    members: the models to load; by default every one whose weights ship (a recipe may ship only some,
    and record the metrics of all).  Raises ReferenceProblem when a model is not shipped, when its weights
    file is damaged, or when the code's recipe differs from the recipe the weights were trained by."""
    manifest = read_manifest(folder)
    entries = {m: manifest["models"].get(f"{recipe.name}/{m}") for m in recipe.members}
    missing = [m for m, e in entries.items() if e is None]
    if missing:
        raise ReferenceProblem(f"No reference model {recipe.name}/{missing[0]} ships with the course"
                               f"{f' (nor {len(missing) - 1} more of its recipe)' if len(missing) > 1 else ''}. "
                               f"Train them with: {retrain_hint(recipe)}")
    for m, entry in entries.items():
        changed = differences(entry["identity"], recipe.identity(m))
        if changed:
            raise ReferenceProblem(f"The recipe of {recipe.name}/{m} is not the one its shipped weights were "
                                   f"trained by ({'; '.join(changed[:3])}). Retrain: {retrain_hint(recipe)}")
    if members is None:
        members = [m for m, e in entries.items() if e["weights"].get("shipped", True)]
    for m in members:
        if m not in entries:
            raise CourseInputError(f"{recipe.name!r} has no model {m!r}; it has {sorted(entries)}.")
        if not entries[m]["weights"].get("shipped", True):
            raise ReferenceProblem(f"The course records the metrics of {recipe.name}/{m} but does not ship its "
                                   f"weights (it ships {sorted(shipped_weights(recipe, folder))}). "
                                   f"Make it with: {retrain_hint(recipe)} --again")
    states = {}
    for file in sorted({entries[m]["weights"]["file"] for m in members}):
        if file not in manifest["files"]:
            raise ReferenceProblem(f"The manifest lists no record of {file}, which {recipe.name}'s models are in; "
                                   "restore manifest.json (git checkout) or retrain.")
        states.update(load_weights(file, manifest["files"][file], folder))
    models = {}
    for m in members:
        model = recipe.build(recipe.members[m])
        model.load_state_dict(states[f"{recipe.name}/{m}"])
        models[m] = model.float().eval()
    return models


def shipped_weights(recipe, folder=None):
    """The models of ``recipe`` whose weights ship (all of them but where the recipe keeps fewer)."""
    models = read_manifest(folder)["models"]
    return [m for m in recipe.members if f"{recipe.name}/{m}" in models
            and models[f"{recipe.name}/{m}"]["weights"].get("shipped", True)]


def load_histories(recipe, folder=None):
    """{model name: History} of the training the manifest recorded for each of ``recipe``'s models (a recipe
    with ``history=True``)."""
    models = read_manifest(folder)["models"]
    out = {}
    for m in recipe.members:
        entry = models.get(f"{recipe.name}/{m}", {})
        if "history" not in entry:
            raise ReferenceProblem(f"The manifest keeps no training history of {recipe.name}/{m}. "
                                   f"Retrain: {retrain_hint(recipe)}")
        out[m] = History.from_dict(entry["history"])
    return out
