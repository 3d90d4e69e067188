"""The reference models a lesson opens on: find them, load them, re-measure them, train them.

    load(name)          {model name: nn.Module} of one recipe, from the shipped weights
    or_train(name, f)   in full mode the shipped models (one line says which), else f()
    check()             re-measure every shipped model on the CPU; -> the mismatches, named
    train(names)        train recipes, measure them, write weights and manifest

A shipped model is used only if the recipe in the code is the recipe it was trained by
(:meth:`Recipe.identity`); otherwise :class:`ReferenceProblem` says which setting changed.
"""
import datetime
import fnmatch
import os
import platform
import time

import torch

from ..errors import CourseInputError
from ..settings import fast_mode
from .recipe import differences
from .store import ReferenceProblem, load_weights, read_manifest, save_weights, write_manifest


def recipes():
    """{name: Recipe} of every recipe the course knows (imported here, not at the top, because the
    recipes import the lessons they serve)."""
    from . import flows, images, sprites
    return {r.name: r for r in (*flows.RECIPES, *sprites.RECIPES, *images.RECIPES)}


def get_recipe(name):
    known = recipes()
    if name not in known:
        raise CourseInputError(f"There is no reference recipe {name!r}; there are {sorted(known)}.")
    return known[name]


def shipped(name, folder=None):
    """True when every model of recipe ``name`` is in the manifest."""
    recipe, models = get_recipe(name), read_manifest(folder)["models"]
    return all(f"{name}/{m}" in models for m in recipe.members)


def retrain_hint(recipe):
    where = "on a GPU (hours on a CPU)" if recipe.needs_gpu else "(a CPU will do)"
    return f"python -m course_lib.reference train {recipe.name}   {where}"


def load(name, folder=None, recipe=None):
    """The models of recipe ``name`` on the CPU in float32, in eval mode.  -> {model name: nn.Module}

    Raises ReferenceProblem when a model is not shipped, when its weights file is damaged, or
    when the code's recipe differs from the recipe the weights were trained by."""
    recipe = recipe or get_recipe(name)
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
    states = {}
    for file in sorted({e["weights"]["file"] for e in entries.values()}):
        if file not in manifest["files"]:
            raise ReferenceProblem(f"The manifest lists no record of {file}, which {recipe.name}'s models are in; "
                                   "restore manifest.json (git checkout) or retrain.")
        states.update(load_weights(file, manifest["files"][file], folder))
    models = {}
    for m in recipe.members:
        model = recipe.build(recipe.members[m])
        model.load_state_dict(states[f"{recipe.name}/{m}"])
        models[m] = model.float().eval()
    return models


def provenance(name, folder=None):
    """How the shipped models of ``name`` were trained, from the manifest: "trained for 39.5 min in all on <device>
    (<date>)"."""
    recipe = get_recipe(name)
    entries = [read_manifest(folder)["models"][f"{name}/{m}"] for m in recipe.members]
    seconds = sum(e["trained"]["seconds"] for e in entries)
    devices = sorted({e["trained"]["device"] for e in entries})
    return f"trained for {seconds / 60:.1f} min in all on {', '.join(devices)} ({entries[0]['trained']['date']})"


def describe(name, folder=None):
    """One line: what the shipped models of ``name`` are, how long they trained on what, how to retrain."""
    recipe = get_recipe(name)
    return (f"Loaded the course's reference models '{name}': {len(recipe.members)} {recipe.what}, "
            f"{provenance(name, folder)}. "
            f"retrain = True trains the lesson's own instead; these are retrained by: {retrain_hint(recipe)}")


def or_train(name, train, *, retrain=False, folder=None):
    """What a lesson calls: in full mode the reference models of ``name`` in the shape the lesson
    uses (``recipe.as_lesson``), with one line that says so; in fast mode, with ``retrain=True``,
    or when the course ships none (a line says why), ``train()``."""
    recipe = get_recipe(name)
    if fast_mode():
        return train()
    if retrain:
        print(f"Training here, as asked (retrain=True), instead of loading the reference models '{name}'.")
        return train()
    if not shipped(name, folder):
        print(f"No reference models '{name}' ship with the course yet ({recipe.what}); the lesson trains its "
              f"own smaller ones. To make them: {retrain_hint(recipe)}")
        return train()
    models = load(name, folder)
    print(describe(name, folder))
    return recipe.as_lesson(models)


def measure_all(recipe, models):
    """{model name: metrics} of CPU float32 copies of ``models``."""
    out = {}
    for m, model in models.items():
        cpu = recipe.build(recipe.members[m])
        cpu.load_state_dict({k: v.detach().to("cpu") for k, v in model.state_dict().items()})
        out[m] = recipe.measure(cpu.float().eval(), recipe.members[m], recipe.training)
    return out


def check(names=None, folder=None, say=print, recipe_overrides=None):
    """Load every shipped model (of the recipes ``names``, or all) and measure it again on the CPU.
    -> a list of problems, each a line that names the model and the metric; empty when all agree.
    recipe_overrides: {name: Recipe} used instead of the course's (as in :func:`train`)."""
    manifest = read_manifest(folder)
    known = {**recipes(), **(recipe_overrides or {})}
    groups = {}
    for key in manifest["models"]:
        groups.setdefault(key.split("/", 1)[0], []).append(key.split("/", 1)[1])
    problems = []
    for name in names or sorted(groups):
        if name not in known:
            problems.append(f"{name}: " + ("the manifest lists it, but the course has no such recipe" if name in groups
                                           else f"there is no such recipe; there are {sorted(known)}"))
            continue
        recipe = known[name].with_members([m for m in known[name].members if m in groups.get(name, [])])
        if not recipe.members:
            say(f"{name}: nothing shipped yet")
            continue
        try:
            models = load(name, folder, recipe=recipe)
        except ReferenceProblem as e:
            problems.append(f"{name}: {e}")
            continue
        start = time.perf_counter()
        measured = measure_all(recipe, models)
        for m, metrics in measured.items():
            entry = manifest["models"][f"{name}/{m}"]
            for metric, recorded in entry["metrics"].items():
                tol = entry["tolerance"][metric]
                now = metrics.get(metric)
                if now is None or not abs(now - recorded) <= tol:
                    problems.append(f"{name}/{m}: {metric} recorded {recorded:.4g}, measured now "
                                    f"{'nothing' if now is None else f'{now:.4g}'} (tolerance ±{tol:g})")
        say(f"{name}: {len(measured)} models re-measured in {time.perf_counter() - start:.1f} s")
    return problems


def _device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def train(names, folder=None, device=None, progress=True, say=print, recipe_overrides=None, only=None):
    """Train the recipes ``names``, measure every model on the CPU, and write their weights and
    manifest entries into ``folder`` (this package by default).  Weights are stored in float16 when
    no metric moves by more than a quarter of its tolerance on rounding, else in float32.

    only:             a pattern ("radial-*"): train only the models whose names match it; the recipe's
                      other models already in the folder stay (one weights file holds them all)
    recipe_overrides: {name: Recipe} used instead of the course's (a small stand-in, in the tests).
    -> {"<recipe>/<model>": manifest entry}"""
    from ..device import get_device
    device = get_device(device)
    written = {}
    for name in names:
        recipe = (recipe_overrides or {}).get(name) or get_recipe(name)
        if only is not None:
            chosen = [m for m in recipe.members if fnmatch.fnmatchcase(m, only)]
            if not chosen:
                raise CourseInputError(f"No model of {name!r} matches {only!r}; "
                                       f"its models are {sorted(recipe.members)}.")
            recipe = recipe.with_members(chosen)
        start = time.perf_counter()
        trained = recipe.train(recipe, device, progress)
        say(f"{name}: {len(trained)} models trained in {time.perf_counter() - start:.0f} s on {_device_name(device)}")
        cpu_models = {m: model for m, (model, _) in trained.items()}
        full = measure_all(recipe, cpu_models)
        half = measure_all(recipe, {m: _rounded(model) for m, model in cpu_models.items()})
        use_half = all(abs(half[m][k] - v) <= recipe.tolerance[k] / 4 for m in full for k, v in full[m].items())
        file = f"weights/{name}.pt"
        manifest = read_manifest(folder)
        kept = {key: e for key, e in manifest["models"].items() if key.startswith(f"{name}/")
                and key.split("/", 1)[1] not in cpu_models and e["weights"]["file"] == file}
        states = load_weights(file, manifest["files"][file], folder) if kept else {}
        states = {key: states[key] for key in kept}
        use_half = use_half and all(e["weights"]["dtype"] == "float16" for e in kept.values())
        dtype = torch.float16 if use_half else torch.float32
        for e in kept.values():
            e["weights"]["dtype"] = str(dtype).replace("torch.", "")
        states.update({f"{name}/{m}": model.state_dict() for m, model in cpu_models.items()})
        record = save_weights(states, file, folder, dtype)
        stamp = {"device": _device_name(device), "date": datetime.date.today().isoformat(),
                 "torch": torch.__version__.split("+")[0]}
        manifest["files"][file] = record
        for m, (model, seconds) in trained.items():
            metrics = half[m] if use_half else full[m]
            entry = {"lesson": recipe.lesson, "identity": recipe.identity(m),
                     "trained": {**stamp, "seconds": round(seconds, 2)},
                     "metrics": {k: round(v, 6) for k, v in metrics.items()},
                     "tolerance": {k: recipe.tolerance[k] for k in metrics},
                     "weights": {"file": file, "dtype": str(dtype).replace("torch.", ""),
                                 "fp16 change": {k: round(abs(half[m][k] - full[m][k]), 6) for k in full[m]}}}
            manifest["models"][f"{name}/{m}"] = written[f"{name}/{m}"] = entry
            say(f"  {m:<24} {seconds:7.1f} s  " + "  ".join(f"{k} {v:.4g}" for k, v in entry["metrics"].items()))
        write_manifest(manifest, folder)
        say(f"{name}: weights in {file} ({record['bytes'] / 2 ** 20:.2f} MiB, {entry['weights']['dtype']})")
    return written


def _rounded(model):
    """A copy of ``model`` whose floating weights went through float16 and back."""
    import copy
    copy_ = copy.deepcopy(model)
    with torch.no_grad():
        for p in copy_.state_dict().values():
            if p.is_floating_point():
                p.copy_(p.half().float())
    return copy_
