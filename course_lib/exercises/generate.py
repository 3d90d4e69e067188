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

A learner's work is never overwritten silently.  Each learner notebook records
a fingerprint of its code cells as generated (``metadata.course.generated``).
If the code in the file on disk no longer matches it, a learner has written in
it, and the generator leaves it alone and says so; ``--force`` replaces it, after
keeping a copy next to it (``NAME.ipynb.bak``).
"""
import argparse
import hashlib
import json
import shutil
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
    nb.setdefault("metadata", {})["course"] = {"generated": fingerprint(nb)}
    return nb


def fingerprint(nb):
    """A hash of a notebook's code cells (outputs and metadata left out)."""
    h = hashlib.sha256()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            h.update(source.encode() + b"\0")
    return h.hexdigest()[:16]


def edited_by_learner(path):
    """True if the learner notebook at ``path`` holds code that the generator did not write."""
    try:
        nb = json.loads(Path(path).read_text())
        recorded = nb["metadata"]["course"]["generated"]
    except (OSError, ValueError, KeyError, TypeError):
        return True                     # unreadable or without a fingerprint: treat it as someone's work
    return fingerprint(nb) != recorded


def render(nb):
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def pairs(root=ROOT):
    """(solution path, learner path) for every solution notebook of an exercise (``*_exercises.ipynb``; the
    worked answers to the questions to think about, also in solutions/, have no learner copy)."""
    return [(p, root / p.name) for p in sorted((root / "solutions").glob("*_exercises.ipynb"))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    parser.add_argument("--force", action="store_true",
                        help="also replace learner notebooks that hold your answers (a .bak copy is kept)")
    args = parser.parse_args(argv)
    return write_all(ROOT, check=args.check, force=args.force)


def write_all(root=ROOT, check=False, force=False):
    """Regenerate every learner notebook under ``root``; returns an exit status."""
    stale, kept = [], []
    for solution, learner in pairs(root):
        text = render(learner_version(json.loads(solution.read_text())))
        if learner.exists() and learner.read_text() == text:
            continue
        stale.append(learner)
        if check:
            continue
        if learner.exists() and edited_by_learner(learner):
            if not force:
                kept.append(learner)
                continue
            shutil.copy2(learner, learner.with_name(learner.name + ".bak"))
            print(f"kept your version as {learner.name}.bak")
        tmp = learner.with_name(f".{learner.name}.tmp")
        tmp.write_text(text)
        tmp.replace(learner)
        print("wrote", learner.name)
    if check and stale:
        print("out of date:", ", ".join(p.name for p in stale))
        return 1
    if kept:
        print("left alone, because they hold your answers:", ", ".join(p.name for p in kept))
        print("run again with --force to replace them (a .bak copy of each is kept).")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
