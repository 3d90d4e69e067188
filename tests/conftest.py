import os

import pytest
import torch

# Under pytest-xdist every worker (and every notebook kernel it starts) would use all cores,
# so N workers ran N x cores threads: share the cores out instead.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
_THREADS = max(1, (os.cpu_count() or 1) // _WORKERS)
torch.set_num_threads(_THREADS)
os.environ.setdefault("OMP_NUM_THREADS", str(_THREADS))


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test gets its own model cache and a fixed seed."""
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    from course_lib import cache
    cache.clear_memory()
    yield
    cache.clear_memory()
