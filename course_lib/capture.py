"""Which functions a GPU may record: the ``capturable`` contract, written down.

On a GPU, :func:`course_lib.fit` records one whole training step as a CUDA graph and replays it
(:mod:`course_lib.training.graph_step`).  A recording replays tensor operations only, so a loss
function, a transform or a schedule may be recorded only if it

* uses tensor operations alone: no ``.item()``, no ``float(tensor)``, no ``if`` on a tensor, and
* treats the step number as a tensor (a 0-dim tensor during a replay).

A function says that it keeps those rules by carrying ``capturable = True``; :func:`capturable`
sets it, and :func:`is_capturable` reads it (a function without the mark is not recorded: it trains
eagerly, which is always correct, only slower on a GPU).  The protocols below are the shapes the
training loops call, for a reader and for the type checker.
"""
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

import torch
from torch import nn

F = TypeVar("F", bound=Callable)

# A schedule: the step (a number, or a 0-dim tensor during a replay) -> a number, e.g. a KL warm-up's β.
Schedule = Callable[[int | torch.Tensor], float | torch.Tensor]


def capturable(fn: F, when: bool = True) -> F:
    """Mark ``fn`` as safe to record in a CUDA graph (or, with ``when=False``, as not safe) and return it.

    Use it as a decorator, ``@capturable``, or on a function built inside another one:
    ``return capturable(loss_fn, when=all_parts_capturable)``."""
    fn.capturable = bool(when)  # type: ignore[attr-defined]
    return fn


def is_capturable(fn: object) -> bool:
    """Whether ``fn`` (a loss function, transform, schedule or adversarial model) is marked capturable."""
    return bool(getattr(fn, "capturable", False))


@runtime_checkable
class LossFn(Protocol):
    """What :func:`course_lib.fit` calls: ``loss_fn(model, batch, step) -> {"loss": ..., other terms}``,
    each term a scalar tensor (the batch average).  Only ``"loss"`` is minimised; the others are recorded."""

    def __call__(self, model: nn.Module, batch: torch.Tensor, step: int | torch.Tensor) -> dict[str, torch.Tensor]: ...


@runtime_checkable
class SweepLossFn(Protocol):
    """What :func:`course_lib.fit_sweep` calls: ``loss_fn(model, batch, value, step) -> dict``, where
    ``value`` is this model's hyper-parameter as a 0-dim tensor."""

    def __call__(self, model: nn.Module, batch: torch.Tensor, value: torch.Tensor,
                 step: int | torch.Tensor) -> dict[str, torch.Tensor]: ...


@runtime_checkable
class Transform(Protocol):
    """A batch transform applied on the device before the loss (e.g. dynamic binarization): (B, ...) -> (B, ...)."""

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...
