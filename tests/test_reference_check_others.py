"""The second half of ``python -m course_lib.reference --check`` (tests/test_reference_check.py runs the
first): every recipe the manifest lists that the first half does not name, so that together they
re-measure every shipped model."""
import os

import pytest

from course_lib import reference

if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    pytest.skip("the reference models are measured on CPU copies whatever the device: make test re-measures them",
                allow_module_level=True)

from test_reference_check import FIRST_HALF, check_passes


def test_the_check_command_passes_on_every_shipped_model_of_the_second_half(capsys):
    recipes = sorted({key.split("/", 1)[0] for key in reference.read_manifest()["models"]})
    assert set(FIRST_HALF) < set(recipes), f"the first half names recipes the manifest lacks: {set(FIRST_HALF) - set(recipes)}"
    check_passes([name for name in recipes if name not in FIRST_HALF], capsys)
