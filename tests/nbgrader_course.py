"""A scratch nbgrader course for the tests: the exercises released, submitted, autograded and
given feedback by the real nbgrader, as an instructor would run it (README, "Teaching a class").

One assignment per lesson, holding that lesson's solution notebook as its source.  The
submissions of one lesson:

    solutions     the reference solutions                         -> full marks
    untouched     the released notebook, not written in          -> zero, and no crash
    mutant-0      the first wrong answer of each exercise's table in tests/test_exercise_mutants.py
                  -> every exercise loses its point, and its hint is in the feedback

Every other wrong answer of those tables goes through the same check function, in process, in
tests/test_exercise_mutants.py (each must get its own named hint).  What nbgrader adds, that a check
which fails costs its cell's point and that its hint reaches the feedback page, is the same for
every wrong answer, so one submission of wrong answers per lesson proves it (each submission is a
notebook run in a kernel of its own: all of them took about 190 s of the suite's time).
    broken        (lesson 1) the first answer cell raises         -> that check zero, the others graded
"""
import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "exercises" / "solutions"
NBGRADER = Path(sys.executable).parent / "nbgrader"


def mutant_table():
    """{lesson module name: {exercise: [(wrong answer, hint words or None), ...]}} from the mutant tests."""
    spec = importlib.util.spec_from_file_location("exercise_mutants", ROOT / "tests" / "test_exercise_mutants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = {}
    for check, (_, wrong) in module.TABLE.items():
        table.setdefault(check.__module__.rsplit(".", 1)[-1], {})[check.__name__] = wrong
    return table


# Written next to a mutant's notebook: its answer cells fetch their wrong answer from here.
HELPER = f'''"""The wrong answers of tests/test_exercise_mutants.py, for a scratch nbgrader submission."""
import importlib.util

_spec = importlib.util.spec_from_file_location("exercise_mutants", {str(ROOT / "tests" / "test_exercise_mutants.py")!r})
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)


def wrong(lesson, name, k):
    for check, (_, answers) in _module.TABLE.items():
        if check.__module__.endswith(lesson) and check.__name__ == name:
            return answers[k][0]
    raise KeyError((lesson, name))
'''


def lesson_of(notebook):
    """01_elbo_exercises.ipynb -> lesson01"""
    return f"lesson{notebook.name[:2]}"


def nbgrader(course, *args):
    """Run one nbgrader command in the course folder; -> its output (fails the test on an error)."""
    env = {**os.environ, "COURSE_LIB_FAST": "1", "PYTHONPATH": str(ROOT),
           "PATH": f"{NBGRADER.parent}{os.pathsep}{os.environ.get('PATH', '')}"}     # it runs alembic from there
    run = subprocess.run([str(NBGRADER), *args], cwd=course, capture_output=True, text=True, env=env, timeout=900)
    if run.returncode != 0:
        log = run.stdout + run.stderr
        first = log.find("| ERROR]")                   # nbgrader logs the cause before its summary lines
        cause = log[max(0, first - 4000):first + 500] if first >= 0 else ""
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{cause}\n...\n{log[-2000:]}")
    return run.stdout + run.stderr


def make_course(folder, notebooks):
    """A course folder with one assignment per solution notebook, released with generate_assignment."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'vae-course'\n"
        f"c.CourseDirectory.root = {str(folder)!r}\n"
        "c.ExecutePreprocessor.timeout = 600\n"
        # kernels talk over sockets in the course folder, not TCP ports, which the run's other kernels
        # (nbval's, the browser test's) could take between nbgrader choosing a port and binding it
        "c.AsyncKernelManager.transport = 'ipc'\n"
        f"c.AsyncKernelManager.ip = {str(folder / 'sockets' / 'kernel')!r}\n")
    (folder / "sockets").mkdir()
    for notebook in notebooks:
        source = folder / "source" / lesson_of(notebook)
        source.mkdir(parents=True)
        shutil.copy(notebook, source / notebook.name)
    nbgrader(folder, "generate_assignment", "*")          # every assignment, in one start of nbgrader
    return folder


def answer_cells(nb):
    """The cells in which a learner writes: nbgrader's solution cells."""
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def submit(course, student, notebook, answers=None, extra_files=()):
    """Copy the released notebook into submitted/<student>/, with each answer cell replaced by
    ``answers[grade_id]`` where given."""
    lesson = lesson_of(notebook)
    nb = json.loads((course / "release" / lesson / notebook.name).read_text())
    for cell in answer_cells(nb):
        name = cell["metadata"]["nbgrader"]["grade_id"]
        if answers and name in answers:
            cell["source"] = answers[name]
    folder = course / "submitted" / student / lesson
    folder.mkdir(parents=True)
    (folder / notebook.name).write_text(json.dumps(nb))
    for name, text in extra_files:
        (folder / name).write_text(text)


def solution_sources(notebook):
    """{exercise: the reference solution's cell source} of a solution notebook."""
    nb = json.loads(notebook.read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in answer_cells(nb)}


def submit_all(course, notebook, table):
    """Every submission of one lesson (module docstring); -> {student: {exercise: hint words or True}}:
    True where the exercise must earn its point, the hint words (or None) where it must not."""
    lesson, reference = lesson_of(notebook), solution_sources(notebook)
    expected = {"solutions": dict.fromkeys(reference, True), "untouched": dict.fromkeys(reference)}
    submit(course, "solutions", notebook, reference)
    submit(course, "untouched", notebook)
    wrong = table[lesson]
    assert set(wrong) == set(reference), f"{lesson}: exercises without wrong answers: {set(reference) - set(wrong)}"
    answers = {name: f"from grading_mutants import wrong\n{name} = wrong({lesson!r}, {name!r}, 0)" for name in reference}
    submit(course, "mutant-0", notebook, answers, extra_files=[("grading_mutants.py", HELPER)])
    expected["mutant-0"] = {name: wrong[name][0][1] for name in reference}
    if lesson == "lesson01":
        first = next(iter(reference))
        broken = dict(reference, **{first: "raise RuntimeError('a learner cell that fails')"})
        submit(course, "broken", notebook, broken)
        expected["broken"] = {name: True if name != first else None for name in reference}
    return expected


def grades(course, lesson):
    """{student: {exercise: (score, max score)}} from the course's gradebook."""
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(lesson):
            for nb in submission.notebooks:
                for grade in nb.grades:
                    out.setdefault(submission.student.id, {})[grade.name.removeprefix("check_")] = (
                        grade.score, grade.max_score)
    return out


def feedback_text(course, student, notebook):
    """The feedback page nbgrader wrote for one student's notebook, as plain text."""
    page = course / "feedback" / student / lesson_of(notebook) / notebook.with_suffix(".html").name
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def grade_lessons(folder, notebooks):
    """Release, submit, autograde and give feedback for these lessons; -> (course, expected)."""
    table = mutant_table()
    course = make_course(folder, notebooks)
    expected = {}
    for notebook in notebooks:
        expected[notebook] = submit_all(course, notebook, table)
    nbgrader(course, "autograde", "*")
    nbgrader(course, "generate_feedback", "*")
    return course, expected


def check_grades(course, expected):
    """Every submission got exactly the points it should, and every lost point's hint is in its feedback."""
    problems = []
    assert expected and all(expected.values()), "nothing was submitted: no grade to check"
    for notebook, students in expected.items():
        got = grades(course, lesson_of(notebook))
        assert set(students) <= set(got), f"{notebook.name}: nbgrader graded {sorted(got)}, not {sorted(students)}"
        for student, marks in students.items():
            for name, mark in marks.items():
                score, top = got[student][name]
                if top != 1.0 or score != (1.0 if mark is True else 0.0):
                    problems.append(f"{notebook.name}, {student}, {name}: {score} of {top}")
            lost = [words for words in marks.values() if isinstance(words, str)]
            if lost:
                text = feedback_text(course, student, notebook)
                problems += [f"{notebook.name}, {student}: hint {w!r} not in the feedback" for w in lost if w not in text]
    return problems


# -- the tests both halves run: each test file sets NOTEBOOKS and imports these -----------------

@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """The module's NOTEBOOKS released, submitted, autograded and given feedback.  -> (course, expected)"""
    return grade_lessons(tmp_path_factory.mktemp("course"), request.module.NOTEBOOKS)


def test_autograde_gives_full_marks_zero_and_a_wrong_answers_lost_point(graded):
    assert not check_grades(*graded)


def test_an_untouched_notebook_is_told_it_is_not_implemented(graded):
    folder, expected = graded
    for notebook in expected:
        assert "not implemented yet" in feedback_text(folder, "untouched", notebook)


def test_the_released_notebooks_hold_what_the_course_generator_writes(graded):
    """Both ways of handing out the exercises give the learner the same cells: nbgrader's release
    (for a class) and the course's own generator (for a learner on their own)."""
    from course_lib.exercises.generate import learner_version
    folder, expected = graded
    for notebook in expected:
        released = json.loads((folder / "release" / lesson_of(notebook) / notebook.name).read_text())
        ours = learner_version(json.loads(notebook.read_text()))
        assert [("".join(c["source"]), c["cell_type"]) for c in released["cells"]] == \
               [("".join(c["source"]), c["cell_type"]) for c in ours["cells"]], notebook.name
