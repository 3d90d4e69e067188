"""Benchmark: how fast the course trains its models, every loop side by side in one run.

    python -m course_lib.bench                       # CPU, and CUDA too when present
    python -m course_lib.bench --steps 300 --devices cpu

Every row trains the same MLP VAE (784-512-256-16, Bernoulli decoder) on
Fashion-MNIST with batch size 128 and Adam:

* plain loop      the usual PyTorch pattern: a ``DataLoader`` over CPU tensors,
                  ``.to(device)`` per batch, one Python step after another;
* fit, eager      :func:`course_lib.fit` with ``cuda_graph=False`` (data kept on
                  the device, batches drawn by index);
* fit, CUDA graph ``fit`` as it runs by default on a GPU: the step recorded once
                  and replayed (CUDA only), in fp32 and under bf16 autocast;
* bare step       the ceiling: the same training step on one static batch, no
                  history, no checks, no batch drawing; on CUDA recorded once as
                  a CUDA graph and replayed (:class:`StaticStep`), on the CPU run
                  eagerly.  ``fit``'s share of it is printed after the rows;
* sweep           8 models at 8 β values: :func:`course_lib.fit_sweep` stacked (one
                  program for all 8), ``fit_sweep`` separate (8 ``fit`` runs inside it),
                  8 ``fit`` runs by hand, and which of the two ``fit_sweep``'s "auto"
                  picks on the device.

Throughput is images per second after a warm-up; the sweep rows give seconds
for all 8 models.  The last line is ``ratio fit/plain: R`` on the last device,
with the fastest ``fit`` row.
"""
import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.data import DataLoader, TensorDataset

from ..data import load_fashion_mnist
from ..models.vae import VAE, vae_objective, vae_sweep_objective
from ..training.graph_step import StaticStep, full_batch
from ..training.sweep import fit_sweep
from ..training.train import fit

BETAS = (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def build_model():
    """The benchmark's model: the course's MLP VAE, 784-512-256-16."""
    return VAE.mlp()


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_loop(model, x, steps, batch_size, device):
    """The textbook loop: DataLoader on the host, one host -> device copy per batch."""
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True, drop_last=True)
    done = 0
    while done < steps:
        for (batch,) in loader:
            batch = batch.to(device)
            loss = model.loss_terms(batch)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break


class BareStep:
    """The ceiling of a training loop: one static batch, the step replayed as a CUDA graph on CUDA
    (run eagerly elsewhere), nothing else: no batch drawing, no history, no NaN checks, no copy back.
    ``run(n)`` trains n steps; the first call records the graph."""

    def __init__(self, model, x, batch_size, device):
        capture = device.type == "cuda"
        model.to(device).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=capture)
        self.step = StaticStep(model, vae_objective(), optimizer, x.to(device), batch_size, capture=capture)
        self.index = torch.arange(batch_size, device=device)

    def run(self, steps):
        for _ in range(steps):
            if self.step.graph is not None:
                self.step.graph.replay()
            else:                                   # warm-up, the recording, or the CPU
                self.step.run(self.index, 0)


def seconds(run, device):
    _sync(device)
    start = time.perf_counter()
    run()
    _sync(device)
    return time.perf_counter() - start


def images_per_second(run, steps, batch_size, device, warmup=20):
    """``run(n)`` trains n steps; the first call warms up (allocations, kernels, a graph's recording)."""
    run(warmup)
    return steps * batch_size / seconds(lambda: run(steps), device)


def bench_device(device, steps, sweep_steps, batch_size=128, n_train=10000, out=print):
    """Print one row per loop on ``device``; return {row name: images per second}."""
    torch.manual_seed(0)
    x = load_fashion_mnist(n_train=n_train, n_test=100).x_train
    start = build_model()
    rows = {}

    def report(name, ips):
        rows[name] = ips
        out(f"  {name:<28} {ips:>12,.0f} img/s")

    plain_model = build_model()
    plain_model.load_state_dict(start.state_dict())
    report("plain DataLoader loop", images_per_second(lambda s: plain_loop(plain_model, x, s, batch_size, device),
                                                      steps, batch_size, device))
    variants = [("fit, eager", dict(cuda_graph=False))]
    if device.type == "cuda":
        variants += [("fit, CUDA graph", dict(cuda_graph="auto")),
                     ("fit, CUDA graph, bf16", dict(cuda_graph="auto", bf16=True)),
                     ("fit, eager, bf16", dict(cuda_graph=False, bf16=True))]
    for name, options in variants:
        model = build_model()
        model.load_state_dict(start.state_dict())
        # one fit call per measurement, as a slider's training is: the graph is recorded inside it
        report(name, images_per_second(
            lambda s: fit(model, x, vae_objective(), steps=s, batch_size=batch_size, device=device,  # noqa: B023 (called in this iteration)
                          progress=False, **options), steps, batch_size, device))  # noqa: B023 (called in this iteration)

    bare_model = build_model()
    bare_model.load_state_dict(start.state_dict())
    bare = BareStep(bare_model, x, batch_size, device)
    report("bare step (the ceiling)", images_per_second(bare.run, steps, batch_size, device))
    best = max((ips, row) for row, ips in rows.items() if row.startswith("fit"))
    out(f"  fit's share of the ceiling: {best[0] / rows['bare step (the ceiling)']:.2f} ({best[1]})")

    def separate():
        for beta in BETAS:
            fit(build_model(), x, vae_objective(beta=beta), steps=sweep_steps, batch_size=batch_size, device=device,
                progress=False)

    def swept(strategy):
        return lambda: fit_sweep(build_model, x, vae_sweep_objective("beta"), BETAS, steps=sweep_steps,
                                 batch_size=batch_size, device=device, progress=False, strategy=strategy)

    for strategy in ("stacked", "separate"):                                       # warm-up
        fit_sweep(build_model, x, vae_sweep_objective("beta"), BETAS[:2], steps=3, device=device, progress=False,
                  strategy=strategy)
    one = seconds(lambda: fit(build_model(), x, vae_objective(), steps=sweep_steps, batch_size=batch_size,
                              device=device, progress=False), device)
    t_separate = seconds(separate, device)
    t_stacked, t_split = seconds(swept("stacked"), device), seconds(swept("separate"), device)
    auto = "stacked" if device.type == "cuda" else "separate"
    out(f"  {len(BETAS)} betas, {sweep_steps} steps each: one fit {one:.1f} s, {len(BETAS)} separate fits "
        f"{t_separate:.1f} s; fit_sweep stacked {t_stacked:.1f} s, fit_sweep separate {t_split:.1f} s "
        f"(stacked/one {t_stacked / one:.2f}, separate fits/stacked {t_separate / t_stacked:.2f})")
    out(f"  fit_sweep(strategy='auto') on {device.type} trains {auto}: "
        f"{min(t_stacked, t_split) / {'stacked': t_stacked, 'separate': t_split}[auto]:.2f} of the faster one's speed")
    return rows


def kernels_per_step(device, bf16, batch_size=128):
    """How many GPU kernels one eager training step launches (fp32 or under bf16 autocast)."""
    x = load_fashion_mnist(n_train=1000, n_test=100).x_train
    model = build_model()
    fit(model, x, vae_objective(), steps=3, batch_size=batch_size, device=device, progress=False, bf16=bf16,
        cuda_graph=False)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fit(model, x, vae_objective(), steps=1, batch_size=batch_size, device=device, progress=False, bf16=bf16,
            cuda_graph=False)
        _sync(device)
    return sum(e.count for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA)


def compile_comparison(device, steps=3000, batch_size=128, out=print):
    """A slider's training (``steps`` steps, one fit call) end to end: eager, the step recorded as a
    CUDA graph by ``fit``, and ``torch.compile(mode="reduce-overhead")`` (compile time included)."""
    x = load_fashion_mnist(n_train=10000, n_test=100).x_train.to(device)
    fit(build_model(), x, vae_objective(), steps=5, device=device, progress=False, cuda_graph=False)   # warm-up
    for name, options in [("fit, eager", dict(cuda_graph=False)), ("fit, CUDA graph", dict(cuda_graph="auto"))]:
        torch.manual_seed(0)
        model = build_model()
        t = seconds(lambda: fit(model, x, vae_objective(), steps=steps, batch_size=batch_size, device=device,  # noqa: B023 (called in this iteration)
                                progress=False, **options), device)  # noqa: B023 (called in this iteration)
        out(f"  {name:<34} {t:6.1f} s for {steps} steps ({1000 * t / steps:.2f} ms/step, all included)")

    torch.manual_seed(0)
    model = build_model().to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    loss = torch.compile(lambda batch: model.loss_terms(batch)["loss"], mode="reduce-overhead")
    optimizer_step = torch.compile(optimizer.step)
    for p in model.parameters():        # gradients live in buffers of their own: a gradient left unset
        p.grad = torch.zeros_like(p)    # would be the backward graph's output itself, overwritten next step

    per_epoch, order = len(x) // batch_size, [None]

    def train(first, last):
        for i in range(first, last):
            if i % per_epoch == 0 or order[0] is None:
                order[0] = torch.randperm(len(x), device=device)
            torch.compiler.cudagraph_mark_step_begin()      # a new step: earlier graph outputs may be reused
            optimizer.zero_grad(set_to_none=False)
            loss(x[full_batch(order[0], i % per_epoch, batch_size)]).backward()
            optimizer_step()

    warm = seconds(lambda: train(0, 3), device)
    rest = seconds(lambda: train(3, steps), device)
    out(f"  {'torch.compile, reduce-overhead':<34} {warm + rest:6.1f} s for {steps} steps "
        f"(first 3 steps, compiling: {warm:.1f} s; then {1000 * rest / (steps - 3):.2f} ms/step)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="timed optimizer steps per throughput row")
    parser.add_argument("--sweep-steps", type=int, default=200, help="steps per model in the sweep rows")
    parser.add_argument("--devices", nargs="*", default=None, help="default: cpu, and cuda if present")
    parser.add_argument("--compile", action="store_true",
                        help="on CUDA, also time a 3,000-step training with torch.compile against the CUDA graph")
    args = parser.parse_args(argv)
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    ratio = None
    for name in devices:
        device = torch.device(name)
        label = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
        print(f"{label} (torch {torch.__version__}), batch 128, {args.steps} steps")
        rows = bench_device(device, args.steps, args.sweep_steps)
        if device.type == "cuda":
            print(f"  kernels per eager step: fp32 {kernels_per_step(device, False)}, "
                  f"bf16 autocast {kernels_per_step(device, True)}")
            if args.compile:
                try:
                    compile_comparison(device)
                except Exception as error:  # noqa: BLE001 (a failed comparison is a result too; the rows above stand)
                    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    print(f"  torch.compile comparison failed: {type(error).__name__}: {message}")
        best = max((ips, row) for row, ips in rows.items() if row.startswith("fit"))
        ratio = best[0] / rows["plain DataLoader loop"]
        print(f"  fastest fit: {best[1]}")
    print(f"ratio fit/plain: {ratio:.2f}")


if __name__ == "__main__":
    main()
