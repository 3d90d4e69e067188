"""Fast mode: small data and short training, for tests and quick previews.

Set the environment variable ``COURSE_LIB_FAST=1`` and every lesson shrinks its
data and training budgets so that it runs in seconds.  Lessons ask for their
budgets through :func:`budget`, so the numbers they print always come from the
run, in either mode.
"""
import os
from typing import TypeVar

from .errors import NotCached

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}


def fast_mode() -> bool:
    """True when ``COURSE_LIB_FAST`` is set to 1/true/yes/on."""
    return os.environ.get("COURSE_LIB_FAST", "").strip().lower() in _TRUE


def budget(full: T, fast: T) -> T:
    """Return ``fast`` in fast mode and ``full`` otherwise."""
    return fast if fast_mode() else full


def static_mode():
    """True when ``COURSE_LIB_STATIC`` is set: the course is being rendered to static HTML
    (``make site``), so each live figure draws the frames of its sliders' grid for the page."""
    return os.environ.get("COURSE_LIB_STATIC", "").strip().lower() in _TRUE


def cached_only():
    """True when ``COURSE_LIB_CACHED_ONLY`` is set: no model may be trained, only loaded (``make site``
    tries each lesson so in full mode, from the models the cache or the course holds)."""
    return os.environ.get("COURSE_LIB_CACHED_ONLY", "").strip().lower() in _TRUE


def refuse_training(what):
    """Raise :class:`~course_lib.errors.NotCached` when only trained models may be used."""
    if cached_only():
        raise NotCached(f"{what} would train a model, and COURSE_LIB_CACHED_ONLY allows only trained ones.")
