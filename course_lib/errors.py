"""Clear errors for learners.

Every public function in ``course_lib`` checks its arguments and raises a
``CourseInputError`` that names the argument, says what it got and what is
allowed.  In a notebook, :func:`install_friendly_errors` shows these errors as
one short message instead of a long traceback.
"""
import math
import numbers
import sys
import warnings
from pathlib import Path

import torch

_PACKAGE = str(Path(__file__).resolve().parent)


def warn(message):
    """``warnings.warn(message)``, pointed at the first caller outside ``course_lib`` (the learner's
    cell or script), so that the warning names the line that led to it, not a line of the library."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, stacklevel=level)


class CourseError(Exception):
    """Base class of the errors ``course_lib`` raises on purpose."""


class CourseInputError(CourseError, ValueError):
    """An argument has a value, type or shape that the function cannot use."""


class DataNotFoundError(CourseError, FileNotFoundError):
    """A data set was asked for but its files are not where we looked."""


class NotCached(CourseError):
    """A training was asked for while only trained models may be used (``COURSE_LIB_CACHED_ONLY``):
    ``make site`` then renders that lesson in fast mode instead."""


class TrainingDiverged(CourseError, FloatingPointError):
    """A loss term became NaN or infinite during training.

    ``history`` holds the training history up to the last good step, and the
    model has been restored to its last good weights.
    """

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


def check_number(name, value, *, minimum=None, maximum=None, strict_minimum=False):
    """Return ``float(value)`` after checking it is a finite real number in range."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CourseInputError(f"{name} must be a real number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value):
        raise CourseInputError(f"{name} must be finite, got {value}.")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise CourseInputError(f"{name} must be > {minimum}, got {value}.")
        if not strict_minimum and value < minimum:
            raise CourseInputError(f"{name} must be >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise CourseInputError(f"{name} must be <= {maximum}, got {value}.")
    return value


def check_int(name, value, *, minimum=None):
    """Return ``int(value)`` after checking it is a whole number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise CourseInputError(f"{name} must be a whole number, got {value!r} ({type(value).__name__}).")
    value = int(value)
    if minimum is not None and value < minimum:
        raise CourseInputError(f"{name} must be a whole number >= {minimum}, got {value}.")
    return value


def check_choice(name, value, choices):
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise CourseInputError(f"{name} must be one of {allowed}; got {value!r}.")
    return value


def check_tensor(name, value, *, shape=None, min_dim=None):
    """Check ``value`` is a floating-point tensor of the given ``shape``.

    ``shape`` is a tuple in which ``None`` matches any size, e.g.
    ``(None, 1, 28, 28)`` for a batch of images.
    """
    if not isinstance(value, torch.Tensor):
        raise CourseInputError(f"{name} must be a torch.Tensor, got {type(value).__name__}.")
    if not value.is_floating_point():
        raise CourseInputError(f"{name} must hold floating-point numbers, got dtype {value.dtype}.")
    if min_dim is not None and value.dim() < min_dim:
        raise CourseInputError(
            f"{name} must have at least {min_dim} dimensions, got shape {tuple(value.shape)}.")
    if shape is not None:
        ok = value.dim() == len(shape) and all(s is None or s == n for s, n in zip(shape, value.shape))
        if not ok:
            wanted = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
            raise CourseInputError(
                f"{name} must have shape {wanted}, got {tuple(value.shape)}.")
    return value


def install_friendly_errors() -> bool:
    """In IPython/Jupyter, show ``CourseError``s as one short message.

    The cell still fails (the kernel reports an error, so "Run All" stops and
    nbval notices); only the long traceback is replaced by the message.
    Other exceptions keep their normal traceback.  Does nothing outside IPython.
    """
    try:
        from IPython import get_ipython  # noqa: PLC0415 (IPython exists only in a notebook kernel; a script never calls this)
    except ImportError:  # pragma: no cover - IPython is always there in the course
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def show(shell, etype, evalue, tb, tb_offset=None):
        short = [f"{etype.__name__}: {evalue}"]          # the whole "traceback" the learner sees
        shell._showtraceback(etype, evalue, short)       # in a kernel: an error output, so the cell fails
        return short

    shell.set_custom_exc((CourseError,), show)
    return True
