"""Run a learner's function on test inputs and explain what is wrong, kindly.

A check must accept every correct answer, however it is written: the learner
may rename the parameters, write the formula another way, compute in another
order or return float64.  So :func:`run_check`

* calls the function with the inputs *in the documented order* (by position;
  by name only when the learner kept every name but reordered them);
* compares values with a tolerance that suits the dtype the learner returned;
* calls the function twice on the same inputs: an answer that draws its own
  random numbers (instead of using the noise it is given) is told so.

Every check returns a :class:`Feedback`, shown under the check cell; a learner never sees a
traceback.  When nbgrader runs the notebook to grade it (it sets ``NBGRADER_EXECUTION``), a
check that is not passed raises an ``AssertionError`` carrying the same message instead
(:func:`graded`), so the cell loses its points and the feedback report shows why.
"""
import functools
import html
import inspect
import numbers
import os
import warnings
from dataclasses import dataclass

import torch


@dataclass
class Feedback:
    """passed: True (correct), False (wrong) or None (not implemented yet)."""

    name: str
    passed: object
    message: str

    def __str__(self):
        mark = {True: "✔ correct", False: "✘ not yet right", None: "… not implemented yet"}[self.passed]
        return f"{self.name}: {mark}. {self.message}".strip()

    __repr__ = __str__

    def _repr_html_(self):
        color = {True: "#1a7f37", False: "#cf222e", None: "#9a6700"}[self.passed]
        return f'<div style="border-left:4px solid {color};padding:4px 10px"><b>{html.escape(str(self))}</b></div>'


def graded(check):
    """Make ``check(fn) -> Feedback`` fail its cell under nbgrader when the answer is not right.

    Outside nbgrader it returns the Feedback unchanged.  Under ``nbgrader autograde`` or
    ``validate`` (``NBGRADER_EXECUTION`` is set) a Feedback that is not passed (wrong, or not
    implemented yet) raises ``AssertionError(str(feedback))``: nbgrader gives an autograded
    cell its points only when it runs without an error.
    """
    @functools.wraps(check)
    def run(fn):
        feedback = check(fn)
        if os.environ.get("NBGRADER_EXECUTION") and feedback.passed is not True:
            raise AssertionError(str(feedback))
        return feedback
    return run


class _Failed(Exception):
    """Carries the Feedback of a learner's function that could not be run."""

    def __init__(self, feedback):
        self.feedback = feedback


def _describe(t):
    return f"shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__


def _copy(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def _on_cpu(value):
    """An answer computed on the GPU is as right as one on the CPU: compare it where the reference is."""
    return value.detach().cpu() if isinstance(value, torch.Tensor) and value.device.type != "cpu" else value


def _tolerance(dtype, rtol, atol):
    """float64 answers are held to (rtol, atol); float32 ones get float32's precision."""
    if dtype == torch.float64:
        return rtol, atol
    return max(rtol, 1e-4), max(atol, 1e-5)


def _kind(t):
    return "bool" if t.dtype == torch.bool else "float" if t.is_floating_point() else "int"


def close(out, want, rtol, atol):
    """``out`` equals ``want`` (same shape): exactly for booleans and integers, else within the
    tolerance that suits ``out``'s dtype."""
    if _kind(want) != "float":
        return out.shape == want.shape and _kind(out) == _kind(want) and torch.equal(out.detach().cpu(), want.cpu())
    rtol, atol = _tolerance(out.dtype, rtol, atol)
    return out.shape == want.shape and torch.allclose(out.detach().to(want.dtype), want.detach(),
                                                      rtol=rtol, atol=atol)


def apply_answer(name, fn, case):
    """``fn`` applied to the case: positionally, or by name if the learner kept every name."""
    args = [_copy(v) for v in case.values()]
    call = (lambda: fn(*args))
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):           # a builtin or C function: just call it
        signature = None
    if signature is not None:
        params = [p for p in signature.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in params]
        if sorted(names) == sorted(case) and names != list(case):
            inputs = {k: _copy(v) for k, v in case.items()}
            call = (lambda: fn(**inputs))
        else:
            try:
                signature.bind(*args)
            except TypeError:
                expected = ", ".join(case)
                raise _Failed(Feedback(name, False, f"it should take {len(case)} inputs, in this order: "
                                                    f"({expected}); yours takes ({', '.join(names)}).")) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except NotImplementedError:
        raise _Failed(Feedback(name, None, "Replace `raise NotImplementedError()` with your code, "
                                           "then run this cell again.")) from None
    except Exception as e:  # noqa: BLE001 (the learner's code failed: say how, briefly)
        raise _Failed(Feedback(name, False, f"your function raised {type(e).__name__}: {e}")) from None


def run_check(name, fn, cases, reference, mistakes=(), rtol=1e-5, atol=1e-6, noise=None, not_finite=None):
    """Check ``fn`` against ``reference`` on every case.

    cases:     a list of dicts of inputs, in the order the exercise states them
    reference: the right answer, called with the inputs by name
    mistakes:  (hint, wrong_fn) pairs; if the learner's output equals
               ``wrong_fn(**case)``, the hint explains the likely slip
    noise:     the name of an input that carries the random noise, if any
               (used to explain an answer that draws its own)
    not_finite: case -> a hint, or None, for an answer that is NaN or inf on that case (by default the
               hint about exp() overflowing)
    """
    if not callable(fn):
        return Feedback(name, False, f"pass your function itself, e.g. check({name}), not {type(fn).__name__}.")
    for case in cases:
        try:
            feedback = _check_case(name, fn, case, reference(**case), mistakes, rtol, atol, noise, not_finite)
        except _Failed as failed:
            return failed.feedback
        if feedback is not None:
            return feedback
    return Feedback(name, True, "")


_WANTED = {"float": "floating-point numbers", "bool": "booleans (True/False, e.g. from a comparison)",
           "int": "whole numbers (an integer tensor, e.g. from argmax)"}


def _check_case(name, fn, case, want, mistakes, rtol, atol, noise, not_finite=None):
    """The feedback on one case, or None when the answer is right there.  The checks go from the
    form of the answer (a tensor, its kind, its shape, finite values) to its values: the same every
    call, then equal to the reference, else which slip it matches."""
    where = ", ".join(f"{k} {_describe(v)}" for k, v in case.items())
    out = _on_cpu(apply_answer(name, fn, case))
    out, problem = _form_problem(name, out, want, where, not_finite(case) if not_finite is not None else None)
    if problem is not None:
        return problem
    again = _on_cpu(apply_answer(name, fn, case))
    if isinstance(again, torch.Tensor) and _kind(want) == "int":
        again = again.detach().long()
    if isinstance(again, torch.Tensor) and again.shape == out.shape and not close(again, out, rtol, atol) \
            and not _same_with_nans(again, out, rtol, atol):
        given = f"the `{noise}` it is given" if noise else "its inputs"
        return Feedback(name, False, "it returns different values each time it is called with the same inputs: "
                                     f"it seems to draw its own random numbers. Use {given} instead "
                                     "(no torch.randn inside the function).")
    if close(out, want, rtol, atol):
        return None
    return _named_slip(name, out, case, mistakes, rtol, atol) or _ignores_noise(name, fn, out, case, noise, rtol, atol) \
        or _wrong_values(name, out, want, where)


def _same_with_nans(a, b, rtol, atol):
    """Two float answers equal where they are numbers and NaN in the same places (the same answer twice)."""
    if not (a.is_floating_point() and b.is_floating_point()):
        return False
    return torch.allclose(a.detach().double(), b.detach().double(), rtol=rtol, atol=atol, equal_nan=True)


def _form_problem(name, out, want, where, not_finite_hint=None):
    """-> (out as a tensor of want's kind, None), or (out, the feedback on what is wrong with its form).
    not_finite_hint: what to say for NaN or inf, instead of the hint about exp() overflowing."""
    if isinstance(out, numbers.Number) and want.dim() == 0:          # a plain Python or NumPy number is fine
        out = torch.tensor(out, dtype=want.dtype if _kind(want) == "float" and not isinstance(out, bool) else None)
    if not isinstance(out, torch.Tensor):
        return out, Feedback(name, False, f"it should return a torch.Tensor, but returned {type(out).__name__}.")
    whole_floats = _kind(out) == "float" and torch.equal(out.detach().round(), out.detach())
    if _kind(out) != _kind(want) and not (_kind(want) == "int" and whole_floats):
        return out, Feedback(name, False, f"it should return {_WANTED[_kind(want)]}, but returned dtype {out.dtype}.")
    if _kind(want) == "int":
        out = out.detach().long()
    if out.shape != want.shape:
        return out, Feedback(name, False, f"for inputs with {where} it should return shape {tuple(want.shape)}, "
                                          f"but returned {tuple(out.shape)}. Check which axis you reduce over.")
    if _kind(want) == "float" and not torch.isfinite(out).all() and torch.isfinite(want).all():
        return out, Feedback(name, False, not_finite_hint or (
            f"it returned NaN or inf for inputs with {where}. If you used exp(), large or very negative inputs "
            "overflow; work in log space (torch.logsumexp)."))
    return out, None


def _named_slip(name, out, case, mistakes, rtol, atol):
    """The hint of the first known slip whose result equals the learner's, or None."""
    for hint, wrong in mistakes:
        try:
            slip = wrong(**case)
        except Exception:  # noqa: BLE001 (a slip that cannot run on this case is not this slip)
            continue
        if close(out, slip, rtol, atol):
            return Feedback(name, False, hint)
    return None


def _ignores_noise(name, fn, out, case, noise, rtol, atol):
    """Feedback when the answer stays the same with other noise (it does not use the noise it is given)."""
    if noise is None:
        return None
    other = dict(case, **{noise: torch.randn_like(case[noise]) + 0.5})
    try:
        moved = _on_cpu(apply_answer(name, fn, other))
    except _Failed:
        return None
    if isinstance(moved, torch.Tensor) and moved.shape == out.shape and close(moved, out, rtol, atol):
        return Feedback(name, False, f"the result does not change when `{noise}` changes: build it from "
                                     f"the `{noise}` you are given.")
    return None


def _wrong_values(name, out, want, where):
    """Where the values differ: all of them for booleans and integers, the worst position for floats."""
    if _kind(want) != "float":
        return Feedback(name, False, f"wrong result for inputs with {where}: expected {want.tolist()}, "
                                     f"got {out.tolist()}.")
    got = out.detach().to(want.dtype).flatten()
    same = got == want.flatten()                          # equal entries (an inf where inf is wanted) are right
    diff = torch.where(same, torch.zeros_like(got), (got - want.flatten()).abs().nan_to_num(float("inf")))
    first = diff.argmax().item()
    return Feedback(name, False, f"wrong value for inputs with {where}: at position {first} expected "
                                 f"{want.flatten()[first].item():.6g}, got {out.flatten()[first].item():.6g}.")
