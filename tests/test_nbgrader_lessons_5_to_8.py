"""nbgrader grades the exercises of lessons 5-8 (tests/nbgrader_course.py says how); lessons 1-4,
the lesson-1 submission whose cell fails and the comparison with the course's generator are in
test_nbgrader_lessons_1_to_4.py."""
import os

import pytest

pytest.importorskip("nbgrader", reason="nbgrader is the course's [class] extra (make test installs it)")
if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    pytest.skip("nbgrader runs the notebooks in kernels of its own, on the CPU: they run once, in make test "
                "(the checks given answers on the GPU are tests/test_exercise_mutants.py's)", allow_module_level=True)
import nbgrader_course as course  # noqa: E402

NOTEBOOKS = sorted(course.SOLUTIONS.glob("0[5-8]_*.ipynb"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return course.grade_lessons(tmp_path_factory.mktemp("course"), NOTEBOOKS)


def test_autograde_gives_full_marks_zero_and_the_lost_points_of_every_mutant(graded):
    assert not course.check_grades(*graded)


def test_an_untouched_notebook_is_told_it_is_not_implemented(graded):
    folder, _ = graded
    for notebook in NOTEBOOKS:
        assert "not implemented yet" in course.feedback_text(folder, "untouched", notebook)
