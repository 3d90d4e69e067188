"""Schedules for beta or capacity C as functions of the training step.

A schedule is any callable ``step -> float``.  ``fit`` passes the step to the
loss function, which evaluates its schedules there.  The step may also be a
0-dim tensor (a CUDA-graph step reads it from a buffer): the schedules here
then return a tensor, computed without leaving the device.
"""
import torch

from .capture import Schedule, capturable, is_capturable
from .errors import check_int, check_number


def linear_warmup(steps: int, start: float = 0.0, end: float = 1.0) -> Schedule:
    """value(step) = start + (end - start) * min(step / steps, 1): a KL warm-up
    (Bowman et al., 2016; Sønderby et al., 2016) or a growing capacity C
    (Burgess et al., 2018)."""
    steps = check_int("steps", steps, minimum=1)
    start, end = check_number("start", start), check_number("end", end)

    @capturable
    def value(step):
        return start + (end - start) * _at_most_one(step / steps)

    return value


def cyclical(period: int, ratio: float = 0.5, start: float = 0.0, end: float = 1.0) -> Schedule:
    """Cyclical annealing (Fu et al., 2019): in each cycle of ``period`` steps the
    value rises linearly from ``start`` to ``end`` over the first ``ratio`` of the
    cycle, then stays at ``end``."""
    period = check_int("period", period, minimum=1)
    ratio = check_number("ratio", ratio, minimum=0.0, maximum=1.0, strict_minimum=True)
    start, end = check_number("start", start), check_number("end", end)

    @capturable
    def value(step):
        phase = (step % period) / period
        return start + (end - start) * _at_most_one(phase / ratio)

    return value


def after_warm_start(steps, during, then):
    """value(step) = ``during`` for the first ``steps`` steps, then ``then`` (a number, or a schedule read at
    step - steps): e.g. a start as a plain VAE (beta = 1, C = 0) before a capacity ramp, so that the decoder
    already reads z when the capacity term begins.  ``steps = 0`` is ``then`` itself."""
    steps = check_int("steps", steps, minimum=0)
    during = check_number("during", during)
    if not callable(then):
        then = check_number("then", then)

    def value(step):
        later = evaluate(then, step - steps)
        if isinstance(step, torch.Tensor):        # arithmetic on the step only: nothing new is copied to the
            before = (step < steps).float()       # device, so a CUDA graph can record it
            return later + (during - later) * before
        return during if step < steps else later

    capturable(value, when=is_capturable(then) if callable(then) else True)
    return value


def _at_most_one(t):
    return torch.clamp(t, max=1.0) if isinstance(t, torch.Tensor) else min(t, 1.0)


def evaluate(schedule, step):
    """A number stays a number; a schedule is called with ``step``."""
    return schedule(step) if callable(schedule) else schedule
