"""nbgrader grades the exercises of lessons 5-8 (tests/nbgrader_course.py says how); lessons 1-4,
the lesson-1 submission whose cell fails and the comparison with the course's generator are in
test_nbgrader_lessons_1_to_4.py."""
import pytest

pytest.importorskip("nbgrader", reason="nbgrader is the course's [class] extra (make test installs it)")
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
