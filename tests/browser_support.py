"""What the two browser tests share (tests/test_browser.py: the lessons in JupyterLab; tests/test_site.py: the
static site), besides the ``browser`` fixture of conftest.py: the lessons, and a wait that names what it waited
for."""
import json
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))


def wait_for(predicate, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def code_cells(path):
    """The sources of a notebook's code cells."""
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def expected_live_figures(lesson):
    """How many code cells of the lesson build an explorer (a LiveFigure).  A slider over reference
    models (``median_explorer("<recipe>", over)``) is there only when the course ships one of that recipe's
    median models."""
    from course_lib.reference import views
    count = 0
    for source in code_cells(ROOT / "notebooks" / lesson):
        over_reference = re.search(r'median_explorer\("([^"]+)"(?:, "(\w+)")?', source)
        if "_explorer(" in source and not (over_reference and not views.median_models(
                over_reference.group(1), over_reference.group(2) or "beta")):
            count += 1
    return count
