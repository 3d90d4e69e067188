"""The instructor's nbgrader commands in docs/teaching.md, run exactly as written.

The three blocks under "Once: the grading folder", "Each lesson: release" and "Each lesson: grade"
are read from the page.  Only the two example folders are replaced (the course's /srv/vae-course by
this checkout, /srv/nbgrader by a scratch folder), and each block runs in `bash -e` with a fresh
shell's PATH, as an instructor who opened a terminal would run it.  Between release and grading a
learner fetches the release and submits it with the reference answers filled in; grading must give
them full marks and write their feedback page.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("nbgrader", reason="nbgrader is the course's [class] extra (make test installs it)")
if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    pytest.skip("nbgrader's kernels run on the CPU: this runs once, in make test", allow_module_level=True)
import nbgrader_course

ROOT = Path(__file__).resolve().parent.parent
if not (ROOT / ".venv" / "bin" / "activate").is_file():
    pytest.skip("the page's commands use the course's own environment, .venv (make setup makes it)",
                allow_module_level=True)
PAGE = ROOT / "docs" / "teaching.md"
FRESH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def block_under(heading, language):
    """The first ```language block after the line ``heading`` of docs/teaching.md."""
    text = PAGE.read_text()
    assert heading in text, f"docs/teaching.md has no heading {heading!r}"
    after = text.split(heading, 1)[1]
    found = re.search(rf"```{language}\n(.*?)```", after, re.S)
    assert found, f"no {language} block under {heading!r}"
    return found.group(1)


def here(text, scratch):
    return text.replace("/srv/vae-course", str(ROOT)).replace("/srv/nbgrader", str(scratch))


def run_block(script, scratch, cwd):
    env = {"PATH": FRESH_PATH, "HOME": str(scratch / "home"), "COURSE_LIB_FAST": "1", "LANG": "C.UTF-8"}
    run = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, f"the block failed (exit {run.returncode}):\n{script}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout + run.stderr


def test_the_nbgrader_commands_of_the_teaching_page_work_as_written(tmp_path):
    scratch = tmp_path
    (scratch / "home").mkdir()
    (scratch / "exchange").mkdir()
    course = scratch / "vae-course"
    course.mkdir()
    config = here(block_under("### Once: the grading folder", "python"), scratch)
    # kernels talk over sockets in the folder, not TCP ports, which the suite's other kernels could take
    (scratch / "sockets").mkdir()
    config += ("c.AsyncKernelManager.transport = 'ipc'\n"
               f"c.AsyncKernelManager.ip = {str(scratch / 'sockets' / 'kernel')!r}\n")
    (course / "nbgrader_config.py").write_text(config)

    run_block(here(block_under("### Each lesson: release", "bash"), scratch), scratch, scratch)
    assert (course / "release" / "lesson01" / "01_elbo_exercises.ipynb").is_file()

    learner = scratch / "learner"
    learner.mkdir()
    (scratch / "home" / ".jupyter").mkdir()                # the learner's nbgrader knows the exchange
    (scratch / "home" / ".jupyter" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(scratch / 'exchange')!r}\n")
    activate = f"source {ROOT}/.venv/bin/activate\n"
    run_block(activate + "nbgrader fetch_assignment lesson01 --course vae-course", scratch, learner)
    fetched = learner / "lesson01" / "01_elbo_exercises.ipynb"
    nb = json.loads(fetched.read_text())
    answers = nbgrader_course.solution_sources(nbgrader_course.SOLUTIONS / "01_elbo_exercises.ipynb")
    for cell in nbgrader_course.answer_cells(nb):
        cell["source"] = answers[cell["metadata"]["nbgrader"]["grade_id"]]
    fetched.write_text(json.dumps(nb))
    run_block(activate + "nbgrader submit lesson01 --course vae-course", scratch, learner)

    run_block(here(block_under("### Each lesson: grade", "bash"), scratch), scratch, scratch)
    student = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    grades = nbgrader_course.grades(course, "lesson01")
    assert grades, f"nothing was graded; the course folder holds {sorted(p.name for p in course.iterdir())}"
    (got,) = grades.values()
    assert got and all(score == top == 1.0 for score, top in got.values()), got
    assert list((course / "feedback").glob("*/lesson01/01_elbo_exercises.html")), student


def test_without_the_activation_nbgrader_fails_as_the_page_warns(tmp_path):
    """The page's reason for `source .venv/bin/activate`: nbgrader called by its path alone, from a fresh
    shell, cannot find alembic."""
    course = tmp_path / "vae-course"
    course.mkdir()
    (tmp_path / "home").mkdir()
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    (course / "source" / "lesson01").mkdir(parents=True)
    (course / "source" / "lesson01" / "01_elbo_exercises.ipynb").write_bytes(
        (nbgrader_course.SOLUTIONS / "01_elbo_exercises.ipynb").read_bytes())
    env = {"PATH": FRESH_PATH, "HOME": str(tmp_path / "home")}
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "nbgrader"), "generate_assignment", "lesson01"], cwd=course,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "alembic" in run.stdout + run.stderr
    assert "FileNotFoundError: 'alembic'" in PAGE.read_text() or "alembic" in PAGE.read_text()
