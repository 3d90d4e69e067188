"""The shape of course_lib: its folders are layers, and no module imports from a layer above it.

Bottom to top (course_lib/__init__.py says what each holds):

    0  errors, settings, io, device, claims, capture
    1  distributions, nets, objectives, schedules, data
    2  flows, metrics, estimators
    3  models
    4  training
    5  figures
    6  lessons, exercises, bench, class_models, prune_cache
    7  reference (its recipes build and measure the lessons' models)

Every import is read from the source (imports inside functions too), so a lazy import that
reaches upwards fails here as well as one at the top of a file.
"""
import ast
from pathlib import Path

import pytest

import course_lib
from course_lib.training import cache

PACKAGE = Path(course_lib.__file__).resolve().parent
LAYERS = [
    {"errors", "settings", "io", "device", "claims", "capture"},
    {"distributions", "nets", "objectives", "schedules", "data"},
    {"flows", "metrics", "estimators"},
    {"models"},
    {"training"},
    {"figures"},
    {"lessons", "exercises", "bench", "class_models", "prune_cache"},
    {"reference"},
]
LAYER_OF = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts, parts[-1] == "__init__"


def _imports(path, source=None):
    """The course_lib modules that one source file imports, as lists of names below course_lib
    (``source``: read this text instead of the file, as if it stood at ``path``)."""
    here, is_package = _module_name(path)
    base = here if is_package else here[:-1]
    found = []
    for node in ast.walk(ast.parse(source or path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                target = base[:len(base) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "course_lib":
                target = node.module.split(".")[1:]
            else:
                continue
            if node.module:
                found.append(target)
            else:                                   # from . import vae: the names are modules
                found.extend([*target, alias.name] for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(alias.name.split(".")[1:] for alias in node.names
                         if alias.name.split(".")[0] == "course_lib" and "." in alias.name)
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_top_level_unit_has_a_layer_and_few_modules_stay_at_the_top():
    units = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    units |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert units == set(LAYER_OF), f"give these a layer (or remove them from LAYERS): {units ^ set(LAYER_OF)}"
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    # twelve: the eleven leaves and tools, and capture (the mark a CUDA graph reads, one idea of its own)
    assert len(modules) <= 12, f"{len(modules)} modules at the top of course_lib: {modules}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_imports_from_a_layer_above_its_own(path):
    unit = _module_name(path)[0][0]
    upward = [".".join(t) for t in _imports(path) if LAYER_OF[t[0]] > LAYER_OF[unit]]
    assert not upward, f"{path.relative_to(PACKAGE)} (layer {LAYER_OF[unit]}) imports from above: {upward}"


def test_the_units_of_one_layer_import_each_other_without_a_cycle():
    edges = {}
    for path in SOURCES:
        unit = _module_name(path)[0][0]
        for target in _imports(path):
            if target[0] != unit and LAYER_OF[target[0]] == LAYER_OF[unit]:
                edges.setdefault(unit, set()).add(target[0])

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in edges.get(start, ()))

    cycles = sorted(f"{a} -> {b} -> ... -> {a}" for a in edges for b in edges[a] if reaches(b, a))
    assert not cycles, f"import cycles between course_lib's units: {cycles}"


def test_the_layer_check_sees_a_lazy_upward_import():
    """The checker itself: an import inside a function, one package up, is found and resolved."""
    source = "import torch\n\ndef f():\n    from ..training.train import fit\n    from . import vae\n"
    found = _imports(PACKAGE / "models" / "example.py", source)
    assert found == [["training", "train"], ["models", "vae"]]
    assert LAYER_OF[found[0][0]] > LAYER_OF["models"]


def test_the_code_version_covers_every_package(monkeypatch):
    """Changing any file of course_lib (here a model, two folders down) gives the cache a new key."""
    before = cache.code_version()
    original = Path.read_bytes
    target = PACKAGE / "models" / "vae.py"
    monkeypatch.setattr(Path, "read_bytes",
                        lambda self: original(self) + (b"# changed" if self.resolve() == target else b""))
    assert cache.code_version() != before
