"""The set-up promises of the README: pins agree, the two commands exist, CI calls the test command."""
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def pyproject_requirements():
    """{name: specifier} for the package's dependencies and extras."""
    from packaging.requirements import Requirement
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {Requirement(r).name.lower(): Requirement(r).specifier for r in reqs}


def pins(path, pattern):
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        m = re.match(pattern, line)
        if m:
            found[m.group(1).lower().replace("_", "-")] = m.group(2)
    return found


def lock_pins():
    return pins("requirements-lock.txt", r"^([A-Za-z0-9_.\-]+)==(\S+)\s*$")


def environment_pins():
    return pins("environment.yml", r"^\s*-\s*([A-Za-z0-9_.\-]+)==(\S+)\s*$")


def test_the_package_asks_for_ranges_and_the_lock_pins_versions_inside_them():
    requirements, lock = pyproject_requirements(), lock_pins()
    assert not [n for n, spec in requirements.items() if any(s.operator == "==" for s in spec)], \
        "pyproject.toml must give ranges, not exact pins (the exact versions belong in the lock)"
    for name, spec in requirements.items():
        assert name in lock, f"{name} is not in requirements-lock.txt"
        assert spec.contains(lock[name], prereleases=True), f"the lock's {name}=={lock[name]} is outside {spec}"
    assert lock["torch"] == "2.13.0"


def test_environment_yml_pins_what_the_lock_pins():
    env = environment_pins()
    assert set(env) == set(pyproject_requirements())
    assert {n: lock_pins()[n] for n in env} == env
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_make_installs_through_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "LOCK   := requirements-lock.txt" in makefile
    assert re.search(r"pip install --quiet -c \$\(LOCK\) uv$", makefile, re.M), "uv itself comes pinned by the lock"
    assert re.search(r"uv pip install [^\n]*\\\n\s*-c \$\(LOCK\) -e '\.\[lab,test,class\]'", makefile)
    assert "uv" in lock_pins()
    assert "--compile-bytecode" in makefile, "uv compiles no bytecode unless asked (pip does): every process would"


def test_reading_a_notebook_builds_no_iri_parsers():
    """The lock keeps jsonschema below 4.25 (its comment says why): a process that reads a notebook (the lab server,
    nbclient, nbconvert, nbgrader, nbval) then spends no second building the IRI parsers of rfc3987-syntax."""
    from packaging.version import Version
    assert Version(lock_pins()["jsonschema"]) < Version("4.25"), "see the comment above jsonschema in the lock"
    assert "rfc3987-syntax" not in lock_pins() and "lark" not in lock_pins()
    run = subprocess.run([sys.executable, "-c", "import sys, nbformat; print('rfc3987_syntax' in sys.modules)"],
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "False", run.stdout + run.stderr


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: setup$", makefile, re.M) and re.search(r"^test: setup$", makefile, re.M)
    assert "COURSE_LIB_FAST=1" in makefile
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_notebooks_are_committed_without_outputs():
    import json
    paths = [p for p in sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("exercises/**/*.ipynb"))
             if ".ipynb_checkpoints" not in p.parts]
    assert len(paths) >= 11 + 16, f"found only {len(paths)} notebooks: the globs look in the wrong place"
    for path in paths:
        cells = json.loads(path.read_text())["cells"]
        dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


def test_every_process_of_the_run_gets_its_share_of_the_cores():
    """Workers x threads must not exceed the cores: with more busy threads than cores, OpenMP threads
    wait on each other's time slices (in the 2-core suite, trainings ran 7 to 30 times slower).
    The notebook kernels inherit the value, as the child process below does.  A larger
    OMP_NUM_THREADS set before the run is lowered (test_a_preset_thread_count_is_lowered_to_the_share)."""
    threads = int(os.environ["OMP_NUM_THREADS"])
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = max(1, (os.cpu_count() or 1) // workers)
    if os.environ.get("COURSE_LIB_TEST_THREADS_FROM") == "user":          # a smaller value set before the run
        assert threads <= share
    else:
        assert threads == share
    assert torch.get_num_threads() == threads
    child = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                           capture_output=True, text=True, check=True)
    assert int(child.stdout) == threads


def test_a_preset_thread_count_is_lowered_to_the_share(tmp_path):
    """An environment that sets OMP_NUM_THREADS to all the cores (many CI machines do) must not give
    every worker and kernel that many threads: a pytest run with two workers lowers it to the share."""
    seen = tmp_path / "threads.txt"
    (tmp_path / "test_threads.py").write_text(
        f"import os\n\ndef test_threads():\n    open({str(seen)!r}, 'w').write(os.environ['OMP_NUM_THREADS'])\n")
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    cores = os.cpu_count() or 1
    env = {**os.environ, "OMP_NUM_THREADS": str(cores * 4)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", "-n", "2",
                          str(tmp_path / "test_threads.py")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert seen.read_text() == str(max(1, cores // 2))       # what a worker, and so its kernels, inherit


def test_the_files_run_first_exist_and_make_test_keeps_their_order():
    """conftest.py's LONGEST_FIRST puts the slowest files first (so neither worker is left alone with one at the end);
    a renamed file would silently lose its place, and xdist reorders files unless told not to."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    assert len(set(conftest.LONGEST_FIRST)) == len(conftest.LONGEST_FIRST)
    missing = [name for name in conftest.LONGEST_FIRST if not (ROOT / name).is_file()]
    assert not missing, f"conftest.LONGEST_FIRST names files that do not exist: {missing}"
    assert "--no-loadscope-reorder" in (ROOT / "Makefile").read_text()
    assert "--no-loadscope-reorder" in (ROOT / ".ci" / "run").read_text()
