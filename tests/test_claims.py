"""Claims: every sentence of a lesson that reads a result is a ``cl.claim`` with its check, and every
claim holds on the shipped reference models.

The lessons are run here in full mode, the mode their prose reads, on the shipped models only
(``COURSE_LIB_CACHED_ONLY=1``: nothing is trained; a lesson that would train fails), with
``COURSE_LIB_STRICT_CLAIMS=1``, so a claim that its numbers contradict raises and fails the test.
Fast mode never fails on a claim (tested below).  A planted wrong claim (a real claim of a lesson,
negated) must fail the same run.  The lessons are split over two files (this one and
``test_claims_lessons_5_to_8.py``) so that, where there is no browser test, ``--dist loadfile`` runs the halves
on the two workers.

Where the browser test runs the lessons (conftest.py, ``claims_held_in_the_browser``), it runs them so, in
JupyterLab, with the same settings and the same checks, and a lesson is not run a second time here: it is
skipped with that reason.  Lessons 1 to 4 are run here always (the browser test drives their sliders in fast
mode: conftest.py, LAB_FAST_MODE).
"""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import course_lib as cl
from course_lib import claims
from course_lib.claims import ClaimNotBorneOut

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIRST_HALF = [p for p in LESSONS if p.name < "05"]

if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    pytest.skip("the lessons' claims are held to the shipped models by make test, on the CPU",
                allow_module_level=True)


# ---- the function itself ---------------------------------------------------------------------------

def test_a_claim_that_holds_prints_a_tick_and_its_numbers(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_LIB_STRICT_CLAIMS", raising=False)
    assert cl.claim("the rate falls", True, shows="25.1 > 6.2") is None      # nothing for a cell to echo
    assert capsys.readouterr().out == "✓ the rate falls  (25.1 > 6.2)\n"
    assert claims.record()[-1] == ("the rate falls", True, "25.1 > 6.2")


def test_a_claim_that_fails_is_reported_with_its_numbers_and_the_lesson_goes_on(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_LIB_STRICT_CLAIMS", raising=False)
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    cl.claim("the rate falls", False, shows="25.1, 26.0")
    assert claims.record()[-1][1] is False
    out = capsys.readouterr().out
    assert out.startswith("✗ the rate falls: NOT borne out by this run (fast mode")
    assert "(25.1, 26.0)" in out


def test_fast_mode_never_fails_on_a_claim_even_when_strict_is_asked_for_elsewhere(capsys, monkeypatch):
    """The strict switch is the shipped-model test's alone; a learner's notebook never sets it."""
    monkeypatch.delenv("COURSE_LIB_STRICT_CLAIMS", raising=False)
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    cl.claim("anything", False)
    assert claims.record()[-1] == ("anything", False, "")


def test_in_strict_mode_a_claim_that_fails_raises_with_its_numbers(monkeypatch):
    monkeypatch.setenv("COURSE_LIB_STRICT_CLAIMS", "1")
    with pytest.raises(ClaimNotBorneOut, match=r"✗ the gap closes: NOT borne out.*\(0.9 vs 0.7\)"):
        cl.claim("the gap closes", False, shows="0.9 vs 0.7")
    cl.claim("the gap closes", True)
    assert claims.record()[-1][1] is True


def test_numpy_and_torch_booleans_are_decisions(capsys):
    import numpy as np
    import torch
    cl.claim("a", np.float64(1.0) > 0)
    cl.claim("b", torch.tensor(2.0) > 1)
    assert claims.record()[-2:] == [("a", True, ""), ("b", True, "")]


@pytest.mark.parametrize("holds, expected", [(0.3, "holds must be the computed decision"),
                                             ([True, False], "holds must be the computed decision"),
                                             (None, "holds must be the computed decision")])
def test_a_claim_needs_a_decision_not_a_number(holds, expected):
    with pytest.raises(cl.CourseInputError, match=expected):
        cl.claim("the rate falls", holds)


def test_a_claim_needs_its_sentence():
    with pytest.raises(cl.CourseInputError, match="text must be the sentence"):
        cl.claim("  ", True)


def test_falls_rises_and_apart():
    assert claims.falls([3, 2, 1]) and not claims.falls([3, 3, 1]) and not claims.falls([3, 2, 1], by=1)
    assert claims.rises([1, 2, 4]) and not claims.rises([1, 0.5])
    assert claims.apart(0.77, 0.70, standard_error=0.013) and not claims.apart(0.77, 0.75, standard_error=0.013)
    with pytest.raises(cl.CourseInputError, match="must be finite"):
        claims.falls([1.0, float("nan")])
    with pytest.raises(cl.CourseInputError, match="standard_error must be >= 0"):
        claims.apart(1, 2, -0.1)


def test_the_standard_errors_claims_lean_on():
    """variance_standard_error matches the spread of sample variances over many repeats (within 10 %);
    paired_standard_error is std(a − b)/√N, zero for identical scores; bad input says what is wrong."""
    import torch
    g = torch.Generator().manual_seed(0)
    draws = torch.randn(2000, 500, generator=g, dtype=torch.float64) ** 2          # a skewed variable, 2000 repeats
    spread = draws.var(1).std().item()
    assert abs(claims.variance_standard_error(draws[0]) / spread - 1) < 0.1
    a = torch.rand(300, generator=g) < 0.7
    b = a.clone()
    b[:30] = ~b[:30]
    assert claims.paired_standard_error(a, a) == 0.0
    assert claims.paired_standard_error(a, b) == pytest.approx(float((a.double() - b.double()).std() / 300 ** 0.5))
    with pytest.raises(cl.CourseInputError, match="same items"):
        claims.paired_standard_error(a, b[:10])
    with pytest.raises(cl.CourseInputError, match="at least 2 draws"):
        claims.variance_standard_error([1.0])


# ---- the lessons on the shipped models ----------------------------------------------------------------

def run_full_mode(notebook, tmp_path):
    """Run a lesson's code cells in full mode on the shipped models with strict claims.  -> the process"""
    env = dict(os.environ, COURSE_LIB_FAST="0", COURSE_LIB_STRICT_CLAIMS="1", COURSE_LIB_CACHED_ONLY="1",
               COURSE_LIB_CACHE=str(tmp_path / "cache"), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "course_lib.class_models", "run", str(notebook)],
                          cwd=ROOT / "notebooks", env=env, capture_output=True, text=True, timeout=900)


def claim_lines(out):
    return [line for line in out.splitlines() if line.startswith(("✓ ", "✗ "))]


def check_lesson(notebook, tmp_path, held_in_the_browser):
    if notebook.name in held_in_the_browser:
        pytest.skip(f"tests/test_browser.py holds {notebook.name}'s claims to the shipped models in JupyterLab")
    done = run_full_mode(notebook, tmp_path)
    failed = [line for line in (done.stdout + done.stderr).splitlines() if "NOT borne out" in line]
    assert done.returncode == 0 and not failed, (
        f"{notebook.name} in full mode on the shipped models: "
        + ("\n".join(failed) if failed else done.stderr[-3000:]))
    made = claim_lines(done.stdout)
    assert made, f"{notebook.name} reads its results without a single cl.claim"
    assert all(line.startswith("✓") for line in made), made


@pytest.mark.parametrize("notebook", FIRST_HALF, ids=lambda p: p.stem)
def test_every_claim_holds_on_the_shipped_models(notebook, tmp_path, claims_held_in_the_browser):
    check_lesson(notebook, tmp_path, claims_held_in_the_browser)


def negate_first_claim(source):
    """The cell's source with its first ``cl.claim(text, holds, ...)`` turned into ``cl.claim(text, not
    (holds), ...)``: a real reading of the lesson, planted wrong."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "claim":
            node.args[1] = ast.UnaryOp(op=ast.Not(), operand=node.args[1])
            return ast.unparse(tree)
    return None


def test_a_planted_wrong_claim_fails_the_shipped_model_run(tmp_path):
    """Lesson 2 (its full mode loads its models in seconds) with its first claim negated must fail."""
    original = ROOT / "notebooks" / "02_reparameterization.ipynb"
    nb = json.loads(original.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "cl.claim(" in "".join(cell["source"]):
            cell["source"] = negate_first_claim("".join(cell["source"]))
            break
    else:
        pytest.fail("lesson 2 makes no claim to plant a wrong one in")
    planted = tmp_path / "02_reparameterization.ipynb"
    planted.write_text(json.dumps(nb))
    done = run_full_mode(planted, tmp_path)
    assert done.returncode != 0
    assert "NOT borne out" in done.stdout + done.stderr


def test_the_audit_table_lists_every_claim_of_every_lesson():
    """docs/claims-audit.md holds the table tools/claims_table.py writes from today's notebooks, and every lesson
    has claims in it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("claims_table", ROOT / "tools" / "claims_table.py")
    claims_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(claims_table)
    doc = (ROOT / "docs" / "claims-audit.md").read_text()
    assert claims_table.table() in doc, "run: .venv/bin/python tools/claims_table.py --write docs/claims-audit.md"
    for notebook in LESSONS:
        assert claims_table.claims_in(notebook), f"{notebook.name} has no claim"
        assert f"| {notebook.stem} |" in doc
