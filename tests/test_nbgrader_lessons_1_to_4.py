"""nbgrader grades the exercises of lessons 1-4 (tests/nbgrader_course.py says how).  Lessons 5-8
are in test_nbgrader_lessons_5_to_8.py, so that the two halves run on both workers."""
import json

import os

import pytest

from course_lib.exercises.generate import learner_version

pytest.importorskip("nbgrader", reason="nbgrader is the course's [class] extra (make test installs it)")
if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    pytest.skip("nbgrader runs the notebooks in kernels of its own, on the CPU: they run once, in make test "
                "(the checks given answers on the GPU are tests/test_exercise_mutants.py's)", allow_module_level=True)
import nbgrader_course as course  # noqa: E402

NOTEBOOKS = sorted(course.SOLUTIONS.glob("0[1-4]_*.ipynb"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return course.grade_lessons(tmp_path_factory.mktemp("course"), NOTEBOOKS)


def test_autograde_gives_full_marks_zero_and_the_lost_points_of_every_mutant(graded):
    assert not course.check_grades(*graded)


def test_an_untouched_notebook_is_told_it_is_not_implemented_and_a_failing_cell_loses_only_its_point(graded):
    folder, expected = graded
    for notebook in NOTEBOOKS:
        assert "not implemented yet" in course.feedback_text(folder, "untouched", notebook)
    assert "broken" in expected[NOTEBOOKS[0]]            # scored by the test above: that cell 0, the others 1
    assert "a learner cell that fails" in course.feedback_text(folder, "broken", NOTEBOOKS[0])


def test_the_released_notebooks_hold_what_the_course_generator_writes(graded):
    """Both ways of handing out the exercises give the learner the same cells: nbgrader's release
    (for a class) and the course's own generator (for a learner on their own)."""
    folder, _ = graded
    for notebook in NOTEBOOKS:
        released = json.loads((folder / "release" / course.lesson_of(notebook) / notebook.name).read_text())
        ours = learner_version(json.loads(notebook.read_text()))
        assert [("".join(c["source"]), c["cell_type"]) for c in released["cells"]] == \
               [("".join(c["source"]), c["cell_type"]) for c in ours["cells"]], notebook.name
