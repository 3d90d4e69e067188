"""What the training loops share: the checks of their data, the optimizer, and one step of an epoch.

:func:`course_lib.fit` trains one model, :func:`course_lib.fit_sweep` K models at once; both draw each
batch *by index* from a data tensor moved to the device once, and both take a step either as one
replay of a recorded CUDA graph (on a GPU, where the loss can be recorded) or eagerly.
:class:`Stepper` is that choice, made once per training.
"""
import math

import torch

from ..errors import CourseInputError, warn
from .graph_step import StaticStep, capture_problem, full_batch, train_step

_SAID: set[str] = set()


def say_once(message: str) -> None:
    """A warning shown once per session (e.g. why a loop cannot use a CUDA graph)."""
    if message not in _SAID:
        _SAID.add(message)
        warn(message)


def check_x_train(x_train: torch.Tensor) -> int:
    """x_train must be a non-empty tensor (N, ...); -> N."""
    if not isinstance(x_train, torch.Tensor) or x_train.dim() < 2 or len(x_train) == 0:
        raise CourseInputError("x_train must be a non-empty tensor of shape (N, ...), "
                               f"got {type(x_train).__name__} {tuple(getattr(x_train, 'shape', ()))}.")
    return len(x_train)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches in one pass over n examples (the last one may be short)."""
    return math.ceil(n / batch_size)


def adam(parameters, lr: float, graph: bool) -> torch.optim.Adam:
    """Adam; with ``graph`` its step count lives on the GPU, as a recorded step needs."""
    return torch.optim.Adam(parameters, lr=lr, capturable=graph)


class Stepper:
    """``stepper(order, j, step)``: one optimizer step on batch ``j`` of an epoch's ``order``.

    who:        the loop's name ("fit", "fit_sweep"), for the one-time message that says why a GPU
                trains eagerly
    graph:      try to record the step as a CUDA graph (on CUDA only; the loss function, transform and
                optimizer must allow it, see :func:`~course_lib.training.graph_step.capture_problem`)
    step_fn:    the step, called like :func:`~course_lib.training.graph_step.train_step`

    Returns ``(names, row, examples)``: the terms' names, their values on the device, and how many
    examples the step saw.
    """

    def __init__(self, who, model, loss_fn, optimizer, x, batch_size, *, transform=None, bf16=False,
                 graph=False, step_fn=train_step):
        self.who, self.model, self.loss_fn, self.optimizer = who, model, loss_fn, optimizer
        self.x, self.batch_size, self.transform, self.bf16, self.step_fn = x, batch_size, transform, bf16, step_fn
        self.static = None
        if graph:
            problem = capture_problem(loss_fn, transform, optimizer, x.device)
            if problem is None:
                self.static = StaticStep(model, loss_fn, optimizer, x, min(batch_size, len(x)), transform, bf16,
                                         step_fn=step_fn)
            else:
                say_once(f"{who} trains eagerly, not as a CUDA graph: {problem}.")

    def __call__(self, order, j, step):
        if self.static is not None:                       # one replay of the recorded step
            size = self.static.index.numel()
            row = self.static.run(full_batch(order, j, size), step)
            if self.static.problem:
                say_once(f"{self.who} could not record the step as a CUDA graph ({self.static.problem}); "
                         "it goes on eagerly.")
                self.static.problem = None
            return self.static.names, row, size
        index = order[j * self.batch_size:(j + 1) * self.batch_size]
        self.optimizer.zero_grad(set_to_none=True)
        names, row = self.step_fn(self.model, self.loss_fn, self.optimizer, self.x[index], step, self.transform,
                                  self.bf16)
        return names, row, len(index)
