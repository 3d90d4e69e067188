"""Sweep training: K copies of one model, differing in one hyper-parameter, trained as one program.

A slider over β (or C, or γ) needs a model for every position.  Training them
one after another repeats the same small steps K times; here the K models'
parameters are stacked along a new first axis (``torch.func.stack_module_state``)
and one step of all of them is

    L_k = vmap(loss)(params_k, value_k, batch)       k = 1 .. K
    backward of  sum_k L_k                          (d sum_k L_k / d params_k = d L_k / d params_k)

so every matrix product is a batched one and Python runs once per step, not K
times.  Adam acts elementwise, so one Adam over the stacked parameters is
exactly K independent Adams.  On a GPU the step of all K models is recorded
once as a CUDA graph and replayed, as in ``fit`` (:mod:`course_lib.training.graph_step`).

What the K models share: the architecture, the initial weights (all start from
the same draw, so the hyper-parameter is the only difference), the batches and
the learning rate.  What differs: the hyper-parameter ``value`` and the noise
of each model's reparameterized samples.

``fit_sweep`` returns K ordinary ``nn.Module``s with their own
:class:`~course_lib.training.train.History`; :func:`course_lib.training.cache.cached_sweep`
stores each under its own cache key, like :func:`course_lib.cached_fit`.
"""
import copy
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from ..capture import SweepLossFn, Transform, capturable, is_capturable
from ..device import get_device
from ..errors import CourseInputError, TrainingDiverged, check_choice, check_int, check_number
from ..settings import refuse_training
from .loop import Stepper, adam, check_x_train, steps_per_epoch
from .train import History, fit


class _Objective(nn.Module):
    """``loss_fn(model, batch, value, step)`` as a module, so ``functional_call`` can swap its parameters."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, loss_fn, batch, value, step):
        terms = loss_fn(self.model, batch, value, step)
        if not isinstance(terms, dict) or "loss" not in terms:
            raise CourseInputError("loss_fn must return a dict of scalar tensors with a 'loss' entry, "
                                   f"got {type(terms).__name__}.")
        return terms


class Stacked(nn.Module):
    """K copies of one architecture as one module: every parameter gains a first axis of length K.

    ``terms(loss_fn, batch, step)`` evaluates ``loss_fn(model_k, batch, value_k, step)`` for all k
    at once (``vmap`` over the stacked parameters) and returns a dict of (K,) tensors.
    """

    def __init__(self, models, values):
        super().__init__()
        params, buffers = stack_module_state(models)            # {name: (K, ...)}
        self.names = list(params)
        self.stacked = nn.ParameterList(nn.Parameter(params[k]) for k in self.names)
        self.buffer_names = list(buffers)
        for i, k in enumerate(self.buffer_names):
            self.register_buffer(f"buffer_{i}", buffers[k])
        self.register_buffer("values", torch.tensor(values, dtype=torch.float32, device=params[self.names[0]].device))
        self.objective = _Objective(copy.deepcopy(models[0])).to("meta")

    def terms(self, loss_fn, batch, step):
        params = {f"model.{k}": p for k, p in zip(self.names, self.stacked)}
        buffers = {f"model.{k}": getattr(self, f"buffer_{i}") for i, k in enumerate(self.buffer_names)}

        def one_model(p, b, value):
            return functional_call(self.objective, (p, b), (loss_fn, batch, value, step))

        try:
            return vmap(one_model, randomness="different")(params, buffers, self.values)
        except RuntimeError as e:          # vmap refuses Python control flow on the per-model value
            if ".item()" in str(e) or "data-dependent" in str(e):
                raise CourseInputError(
                    "loss_fn must use `value` as a tensor: the K models are trained at once, so "
                    "float(value), value.item() or an `if` on value are not allowed (pass it on as it is, "
                    "e.g. model.loss_terms(x, beta=value)).") from None
            raise

    def copy_into(self, models):
        """Write the k-th slice of every stacked parameter into ``models[k]``."""
        with torch.no_grad():
            for k, model in enumerate(models):
                own = dict(model.named_parameters())
                for name, p in zip(self.names, self.stacked):
                    own[name].copy_(p[k])


def sweep_step(stack, loss_fn, optimizer, batch, step, transform=None, bf16=False):
    """One optimizer step of all K models, called like :func:`course_lib.training.graph_step.train_step`.

    The models share no parameters, so the gradient of the sum of their K losses
    with respect to model k's parameters is the gradient of model k's own loss.
    Returns ``(names, row)`` with row (n_terms, K).
    """
    if transform is not None:
        batch = transform(batch)
    terms = stack.terms(loss_fn, batch, step)
    names = _check_terms(terms, len(stack.values))
    terms["loss"].sum().backward()
    optimizer.step()
    return names, torch.stack([terms[k].detach().float() for k in names])


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


def fit_sweep(build: Callable[[], nn.Module], x_train: torch.Tensor, loss_fn: SweepLossFn, values: Sequence[float], *,
              steps: int, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
              device: str | torch.device | None = None, transform: Transform | None = None, log_every: int = 50,
              progress: bool = True, desc: str = "sweep", cuda_graph: str | bool = "auto",
              strategy: str = "auto") -> list[tuple[nn.Module, History]]:
    """Train one model per entry of ``values`` as a single vectorized program.

    build():                              -> a fresh ``nn.Module`` (called K times, same seed each time)
    loss_fn(model, batch, value, step):   -> a dict of scalar terms with a "loss" entry; ``value`` is
                                             this model's hyper-parameter as a 0-dim tensor
    values:                               K numbers (β values, capacities, ...)

    cuda_graph:                           "auto" or False, as in :func:`course_lib.fit`
    strategy:                             "stacked" (the K models as one vectorized program), "separate"
                                          (K runs of :func:`course_lib.fit`, each from the same start and
                                          with the same batches), or "auto": stacked on a GPU, where one
                                          launch for K models pays, separate on a CPU, where the stacked
                                          step is no faster (``python -m course_lib.bench`` times both)

    Returns a list of K ``(model, History)`` pairs, in the order of ``values``.
    """
    values = _check_values(values)
    if not callable(build) or not callable(loss_fn):
        raise CourseInputError("build and loss_fn must be functions (see the docstring of fit_sweep).")
    n = check_x_train(x_train)
    steps = check_int("steps", steps, minimum=1)
    refuse_training("fit_sweep")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    log_every = check_int("log_every", log_every, minimum=1)
    lr = check_number("lr", lr, minimum=0.0, strict_minimum=True)
    device = get_device(device)
    check_choice("cuda_graph", cuda_graph, ("auto", False))
    check_choice("strategy", strategy, ("auto", "stacked", "separate"))
    if strategy == "separate" or (strategy == "auto" and device.type != "cuda"):
        return _separate(build, x_train, loss_fn, values, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                         device=device, transform=transform, log_every=log_every, progress=progress, desc=desc,
                         cuda_graph=cuda_graph)

    models = []
    for _ in values:
        torch.manual_seed(seed)                      # the same initial weights for every model
        models.append(build().to(device))
    stack = Stacked(models, values)
    want_graph = cuda_graph == "auto" and device.type == "cuda"
    optimizer = adam(stack.parameters(), lr, want_graph)
    step_once = Stepper("fit_sweep", stack, loss_fn, optimizer, x_train.to(device), batch_size,
                        transform=transform, graph=want_graph, step_fn=sweep_step)
    per_epoch = steps_per_epoch(n, batch_size)
    histories = [History() for _ in values]
    window, window_examples, names = [], 0, None
    torch.manual_seed(seed)
    started = time.perf_counter()
    bar = tqdm(total=steps, desc=f"{desc} ({len(values)} models)", disable=not progress, leave=True)
    try:
        for i in range(steps):
            if i % per_epoch == 0:
                order = torch.randperm(n, device=device)
            names, row, examples = step_once(order, i % per_epoch, i)
            window.append(row)                       # (terms, K)
            window_examples += examples
            if (i + 1) % log_every == 0 or i + 1 == steps:
                _record(window, names, histories, values, i + 1, window_examples)
                bar.update(len(window))
                window, window_examples = [], 0
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    stack.copy_into(models)
    for model, history in zip(models, histories):
        history.seconds = seconds / len(values)
        model.eval()
    return list(zip(models, histories))


def _separate(build, x_train, loss_fn, values, *, seed, desc, **options):
    """The sweep as K runs of :func:`course_lib.fit`: model k starts from build() under ``seed`` and trains
    on loss_fn(model, batch, value_k, step) with the batches of ``seed``, as a stacked sweep's model k does.
    build() is called once per value, in order, as the stacked sweep calls it."""
    device = options["device"]
    models = []
    for _ in values:
        torch.manual_seed(seed)
        models.append(build().to(device))
    _check_contract(models, x_train, loss_fn, values, device)
    out = []
    for k, (model, value) in enumerate(zip(models, values)):
        v = torch.tensor(float(value), device=device)

        def one(m, batch, step, v=v):
            return loss_fn(m, batch, v, step)
        capturable(one, when=is_capturable(loss_fn))
        try:
            history = fit(model, x_train, one, seed=seed,
                          desc=f"{desc} ({k + 1} of {len(values)}: {float(value):g})", **options)
        except TrainingDiverged as e:
            raise TrainingDiverged(f"the model with value {float(value):g} diverged: {e}", e.history) from None
        model.eval()
        out.append((model, history))
    return out


def _check_contract(models, x_train, loss_fn, values, device):
    """Evaluate loss_fn once as the stacked sweep would (vmapped over the values, on a few examples, with
    copies of the first two models), so that a loss function that only works one model at a time
    (float(value), an `if` on it, non-scalar terms) is refused on a CPU as it would be on a GPU.  Draws no
    random numbers from training's stream."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        stack = Stacked([copy.deepcopy(m) for m in models[:2]], values[:2])
        with torch.no_grad():
            _check_terms(stack.terms(loss_fn, x_train[:8].to(device), 0), len(stack.values))


def _check_terms(terms, k):
    if not isinstance(terms, dict) or "loss" not in terms:
        raise CourseInputError("loss_fn must return a dict of scalar tensors with a 'loss' entry.")
    for name, value in terms.items():
        if not isinstance(value, torch.Tensor) or value.shape != (k,):
            raise CourseInputError(f"loss term {name!r} must be a scalar tensor (average over the batch).")
    return list(terms)


def _record(window, names, histories, values, step, examples):
    """Move a window of terms to the host once, check it, and append its means to each history
    (``examples``: how many examples the window's steps saw, counted per model)."""
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
        history.examples_seen += examples
        for t, name in enumerate(names):
            history.terms.setdefault(name, []).append(float(means[t, k]))
