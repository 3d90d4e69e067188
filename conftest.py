"""Settings for the whole test run: tests, notebooks and exercises (pytest reads this file first).

Trained models go to one temporary folder per run, never to the learner's own cache
(``~/.cache/course_lib/models``): the run neither fills their disk with fast-mode models nor
loads a model they trained.  The folder is shared by everything that runs a lesson, so a
fast-mode model that one of them trained is loaded, not trained again, by the others:
nbval's notebook kernels and the browser test's JupyterLab, on either xdist worker.  Two
kernels that train the same model at once are safe (the cache writes atomically; see
``tests/test_cache.py``), and the cache names are unique across lessons (tested there too).

The unit tests in ``tests/`` still get an empty folder of their own, per test
(``tests/conftest.py``).

The run also shares the cores out.  With N xdist workers every process that computes (a worker,
or a notebook kernel that nbval or the browser test's JupyterLab starts) gets cores / N threads,
through OMP_NUM_THREADS, which the controller sets before it starts the workers and which every
kernel inherits.  (With more busy threads than cores, torch's OpenMP threads wait on each other
for time slices: in the 2-core suite, lesson 8b's trainings ran 7 to 30 times slower.)  A value
of OMP_NUM_THREADS set before pytest starts is kept only where it fits: a larger one (an
environment that sets it to the number of cores, as many CI machines and shells do) is lowered
to the share.  That preset value was what made the notebooks 5 to 15 times slower inside the suite
than alone (2026-11-29: lessons 5 and 8b under nbval with two workers, 24 s with the share,
220 s with OMP_NUM_THREADS=2 kept).

Each notebook runs top to bottom once.  Where a test runs it anyway, nbval leaves it alone: the
lessons, when the browser test runs them in JupyterLab (Chromium at hand, tests/test_browser.py in
the run: it fails on any cell that shows an error, as nbval would), and the exercise notebooks, when
nbgrader grades them (nbgrader installed: the reference solutions must earn full marks and the
released learner notebooks run to the end with zero).  Without either, nbval runs them.
"""
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from playwright.sync_api import sync_playwright

_FOLDER_VARIABLE = "COURSE_LIB_TEST_RUN_CACHE"
_THREADS_FROM = "COURSE_LIB_TEST_THREADS_FROM"     # who chose OMP_NUM_THREADS: "conftest" or "user"
_folder_key = pytest.StashKey[str]()


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or the only process): workers inherit all this
        workers = getattr(config.option, "numprocesses", None) or 1     # xdist's -n; 0 or absent: one process
        share = max(1, (os.cpu_count() or 1) // workers)
        preset = os.environ.get("OMP_NUM_THREADS", "")
        if (preset.isdigit() and 0 < int(preset) <= share) or (preset and not preset.isdigit()):               # a smaller value fits: kept
            os.environ[_THREADS_FROM] = "user"
        else:
            os.environ[_THREADS_FROM] = "conftest"
            os.environ["OMP_NUM_THREADS"] = str(share)
        folder = tempfile.mkdtemp(prefix="course-lib-test-models-")
        os.environ[_FOLDER_VARIABLE] = os.environ["COURSE_LIB_CACHE"] = folder
        config.stash[_folder_key] = folder
    threads = os.environ["OMP_NUM_THREADS"]
    if threads.isdigit() and int(threads) > 0:   # a user's value may be a list for nested OpenMP ("4,2"): left to OpenMP
        torch.set_num_threads(int(threads))


ROOT = Path(__file__).resolve().parent


def _in_run(config, test_file):
    """Whether ``test_file`` (under tests/) is among what this run collects."""
    wanted = [(ROOT / str(a).split("::")[0]).resolve() for a in config.args] or [ROOT]
    target = (ROOT / "tests" / test_file).resolve()
    return any(target == w or w in target.parents for w in wanted)


# tests/test_browser.py runs every lesson in JupyterLab, and all but these in full mode on the shipped models with
# strict claims, so that a claim its numbers contradict fails there: the run a learner gets, in the front end a
# learner uses.  These run in fast mode, and test_claims.py holds their claims to the shipped models, because their
# sliders' work grows with full mode's sizes and the test times every move on two busy cores: lesson 1's latent-size
# slider trains a model on its first visit to a size (a test can wait for that only in fast mode); lesson 2's
# estimator sliders draw 400 Monte Carlo estimates per n at each new position in full mode (up to 143 ms a move under
# the suite's load, 50 ms on an idle machine); lessons 3 and 4 draw the whole grid of their sweeps ahead in the
# background, a frame of which a move may wait for (a jump 161-194 ms under load in full mode).
LAB_FAST_MODE = frozenset({"01_elbo.ipynb", "02_reparameterization.ipynb", "03_rate_distortion.ipynb",
                           "04_beta_vae.ipynb"})
CHROMIUM = Path("/usr/bin/chromium")


def browser_runs_lessons(config):
    """Whether this run's browser test runs the lessons (Chromium is here and test_browser.py is collected)."""
    return CHROMIUM.exists() and _in_run(config, "test_browser.py") \
        and os.environ.get("COURSE_LIB_EMULATE_CUDA") != "1"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser), for tests/test_browser.py and
    tests/test_site.py.  Skipped with a message where it is missing, except in CI, where .ci/run installs it and
    its absence is a failure."""
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}; install Debian's package 'chromium' to run the browser test"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must have it: .ci/run installs it)")
        pytest.skip(message)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def lab_fast_mode():
    """The lessons the browser test runs in fast mode (the others: full mode, shipped models, strict claims)."""
    return LAB_FAST_MODE


@pytest.fixture(scope="session")
def claims_held_in_the_browser(request):
    """The lessons whose claims the browser test holds to the shipped models in this run (none without it)."""
    if not browser_runs_lessons(request.config):
        return frozenset()
    return frozenset(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")) - LAB_FAST_MODE


def pytest_ignore_collect(collection_path, config):
    if collection_path.suffix != ".ipynb" or os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
        return None
    if collection_path.parent == ROOT / "notebooks" and browser_runs_lessons(config):
        return True                     # tests/test_browser.py runs every lesson, in JupyterLab
    graded = (ROOT / "exercises" in collection_path.parents and collection_path.name.endswith("_exercises.ipynb")
              and importlib.util.find_spec("nbgrader") is not None)
    if graded and _in_run(config, "test_nbgrader_lessons_1_to_4.py") and _in_run(config, "test_nbgrader_lessons_5_to_8.py"):
        return True                     # nbgrader autogrades the solutions and the released notebooks
    return None


# pytest-xdist gives each free worker the next file in collection order (make test passes --no-loadscope-reorder,
# which keeps that order, where xdist would otherwise go by the number of tests in a file).  The files that take
# longest go first, so that neither worker is left at the end with one of them while the other has finished.
# (By the CI run of 61df57b, in make test; the emulated pass skips the nbgrader, teaching, claims and quick-check files,
# and there test_reference.py, test_reference_lessons.py, test_widgets.py and test_class_models.py take longest.)
LONGEST_FIRST = ("tests/test_browser.py", "tests/test_site.py", "tests/test_nbgrader_lessons_1_to_4.py",
                 "tests/test_nbgrader_lessons_5_to_8.py", "tests/test_teaching_docs.py", "tests/test_claims.py",
                 "tests/test_reference.py", "tests/test_reference_lessons.py", "tests/test_reference_check.py",
                 "tests/test_widgets.py", "tests/test_class_models.py", "tests/test_environment.py", "tests/test_cache.py",
                 "tests/test_wae.py", "tests/test_hybrids.py", "tests/test_flow_lessons.py",
                 "tests/test_bench_and_device.py", "tests/test_rate_distortion.py", "tests/test_sweep.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))     # a stable sort: files stay whole


def pytest_unconfigure(config):
    folder = config.stash.get(_folder_key, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def run_model_cache():
    """The run's shared model folder (what the notebook kernels use as COURSE_LIB_CACHE)."""
    return os.environ[_FOLDER_VARIABLE]


def pytest_terminal_summary(terminalreporter):
    """The browser test's slider latencies (tests/test_browser.py), one line per lesson, after the run."""
    lines = [f"{report.nodeid.rsplit('[', 1)[-1].rstrip(']')}: {value}"
             for report in terminalreporter.getreports("passed")
             for key, value in report.user_properties if key == "slider latency"]
    if lines:
        terminalreporter.section("slider latency in JupyterLab (headless Chromium; the mode is each line's first word)")
        for line in sorted(lines):
            terminalreporter.line(line)
