"""Run a learner's function on test inputs and explain what is wrong, kindly."""
import html
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


def _describe(t):
    return f"shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__


def run_check(name, fn, cases, reference, mistakes=(), rtol=1e-5, atol=1e-6):
    """Check ``fn`` against ``reference`` on every case.

    cases:    a list of dicts of keyword arguments
    mistakes: (hint, wrong_fn) pairs; if the learner's output equals
              ``wrong_fn(**case)``, the hint explains the likely slip.
    """
    if not callable(fn):
        return Feedback(name, False, f"pass your function itself, e.g. check({name}), not {type(fn).__name__}.")
    for case in cases:
        inputs = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in case.items()}
        try:
            out = fn(**inputs)
        except NotImplementedError:
            return Feedback(name, None, "Replace `raise NotImplementedError()` with your code, then run this cell again.")
        except Exception as e:  # the learner's code failed: say how, briefly
            return Feedback(name, False, f"your function raised {type(e).__name__}: {e}")
        want = reference(**case)
        where = ", ".join(f"{k} {_describe(v)}" for k, v in case.items())
        if not isinstance(out, torch.Tensor):
            return Feedback(name, False, f"it should return a torch.Tensor, but returned {type(out).__name__}.")
        if out.shape != want.shape:
            return Feedback(name, False, f"for inputs with {where} it should return shape {tuple(want.shape)}, "
                                         f"but returned {tuple(out.shape)}. Check which axis you reduce over.")
        if not torch.isfinite(out).all() and torch.isfinite(want).all():
            return Feedback(name, False, f"it returned NaN or inf for inputs with {where}. If you used exp(), "
                                         "large or very negative inputs overflow; work in log space (torch.logsumexp).")
        if not torch.allclose(out.to(want.dtype), want, rtol=rtol, atol=atol):
            for hint, wrong in mistakes:
                try:
                    slip = wrong(**case)
                except Exception:
                    continue
                if slip.shape == out.shape and torch.allclose(out.to(slip.dtype), slip, rtol=rtol, atol=atol):
                    return Feedback(name, False, hint)
            first = (out.to(want.dtype) - want).abs().flatten().argmax().item()
            return Feedback(name, False, f"wrong value for inputs with {where}: at position {first} expected "
                                         f"{want.flatten()[first].item():.6g}, got {out.flatten()[first].item():.6g}.")
    return Feedback(name, True, "")
