"""Claims: a sentence that reads a result, printed beside the computation that decides it.

A lesson never just *says* "the rate falls as β grows"; it writes the check next to the
sentence, in the cell right after the one that computed the numbers::

    cl.claim("the rate falls as β grows", cl.falls(rates), shows=f"rates {rates}")

and the learner reads either

    ✓ the rate falls as β grows  (rates [25.1, 14.0, 6.2])

or, when their own run does not bear it out,

    ✗ the rate falls as β grows: NOT borne out by this run  (rates [25.1, 26.0, 6.2])

A lesson's prose reads the reference models (full mode).  In fast mode (``COURSE_LIB_FAST=1``:
small data, a few steps) or after retraining, the numbers differ, and a claim that fails is
reported, honestly, and never stops the lesson.  The test of the shipped models runs every
lesson in full mode with ``COURSE_LIB_STRICT_CLAIMS=1``: there a claim that fails raises
:class:`ClaimNotBorneOut`, so a sentence the reference numbers contradict fails ``make test``.

Each claim is also kept in :func:`record` (text, held, shows), for tests and summaries.
"""
import math
import os

import torch

from .errors import CourseError, CourseInputError
from .settings import fast_mode

_TRUE = {"1", "true", "yes", "on"}
_record: list[tuple] = []


class ClaimNotBorneOut(CourseError, AssertionError):
    """A lesson's reading of a result does not hold on the numbers in front of it (strict mode)."""


def strict_claims():
    """True when ``COURSE_LIB_STRICT_CLAIMS`` is set: a claim that fails raises."""
    return os.environ.get("COURSE_LIB_STRICT_CLAIMS", "").strip().lower() in _TRUE


def claim(text: str, holds: object, shows: str = "") -> None:
    """Print ``text`` with ✓ when ``holds`` is true and ✗ (and what differs) when it is not.  -> None (so a cell
    that ends on a claim shows only the printed line; :func:`record` keeps the decision)

    text:  the sentence, as the lesson's prose reads the result ("the ladder keeps level 3 active").
    holds: the computed decision, a bool (a numpy or one-element torch boolean is accepted).
    shows: the numbers behind it, printed in brackets either way, so the learner can judge.

    In strict mode (``COURSE_LIB_STRICT_CLAIMS=1``) a claim that does not hold raises
    :class:`ClaimNotBorneOut`; otherwise it is printed and the lesson goes on.
    """
    if not isinstance(text, str) or not text.strip():
        raise CourseInputError(f"text must be the sentence the claim reads, a non-empty string; got {text!r}.")
    held = _as_bool(holds)
    shows = str(shows).strip()
    _record.append((text, held, shows))
    numbers = f"  ({shows})" if shows else ""
    if held:
        print(f"✓ {text}{numbers}")
        return
    why = " (fast mode: small data and few steps)" if fast_mode() else ""
    message = f"✗ {text}: NOT borne out by this run{why}{numbers}"
    if strict_claims():
        raise ClaimNotBorneOut(message)
    print(message)


def record():
    """The claims made in this process so far: a list of (text, held, shows)."""
    return list(_record)


def falls(values, by=0.0):
    """True when each value is below the one before it by more than ``by``: v[i+1] < v[i] - by."""
    values = _numbers("values", values)
    return all(b < a - by for a, b in zip(values, values[1:]))


def rises(values, by=0.0):
    """True when each value is above the one before it by more than ``by``: v[i+1] > v[i] + by."""
    values = _numbers("values", values)
    return all(b > a + by for a, b in zip(values, values[1:]))


def apart(a, b, standard_error, sigmas=2.0):
    """True when a and b differ by more than ``sigmas`` standard errors of their difference:
    |a − b| > sigmas · standard_error (a difference inside that is noise, not a finding)."""
    a, b, se = (_numbers(name, [v])[0] for name, v in (("a", a), ("b", b), ("standard_error", standard_error)))
    if se < 0:
        raise CourseInputError(f"standard_error must be >= 0, got {se}.")
    return abs(a - b) > sigmas * se


def paired_standard_error(a, b):
    """The standard error of mean(a) − mean(b) when a and b score the same N items (two models on the same test
    images, say; a, b: (N,) numbers or bools, tensors or arrays): std(a − b) / √N.  What the items share cancels,
    so it is far smaller than the unpaired error when the two agree on most items."""
    a, b = (torch.as_tensor(v).double().flatten() for v in (a, b))
    if a.shape != b.shape or len(a) < 2:
        raise CourseInputError(f"a and b must score the same items, at least 2; got {len(a)} and {len(b)} values.")
    return float((a - b).std() / math.sqrt(len(a)))


def variance_standard_error(x):
    """The standard error of the sample variance of N independent draws x ((N,) numbers): √((m₄ − s⁴) / N), with m₄
    the fourth central moment and s² the variance (the large-N form), so that a measured variance can be held to a
    formula within a stated number of standard errors."""
    x = torch.as_tensor(x).double().flatten()
    if len(x) < 2:
        raise CourseInputError(f"x must hold at least 2 draws, got {len(x)}.")
    centred = x - x.mean()
    return math.sqrt(max(0.0, ((centred ** 4).mean() - centred.pow(2).mean() ** 2).item()) / len(x))


def _as_bool(holds):
    if hasattr(holds, "numel") and holds.numel() == 1:     # a one-element torch tensor
        holds = holds.item()
    if hasattr(holds, "shape") and getattr(holds, "shape", None) == ():  # a numpy scalar
        holds = holds.item()
    if not isinstance(holds, bool):
        raise CourseInputError(
            f"holds must be the computed decision, True or False; got {holds!r} ({type(holds).__name__}). "
            "Write the comparison itself, e.g. rates[0] > rates[-1].")
    return holds


def _numbers(name, values):
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise CourseInputError(f"{name} must be real numbers; got {values!r}.") from None
    if not all(math.isfinite(v) for v in values):
        raise CourseInputError(f"{name} must be finite; got {values}.")
    return values
