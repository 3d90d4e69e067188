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
