"""Automatic feedback for the exercises.

Each lesson has a module of checks (``lesson01``, ``lesson02``); a check takes
the learner's function, runs it on prepared inputs and returns a
:class:`~course_lib.exercises.feedback.Feedback` that says "correct", "not
implemented yet", or what is wrong, without a traceback.

The learner notebooks in ``exercises/`` are generated from the solution
notebooks in ``exercises/solutions/`` by ``python -m course_lib.exercises.generate``.
"""
from .feedback import Feedback

__all__ = ["Feedback"]
