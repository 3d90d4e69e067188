"""``fit``: a small, GPU-aware training loop.

What it does, in order, for each step:

1. draw a batch *by index* from a data tensor that was moved to the device
   once (no per-batch host-to-device copy, no DataLoader workers);
2. optionally transform it on the device (e.g. dynamic binarization);
3. call ``loss_fn(model, batch, step)``, which returns a dict of scalar terms
   with a ``"loss"`` entry (other entries, like ``rate`` and ``distortion``,
   are only recorded);
4. take an optimizer step.

Every ``log_every`` steps the recorded terms are copied to the host *once*,
checked for NaN/inf, averaged into the history and shown on a progress bar.
If a term is not finite, the model and optimizer go back to their last good
state and :class:`~course_lib.errors.TrainingDiverged` names the step and term.

On a GPU, steps 1-4 are recorded once as a CUDA graph and replayed (one launch
per step instead of dozens), when the loss function says it can be
(:mod:`course_lib.training.graph_step`); the course's VAE objectives can.
"""
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..capture import LossFn, Transform
from ..device import get_device
from ..errors import CourseInputError, TrainingDiverged, check_choice, check_int, check_number
from ..io import atomic_save
from ..models.vae import vae_objective
from ..settings import refuse_training
from .loop import Stepper, adam, check_x_train, steps_per_epoch


@dataclass
class History:
    """Loss terms recorded during ``fit``.

    ``steps[i]`` is the step count after the i-th logging window and
    ``terms[name][i]`` the mean of that term over the window.  ``evals`` holds the
    results of ``eval_fn`` at ``eval_steps``.  ``history["rate"]`` gives a NumPy array.
    """

    steps: list = field(default_factory=list)
    terms: dict = field(default_factory=dict)
    eval_steps: list = field(default_factory=list)
    evals: dict = field(default_factory=dict)
    seconds: float = 0.0
    examples_seen: int = 0

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.terms:
            return np.asarray(self.terms[name])
        if name in self.evals:
            return np.asarray(self.evals[name])
        known = ", ".join(sorted({*self.terms, *self.evals})) or "none yet"
        raise KeyError(f"no term called {name!r} in this history; recorded terms: {known}.")

    def last(self, name: str) -> float:
        """The last recorded value of a term."""
        return float(self[name][-1])

    def to_dict(self) -> dict:
        return {"steps": list(self.steps), "terms": {k: list(v) for k, v in self.terms.items()},
                "eval_steps": list(self.eval_steps), "evals": {k: list(v) for k, v in self.evals.items()},
                "seconds": float(self.seconds), "examples_seen": int(self.examples_seen)}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**d)


def _snapshot(model, optimizer):
    return ({k: v.detach().clone() for k, v in model.state_dict().items()},
            copy.deepcopy(optimizer.state_dict()))


def _restore(model, optimizer, snapshot):
    model.load_state_dict(snapshot[0])
    optimizer.load_state_dict(snapshot[1])


class _Window:
    """The loss terms of the steps since the last log line.  ``write(step)`` copies them to the host
    once, checks that every value is finite and appends their means to the history; a value that is
    not finite sends the model and optimizer back to their state at the last good write and raises
    :class:`~course_lib.errors.TrainingDiverged`."""

    def __init__(self, model, optimizer, history, good_step):
        self.model, self.optimizer, self.history = model, optimizer, history
        self.rows, self.names = [], None
        self.snapshot, self.good_step = _snapshot(model, optimizer), good_step

    def add(self, names, row, examples):
        self.rows.append(row)
        self.names = names
        self.history.examples_seen += examples

    def write(self, step):
        """Write the window ending at (0-based) ``step``; -> how many steps it held."""
        values = torch.stack(self.rows).cpu().numpy()           # one device -> host copy per window
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            bad_step = step - len(self.rows) + 1 + row
            _restore(self.model, self.optimizer, self.snapshot)
            raise TrainingDiverged(
                f"training stopped at step {bad_step + 1}: the term {self.names[col]!r} became "
                f"{values[row, col]}. The model was restored to its weights after step {self.good_step}. "
                "Try a smaller learning rate, a smaller beta, or a KL warm-up.", self.history)
        self.history.steps.append(step + 1)
        for k, v in zip(self.names, values.mean(0)):
            self.history.terms.setdefault(k, []).append(float(v))
        held, self.rows = len(self.rows), []
        self.snapshot, self.good_step = _snapshot(self.model, self.optimizer), step + 1
        return held


def _evaluate(model, eval_fn, history, step):
    """Run ``eval_fn(model)`` without gradients, in eval mode, and record its results at ``step``."""
    model.eval()
    with torch.no_grad():
        results = eval_fn(model)
    model.train()
    history.eval_steps.append(step)
    for k, v in results.items():
        history.evals.setdefault(k, []).append(float(v))


def _every(i, every, done):
    """Whether step i (0-based) ends a period of ``every`` steps (None: never), or is the last one."""
    return done or bool(every and (i + 1) % every == 0)


def fit(model: nn.Module, x_train: torch.Tensor, loss_fn: LossFn | None = None, *, steps: int | None = None,
        epochs: int | None = None, batch_size: int = 128, lr: float = 1e-3,
        optimizer: torch.optim.Optimizer | None = None, device: str | torch.device | None = None,
        transform: Transform | None = None, eval_fn: Callable[[nn.Module], dict] | None = None,
        eval_every: int | None = None, log_every: int = 50, progress: bool = True, bf16: bool = False,
        checkpoint_path: str | Path | None = None, checkpoint_every: int | None = None, seed: int | None = None,
        desc: str = "training", history: "History | None" = None, cuda_graph: str | bool = "auto") -> "History":
    """Train ``model`` on the tensor ``x_train`` (N, ...) and return a :class:`History`.

    Give the length as ``steps`` (optimizer steps) or ``epochs`` (passes over the data).
    ``loss_fn(model, batch, step) -> {"loss": ..., other terms}``; for a VAE it
    defaults to :func:`course_lib.models.vae.vae_objective` with beta = 1 (the negative ELBO).
    ``eval_fn(model) -> {name: float}`` runs every ``eval_every`` steps and at the end.
    ``bf16=True`` trains under bfloat16 autocast on CUDA (ignored elsewhere).
    ``cuda_graph="auto"``: on CUDA, record the whole step once as a CUDA graph and
    replay it (see :mod:`course_lib.training.graph_step`), when the loss function and
    transform are marked capturable; otherwise, or with ``cuda_graph=False``, train
    eagerly (saying why, once).  On the CPU it changes nothing.
    ``checkpoint_path`` is written atomically every ``checkpoint_every`` steps and at the end.
    Pass a previous ``history`` to continue it.
    """
    n = check_x_train(x_train)
    if (steps is None) == (epochs is None):
        raise CourseInputError("give exactly one of steps= or epochs=.")
    refuse_training("fit")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    per_epoch = steps_per_epoch(n, batch_size)
    total = check_int("steps", steps, minimum=1) if steps is not None else \
        check_int("epochs", epochs, minimum=1) * per_epoch
    log_every = check_int("log_every", log_every, minimum=1)
    if loss_fn is None:
        if not hasattr(model, "loss_terms"):
            raise CourseInputError("this model has no loss_terms(); pass loss_fn=.")
        loss_fn = vae_objective()
    check_choice("cuda_graph", cuda_graph, ("auto", False))
    if seed is not None:
        torch.manual_seed(seed)

    device = get_device(device)
    model.to(device)
    x = x_train.to(device)                      # the only host -> device copy of the data
    want_graph = cuda_graph == "auto" and device.type == "cuda"
    if optimizer is None:
        optimizer = adam(model.parameters(), check_number("lr", lr, minimum=0.0, strict_minimum=True), want_graph)
    step_once = Stepper("fit", model, loss_fn, optimizer, x, batch_size, transform=transform,
                        bf16=bool(bf16) and device.type == "cuda", graph=want_graph)
    history = history if history is not None else History()
    start_step = history.steps[-1] if history.steps else 0
    window = _Window(model, optimizer, history, start_step)
    started = time.perf_counter()
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=True)
    model.train()
    try:
        for i in range(total):
            step, done = start_step + i, i + 1 == total
            if i % per_epoch == 0:
                order = torch.randperm(n, device=device)
            window.add(*step_once(order, i % per_epoch, step))
            if _every(i, log_every, done):
                bar.update(window.write(step))
                bar.set_postfix({k: f"{history.terms[k][-1]:.3g}" for k in window.names}, refresh=False)
            if eval_fn is not None and _every(i, eval_every, done):
                _evaluate(model, eval_fn, history, step + 1)
            if checkpoint_path is not None and _every(i, checkpoint_every, done):
                save_checkpoint(checkpoint_path, model, optimizer, history)
    finally:
        bar.close()
        history.seconds += time.perf_counter() - started
        model.eval()
    return history


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                    history: History) -> Path:
    """Atomically write model and optimizer state and the history to ``path``."""
    state = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "history": history.to_dict()}
    return atomic_save(state, path)


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> History:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and
    ``optimizer``); returns the saved :class:`History`."""
    if not Path(path).is_file():
        raise CourseInputError(f"path: there is no checkpoint file at {path}; it must name a file "
                               "written by save_checkpoint (or fit(checkpoint_path=...)).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 (truncated, corrupt or not a checkpoint at all)
        raise CourseInputError(f"path: {path} could not be read as a checkpoint ({type(e).__name__}); "
                               "it must be a complete file written by save_checkpoint.") from None
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    return History.from_dict(state["history"])
