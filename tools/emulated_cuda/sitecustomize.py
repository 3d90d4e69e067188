"""A pretend GPU on a CPU-only machine, to find device mistakes before a real GPU is lent.

With ``COURSE_LIB_EMULATE_CUDA=1`` and this folder on ``PYTHONPATH``, every Python process that
starts (pytest, its workers, the notebook kernels nbval starts) believes CUDA is present:
``torch.cuda.is_available()`` is True, so ``course_lib.get_device()`` answers "cuda".  A tensor
"on the GPU" is an ordinary CPU tensor that this module remembers as being on the GPU, and every
torch operation is checked the way CUDA checks it:

* tensors of one operation must be on one device (a 0-dim CPU tensor may join GPU tensors);
* ``.numpy()`` and ``np.asarray`` refuse a GPU tensor;
* ``.to(...)``, ``.cuda()``, ``.cpu()``, ``device=`` arguments and ``Module.to`` move tensors
  between the two pretend devices; ``.device`` and ``.is_cuda`` answer accordingly.

So a lesson that hands a CPU tensor to a model trained "on the GPU", or plots a GPU tensor, fails
here as it would on a GPU, with the same kind of message.

Recording a CUDA graph is checked, not done: inside ``torch.cuda.graph(...)`` an operation that
a recording refuses fails (a GPU value read on the host: ``.item()``, ``float()``, ``if t:``,
``.cpu()``, a boolean mask, ``nonzero``; a copy from the host: ``.to("cuda")`` of a CPU tensor,
``torch.tensor(..., device="cuda")``).  A step that passes ends the recording with the error
"the step passed the emulated recording check", so ``fit`` says that and trains eagerly.  The
checked step is also taken (a real recording takes none): such a training is one step longer here.

What it is not: a GPU.  Graphs are never replayed, streams do nothing, timings mean nothing,
and numbers are the CPU's.  Run it as ``make test-emulated-gpu``, or
``bash tools/emulated_cuda/run.sh [pytest args]`` for some tests.  (Being a ``sitecustomize``, it
stands in for any other one on the path while it is on ``PYTHONPATH``.)
"""
import os

if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    import contextlib

    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils.weak import WeakTensorKeyDictionary

    GPU, CPU = torch.device("cuda", 0), torch.device("cpu")
    ON_GPU = WeakTensorKeyDictionary()              # the tensors that pretend to be on the GPU
    _base = torch._C.TensorBase
    _DESCRIPTORS = {name: _base.__dict__[name] for name in ("device", "is_cuda", "data")}
    _functorch = torch._C._functorch

    def _underlying(t):
        """vmap and grad wrap tensors; the mark sits on the tensor inside."""
        while _functorch.is_functorch_wrapped_tensor(t):
            t = _functorch.get_unwrapped(t)
        return t

    def on_gpu(t):
        if not isinstance(t, torch.Tensor):
            return False
        return t in ON_GPU or (_functorch.is_functorch_wrapped_tensor(t) and _underlying(t) in ON_GPU)

    def _each_tensor(obj):
        if isinstance(obj, torch.Tensor):
            yield obj
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                yield from _each_tensor(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                yield from _each_tensor(item)

    def _mark(obj, gpu=True):
        for t in _each_tensor(obj):
            if gpu:
                ON_GPU[t] = True
            else:
                ON_GPU.pop(t, None)
        return obj

    def _wants_gpu(spec):
        """True for a CUDA device, False for the CPU, None when ``spec`` names no device."""
        if isinstance(spec, (torch.device, str)):
            kind = torch.device(spec).type if isinstance(spec, torch.device) else spec.split(":")[0]
            return {"cuda": True, "cpu": False}.get(kind)       # other devices (meta) are left alone
        if isinstance(spec, int) and not isinstance(spec, bool):
            return True
        return None

    def _mismatch(name):
        return RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                            f"cuda:0 and cpu! (emulated CUDA, in {name})")

    def _check_one_device(name, tensors):
        gpu = [t for t in tensors if on_gpu(t)]
        if gpu and any(not on_gpu(t) and t.dim() > 0 for t in tensors):
            raise _mismatch(name)
        return bool(gpu)

    _ACROSS_DEVICES = {"copy_", "__setitem__", "_has_compatible_shallow_copy_type", "is_same_size", "set_",
                       "__deepcopy__", "__reduce_ex__"}       # CUDA allows these across devices

    def _to(func, args, kwargs):
        """Tensor.to(device?, dtype?, ...) or Tensor.to(other): the pretend device decides the mark."""
        self, rest, target = args[0], [], None
        if "device" in kwargs:
            target = _wants_gpu(kwargs["device"])
            kwargs["device"] = CPU
        for a in args[1:]:
            if isinstance(a, torch.Tensor):             # .to(other): other's dtype and device
                target = on_gpu(a)
                rest.append(a.dtype)
            elif _wants_gpu(a) is not None:             # every real tensor is on the CPU
                target = _wants_gpu(a)
                rest.append(CPU)
            else:
                rest.append(a)
        out = func(self, *rest, **kwargs)
        if target is None:
            target = on_gpu(self)
        if target != on_gpu(self) and out is self:      # a move makes a new tensor
            out = self.clone()
        return _mark(out, target)

    RECORDING = [False]                             # inside torch.cuda.graph(...)
    _TO_HOST = {"item", "tolist", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy", "__array__",
                "nonzero", "masked_select", "unique", "argwhere", "__repr__", "__format__"}
    _FROM_DATA = {"tensor", "as_tensor", "asarray"}

    def _refuse_while_recording(what):
        raise RuntimeError(f"operation not permitted when stream is capturing (emulated CUDA graph: {what})")

    def _check_recordable(name, args, kwargs):
        if not RECORDING[0]:
            return
        if name in _TO_HOST and args and on_gpu(args[0]):
            _refuse_while_recording(f"{name} reads a GPU value on the host")
        if name == "__getitem__" and any(t.dtype == torch.bool and on_gpu(t) for t in _each_tensor(args[1:])):
            _refuse_while_recording("a boolean mask needs the number of its true entries on the host")
        if name in _FROM_DATA and _wants_gpu(kwargs.get("device")):
            _refuse_while_recording(f"torch.{name}(..., device='cuda') copies from the host")
        if name in ("to", "cuda") and args and isinstance(args[0], torch.Tensor) and not on_gpu(args[0]):
            targets = [a for a in (*args[1:], kwargs.get("device")) if _wants_gpu(a) or on_gpu(a)]
            if name == "cuda" or targets:
                _refuse_while_recording("a CPU tensor copied to the GPU")

    class EmulatedCuda(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = dict(kwargs or {})
            name = getattr(func, "__name__", "")
            owner = getattr(func, "__self__", None)
            _check_recordable(name, args, kwargs)
            if name in ("__get__", "__set__") and not isinstance(owner, torch.Tensor):
                if owner is _DESCRIPTORS["device"]:
                    return GPU if on_gpu(args[0]) else func(*args, **kwargs)
                if owner is _DESCRIPTORS["is_cuda"]:
                    return on_gpu(args[0])
                out = func(*args, **kwargs)
                if owner is _DESCRIPTORS["data"] and name == "__set__":
                    _mark(args[0], on_gpu(args[1]))
                elif name == "__get__" and on_gpu(args[0]):        # .grad, .data, .T, .mT, ...
                    _mark(out)
                return out
            if name in ("numpy", "__array__") and args and on_gpu(args[0]):
                raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy "
                                "the tensor to host memory first. (emulated CUDA)")
            if name == "to" and args and isinstance(args[0], torch.Tensor):
                return _to(func, args, kwargs)
            if name == "cpu":
                return args[0].clone() if on_gpu(args[0]) else args[0]
            if name == "cuda":
                return args[0] if on_gpu(args[0]) else _mark(args[0].clone())
            if name == "get_device" and args:
                return 0 if on_gpu(args[0]) else -1
            tensors = list(_each_tensor(args)) + list(_each_tensor(kwargs))
            if name in _ACROSS_DEVICES:
                return func(*args, **kwargs)
            if name == "__getitem__":                      # a CPU index may pick from a GPU tensor
                if not on_gpu(args[0]) and any(on_gpu(t) for t in tensors[1:]):
                    raise RuntimeError("indices should be either on cpu or on the same device as the indexed "
                                       "tensor (cpu) (emulated CUDA)")
                out = func(*args, **kwargs)
                return _mark(out) if on_gpu(args[0]) else out
            gpu = _check_one_device(name or repr(func), tensors)
            device = kwargs.get("device")
            if _wants_gpu(device) is not None:
                kwargs["device"] = CPU
                gpu = _wants_gpu(device)
            out = func(*args, **kwargs)
            if gpu and not (args and out is args[0] and not on_gpu(args[0])):
                _mark(out)
            return out

    # -- torch.cuda, as far as the course uses it -------------------------------------------------
    class _Stream:
        def wait_stream(self, other):
            pass

        def synchronize(self):
            pass

    class _Graph:
        def replay(self):
            raise RuntimeError("the emulated GPU does not replay CUDA graphs")

    @contextlib.contextmanager
    def _record(graph, *args, **kwargs):
        """Run the step with the recording checks on; a step that passes ends with an error all the
        same (nothing was recorded), which names the result."""
        RECORDING[0] = True
        try:
            yield graph
        finally:
            RECORDING[0] = False
        raise RuntimeError("the step passed the emulated recording check (the emulated GPU records nothing)")

    torch.cuda.is_available = lambda: True
    torch.cuda.device_count = lambda: 1
    torch.cuda.current_device = lambda: 0
    torch.cuda.get_device_name = lambda *a, **k: "emulated CUDA device (a CPU)"
    torch.cuda.is_bf16_supported = lambda *a, **k: True
    torch.cuda.synchronize = lambda *a, **k: None
    torch.cuda.empty_cache = lambda: None
    torch.cuda.Stream = lambda *a, **k: _Stream()
    torch.cuda.current_stream = lambda *a, **k: _Stream()
    torch.cuda.stream = lambda *a, **k: contextlib.nullcontext()
    torch.cuda.CUDAGraph = _Graph
    torch.cuda.graph = _record
    torch.cuda.get_rng_state = lambda *a, **k: torch.get_rng_state()
    torch.cuda.set_rng_state = lambda *a, **k: None

    _module_apply = torch.nn.Module._apply

    def _apply(module, fn, *args, **kwargs):
        """Module.to / .cuda / .cpu move parameters in place (``param.data = ...``); mark them to match."""
        result = _module_apply(module, fn, *args, **kwargs)
        probe_cpu, probe_gpu = torch.empty(0), _mark(torch.empty(0))
        target = True if on_gpu(fn(probe_cpu)) else False if not on_gpu(fn(probe_gpu)) else None
        if target is not None:
            for t in list(module.parameters()) + list(module.buffers()):
                _mark(t, target)
                if t.grad is not None:
                    _mark(t.grad, target)
        return result

    torch.nn.Module._apply = _apply

    _parameter_new = torch.nn.Parameter.__new__

    def _new_parameter(cls, data=None, requires_grad=True):
        """A Parameter is a new Python object around its data: it is where its data is."""
        p = _parameter_new(cls, data, requires_grad)
        return _mark(p) if on_gpu(data) else p

    torch.nn.Parameter.__new__ = staticmethod(_new_parameter)

    import torch.func

    _vmap = torch.func.vmap

    def vmap(func, *args, **kwargs):
        """vmap builds its results below Python: they are on the GPU when any input was."""
        batched = _vmap(func, *args, **kwargs)

        def run(*inputs, **named):
            out = batched(*inputs, **named)
            return _mark(out) if any(on_gpu(t) for t in _each_tensor((inputs, named))) else out
        return run

    torch.func.vmap = torch.vmap = vmap
    EmulatedCuda().__enter__()                      # for the rest of the process
