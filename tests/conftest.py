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


@pytest.fixture
def small_image_flow():
    """Lesson 7b's image flow, small (one step per scale, width 8), and four dequantized random images it has
    already seen once, so that its ActNorm layers are initialised: -> (flow, images)."""
    from course_lib.lessons import flow_vae
    torch.manual_seed(0)
    flow = flow_vae.build_image_flow(steps_per_scale=1, hidden=8)
    images = flow_vae.dequantize(torch.rand(4, 1, 28, 28))
    with torch.no_grad():
        flow.log_prob(images)                              # ActNorm initialises itself on a first batch
    return flow, images
