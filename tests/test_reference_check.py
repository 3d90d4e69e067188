"""``python -m course_lib.reference --check`` in make test: every shipped reference model loaded into
today's code and every recorded metric measured again on the CPU, within its recipe's tolerance.  A file
of its own, so that the suite's second worker runs it beside the other reference tests (``--dist
loadfile``)."""
import os

import pytest

from course_lib.reference.__main__ import main

if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    pytest.skip("the reference models are measured on CPU copies whatever the device: make test re-measures them",
                allow_module_level=True)


def test_the_check_command_passes_on_every_shipped_model(capsys):
    code = main(["--check"])
    out = capsys.readouterr().out
    assert code == 0, "\n".join(line for line in out.splitlines() if line.startswith("MISMATCH"))
    assert "all shipped reference models agree with their manifest" in out
