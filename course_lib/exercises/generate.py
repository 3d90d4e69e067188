"""Make the learner notebooks from the solution notebooks.

    python -m course_lib.exercises.generate          # write exercises/*.ipynb
    python -m course_lib.exercises.generate --check  # exit 1 if any is out of date

A solution notebook in ``exercises/solutions/`` marks each answer with
nbgrader's markers::

    def kl_standard_normal(mean, log_var):
        ### BEGIN SOLUTION
        return ...
        ### END SOLUTION

The learner's copy replaces everything between the markers with
``raise NotImplementedError()`` at the same indentation, and drops cells
tagged ``solution-only``.  Outputs are never written.
"""
import argparse
import json
import sys
from pathlib import Path

from ..errors import CourseInputError

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
ROOT = Path(__file__).resolve().parents[2] / "exercises"


def strip_solution(source, where="cell"):
    """Replace each marked block of ``source`` with a placeholder; return the new text."""
    out, inside = [], False
    for number, line in enumerate(source.split("\n"), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise CourseInputError(f"{where}, line {number}: a second {BEGIN} before {END}.")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        elif stripped == END:
            if not inside:
                raise CourseInputError(f"{where}, line {number}: {END} without {BEGIN}.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise CourseInputError(f"{where}: {BEGIN} is never closed.")
    return "\n".join(out)


def learner_version(solution):
    """The learner notebook (a dict) for a solution notebook (a dict)."""
    nb = json.loads(json.dumps(solution))
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if "solution-only" in cell.get("metadata", {}).get("tags", []):
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code":
            source = strip_solution(source, where=f"cell {i}")
            cell["outputs"], cell["execution_count"] = [], None
        cell["source"] = source
        cells.append(cell)
    nb["cells"] = cells
    return nb


def render(nb):
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def pairs(root=ROOT):
    """(solution path, learner path) for every solution notebook."""
    return [(p, root / p.name) for p in sorted((root / "solutions").glob("*.ipynb"))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for solution, learner in pairs():
        text = render(learner_version(json.loads(solution.read_text())))
        if not learner.exists() or learner.read_text() != text:
            stale.append(learner)
            if not args.check:
                tmp = learner.with_suffix(".ipynb.tmp")
                tmp.write_text(text)
                tmp.replace(learner)
                print("wrote", learner.relative_to(ROOT.parent))
    if args.check and stale:
        print("out of date:", ", ".join(str(p.relative_to(ROOT.parent)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
