"""The table of every lesson's claims, read from the notebooks: lesson, cell, the sentence, its check.

    .venv/bin/python tools/claims_table.py                                   # print the table
    .venv/bin/python tools/claims_table.py --write docs/claims-audit.md      # write it between the marker lines

``tests/test_claims.py`` checks that the written table is the one the notebooks give today.
"""
import argparse
import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- claims-table: start (python tools/claims_table.py --write docs/claims-audit.md) -->"
END = "<!-- claims-table: end -->"


def claims_in(notebook):
    """[(code cell number, sentence, check)] of every ``cl.claim(sentence, check, ...)`` in a notebook; a sentence
    built by an f-string is shown with its {placeholders}."""
    found, number = [], 0
    for cell in json.loads(Path(notebook).read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        number += 1
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "claim":
                text = node.args[0]
                sentence = text.value if isinstance(text, ast.Constant) else ast.unparse(text)[2:-1]
                found.append((number, sentence, " ".join(ast.unparse(node.args[1]).split())))
    return found


def table():
    """The Markdown table of every lesson's claims."""
    lines = ["| lesson | code cell | the claim | its check |", "|---|---:|---|---|"]
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell, sentence, check in claims_in(notebook):
            cells = (notebook.stem, str(cell), sentence, f"`{check}`")
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write(path):
    text = Path(path).read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no marker lines {START!r} … {END!r}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    Path(path).write_text(head + START + "\n" + table() + END + tail)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="FILE", help="write the table into FILE between its marker lines")
    args = parser.parse_args(argv)
    if args.write:
        write(args.write)
    else:
        print(table(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
