"""nbgrader grades the exercises of lessons 1-4: the tests of tests/nbgrader_course.py on these
notebooks, and a lesson-1 submission whose first answer cell raises.  Lessons 5-8 are in
test_nbgrader_lessons_5_to_8.py, so that the two halves run on both workers."""
import os

import pytest

pytest.importorskip("nbgrader", reason="nbgrader is the course's [class] extra (make test installs it)")
if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    pytest.skip("nbgrader runs the notebooks in kernels of its own, on the CPU: they run once, in make test "
                "(the checks given answers on the GPU are tests/test_exercise_mutants.py's)", allow_module_level=True)
import nbgrader_course as course
from nbgrader_course import (  # noqa: F401
    graded,
    test_an_untouched_notebook_is_told_it_is_not_implemented,
    test_autograde_gives_full_marks_zero_and_a_wrong_answers_lost_point,
    test_the_released_notebooks_hold_what_the_course_generator_writes,
)

NOTEBOOKS = sorted(course.SOLUTIONS.glob("0[1-4]_*.ipynb"))


def test_a_failing_cell_loses_only_its_point(graded):  # noqa: F811 (graded: the fixture imported above)
    folder, expected = graded
    marks = expected[NOTEBOOKS[0]]["broken"]              # scored by the autograde test: that cell 0, the others 1
    assert list(marks.values()).count(None) == 1 and list(marks.values()).count(True) == len(marks) - 1
    assert "a learner cell that fails" in course.feedback_text(folder, "broken", NOTEBOOKS[0])
