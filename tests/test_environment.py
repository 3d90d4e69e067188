"""The set-up promises of the README: pins agree, the two commands exist, CI calls the test command."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    pins = {}
    for req in reqs:
        name, sep, version = req.partition("==")
        assert sep, f"{req!r} in pyproject.toml is not pinned with =="
        pins[name.strip().lower()] = version.strip()
    return pins


def environment_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s*([A-Za-z0-9_.\-]+)==(\S+)\s*$", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_environment_yml_and_pyproject_pin_the_same_versions():
    assert pyproject_pins() == environment_pins()
    assert pyproject_pins()["torch"] == "2.13.0"
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: setup$", makefile, re.M) and re.search(r"^test: setup$", makefile, re.M)
    assert "COURSE_LIB_FAST=1" in makefile
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_notebooks_are_committed_without_outputs():
    import json
    for path in sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("exercises/**/*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = json.loads(path.read_text())["cells"]
        dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"
