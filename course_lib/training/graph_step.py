"""One training step recorded once as a CUDA graph and replayed: what makes small models fast on a GPU.

A step of a small VAE is a few dozen tiny kernels.  Launched one by one from
Python, the GPU waits for Python most of the time.  A CUDA graph records the
whole step once (batch gather, forward, backward, optimizer) and replays it
with one launch.  What a replay needs is that every tensor it reads or writes
lives at a fixed address, so the step reads *static buffers*:

    index   (batch_size,)   which examples form the batch    (filled before each replay)
    step    0-dim float     the step number, for schedules   (filled before each replay)
    row     (n_terms,)      the loss terms the step produced (read after each replay)

The data tensor, the parameters and the optimizer state keep their addresses
for the whole training.  Consequences for what can be captured:

* the loss function must treat ``step`` as a tensor and use only tensor
  operations (no ``if`` on a tensor, no ``.item()``): it says so by carrying the mark of
  :func:`course_lib.capture.capturable` (the course's objectives do);
* the transform (e.g. ``dynamic_binarize``) likewise;
* the optimizer must keep its step count on the GPU (Adam with ``capturable=True``);
* every batch has the same size: a short last batch of an epoch is filled up
  with examples from the start of the same epoch's order.

``StaticStep`` runs the same static-buffer step with or without a graph, so
the CPU tests check exactly the code that the GPU replays.
"""
import torch

from ..capture import is_capturable
from ..errors import CourseInputError


def check_terms(terms):
    """Check what a loss function returned; -> the names of its terms."""
    if not isinstance(terms, dict) or "loss" not in terms:
        raise CourseInputError("loss_fn must return a dict of scalar tensors with a 'loss' entry, "
                               f"got {type(terms).__name__}.")
    for name, value in terms.items():
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise CourseInputError(f"loss term {name!r} must be a scalar tensor (average over the batch).")
    return list(terms)


def train_step(model, loss_fn, optimizer, batch, step, transform=None, bf16=False):
    """One optimizer step, the one ``fit`` takes eagerly and the one a CUDA graph records.

    Transforms the batch, computes ``loss_fn(model, batch, step)`` (under bfloat16 autocast
    if ``bf16``), backpropagates its ``"loss"`` and steps the optimizer; the caller zeroes the
    gradients first.  Returns ``(names, row)``: the terms' names and their values as one
    (n_terms,) float32 tensor, still on the device.
    """
    if transform is not None:
        batch = transform(batch)
    with torch.autocast(device_type=batch.device.type, dtype=torch.bfloat16, enabled=bf16):
        terms = loss_fn(model, batch, step)
    names = check_terms(terms)
    terms["loss"].backward()
    optimizer.step()
    return names, torch.stack([terms[k].detach().float().reshape(()) for k in names])


def capture_problem(loss_fn, transform, optimizer, device):
    """Why the step cannot be captured, or None if it can."""
    if device.type != "cuda":
        return "CUDA graphs need a CUDA device"
    if not is_capturable(loss_fn):
        return ("loss_fn is not marked capturable (decorate it with @course_lib.capturable if it uses only "
                "tensor operations and treats step as a tensor)")
    if transform is not None and not is_capturable(transform):
        return "the transform is not marked capturable"
    if not optimizer.defaults.get("capturable", False):
        return "the optimizer was not created with capturable=True"
    return None


class StaticStep:
    """The training step on static buffers; ``run(index, step)`` trains one step and returns the terms row.

    model, loss_fn, optimizer, transform, bf16: as in :func:`course_lib.fit`
    x:          the training data, already on the device
    batch_size: the size of every batch
    capture:    record a CUDA graph after ``warmup`` eager steps (on CUDA), or stay eager (anywhere)
    step_fn:    the step to run, called like :func:`train_step` (a sweep passes its own)

    If recording fails, the step stays eager and ``problem`` says why.
    """

    def __init__(self, model, loss_fn, optimizer, x, batch_size, transform=None, bf16=False,
                 capture=True, warmup=3, step_fn=train_step):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.x, self.transform, self.bf16, self.step_fn = x, transform, bf16, step_fn
        self.index = torch.zeros(batch_size, dtype=torch.long, device=x.device)
        self.step = torch.zeros((), dtype=torch.float32, device=x.device)
        self.capture, self.warmup, self.done = capture, warmup, 0
        self.names, self.row, self.graph, self.problem = None, None, None, None

    def _body(self):
        """One optimizer step on the batch ``x[index]`` at step ``step``; returns the terms row."""
        self.names, row = self.step_fn(self.model, self.loss_fn, self.optimizer, self.x[self.index], self.step,
                                       self.transform, self.bf16)
        return row

    def _eager(self):
        self.optimizer.zero_grad(set_to_none=False)
        return self._body()

    def _record(self):
        """Record one step as a graph.  Gradients keep the addresses the warm-up gave them."""
        self.optimizer.zero_grad(set_to_none=False)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for p in self.model.parameters():
                if p.grad is not None:
                    p.grad.zero_()
            self.row = self._body()
        self.graph = graph

    def run(self, index, step):
        """Train one step on the examples ``index`` (a device tensor of ``batch_size`` indices)."""
        self.index.copy_(index)
        self.step.fill_(step)
        if self.graph is not None:
            self.graph.replay()
            return self.row.clone()
        if not self.capture:
            return self._eager()
        side = torch.cuda.Stream()                 # warm-up steps run on a side stream, as capture needs
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            row = self._eager()
        torch.cuda.current_stream().wait_stream(side)
        self.done += 1
        if self.done == self.warmup:
            try:
                self._record()
            except Exception as e:  # noqa: BLE001 (some operation cannot be recorded: stay eager)
                self.capture, self.graph = False, None
                self.problem = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return row


def full_batch(order, j, batch_size):
    """The j-th batch of ``order``, filled up from the start of ``order`` when it is short."""
    batch = order[j * batch_size:(j + 1) * batch_size]
    if len(batch) < batch_size:
        batch = torch.cat([batch, order[:batch_size - len(batch)]])
    return batch
