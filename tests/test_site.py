"""make site: every lesson executed and rendered to static HTML with its figures."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def code_cells(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_make_site_renders_every_lesson_with_its_figures(tmp_path):
    out = tmp_path / "site"
    env = dict(os.environ, COURSE_LIB_FAST="1")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)],
                         env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    index = (out / "index.html").read_text()
    for path in LESSONS:
        page = out / f"{path.stem}.html"
        assert page.is_file(), f"no page for {path.name}"
        assert f'href="{path.stem}.html"' in index
        text = page.read_text()
        live = sum("_explorer(" in source for source in code_cells(path))
        static = sum(bool(re.search(r"plt\.(subplots|figure)\(", source)) for source in code_cells(path))
        frames = text.count('class="course-first-frame"')
        pictures = text.count("data:image/png;base64,")
        assert frames == live, f"{path.name}: {frames} first frames for {live} live figures"
        assert frames == text.count("First frame of a live figure")                  # each one labelled
        assert pictures >= frames + static, f"{path.name}: {pictures} pictures, expected at least {frames + static}"
        assert "Read-only rendering" in text and "Traceback" not in text
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.html"] + [f"{p.stem}.html" for p in LESSONS])


def test_a_lesson_that_fails_to_run_is_named_in_one_line_and_leaves_no_page(tmp_path):
    broken = tmp_path / "99_broken.ipynb"
    broken.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "1 / 0", "metadata": {},
                                             "outputs": [], "execution_count": None}],
                                  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    out = tmp_path / "site"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out), str(broken)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1].startswith("make site failed: CellExecutionError")
    assert not list(out.glob("*.html")) and not list(out.glob("*.tmp"))
