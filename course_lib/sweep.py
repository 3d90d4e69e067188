"""Sweep training: K copies of one model, differing in one hyper-parameter, trained as one program.

A slider over β (or C, or γ) needs a model for every position.  Training them
one after another repeats the same small steps K times; here the K models'
parameters are stacked along a new first axis (``torch.func.stack_module_state``)
and one step of all of them is one call of

    vmap(grad(loss))(params_k, value_k, batch)      k = 1 .. K

so every matrix product is a batched one and Python runs once per step, not K
times.  Adam acts elementwise, so one Adam over the stacked parameters is
exactly K independent Adams.

What the K models share: the architecture, the initial weights (all start from
the same draw, so the hyper-parameter is the only difference), the batches and
the learning rate.  What differs: the hyper-parameter ``value`` and the noise
of each model's reparameterized samples.

``fit_sweep`` returns K ordinary ``nn.Module``s with their own
:class:`~course_lib.train.History`; :func:`course_lib.cache.cached_sweep`
stores each under its own cache key, like :func:`course_lib.cached_fit`.
"""
import copy
import math
import time

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad_and_value, stack_module_state, vmap
from tqdm.auto import tqdm

from .device import get_device
from .errors import CourseInputError, TrainingDiverged, check_int, check_number
from .train import History


class _Objective(nn.Module):
    """``loss_fn(model, batch, value, step)`` as a module, so ``functional_call`` can swap its parameters."""

    def __init__(self, model, loss_fn):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch, value, step):
        terms = self.loss_fn(self.model, batch, value, step)
        if not isinstance(terms, dict) or "loss" not in terms:
            raise CourseInputError("loss_fn must return a dict of scalar tensors with a 'loss' entry, "
                                   f"got {type(terms).__name__}.")
        return terms["loss"], terms


def _check_values(values):
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise CourseInputError(f"values must be a list of numbers, got {values!r}.") from None
    if not values:
        raise CourseInputError("values must hold at least one number.")
    for i, v in enumerate(values):
        check_number(f"values[{i}]", v)
    return values


def fit_sweep(build, x_train, loss_fn, values, *, steps, batch_size=128, lr=1e-3, seed=0, device=None,
              transform=None, log_every=50, progress=True, desc="sweep"):
    """Train one model per entry of ``values`` as a single vectorized program.

    build():                              -> a fresh ``nn.Module`` (called K times, same seed each time)
    loss_fn(model, batch, value, step):   -> a dict of scalar terms with a "loss" entry; ``value`` is
                                             this model's hyper-parameter as a 0-dim tensor
    values:                               K numbers (β values, capacities, ...)

    Returns a list of K ``(model, History)`` pairs, in the order of ``values``.
    """
    values = _check_values(values)
    if not callable(build) or not callable(loss_fn):
        raise CourseInputError("build and loss_fn must be functions (see the docstring of fit_sweep).")
    if not isinstance(x_train, torch.Tensor) or x_train.dim() < 2 or len(x_train) == 0:
        raise CourseInputError("x_train must be a non-empty tensor of shape (N, ...), "
                               f"got {type(x_train).__name__} {tuple(getattr(x_train, 'shape', ()))}.")
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    log_every = check_int("log_every", log_every, minimum=1)
    lr = check_number("lr", lr, minimum=0.0, strict_minimum=True)
    device = get_device(device)

    models = []
    for _ in values:
        torch.manual_seed(seed)                      # the same initial weights for every model
        models.append(build().to(device))
    params, buffers = stack_module_state(models)     # {name: (K, ...)}
    objective = _Objective(copy.deepcopy(models[0]), loss_fn).to("meta")
    params = {f"model.{k}": v for k, v in params.items()}
    buffers = {f"model.{k}": v for k, v in buffers.items()}

    def one_model(p, b, value, batch, step):
        return functional_call(objective, (p, b), (batch, value, step))

    step_all = vmap(grad_and_value(one_model, has_aux=True), in_dims=(0, 0, 0, None, None),
                    randomness="different")
    optimizer = torch.optim.Adam(list(params.values()), lr=lr)
    value_tensor = torch.tensor(values, device=device)
    x = x_train.to(device)
    n = len(x)
    steps_per_epoch = math.ceil(n / batch_size)
    histories = [History() for _ in values]
    window, names = [], None
    torch.manual_seed(seed)
    started = time.perf_counter()
    bar = tqdm(total=steps, desc=f"{desc} ({len(values)} models)", disable=not progress, leave=True)
    try:
        for i in range(steps):
            if i % steps_per_epoch == 0:
                order = torch.randperm(n, device=device)
            j = i % steps_per_epoch
            batch = x[order[j * batch_size:(j + 1) * batch_size]]
            if transform is not None:
                batch = transform(batch)
            detached = {k: v.detach() for k, v in params.items()}
            try:
                grads, (_, terms) = step_all(detached, buffers, value_tensor, batch, i)
            except RuntimeError as e:          # vmap refuses Python control flow on the per-model value
                if ".item()" in str(e) or "data-dependent" in str(e):
                    raise CourseInputError(
                        "loss_fn must use `value` as a tensor: the K models are trained at once, so "
                        "float(value), value.item() or an `if` on value are not allowed (pass it on as it is, "
                        "e.g. model.loss_terms(x, beta=value)).") from None
                raise
            if names is None:
                names = _check_terms(terms)
            for k, v in params.items():
                v.grad = grads[k]
            optimizer.step()
            window.append(torch.stack([terms[k].detach().float() for k in names]))   # (terms, K)
            if (i + 1) % log_every == 0 or i + 1 == steps:
                _record(window, names, histories, values, i + 1, len(batch))
                bar.update(len(window))
                window = []
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    for k, (model, history) in enumerate(zip(models, histories)):
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(params[f"model.{name}"][k])
        history.seconds = seconds / len(values)
        model.eval()
    return list(zip(models, histories))


def _check_terms(terms):
    if not isinstance(terms, dict) or "loss" not in terms:
        raise CourseInputError("loss_fn must return a dict of scalar tensors with a 'loss' entry.")
    for name, value in terms.items():
        if not isinstance(value, torch.Tensor) or value.dim() != 1:
            raise CourseInputError(f"loss term {name!r} must be a scalar tensor (average over the batch).")
    return list(terms)


def _record(window, names, histories, values, step, batch_len):
    """Move a window of terms to the host once, check it, and append its means to each history."""
    block = torch.stack(window).cpu().numpy()                 # (steps in window, terms, K)
    bad = ~np.isfinite(block)
    if bad.any():
        row, col, k = np.argwhere(bad)[0]
        raise TrainingDiverged(
            f"the model with value {values[k]:g} diverged at step {step - len(window) + 1 + row}: the term "
            f"{names[col]!r} became {block[row, col, k]}. Try a smaller learning rate or a narrower range of values.",
            histories[k])
    means = block.mean(0)                                      # (terms, K)
    for k, history in enumerate(histories):
        history.steps.append(step)
        history.examples_seen += batch_len * len(window)
        for t, name in enumerate(names):
            history.terms.setdefault(name, []).append(float(means[t, k]))
