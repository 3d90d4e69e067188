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
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..device import get_device
from ..errors import CourseInputError, TrainingDiverged, check_choice, check_int, check_number
from .graph_step import StaticStep, capture_problem, full_batch, train_step
from ..io import atomic_save
from ..settings import refuse_training


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

    def __getitem__(self, name):
        if name in self.terms:
            return np.asarray(self.terms[name])
        if name in self.evals:
            return np.asarray(self.evals[name])
        known = ", ".join(sorted({*self.terms, *self.evals})) or "none yet"
        raise KeyError(f"no term called {name!r} in this history; recorded terms: {known}.")

    def last(self, name):
        """The last recorded value of a term."""
        return float(self[name][-1])

    def to_dict(self):
        return {"steps": list(self.steps), "terms": {k: list(v) for k, v in self.terms.items()},
                "eval_steps": list(self.eval_steps), "evals": {k: list(v) for k, v in self.evals.items()},
                "seconds": float(self.seconds), "examples_seen": int(self.examples_seen)}

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


def _snapshot(model, optimizer):
    return ({k: v.detach().clone() for k, v in model.state_dict().items()},
            copy.deepcopy(optimizer.state_dict()))


def _restore(model, optimizer, snapshot):
    model.load_state_dict(snapshot[0])
    optimizer.load_state_dict(snapshot[1])


_SAID = set()


def _say_once(message):
    """A warning shown once per session (e.g. why fit cannot use a CUDA graph)."""
    if message not in _SAID:
        _SAID.add(message)
        warnings.warn(message, stacklevel=3)


def fit(model, x_train, loss_fn=None, *, steps=None, epochs=None, batch_size=128, lr=1e-3,
        optimizer=None, device=None, transform=None, eval_fn=None, eval_every=None,
        log_every=50, progress=True, bf16=False, checkpoint_path=None, checkpoint_every=None,
        seed=None, desc="training", history=None, cuda_graph="auto"):
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
    if not isinstance(x_train, torch.Tensor) or x_train.dim() < 2 or len(x_train) == 0:
        raise CourseInputError("x_train must be a non-empty tensor of shape (N, ...), "
                               f"got {type(x_train).__name__} {tuple(getattr(x_train, 'shape', ()))}.")
    if (steps is None) == (epochs is None):
        raise CourseInputError("give exactly one of steps= or epochs=.")
    refuse_training("fit")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n = len(x_train)
    steps_per_epoch = math.ceil(n / batch_size)
    total = check_int("steps", steps, minimum=1) if steps is not None else \
        check_int("epochs", epochs, minimum=1) * steps_per_epoch
    log_every = check_int("log_every", log_every, minimum=1)
    if loss_fn is None:
        if not hasattr(model, "loss_terms"):
            raise CourseInputError("this model has no loss_terms(); pass loss_fn=.")
        from ..models.vae import vae_objective
        loss_fn = vae_objective()
    if seed is not None:
        torch.manual_seed(seed)

    device = get_device(device)
    model.to(device)
    x = x_train.to(device)                      # the only host -> device copy of the data
    use_bf16 = bool(bf16) and device.type == "cuda"
    check_choice("cuda_graph", cuda_graph, ("auto", False))
    want_graph = cuda_graph == "auto" and device.type == "cuda"
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=check_number("lr", lr, minimum=0.0, strict_minimum=True),
                                     capturable=want_graph)
    static = None
    if want_graph:
        problem = capture_problem(loss_fn, transform, optimizer, device)
        if problem is None:
            static = StaticStep(model, loss_fn, optimizer, x, min(batch_size, n), transform, use_bf16)
        else:
            _say_once(f"fit trains eagerly, not as a CUDA graph: {problem}.")
    history = history if history is not None else History()
    start_step = history.steps[-1] if history.steps else 0

    snapshot = _snapshot(model, optimizer)
    good_step = start_step
    window, names = [], None
    started = time.perf_counter()
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=True)
    model.train()
    try:
        for i in range(total):
            step = start_step + i
            if i % steps_per_epoch == 0:
                order = torch.randperm(n, device=device)
            j = i % steps_per_epoch
            if static is not None:                   # one replay of the recorded step
                window.append(static.run(full_batch(order, j, static.index.numel()), step))
                names = static.names
                if static.problem:
                    _say_once(f"fit could not record the step as a CUDA graph ({static.problem}); "
                              "it goes on eagerly.")
                    static.problem = None
                history.examples_seen += static.index.numel()
            else:
                index = order[j * batch_size:(j + 1) * batch_size]
                optimizer.zero_grad(set_to_none=True)
                names, row = train_step(model, loss_fn, optimizer, x[index], step, transform, use_bf16)
                window.append(row)
                history.examples_seen += len(index)

            done = i + 1 == total
            if (i + 1) % log_every == 0 or done:
                values = torch.stack(window).cpu().numpy()       # one device -> host copy per window
                bad = ~np.isfinite(values)
                if bad.any():
                    row, col = np.argwhere(bad)[0]
                    bad_step = step - len(window) + 1 + row
                    _restore(model, optimizer, snapshot)
                    raise TrainingDiverged(
                        f"training stopped at step {bad_step + 1}: the term {names[col]!r} became "
                        f"{values[row, col]}. The model was restored to its weights after step {good_step}. "
                        "Try a smaller learning rate, a smaller beta, or a KL warm-up.", history)
                history.steps.append(step + 1)
                for k, v in zip(names, values.mean(0)):
                    history.terms.setdefault(k, []).append(float(v))
                bar.set_postfix({k: f"{history.terms[k][-1]:.3g}" for k in names}, refresh=False)
                bar.update(len(window))
                window = []
                snapshot, good_step = _snapshot(model, optimizer), step + 1

            if eval_fn is not None and ((eval_every and (i + 1) % eval_every == 0) or done):
                model.eval()
                with torch.no_grad():
                    results = eval_fn(model)
                model.train()
                history.eval_steps.append(step + 1)
                for k, v in results.items():
                    history.evals.setdefault(k, []).append(float(v))
            if checkpoint_path is not None and ((checkpoint_every and (i + 1) % checkpoint_every == 0) or done):
                save_checkpoint(checkpoint_path, model, optimizer, history)
    finally:
        bar.close()
        history.seconds += time.perf_counter() - started
        model.eval()
    return history


def save_checkpoint(path, model, optimizer, history):
    """Atomically write model and optimizer state and the history to ``path``."""
    state = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "history": history.to_dict()}
    return atomic_save(state, path)


def load_checkpoint(path, model, optimizer=None):
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and
    ``optimizer``); returns the saved :class:`History`."""
    if not Path(path).is_file():
        raise CourseInputError(f"path: there is no checkpoint file at {path}; it must name a file "
                               "written by save_checkpoint (or fit(checkpoint_path=...)).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:                 # truncated, corrupt or not a checkpoint at all
        raise CourseInputError(f"path: {path} could not be read as a checkpoint ({type(e).__name__}); "
                               "it must be a complete file written by save_checkpoint.") from None
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    return History.from_dict(state["history"])
