"""The lessons' tables of published numbers (course_lib.lessons.papers): each number carries its source and
setting, and a table shows the lesson's numbers above the papers' with every setting once."""
import pytest

import course_lib as cl
from course_lib.lessons import papers


def test_a_table_lists_ours_then_theirs_and_each_setting_once():
    table = papers.side_by_side({"flat | VAE": -242.21, "two-level": -244.0}, "our setting", papers.HIERARCHICAL_FASHION)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[-1] for row in rows] == ["this lesson |"] * 2 + ["Norouzi et al. (2020) |"] * 2
    assert "flat \\| VAE" in rows[0] and "-242.21" in rows[0]               # a "|" in a name does not break the table
    assert "-228.70 ± 0.15" in rows[2] and "-227.37 ± 0.1" in rows[3]
    notes = [line for line in table.splitlines() if line.startswith("* ")]
    assert notes == ["* **This lesson:** our setting.",
                     f"* **Norouzi et al. (2020)** ({papers.EXEMPLAR_VAE}): {papers.EXEMPLAR_VAE_SETTING}."]


def test_every_reported_number_says_who_reported_it_where_and_in_what_setting():
    for r in papers.HIERARCHICAL_FASHION:
        assert r.cite and r.setting and "github.com" in r.source and r.value < 0


@pytest.mark.parametrize("ours, reported", [({}, papers.HIERARCHICAL_FASHION), ({"a": 1.0}, ())])
def test_an_empty_side_is_a_clear_message(ours, reported):
    with pytest.raises(cl.CourseInputError, match="at least one number of the lesson's"):
        papers.side_by_side(ours, "setting", reported)
