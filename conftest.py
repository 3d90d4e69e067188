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
"""
import os
import shutil
import tempfile

import pytest

_FOLDER_VARIABLE = "COURSE_LIB_TEST_RUN_CACHE"
_folder_key = pytest.StashKey[str]()


def pytest_configure(config):
    if hasattr(config, "workerinput"):      # an xdist worker: it inherited the folder from the controller
        return
    folder = tempfile.mkdtemp(prefix="course-lib-test-models-")
    os.environ[_FOLDER_VARIABLE] = os.environ["COURSE_LIB_CACHE"] = folder
    config.stash[_folder_key] = folder


def pytest_unconfigure(config):
    folder = config.stash.get(_folder_key, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def run_model_cache():
    """The run's shared model folder (what the notebook kernels use as COURSE_LIB_CACHE)."""
    return os.environ[_FOLDER_VARIABLE]
