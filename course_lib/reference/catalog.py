"""The reference models a lesson opens on: find them, load them, re-measure them, train them.

    load(name)          {model name: nn.Module} of one recipe, from the shipped weights
    or_train(name, f)   in full mode the shipped models (one line says which), else f()
    check()             re-measure every shipped model on the CPU; -> the mismatches, named
                        (quick=True: on fewer test images, against the quick metrics recorded for that)
    train(names)        train recipes, measure them, write weights and manifest

A shipped model is used only if the recipe in the code is the recipe it was trained by
(:meth:`Recipe.identity`); otherwise :class:`ReferenceProblem` says which setting changed.
"""
import copy
import datetime
import fnmatch
import os
import platform
import time
from pathlib import Path

import torch

from ..device import get_device
from ..errors import CourseInputError
from ..settings import fast_mode
from . import (
    control,
    divergences,
    elbo,
    flow_vae,
    flows,
    hierarchical,
    images,
    rate_distortion,
    reparam,
    sprites,
    toys,
    wae,
)
from .loading import load_histories, load_recipe, retrain_hint
from .recipe import differences
from .store import (
    HOME,
    INT8_GROUPS,
    ReferenceProblem,
    as_stored,
    load_weights,
    read_manifest,
    save_weights,
    write_manifest,
)


def recipes():
    """{name: Recipe} of every recipe the course knows."""
    return {r.name: r for r in (*flows.RECIPES, *sprites.RECIPES, *images.RECIPES, *toys.RECIPES,
                                 *rate_distortion.RECIPES, *wae.RECIPES, *hierarchical.RECIPES,
                                 *flow_vae.RECIPES, *elbo.RECIPES, *divergences.RECIPES,
                                 *reparam.RECIPES, *control.RECIPES)}


def get_recipe(name):
    known = recipes()
    if name not in known:
        raise CourseInputError(f"There is no reference recipe {name!r}; there are {sorted(known)}.")
    return known[name]


def load(name, folder=None, recipe=None, members=None):
    """The models of recipe ``name`` (see :func:`~course_lib.reference.loading.load_recipe`)."""
    return load_recipe(recipe or get_recipe(name), folder, members)


def shipped(name, folder=None):
    """True when every model of recipe ``name`` is in the manifest."""
    recipe, models = get_recipe(name), read_manifest(folder)["models"]
    return all(f"{name}/{m}" in models for m in recipe.members)


def provenance(name, folder=None):
    """How the shipped models of ``name`` were trained, from the manifest: "trained for 39.5 min in all on <device>
    (<date>)"."""
    recipe = get_recipe(name)
    entries = [read_manifest(folder)["models"][f"{name}/{m}"] for m in recipe.members]
    seconds = sum(e["trained"]["seconds"] for e in entries)
    devices = sorted({e["trained"]["device"] for e in entries})
    return f"trained for {seconds / 60:.1f} min in all on {', '.join(devices)} ({entries[0]['trained']['date']})"


def describe(name, folder=None):
    """One line for the lesson's output: which shipped models were loaded, and that ``retrain = True`` trains the
    lesson's own.  How they were trained, on what and for how long, and the command that trains them again are
    provenance, kept out of the lesson: docs/reference-models.md and ``python -m course_lib.reference list``."""
    recipe = get_recipe(name)
    n = len(recipe.members)
    return (f"Loaded the course's reference models '{name}' ({n} model{'' if n == 1 else 's'}): {recipe.what}. "
            "retrain = True trains the lesson's own here instead.")


def or_train(name, train, *, retrain=False, folder=None, device=None):
    """What a lesson calls: in full mode the reference models of ``name`` in the shape the lesson
    uses (``recipe.as_lesson``), with one line that says so; in fast mode, with ``retrain=True``,
    or when the course ships none (a line says why), ``train()``.  ``device``: where the loaded models
    go (the lesson's device, as its own trained models would be); by default they stay on the CPU."""
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
    if device is not None:
        models = {m: model.to(get_device(device)) for m, model in models.items()}
    print(describe(name, folder))
    if recipe.history:
        return recipe.as_lesson(models, load_histories(recipe, folder))
    return recipe.as_lesson(models)


def measure_all(recipe, models):
    """{model name: metrics} of CPU float32 copies of ``models``."""
    out = {}
    for m, model in models.items():
        cpu = recipe.build(recipe.members[m])
        cpu.load_state_dict({k: v.detach().to("cpu") for k, v in model.state_dict().items()})
        out[m] = recipe.measure(cpu.float().eval(), recipe.members[m], recipe.training)
    return out


QUICK = "quick metrics"      # the manifest's key for what the quick re-measurement gave (Recipe.quick)
QUICK_SETTINGS = "quick settings"     # ... and for the settings it was measured with
MEASURED_WITH = "measured with"       # a recipe's measurement settings that its training settings do not hold


def record_quick_metrics(entry, recipe, metrics):
    """Keep in a manifest entry the quick metrics of its model and the quick settings they were measured with; a
    recipe without quick settings keeps none (its quick check is the full one)."""
    entry.pop(QUICK, None)
    entry.pop(QUICK_SETTINGS, None)
    if recipe.quick and metrics is not None:
        entry[QUICK], entry[QUICK_SETTINGS] = metrics, dict(recipe.quick)


def record_measured_with(entry, recipe):
    """Keep in a manifest entry the measurement settings of ``recipe.measured_with`` (where it has them)."""
    entry.pop(MEASURED_WITH, None)
    if recipe.measured_with is not None:
        entry[MEASURED_WITH] = recipe.measured_with()


def quick_metrics(recipe, models):
    """{model name: metrics} of the quick re-measurement of ``models`` (rounded as the manifest keeps them), or
    None for a recipe without one (its quick check is the full one)."""
    if not recipe.quick:
        return None
    return {m: {k: round(v, 6) for k, v in metrics.items()}
            for m, metrics in measure_all(recipe.quick_measure(), models).items()}


def _settings_problems(key, entry, recipe, quick):
    """What says that ``entry``'s numbers were measured with other settings than ``recipe`` measures with now."""
    name, problems = key.split("/")[0], []
    if recipe.measured_with is not None and entry.get(MEASURED_WITH) != recipe.measured_with():
        problems.append(f"{key}: measured with {entry.get(MEASURED_WITH)}, but the code measures with "
                        f"{recipe.measured_with()} now (python -m course_lib.reference remeasure {name} --why ...)")
    if quick and QUICK in entry and entry.get(QUICK_SETTINGS) != recipe.quick:
        problems.append(f"{key}: its quick metrics were measured with {entry.get(QUICK_SETTINGS)}, the recipe's quick "
                        f"settings are {recipe.quick} now (python -m course_lib.reference record-quick {name})")
    return problems


def _compare(key, entry, metrics, recorded_as):
    """The lines that name each recorded metric of ``entry[recorded_as]`` that ``metrics`` misses by more than its
    tolerance."""
    if recorded_as not in entry:
        return [f"{key}: no {recorded_as} recorded (python -m course_lib.reference record-quick "
                f"{key.split('/')[0]} records them, after a full check)"]
    problems = []
    for metric, recorded in entry[recorded_as].items():
        tol, now = entry["tolerance"][metric], metrics.get(metric)
        if now is None or not abs(now - recorded) <= tol:
            problems.append(f"{key}: {metric} recorded {recorded:.4g}, measured now "
                            f"{'nothing' if now is None else f'{now:.4g}'} (tolerance ±{tol:g})"
                            + (" [quick]" if recorded_as == QUICK else ""))
    return problems


def _shipped_members(name, known, groups, manifest, say):
    """Recipe ``name`` narrowed to the members the manifest records, and those whose weights ship."""
    recipe = known[name].with_members([m for m in known[name].members if m in groups.get(name, [])])
    with_weights = [m for m in recipe.members if manifest["models"][f"{name}/{m}"]["weights"].get("shipped", True)]
    if recipe.members and len(with_weights) < len(recipe.members):
        say(f"{name}: {len(recipe.members) - len(with_weights)} models' metrics are recorded without their "
            "weights (not shipped), so they cannot be re-measured here")
    return recipe, with_weights


def check(names=None, folder=None, say=print, recipe_overrides=None, quick=False):
    """Load every shipped model (of the recipes ``names``, or all) and measure it again on the CPU.
    -> a list of problems, each a line that names the model and the metric; empty when all agree.
    quick: measure each model as its recipe's ``quick`` settings say (fewer test images) and compare with the
    quick metrics recorded beside its metrics, in seconds instead of minutes; a recipe without quick settings
    is measured in full.
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
        recipe, with_weights = _shipped_members(name, known, groups, manifest, say)
        if not recipe.members:
            say(f"{name}: nothing shipped yet")
            continue
        try:
            models = load(name, folder, recipe=recipe, members=with_weights)
        except ReferenceProblem as e:
            problems.append(f"{name}: {e}")
            continue
        start, quickly = time.perf_counter(), quick and bool(recipe.quick)
        measuring = recipe.with_members(list(models))
        measured = measure_all(measuring.quick_measure() if quickly else measuring, models)
        for m, metrics in measured.items():
            key, entry = f"{name}/{m}", manifest["models"][f"{name}/{m}"]
            problems += _settings_problems(key, entry, recipe, quickly) or _compare(key, entry, metrics,
                                                                                      QUICK if quickly else "metrics")
        say(f"{name}: {len(measured)} models re-measured{' quickly' if quickly else ''} in "
            f"{time.perf_counter() - start:.1f} s")
    return problems


def record_quick(names=None, folder=None, say=print, recipe_overrides=None):
    """Record the quick metrics (``Recipe.quick``) of the shipped models of the recipes ``names`` (or all that
    have quick settings), for models stored before the quick check existed.  Each recipe is first measured in
    full: its quick metrics are recorded only where every model agrees with its manifest.  -> the problems of
    the full check (nothing recorded for those recipes)"""
    known = {**recipes(), **(recipe_overrides or {})}
    manifest = read_manifest(folder)
    groups = {}
    for key in manifest["models"]:
        groups.setdefault(key.split("/", 1)[0], []).append(key.split("/", 1)[1])
    chosen = [n for n in (names or sorted(known)) if n in known and known[n].quick]
    problems = []
    for name in chosen:
        found = check([name], folder, say, recipe_overrides)
        if found:
            problems += found
            continue
        recipe, members = _shipped_members(name, known, groups, manifest, lambda line: None)
        if not members:
            continue
        models = load(name, folder, recipe=recipe.with_members(members), members=members)
        for m, metrics in (quick_metrics(recipe.with_members(members), models) or {}).items():
            record_quick_metrics(manifest["models"][f"{name}/{m}"], recipe, metrics)
        say(f"{name}: quick metrics recorded for {len(members)} models")
    write_manifest(manifest, folder)
    return problems


def remeasure(name, why, folder=None, say=print, recipe=None):
    """Measure every model of recipe ``name`` again with today's code and record what it scores, keeping its
    weights: for when the *measurement* changed and the training did not (a lesson fixed how it measures).
    Each entry keeps a note of the change: {"date", "why", "changed": {metric: [before, after]}}.  Every model
    must ship its weights (a model known only by its metrics could not be measured again).  -> that note's
    "changed" per model.  recipe: used instead of the course's (a small stand-in, in the tests)"""
    recipe, manifest = recipe or get_recipe(name), read_manifest(folder)
    if not isinstance(why, str) or not why.strip():
        raise CourseInputError("why must say what changed in the measurement (it is recorded with the metrics).")
    entries = {m: manifest["models"].get(f"{name}/{m}") for m in recipe.members}
    missing = [m for m, e in entries.items() if e is None or not e["weights"].get("shipped", True)]
    if missing:
        raise CourseInputError(f"{name}: {', '.join(missing)} have no shipped weights to measure again; "
                               "remeasure needs every model's weights.")
    models = load(name, folder, recipe=recipe, members=list(recipe.members))
    measured, notes = measure_all(recipe, models), {}
    quick = quick_metrics(recipe, models) or {}
    for m, metrics in measured.items():
        entry, metrics = entries[m], {k: round(v, 6) for k, v in metrics.items()}      # as train records them
        changed = {k: [entry["metrics"].get(k), v] for k, v in metrics.items() if entry["metrics"].get(k) != v}
        entry["metrics"] = dict(sorted(metrics.items()))
        entry["tolerance"] = {k: recipe.tolerance[k] for k in entry["metrics"]}     # as the code sets them today
        record_quick_metrics(entry, recipe, quick.get(m))
        record_measured_with(entry, recipe)
        entry.setdefault("remeasured", []).append({"date": datetime.date.today().isoformat(), "why": why.strip(),
                                                   "changed": changed})
        notes[m] = changed
        say(f"{name}/{m}: " + (", ".join(f"{k} {a:.4g} -> {b:.4g}" if a is not None else f"{k} {b:.4g} (new)"
                                         for k, (a, b) in changed.items()) or "unchanged"))
    write_manifest(manifest, folder)
    return notes


def _device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def train(names, folder=None, device=None, progress=True, say=print, recipe_overrides=None, only=None, again=False):
    """Train the recipes ``names``, measure every model on the CPU, and write each model's weights
    (``weights/<recipe>/<model>.pt``) and manifest entry into ``folder`` (this package by default) as
    soon as it is trained.  A model the manifest already records, trained by the same recipe, is
    skipped (``again=True`` trains it anew), so a rerun goes on where an interrupted run stopped.
    Weights are stored in int8 (with a scale per row) or float16 when no metric moves by more than its
    tolerance on that round trip, else in float32.  Where a recipe ships only some weights (``recipe.ships``), the others
    are removed once that is decided; their metrics stay in the manifest.

    only:             a pattern ("radial-*"): train only the models whose names match it
    recipe_overrides: {name: Recipe} used instead of the course's (a small stand-in, in the tests).
    -> {"<recipe>/<model>": manifest entry} of the models trained now"""
    device = get_device(device)
    written = {}
    for name in names:
        recipe = (recipe_overrides or {}).get(name) or get_recipe(name)
        chosen = list(recipe.members)
        if only is not None:
            chosen = [m for m in recipe.members if fnmatch.fnmatchcase(m, only)]
            if not chosen:
                raise CourseInputError(f"No model of {name!r} matches {only!r}; "
                                       f"its models are {sorted(recipe.members)}.")
        recorded = read_manifest(folder)["models"]
        done = [m for m in chosen if not again and f"{name}/{m}" in recorded
                and not differences(recorded[f"{name}/{m}"]["identity"], recipe.identity(m))]
        pending = [m for m in chosen if m not in done]
        if done:
            say(f"{name}: {len(done)} of {len(chosen)} models already trained by this recipe, kept "
                f"(again=True, or --again, trains them anew)")
        units = [[m] for m in pending] if recipe.one_at_a_time else ([pending] if pending else [])
        for unit in units:
            part = recipe.with_members(unit)
            start = time.perf_counter()
            trained = part.train(part, device, progress)
            say(f"{name}: {', '.join(trained)} trained in {time.perf_counter() - start:.0f} s on "
                f"{_device_name(device)}")
            written.update(_store(part, trained, device, folder, say))
            _drop_unshipped(recipe, folder, say)
    return written


STORAGE = (torch.int8, INT8_GROUPS, torch.float16)   # tried in this order; float32 where none keeps every metric
DTYPES = {"int8": torch.int8, INT8_GROUPS: INT8_GROUPS, "float16": torch.float16, "float32": torch.float32}


def _name(dtype):
    return dtype if isinstance(dtype, str) else str(dtype).replace("torch.", "")


def _change_key(dtype):
    return "fp16 change" if dtype == torch.float16 else f"{_name(dtype)} change"


def _store(recipe, trained, device, folder, say):
    """Measure the trained models of ``recipe``, write each one's weights file, and record them in the
    manifest (one atomic write after all the weights are on disk).  Each model is stored in the smallest
    dtype of :data:`STORAGE` whose round trip moves no metric by more than its tolerance (the margin
    within which ``check`` calls two measurements the same model; measured, not assumed), else in
    float32.  The metrics recorded are those of the stored weights."""
    histories = {m: value[2] for m, value in trained.items() if len(value) == 3}
    trained = {m: value[:2] for m, value in trained.items()}
    full, after, dtypes = _measure_storage(recipe, {m: model for m, (model, _) in trained.items()})
    quick = quick_metrics(recipe, {m: _as_stored(model, dtypes[m]) for m, (model, _) in trained.items()}) or {}
    stamp = {"device": _device_name(device), "date": datetime.date.today().isoformat(),
             "torch": torch.__version__.split("+")[0]}
    manifest = read_manifest(folder)
    written, files = {}, {}
    group_file = f"weights/{recipe.name}.pt"
    others = {k: e for k, e in manifest["models"].items() if e["weights"].get("file") == group_file
              and k.split("/", 1)[1] not in trained} if not recipe.one_at_a_time else {}
    for m, (model, seconds) in trained.items():
        dtype = dtypes[m]
        file = group_file if not recipe.one_at_a_time else f"weights/{recipe.name}/{m}.pt"
        files.setdefault(file, {})[f"{recipe.name}/{m}"] = (dtype, model.state_dict())
        entry = _manifest_entry(recipe, m, dtype, full, after, file, {**stamp, "seconds": round(seconds, 2)})
        record_quick_metrics(entry, recipe, quick.get(m))
        record_measured_with(entry, recipe)
        if m in histories:
            entry["history"] = histories[m].to_dict()
        manifest["models"][f"{recipe.name}/{m}"] = written[f"{recipe.name}/{m}"] = entry
        say(f"  {m:<24} {seconds:7.1f} s  " + "  ".join(f"{k} {v:.4g}" for k, v in entry["metrics"].items()))
    for file, states in files.items():
        _write_group(manifest, file, states, others, written, folder, say)
    write_manifest(manifest, folder)
    return written


def _manifest_entry(recipe, m, dtype, full, after, file, trained):
    """Model m's manifest entry: the metrics of the weights as stored in ``dtype`` (their tolerances), and
    the change each storage scheme tried made to every metric."""
    metrics = after[dtype][m] if dtype in after else full[m]
    return {"lesson": recipe.lesson, "identity": recipe.identity(m), "trained": trained,
            "metrics": {k: round(v, 6) for k, v in metrics.items()},
            "tolerance": {k: recipe.tolerance[k] for k in metrics},
            "weights": {"file": file, "dtype": _name(dtype), "shipped": True,
                        **{_change_key(d): {k: round(abs(after[d][m][k] - full[m][k]), 6) for k in full[m]}
                           for d in STORAGE if m in after[d]}}}


def _measure_storage(recipe, cpu_models):
    """Measure each model as trained and after the round trip through each storage scheme.
    -> (metrics as trained, {dtype: metrics after its round trip}, {model: the dtype to store it in})"""
    full = measure_all(recipe, cpu_models)
    after = {dtype: measure_all(recipe, {m: _as_stored(model, dtype) for m, model in cpu_models.items()})
             for dtype in (torch.int8, torch.float16)}

    def keeps(dtype, m):
        return m in after[dtype] and all(abs(after[dtype][m][k] - v) <= recipe.tolerance[k]
                                         for k, v in full[m].items())

    # int8 with a scale per run of 64 weights, measured only where int8 with a scale per row moved a metric too far
    after[INT8_GROUPS] = measure_all(recipe, {m: _as_stored(model, INT8_GROUPS) for m, model in cpu_models.items()
                                              if not keeps(torch.int8, m)})
    dtypes = {m: next((d for d in STORAGE if keeps(d, m)), torch.float32) for m in cpu_models}
    return full, after, dtypes


def _write_group(manifest, file, states, others, written, folder, say):
    """Write one weights file (``states``: {key: (dtype, state_dict)}; a grouped file also keeps the
    models of ``others``, not trained now, as they were stored) and record its hash in the manifest."""
    if others:
        kept = load_weights(file, manifest["files"][file], folder)
        states = {**{k: (DTYPES[e["weights"]["dtype"]], kept[k]) for k, e in others.items()}, **states}
    manifest["files"][file] = record = save_weights({k: sd for k, (_, sd) in states.items()}, file, folder,
                                                    {k: dtype for k, (dtype, _) in states.items()})
    for key in states:
        if key in written:
            written[key]["weights"]["sha256"] = record["sha256"]
    dtypes = sorted({_name(dtype) for dtype, _ in states.values()})
    say(f"  -> {file} ({record['bytes'] / 2 ** 20:.2f} MiB, {', '.join(dtypes)})")


def requantize(names=None, folder=None, say=print, recipe_overrides=None):
    """Store in int8 the shipped float16 models whose int8 round trips were not all tried (stored before
    int8, or before int8 with a scale per run of 64 weights, :data:`~course_lib.reference.store.INT8_GROUPS`):
    each untried scheme, in :data:`STORAGE`'s order, is measured, and the first that re-measures every
    recorded metric within its tolerance is kept; otherwise the model stays float16.  Every change measured
    is recorded.  The int8 copy is made from the float16 weights (the float32 ones were not kept), and its
    change is measured against the recorded metrics, which is what :func:`check` compares with; the recorded
    metrics are kept (a recipe's choice of the weights it ships, a β's median seed, was made on them).
    -> {"<recipe>/<model>": the dtype it is stored in now} for every model tried"""
    manifest = read_manifest(folder)
    known = {**recipes(), **(recipe_overrides or {})}
    tried = {}
    for key, entry in manifest["models"].items():
        name, m = key.split("/", 1)
        untried = _untried_int8(entry, name, names, known)
        if untried:
            recipe = known[name].with_members([m])
            _try_int8(key, entry, recipe, m, load(name, folder, recipe=recipe)[m], untried, say)
            tried[key] = entry["weights"]["dtype"]
    for file in sorted({manifest["models"][k]["weights"]["file"] for k, d in tried.items() if d != "float16"}):
        keys = [k for k, e in manifest["models"].items() if e["weights"].get("file") == file]
        states = load_weights(file, manifest["files"][file], folder)
        record = save_weights(states, file, folder,
                              {k: DTYPES[manifest["models"][k]["weights"]["dtype"]] for k in keys})
        manifest["files"][file] = record
        for k in keys:
            manifest["models"][k]["weights"]["sha256"] = record["sha256"]
        say(f"  -> {file} ({record['bytes'] / 2 ** 20:.2f} MiB)")
    write_manifest(manifest, folder)     # after every file is written: a cut-off run leaves the old manifest and
    return tried                         # a file whose hash it refuses (git checkout restores it), never a mix


def _untried_int8(entry, name, names, known):
    """The int8 schemes not yet tried on a shipped float16 model of a known recipe (asked for by ``names``,
    or all); [] for any other model."""
    weights = entry["weights"]
    if (names and name not in names) or name not in known or known[name].measures_others \
            or not weights.get("shipped", True) or weights["dtype"] != "float16":
        return []
    return [d for d in (torch.int8, INT8_GROUPS) if _change_key(d) not in weights]


def _try_int8(key, entry, recipe, m, model, untried, say):
    """Measure ``model`` after each untried scheme's round trip and record the change; keep the first
    scheme that moves no recorded metric beyond its tolerance (the entry's dtype changes to it).
    ``recipe``: the model's recipe narrowed to its member ``m``."""
    weights = entry["weights"]
    for dtype in untried:
        after = measure_all(recipe, {m: _as_stored(model, dtype)})[m]
        change = {k: round(abs(after[k] - v), 6) for k, v in entry["metrics"].items()}
        weights[_change_key(dtype)] = change
        worst = max(change, key=lambda k: change[k] - entry["tolerance"][k])
        say(f"  {key:<40} in {_name(dtype):<8} {worst} moves {change[worst]:.4g} "
            f"(tolerance {entry['tolerance'][worst]:g})")
        if all(change[k] <= entry["tolerance"][k] for k in change):
            weights["dtype"] = _name(dtype)   # the recorded metrics stay (a β's median seed hangs on them)
            quick = quick_metrics(recipe, {m: _as_stored(model, dtype)})   # of the weights as stored now
            record_quick_metrics(entry, recipe, quick and quick[m])
            return


def _drop_unshipped(recipe, folder, say):
    """Remove the weights that ``recipe.ships`` no longer ships (their metrics stay in the manifest)."""
    if recipe.ships is None:
        return
    manifest = read_manifest(folder)
    metrics = {m: manifest["models"][f"{recipe.name}/{m}"]["metrics"] for m in recipe.members
               if f"{recipe.name}/{m}" in manifest["models"]}
    keep = recipe.ships(metrics, recipe.members)
    dropped = []
    for m in metrics:
        entry = manifest["models"][f"{recipe.name}/{m}"]
        if m in keep or not entry["weights"].get("shipped", True):
            continue
        file = entry["weights"]["file"]
        entry["weights"]["shipped"] = False
        manifest["files"].pop(file, None)
        dropped.append((m, file))
    if dropped:
        write_manifest(manifest, folder)              # the manifest first: a cut-off run leaves an extra file, no hole
        for _m, file in dropped:
            (Path(folder or HOME) / file).unlink(missing_ok=True)
        say(f"{recipe.name}: weights of {', '.join(m for m, _ in dropped)} not shipped (their metrics are kept)")


def _as_stored(model, dtype):
    """A copy of ``model`` whose weights went through storage in ``dtype`` and back (what a lesson would load)."""
    copy_ = copy.deepcopy(model)
    copy_.load_state_dict(as_stored(model.state_dict(), dtype))
    return copy_
