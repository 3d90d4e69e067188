"""The README and docs/: a front page a newcomer reads in minutes, links that lead somewhere, and
tables that come from the manifest, not from a hand."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path):
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces to '-'."""
    out = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return out


def relative_links(path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)      # not inside code blocks
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def test_the_readme_is_short_and_gives_the_two_commands_first():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; keep it under 200 and move the rest to docs/"
    head = "\n".join(lines[:30])
    assert re.search(r"^make lab\b", head, re.M) and re.search(r"^make test\b", head, re.M)


def test_the_docs_hold_one_topic_a_page():
    names = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {"teaching.md", "reference-models.md", "performance.md", "testing.md", "architecture.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    broken = []
    for target in relative_links(page):
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: {dest.name} has no heading #{anchor}")
    assert not broken, f"{page.name}: {broken}"


def test_the_link_check_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nSee [this](missing.md), [that](#title) and [the web](https://example.org).\n"
                    "```\n[not a link](inside-code.md)\n```\n")
    assert relative_links(page) == ["missing.md", "#title"]
    assert anchors(page) == {"title"}


def test_the_reference_tables_in_the_docs_are_the_manifests():
    from course_lib.reference.__main__ import END, START, table_text
    text = (ROOT / "docs" / "reference-models.md").read_text()
    written = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert written == table_text().strip(), (
        "docs/reference-models.md's tables differ from the manifest: run "
        "python -m course_lib.reference table --write docs/reference-models.md")


# -- the lessons' prose: ideas and results; how the models were made sits in one collapsed note -----------
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ABOUT = "About the models in this lesson"
PROVENANCE = re.compile(r"\brecipes?\b|manifest|\bretrain|fast mode|until those models|python -m course_lib|"
                        r"\breference (models?|runs?|sweep|flows?|VAEs?|BiGAN|β-VAEs?|β-TCVAEs?)\b", re.I)


def lesson_cells(path):
    cells = json.loads(path.read_text())["cells"]
    return [("".join(c["source"]), c["cell_type"]) for c in cells]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_lessons_paragraphs_speak_of_ideas_and_its_models_provenance_sits_in_one_collapsed_note(path):
    cells = lesson_cells(path)
    notes = [text for text, kind in cells if kind == "markdown" and ABOUT in text]
    loads_models = any("reference.or_train(" in text for text, kind in cells if kind == "code")
    assert len(notes) == loads_models, f"{path.name}: {len(notes)} notes {ABOUT!r}"
    for note in notes:
        assert note.startswith("<details>") and note.rstrip().endswith("</details>"), "the note is collapsed"
        assert "make test" in note and "COURSE_LIB_FAST" in note
    for text, kind in cells:
        if kind != "markdown" or ABOUT in text:
            continue
        if path.stem == "00_quickstart" and text.startswith("# 0"):
            text = text.replace("fast mode", "").replace("Fast mode", "")   # where the course says what it is
        found = PROVENANCE.search(text)
        assert not found, f"{path.name}: {found.group(0)!r} in a teaching paragraph: {text[:200]!r}"
