"""Every unit test gets an empty model cache of its own and a fixed seed.  (The run-wide settings,
the shared model folder of the notebooks and the threads per process, are in ../conftest.py.)"""
import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test gets its own model cache and a fixed seed."""
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    from course_lib import cache
    cache.clear_memory()
    yield
    cache.clear_memory()
