"""The code gate of issue 40, as tests: the public API carries type hints (mypy checks them in
`make lint`), and no function of course_lib is too tangled to read in one sitting."""
import inspect
import types
from pathlib import Path

import pytest
from radon.complexity import cc_visit

import course_lib as cl

PACKAGE = Path(cl.__file__).resolve().parent
MOST_COMPLEX = 20          # radon's cyclomatic complexity: above 20 a function is hard to test and to read


def _public_api():
    """(name, function) for every function course_lib exports and every public method of the classes a
    notebook builds first (VAE, History)."""
    out = []
    for name in cl.__all__:
        thing = getattr(cl, name)
        if callable(thing) and not inspect.isclass(thing) and not isinstance(thing, types.ModuleType):
            out.append((name, inspect.unwrap(thing)))
    for cls in (cl.VAE, cl.History):
        for name, member in vars(cls).items():
            fn = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
            if inspect.isfunction(fn) and (not name.startswith("_") or name in ("__init__", "__getitem__")):
                out.append((f"{cls.__name__}.{name}", inspect.unwrap(fn)))
    return out


def test_the_public_api_is_found():
    names = [n for n, _ in _public_api()]
    assert len(names) > 45 and "fit" in names and "VAE.conv" in names, names


@pytest.mark.parametrize("name,fn", _public_api(), ids=[n for n, _ in _public_api()])
def test_every_public_function_has_type_hints(name, fn):
    signature = inspect.signature(fn)
    bare = [p.name for p in signature.parameters.values()
            if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    assert not bare, f"{name}: give these parameters type hints: {bare}"
    assert signature.return_annotation is not inspect.Signature.empty or name.endswith("__init__"), \
        f"{name}: give it a return type"


def test_no_function_in_course_lib_is_above_complexity_20():
    tangled = [f"{path.relative_to(PACKAGE)}:{item.lineno} {item.name} ({item.complexity})"
               for path in sorted(PACKAGE.rglob("*.py"))
               for block in cc_visit(path.read_text())
               for item in [block, *getattr(block, "methods", [])] if item.complexity > MOST_COMPLEX]
    assert len(list(PACKAGE.rglob("*.py"))) > 90, "the package's modules were not found"
    assert not tangled, "split these functions: " + ", ".join(tangled)
